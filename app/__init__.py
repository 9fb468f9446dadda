"""The user's side of neurodeck: the ``neurodeck`` command line and the Qt dashboard's views.

Each command lives in a command module (``add_parser`` and ``cmd_*``) registered in
:mod:`neurodeck.app.cli`; commands share code only through modules that hold none
(:mod:`.options`, :mod:`.replay_loop`, :mod:`.status`). The headless work behind the dashboard is
in :mod:`neurodeck.control`.
"""
