"""The dashboard's Qt side: the window and its views, drawing the headless core's snapshots.

The core (:mod:`neurodeck.control.core`) owns every thread, LSL inlet, child process and model;
the views only draw its immutable :class:`~neurodeck.control.snapshot.CoreSnapshot` and send it
commands. PyQt6 and pyqtgraph are imported here and nowhere else in neurodeck.
"""
