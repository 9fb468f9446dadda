"""``python -m neurodeck``: the same entry point as the ``neurodeck`` command."""

from neurodeck.app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
