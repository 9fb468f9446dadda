"""The headless application core that the dashboard drives; it never imports Qt.

:class:`~neurodeck.control.core.DashboardCore` owns every thread, LSL inlet, child process and
model behind the dashboard. The Qt views in :mod:`neurodeck.app.dashboard` only draw its
:class:`~neurodeck.control.snapshot.CoreSnapshot` and send it commands, so everything here is
tested without a display.
"""
