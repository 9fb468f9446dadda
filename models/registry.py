"""Registry of model architectures, so that a checkpoint can rebuild its model by name.

A model class is registered with :func:`register_model`. It takes its whole configuration as
keyword arguments and exposes them again as ``.config`` (a JSON-safe dict); a checkpoint stores
the registered name and that dict, and :func:`build_model` turns them back into a module.

Examples
--------
>>> @register_model("my_net")  # doctest: +SKIP
... class MyNet(nn.Module):
...     def __init__(self, n_channels: int, n_classes: int) -> None: ...
...     @property
...     def config(self) -> dict[str, Any]: ...
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from neurodeck.common.types import CheckpointError, ConfigError
from torch import nn

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=type[nn.Module])

# Modules whose import registers neurodeck's own architectures. Imported lazily, on the first
# registry lookup, because each of them imports this module to decorate its class.
_BUILTIN_MODEL_MODULES: tuple[str, ...] = (
    "neurodeck.models.tangent_space",
    "neurodeck.models.eegnet",
    "neurodeck.models.shallow_convnet",
    "neurodeck.models.shallow_any",
    "neurodeck.models.spp_eegnet",
    "neurodeck.models.seqclr",
    "neurodeck.models.labram",
    "neurodeck.models.gmss",
    "neurodeck.models.band_power_lr",
    "neurodeck.models.ensemble",
)

_REGISTRY: dict[str, type[nn.Module]] = {}


def register_model(name: str) -> Callable[[ModelT], ModelT]:
    """Class decorator that registers a model architecture under ``name``.

    Parameters
    ----------
    name : str
        Architecture name stored in checkpoints (for example ``"tangent_space_lr"``).

    Returns
    -------
    decorator : callable
        Registers the class and returns it unchanged.

    Raises
    ------
    ValueError
        If ``name`` is empty or already taken by another class, or the class is not an
        ``nn.Module`` with a ``config`` attribute.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"model name must be a non-empty string; got {name!r}.")

    def decorator(cls: ModelT) -> ModelT:
        _check_model_class(name, cls)
        known = _REGISTRY.get(name)
        if known is not None and _qualified_name(known) != _qualified_name(cls):
            raise ValueError(
                f"model name {name!r} is already registered to {_qualified_name(known)}; "
                f"cannot register {_qualified_name(cls)} under it."
            )
        _REGISTRY[name] = cls
        return cls

    return decorator


def registered_models() -> list[str]:
    """Names of all registered architectures, sorted.

    Returns
    -------
    names : list of str
        Registered architecture names.
    """
    _import_builtin_models()
    return sorted(_REGISTRY)


def model_class(name: str) -> type[nn.Module]:
    """Class registered under ``name``.

    Raises
    ------
    CheckpointError
        If no architecture is registered under ``name``; the message lists the known ones.
    """
    _import_builtin_models()
    cls = _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(repr(n) for n in sorted(_REGISTRY)) or "none"
        raise CheckpointError(
            f"unknown model architecture {name!r}; known architectures: {known}.",
            "The checkpoint was written by a neurodeck version or plug-in that defines this "
            "architecture; install it, or use a checkpoint of a known architecture.",
        )
    return cls


def architecture_name(model: nn.Module) -> str:
    """Registered name of ``model``'s class.

    Raises
    ------
    CheckpointError
        If the class of ``model`` is not registered.
    """
    _import_builtin_models()
    for name, cls in _REGISTRY.items():
        if type(model) is cls:
            return name
    raise CheckpointError(
        f"model class {_qualified_name(type(model))} is not registered.",
        "Decorate it with @models.registry.register_model(name).",
    )


def build_model(name: str, config: dict[str, Any]) -> nn.Module:
    """Build the architecture registered under ``name`` from its config.

    Parameters
    ----------
    name : str
        Registered architecture name.
    config : dict
        Keyword arguments of the model class (what its ``.config`` returned).

    Returns
    -------
    model : nn.Module
        A freshly initialised model.

    Raises
    ------
    CheckpointError
        If ``name`` is unknown (the message lists the known names).
    ConfigError
        If ``config`` lacks a required argument, has an unknown one, or a value is invalid.
    """
    cls = model_class(name)
    if not isinstance(config, dict):
        raise ConfigError(f"config of model {name!r} must be a dict; got {type(config).__name__}.")
    _check_config_keys(name, cls, config)
    return cls(**config)


def _check_config_keys(name: str, cls: type[nn.Module], config: dict[str, Any]) -> None:
    """Raise ConfigError naming unknown or missing constructor arguments."""
    params = inspect.signature(cls.__init__).parameters.values()
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = {p.name: p for p in params if p.kind in keyword_kinds and p.name != "self"}
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    unknown = [] if accepts_any else sorted(set(config) - set(named))
    missing = sorted(
        k for k, p in named.items() if p.default is inspect.Parameter.empty and k not in config
    )
    if unknown or missing:
        raise ConfigError(
            f"config of model {name!r} does not fit its constructor: "
            f"unknown keys {unknown}, missing keys {missing}; accepted keys: {sorted(named)}."
        )


def _check_model_class(name: str, cls: object) -> None:
    """Raise ValueError unless ``cls`` is an nn.Module subclass with a ``config`` attribute."""
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ValueError(f"register_model({name!r}) needs an nn.Module subclass; got {cls!r}.")
    if not hasattr(cls, "config"):
        raise ValueError(
            f"register_model({name!r}): {_qualified_name(cls)} must expose its constructor "
            "arguments as a JSON-safe dict property 'config'."
        )


def _import_builtin_models() -> None:
    """Import neurodeck's model modules so that their classes are registered."""
    for module in _BUILTIN_MODEL_MODULES:
        importlib.import_module(module)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
