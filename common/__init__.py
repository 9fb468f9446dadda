"""Shared leaf package: value types and errors every neurodeck package may import."""
