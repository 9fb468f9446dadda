"""Headless real-time core of neurodeck: LSL I/O, ring buffer, preprocessing, windows, inference.

This package never imports Qt.
"""
