"""Shared leaf package: value types, errors and checks every neurodeck package may import."""
