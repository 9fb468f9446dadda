"""Qt views of the dashboard.

Each view draws one part of a :class:`~neurodeck.control.snapshot.CoreSnapshot` in
``render(snapshot)`` and sends commands to the core through
:class:`~neurodeck.control.snapshot.CoreCommands`; none of them touches LSL, torch or files.
"""
