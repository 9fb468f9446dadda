"""Select the liblsl configuration before pylsl is imported.

liblsl reads its configuration file once, when the library is loaded, from the path in the
``LSLAPICFG`` environment variable. neurodeck ships ``lsl_machine.cfg`` (``ResolveScope =
machine``) so that tests, CI and the offline demo never send discovery packets off this machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MACHINE_SCOPE_CFG = Path(__file__).with_name("lsl_machine.cfg")


def use_machine_scope(force: bool = False) -> Path:
    """Point ``LSLAPICFG`` at neurodeck's machine-scope liblsl configuration.

    Parameters
    ----------
    force : bool
        Replace a ``LSLAPICFG`` that the user already set. Without it, a user's own file wins.

    Returns
    -------
    path : Path
        The configuration file liblsl will load.

    Raises
    ------
    RuntimeError
        If pylsl was already imported with another configuration: liblsl would ignore the change.
    """
    current = os.environ.get("LSLAPICFG")
    if current and not force:
        return Path(current)
    if "pylsl" in sys.modules and current != str(MACHINE_SCOPE_CFG):
        raise RuntimeError(
            "pylsl was imported before the LSL configuration was chosen; liblsl reads LSLAPICFG "
            "only once. Call streaming.lsl_env.use_machine_scope() before importing pylsl."
        )
    os.environ["LSLAPICFG"] = str(MACHINE_SCOPE_CFG)
    return MACHINE_SCOPE_CFG
