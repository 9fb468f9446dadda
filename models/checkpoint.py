"""neurodeck checkpoint format: one ``.safetensors`` file, weights plus JSON metadata.

The tensors are the model's ``state_dict``; the safetensors header metadata holds one key,
``"neurodeck"``, whose value is the JSON of :class:`ModelMeta` (architecture and config, channel
names, sampling rate, window length, class names, preprocessing chain, training provenance,
metrics). Loading never unpickles anything: a file that is not safetensors is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from neurodeck.common.checks import check_int
from neurodeck.common.types import FAMILIES, MOTOR_IMAGERY, CheckpointError, ConfigError
from neurodeck.models.registry import architecture_name, build_model
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

logger = logging.getLogger(__name__)

METADATA_KEY = "neurodeck"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS: tuple[int, ...] = (1,)

_WRITE_HINT = "Write checkpoints with models.checkpoint.save_checkpoint."
_REQUIRED_META_KEYS = (
    "architecture",
    "config",
    "channel_names",
    "sfreq",
    "window_s",
    "class_names",
)


@dataclass(frozen=True)
class ModelMeta:
    """Everything a checkpoint says about its model besides the weights.

    Parameters
    ----------
    architecture : str
        Registered architecture name (see ``models.registry``).
    config : dict
        JSON-safe constructor arguments of the model (its ``.config``).
    channel_names : tuple of str
        Input channels, in the order the model expects them (non-empty, unique).
    sfreq : float
        Sampling rate of the model input in Hz (> 0).
    window_s : float
        Window length in seconds (> 0).
    class_names : tuple of str
        Output classes, in logit order (at least two, unique).
    preprocessing : dict
        Preprocessing chain (``PreprocessingConfig.to_dict()``), opaque here.
    training : dict
        Provenance: data, command, date, ...
    metrics : dict
        Validation figures.
    family : str
        Decoding family, one of ``common.types.FAMILIES`` (``"motor_imagery"`` or
        ``"affective"``); checkpoints written before the field existed are motor imagery.
    format_version : int
        Checkpoint format version.

    Raises
    ------
    ConfigError
        If a field breaks its rule; the message names the field and the value.
    """

    architecture: str
    config: dict[str, Any]
    channel_names: tuple[str, ...]
    sfreq: float
    window_s: float
    class_names: tuple[str, ...]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    family: str = MOTOR_IMAGERY
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.architecture, str) or not self.architecture:
            raise ConfigError(
                f"'architecture' must be a non-empty string; got {self.architecture!r}."
            )
        object.__setattr__(self, "channel_names", _names("channel_names", self.channel_names, 1))
        object.__setattr__(self, "class_names", _names("class_names", self.class_names, 2))
        object.__setattr__(self, "sfreq", _positive("sfreq", self.sfreq))
        object.__setattr__(self, "window_s", _positive("window_s", self.window_s))
        for name in ("config", "preprocessing", "training", "metrics"):
            object.__setattr__(self, name, _dict(name, getattr(self, name)))
        if self.family not in FAMILIES:
            raise ConfigError(f"'family' must be one of {list(FAMILIES)}; got {self.family!r}.")
        version = check_int("format_version", self.format_version)
        object.__setattr__(self, "format_version", version)

    @property
    def n_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def n_classes(self) -> int:
        """Number of output classes."""
        return len(self.class_names)

    @property
    def n_samples(self) -> int:
        """Window length in samples, ``round(window_s * sfreq)``."""
        return round(self.window_s * self.sfreq)

    def to_json(self) -> str:
        """JSON text of all fields (raises ConfigError if a dict holds a non-JSON value)."""
        try:
            return json.dumps(asdict(self), sort_keys=True)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"checkpoint metadata is not JSON-serialisable: {err}.") from err

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelMeta:
        """Build from a dict as written by :meth:`to_json`.

        Raises
        ------
        ConfigError
            If a required key is missing or a value breaks its rule. Unknown keys are ignored
            with a logged warning.
        """
        known = {f.name for f in fields(cls)}
        missing = [key for key in _REQUIRED_META_KEYS if key not in data]
        if missing:
            raise ConfigError(f"metadata lacks required keys {missing}.")
        unknown = sorted(set(data) - known)
        if unknown:
            logger.warning("ignoring unknown checkpoint metadata keys %s", unknown)
        return cls(**{key: value for key, value in data.items() if key in known})


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, meta: ModelMeta) -> Path:
    """Write ``model`` and ``meta`` to one ``.safetensors`` file, atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination file (by convention ``*.safetensors``); its folder must exist.
    model : nn.Module
        A registered architecture whose ``.config`` equals ``meta.config``.
    meta : ModelMeta
        Metadata to store.

    Returns
    -------
    path : Path
        The written file.

    Raises
    ------
    CheckpointError
        If ``meta`` does not describe ``model`` (architecture, config, channel or class count).
    """
    path = Path(path)
    _check_meta_matches_model(meta, model)
    _check_config_counts(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    header = {METADATA_KEY: meta.to_json(), "format": "pt"}
    tmp_name = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        save_file(tensors, tmp_name, metadata=header)
        with open(tmp_name, "rb") as tmp:
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    logger.info("saved %s checkpoint to %s", meta.architecture, path)
    return path


def read_checkpoint_meta(path: str | os.PathLike[str]) -> ModelMeta:
    """Read only the metadata of a checkpoint (no model is built).

    Parameters
    ----------
    path : str or PathLike
        A file written by :func:`save_checkpoint`.

    Returns
    -------
    meta : ModelMeta
        The stored metadata, validated.

    Raises
    ------
    CheckpointError
        If the file is missing, not safetensors, lacks neurodeck metadata, or the metadata is
        invalid or of an unsupported format version.
    """
    path = Path(path)
    with _open_safetensors(path) as handle:
        return _parse_meta(path, handle.metadata())


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelMeta]:
    """Rebuild a model and its metadata from a checkpoint, without unpickling anything.

    Parameters
    ----------
    path : str or PathLike
        A file written by :func:`save_checkpoint`.
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    model : nn.Module
        The model with its stored weights, in eval mode, on ``device``.
    meta : ModelMeta
        The stored metadata.

    Raises
    ------
    CheckpointError
        With what does not match: missing file, not a safetensors file or corrupt header,
        no ``"neurodeck"`` metadata, unsupported format version, unknown architecture, config
        that does not fit the architecture or the channel/class names, tensors that do not fit
        the model's state dict (missing / unexpected keys, shape mismatches), or tensors that
        hold NaN or infinite values (each named in the message).
    """
    path = Path(path)
    with _open_safetensors(path) as handle:
        meta = _parse_meta(path, handle.metadata())
        _check_config_counts(meta, path)
        model = _build(path, meta)
        tensors = _read_tensors(path, handle)
    _check_state_dict(path, model, tensors)
    _check_finite(path, tensors)
    model.load_state_dict(tensors, strict=True)
    logger.info("loaded %s checkpoint from %s", meta.architecture, path)
    return model.to(device).eval(), meta


@contextlib.contextmanager
def _open_safetensors(path: Path) -> Iterator[Any]:
    """Open ``path`` with safetensors, turning every failure into a CheckpointError."""
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint file not found: {path}.",
            "Check the path; neurodeck checkpoints are single .safetensors files.",
        )
    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a valid safetensors file ({_describe_foreign(path)}; {err}).",
            "neurodeck refuses pickled files (torch.save) because loading them can run code; "
            "re-export the model with models.checkpoint.save_checkpoint.",
        ) from err
    with handle:
        yield handle


def _describe_foreign(path: Path) -> str:
    """Say what a non-safetensors file looks like, from its first bytes."""
    with open(path, "rb") as file:
        head = file.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive, as written by torch.save"
    if head[:1] == b"\x80":
        return "it looks like a pickle file"
    if len(head) < 4:
        return f"it is only {path.stat().st_size} bytes long"
    return "corrupt or truncated header"


def _parse_meta(path: Path, header: Mapping[str, str] | None) -> ModelMeta:
    """Parse and validate the ``"neurodeck"`` header entry."""
    if not header or METADATA_KEY not in header:
        raise CheckpointError(
            f"{path} is a safetensors file without '{METADATA_KEY}' metadata, so not a "
            "neurodeck checkpoint.",
            _WRITE_HINT,
        )
    try:
        data = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"'{METADATA_KEY}' metadata in {path} is not valid JSON ({err}).", _WRITE_HINT
        ) from err
    if not isinstance(data, dict):
        raise CheckpointError(
            f"'{METADATA_KEY}' metadata in {path} must be a JSON object; "
            f"got {type(data).__name__}.",
            _WRITE_HINT,
        )
    _check_format_version(path, data.get("format_version"))
    try:
        return ModelMeta.from_dict(data)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"invalid metadata in {path}: {err}", _WRITE_HINT) from err


def _check_format_version(path: Path, version: object) -> None:
    if version not in SUPPORTED_FORMAT_VERSIONS or isinstance(version, bool):
        raise CheckpointError(
            f"{path} has checkpoint format_version {version!r}; this neurodeck reads "
            f"versions {list(SUPPORTED_FORMAT_VERSIONS)}.",
            "Upgrade neurodeck, or re-export the checkpoint with this version.",
        )


def _build(path: Path, meta: ModelMeta) -> nn.Module:
    """Build the architecture named in ``meta`` (CheckpointError if unknown or misconfigured)."""
    try:
        return build_model(meta.architecture, meta.config)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err.problem}", err.hint) from err
    except (ConfigError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path}: config {meta.config} does not fit architecture {meta.architecture!r}: {err}",
            "The file was probably written by another neurodeck version.",
        ) from err


def _read_tensors(path: Path, handle: Any) -> dict[str, torch.Tensor]:
    try:
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read tensors of {path}: {err}.", _WRITE_HINT) from err


def _check_state_dict(path: Path, model: nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Raise CheckpointError listing missing / unexpected keys and shape mismatches."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mismatched = [
        f"{key}: file {tuple(tensors[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in sorted(set(expected) & set(tensors))
        if tensors[key].shape != expected[key].shape
    ]
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if mismatched:
            problems.append(f"shape mismatches [{'; '.join(mismatched)}]")
        raise CheckpointError(
            f"weights in {path} do not fit a {type(model).__name__} built from the stored "
            f"config: {', '.join(problems)}.",
            "The file is corrupt or was edited; re-export it with save_checkpoint.",
        )


def nonfinite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Describe every floating-point tensor that holds NaN or infinite values.

    Parameters
    ----------
    tensors : mapping of str to Tensor
        A state dict, or the tensors of a file.

    Returns
    -------
    list of str
        One ``"name (n NaN, m inf of k values)"`` per offending tensor, in key order; empty when
        every value is finite (integer and boolean tensors always are).
    """
    found = []
    for key in sorted(tensors):
        tensor = tensors[key]
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite = torch.isfinite(tensor)
        if bool(finite.all()):
            continue
        n_nan = int(torch.isnan(tensor).sum())
        n_inf = int((~finite).sum()) - n_nan
        found.append(f"{key} ({n_nan} NaN, {n_inf} inf of {tensor.numel()} values)")
    return found


