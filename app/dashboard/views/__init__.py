"""Qt views of the dashboard.

Each view draws one part of a :class:`~app.dashboard.snapshot.CoreSnapshot` in
``render(snapshot)`` and sends commands to the core through
:class:`~app.dashboard.snapshot.CoreCommands`; none of them touches LSL, torch or files.
"""
