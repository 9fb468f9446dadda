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
QUIET_CFG = Path(__file__).with_name("lsl_quiet.cfg")

#: Where liblsl looks for a configuration file when ``LSLAPICFG`` is unset, in order.
USER_CFG_PATHS = (
    Path("lsl_api.cfg"),
    Path("~/lsl_api/lsl_api.cfg").expanduser(),
    Path("/etc/lsl_api/lsl_api.cfg"),
)


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


def quiet_default_config() -> Path | None:
    """Keep liblsl's INFO lines off the terminal when the user has no liblsl configuration.

    With ``LSLAPICFG`` unset and none of :data:`USER_CFG_PATHS` present, liblsl would load its
    defaults and print INFO lines (its version, "Loaded default config") on every start. This
    points ``LSLAPICFG`` at :data:`QUIET_CFG`: the same defaults, warnings and errors only. A
    user's own configuration is never replaced.

    Returns
    -------
    Path or None
        The file chosen, or None when the user's configuration (or an imported pylsl) stays.
    """
    if os.environ.get("LSLAPICFG") or "pylsl" in sys.modules:
        return None
    if any(path.is_file() for path in USER_CFG_PATHS):
        return None
    os.environ["LSLAPICFG"] = str(QUIET_CFG)
    return QUIET_CFG