def _check_finite(path: Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming the tensors that hold NaN or inf (a model that diverged)."""
    bad = nonfinite_tensors(tensors)
    if bad:
        shown = "; ".join(bad[:6]) + (f"; and {len(bad) - 6} more" if len(bad) > 6 else "")
        raise CheckpointError(
            f"{path} holds non-finite weights (NaN or inf) in {len(bad)} of its {len(tensors)} "
            f"tensors: {shown}. A model with such weights predicts nothing but NaN.",
            "The training or calibration that wrote it diverged, or the file was damaged: use "
            "another checkpoint or profile, or calibrate again (neurodeck calibrate) to write a "
            "new one.",
        )


def _check_config_counts(meta: ModelMeta, path: Path | None = None) -> None:
    """Config's n_channels / n_classes must equal the number of channel / class names."""
    where = f"{path}: " if path is not None else ""
    config_names = meta.config.get("channel_names")
    if config_names is not None and [str(n) for n in config_names] != list(meta.channel_names):
        raise CheckpointError(
            f"{where}config channel_names {list(config_names)} differ from the metadata's "
            f"channel_names {list(meta.channel_names)}.",
            "The model and its metadata disagree; set ModelMeta.channel_names to the model's.",
        )
    for key, names, label in (
        ("n_channels", meta.channel_names, "channel_names"),
        ("n_classes", meta.class_names, "class_names"),
        ("n_outputs", meta.class_names, "class_names"),
    ):
        if key in meta.config and meta.config[key] != len(names):
            raise CheckpointError(
                f"{where}config {key}={meta.config[key]!r} but {label} lists {len(names)} "
                f"names {list(names)}.",
                f"The model and its metadata disagree; rebuild the metadata from the model's "
                f"{key} and {label}.",
            )


def _check_meta_matches_model(meta: ModelMeta, model: nn.Module) -> None:
    name = architecture_name(model)
    if name != meta.architecture:
        raise CheckpointError(
            f"meta.architecture is {meta.architecture!r} but the model is registered as {name!r}.",
            "Set ModelMeta.architecture to the model's registered name.",
        )
    config = json.loads(json.dumps(model.config))
    if config != json.loads(json.dumps(meta.config)):
        raise CheckpointError(
            f"meta.config {meta.config} differs from the model's config {config}.",
            "Set ModelMeta.config=model.config.",
        )


def _names(name: str, values: object, minimum: int) -> tuple[str, ...]:
    """Validate a sequence of unique non-empty strings with at least ``minimum`` entries."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ConfigError(f"'{name}' must be a list of strings; got {values!r}.")
    if len(values) < minimum or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(
            f"'{name}' must hold at least {minimum} non-empty strings; got {list(values)!r}."
        )
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ConfigError(f"'{name}' must be unique; {duplicates} appear more than once.")
    return tuple(values)


def _dict(name: str, value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"'{name}' must be a dict; got {type(value).__name__}.")
    return dict(value)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"'{name}' must be a finite number > 0; got {value!r}.")
    if value <= 0:
        raise ConfigError(f"'{name}' must be > 0; got {value!r}.")
    return float(value)
