"""The desktop dashboard: a non-Qt core (:mod:`app.dashboard.core`) owning every thread, LSL inlet
and model, and Qt views that only draw the core's immutable snapshots (:mod:`.snapshot`).

The Qt modules (:mod:`.window`, :mod:`.views`) import PyQt6 and pyqtgraph; nothing else in
neurodeck does.
"""
