"""From a TOML recipe to trained encoders: self-supervised pretraining, then cross-subject training.

One recipe (``configs/pretrain/*.toml``) says everything about an encoder: architecture and its
arguments, the live preprocessing, the window, the self-supervised stage (objective, runs,
optimiser) and the supervised cross-subject stage (runs, marker classes, optimiser) and how it is
adapted to a new person. ``neurodeck pretrain`` runs a recipe on every subject and writes the
shipped checkpoint; ``neurodeck evaluate`` runs the same recipe on the training subjects of each
leave-subjects-out fold, so the evaluated models and the shipped ones come from one code path.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.models.base import EEGModel
from neurodeck.models.checkpoint import ModelMeta, save_checkpoint
from neurodeck.models.registry import build_model
from neurodeck.offline_training.finetune import AdaptSettings
from neurodeck.offline_training.trainer import Trainer, TrainSettings
from neurodeck.streaming.preprocessing import PreprocessingConfig

logger = logging.getLogger(__name__)

SSL_OBJECTIVES = ("pair", "contrastive", "simclr", "mem")
ALL_EEGBCI_RUNS = tuple(range(1, 15))


@dataclass(frozen=True)
class SSLStage:
    """Self-supervised stage of a recipe."""

    objective: str
    runs: tuple[int, ...] = ALL_EEGBCI_RUNS
    stride_s: float = 1.0
    alignment: str = "subject"
    objective_args: dict[str, Any] = field(default_factory=dict)
    train: TrainSettings = field(default_factory=TrainSettings)
    tokenizer: dict[str, Any] = field(default_factory=dict)
    tokenizer_train: TrainSettings | None = None

    def __post_init__(self) -> None:
        if self.objective not in SSL_OBJECTIVES:
            raise ConfigError(
                f"'ssl.objective' must be one of {SSL_OBJECTIVES}; got {self.objective!r}."
            )
        allowed = _objective_arg_names(self.objective)
        unknown = sorted(set(self.objective_args) - allowed)
        if unknown:
            raise ConfigError(
                f"'ssl.objective_args' has {unknown}, which the {self.objective!r} objective "
                f"does not take; it takes {sorted(allowed)}."
            )


def _objective_arg_names(objective: str) -> set[str]:
    """The ``objective_args`` keys an SSL objective accepts (the rest the recipe fixes)."""
    import inspect

    from neurodeck.offline_training.mem import MaskedEEGModelling
    from neurodeck.offline_training.objectives import ContrastiveObjective, SimCLRObjective

    if objective == "pair":
        return {"min_gap_s"}
    cls, fixed = {
        "contrastive": (ContrastiveObjective, {"model", "sfreq", "seed"}),
        "simclr": (SimCLRObjective, {"model", "sfreq", "n_times", "seed"}),
        "mem": (MaskedEEGModelling, {"student", "tokenizer", "generator"}),
    }[objective]
    return set(inspect.signature(cls).parameters) - fixed - {"self"}


@dataclass(frozen=True)
class SupervisedStage:
    """Cross-subject supervised stage of a recipe."""

    runs: tuple[int, ...] = (4, 8, 12)
    marker_classes: dict[str, str] = field(default_factory=lambda: {"T1": "left", "T2": "right"})
    ends: tuple[float, float, float] = (1.0, 4.0, 0.25)
    alignment: str = "subject"
    label_smoothing: float = 0.1
    train: TrainSettings = field(default_factory=TrainSettings)
    val_subjects: int = 0
    augment: tuple[str, ...] = ()
    channel_subsets: Any = None  # offline_training.channel_subsets.SubsetSettings

    def __post_init__(self) -> None:
        from neurodeck.offline_training.label_augment import check_augment_names

        object.__setattr__(self, "augment", check_augment_names(self.augment))
        if "mirror" in self.augment and not {"left", "right"} <= set(self.class_names):
            raise ConfigError(
                f"'supervised.augment' has 'mirror', which swaps 'left' and 'right', but the "
                f"classes are {list(self.class_names)}; drop 'mirror'."
            )

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names in logit order."""
        return tuple(dict.fromkeys(self.marker_classes.values()))


@dataclass(frozen=True)
class Recipe:
    """Everything needed to build, pretrain and adapt one encoder."""

    name: str
    architecture: str
    model_args: dict[str, Any]
    preprocessing: PreprocessingConfig
    window_s: float = 2.0
    ssl: SSLStage | None = None
    supervised: SupervisedStage | None = None
    adapt: AdaptSettings = field(default_factory=AdaptSettings)
    data_root: str = ""
    subjects: tuple[int, ...] = ()
    cache_dir: str = "runs/cache"
    source: str = ""

    @property
    def sfreq(self) -> float:
        """Model input rate (the preprocessing's output rate; EEGBCI's 160 Hz otherwise)."""
        return self.preprocessing.sfreq_out or 160.0

    @property
    def n_times(self) -> int:
        """Samples per window."""
        return round(self.window_s * self.sfreq)

    @classmethod
    def from_toml(cls, path: Path) -> Recipe:
        """Read a recipe; every problem is a ConfigError naming the file and the key."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read recipe {path}: {exc}") from exc
        try:
            return cls.from_dict(data, source=str(path))
        except (TypeError, KeyError) as exc:
            raise ConfigError(f"recipe {path} is malformed: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> Recipe:
        """Build from the parsed TOML tables."""
        data = dict(data)
        known = {"name", "architecture", "window_s", "model", "preprocessing", "ssl"}
        known |= {"supervised", "adapt", "data"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"recipe {source}: unknown keys {unknown}; known: {sorted(known)}.")
        d = dict(data.get("data", {}))
        return cls(
            name=data["name"],
            architecture=data["architecture"],
            model_args=dict(data.get("model", {})),
            preprocessing=PreprocessingConfig.from_dict(data.get("preprocessing", {})),
            window_s=float(data.get("window_s", 2.0)),
            ssl=_ssl_stage(data["ssl"]) if "ssl" in data else None,
            supervised=_supervised_stage(data["supervised"]) if "supervised" in data else None,
            adapt=_adapt(data.get("adapt", {})),
            data_root=str(d.get("root", "")),
            subjects=tuple(d.get("subjects", ())),
            cache_dir=str(d.get("cache_dir", "runs/cache")),
            source=source,
        )


def _train(table: Mapping[str, Any] | None, **defaults: Any) -> TrainSettings:
    merged = {**defaults, **dict(table or {})}
    if "betas" in merged:
        merged["betas"] = tuple(merged["betas"])
    return TrainSettings.from_dict(merged)


def _ssl_stage(t: Mapping[str, Any]) -> SSLStage:
    t = dict(t)
    return SSLStage(
        objective=t["objective"],
        runs=tuple(t.get("runs", ALL_EEGBCI_RUNS)),
        stride_s=float(t.get("stride_s", 1.0)),
        alignment=t.get("alignment", "subject"),
        objective_args=dict(t.get("objective_args", {})),
        train=_train(t.get("train")),
        tokenizer=dict(t.get("tokenizer", {})),
        tokenizer_train=_train(t["tokenizer_train"]) if "tokenizer_train" in t else None,
    )


def _supervised_stage(t: Mapping[str, Any]) -> SupervisedStage:
    t = dict(t)
    return SupervisedStage(
        runs=tuple(t.get("runs", (4, 8, 12))),
        marker_classes=dict(t.get("marker_classes", {"T1": "left", "T2": "right"})),
        ends=tuple(t.get("ends", (1.0, 4.0, 0.25))),
        alignment=t.get("alignment", "subject"),
        label_smoothing=float(t.get("label_smoothing", 0.1)),
        train=_train(t.get("train")),
        val_subjects=int(t.get("val_subjects", 0)),
        augment=t.get("augment", ()),
        channel_subsets=_subsets(t["channel_subsets"]) if "channel_subsets" in t else None,
    )


def _subsets(t: Mapping[str, Any]) -> Any:
    from neurodeck.offline_training.channel_subsets import SubsetSettings

    return SubsetSettings.from_dict(dict(t))


def adapt_table(adapt: AdaptSettings) -> dict[str, Any]:
    """An adaptation as a JSON-safe table (what checkpoints store as ``training.adapt``)."""
    import dataclasses

    return json.loads(json.dumps(dataclasses.asdict(adapt)))


def adapt_from_table(t: Mapping[str, Any]) -> AdaptSettings:
    """The inverse of :func:`adapt_table` (also reads a recipe's ``[adapt]``)."""
    t = dict(t)
    if "augment" in t:
        t["augment"] = tuple(t["augment"])
    return _adapt(t)


def _adapt(t: Mapping[str, Any]) -> AdaptSettings:
    t = dict(t)
    train = _train(
        t.pop("train", None),
        epochs=30,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        patience=8,
        progress=False,
    )
    return AdaptSettings(train=train, **t)


# -- building and saving ---------------------------------------------------------------------


def build_encoder(recipe: Recipe, channel_names: Sequence[str], n_outputs: int) -> EEGModel:
    """A freshly initialised model of the recipe for these channels and classes."""
    from neurodeck.models.registry import model_class

    args = dict(recipe.model_args)
    preset = args.pop("preset", None)
    if preset is not None:
        args = {**_preset(model_class(recipe.architecture), preset), **args}
    config = {
        "channel_names": list(channel_names),
        "sfreq": recipe.sfreq,
        "n_times": recipe.n_times,
        "n_outputs": n_outputs,
        **args,
    }
    model = build_model(recipe.architecture, config)
    if not isinstance(model, EEGModel):
        raise ConfigError(f"{recipe.architecture!r} is not a deep EEG encoder.")
    return model


def _preset(cls: type, name: str) -> dict[str, Any]:
    """Constructor arguments of a named size (``LABRAM_PRESETS`` and the like)."""
    import sys as _sys

    module = _sys.modules[cls.__module__]
    tables = [v for k, v in vars(module).items() if k.endswith("_PRESETS") and isinstance(v, dict)]
    for table in tables:
        if name in table:
            return dict(table[name])
    known = sorted({k for t in tables for k in t})
    raise ConfigError(f"unknown preset {name!r} for {cls.__name__}; known presets: {known}.")


class TokenizerObjective(torch.nn.Module):
    """Trainer adapter for the neural tokenizer's own loss."""

    def __init__(self, tokenizer: torch.nn.Module) -> None:
        super().__init__()
        self.tokenizer = tokenizer

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Commitment + amplitude + phase loss of one batch of windows."""
        return self.tokenizer.loss(batch[0] if isinstance(batch, (tuple, list)) else batch)


def save_stage(
    model: EEGModel,
    recipe: Recipe,
    path: Path,
    stage: str,
    class_names: Sequence[str],
    subjects: Sequence[int],
    metrics: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint of one stage with its provenance."""
    preprocessing = recipe.preprocessing.to_dict()
    preprocessing["channel_names"] = list(model.channel_names)
    meta = ModelMeta(
        architecture=recipe.architecture,
        config=model.config,
        channel_names=tuple(model.channel_names),
        sfreq=recipe.sfreq,
        window_s=recipe.window_s,
        class_names=tuple(class_names),
        preprocessing=preprocessing,
        training={
            "stage": stage,
            "recipe": _portable(recipe.source),
            "data": "PhysioNet EEGBCI (eegmmidb 1.0.0)",
            "subjects": list(subjects),
            "command": shlex.join(sys.argv),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "torch": torch.__version__,
            "marker_classes": dict(recipe.supervised.marker_classes) if recipe.supervised else {},
            "alignment": "identity until calibrated (trained on Euclidean-aligned subjects)",
            "recipe_digest": recipe_digest(recipe),
            "adapt": adapt_table(recipe.adapt),
        },
        metrics=dict(metrics or {}),
    )
    return save_checkpoint(path, model, meta)


def recipe_digest(recipe: Recipe) -> str:
    """Short digest of what a recipe trains: its settings, not its comments or layout.

    The digest is taken over the parsed TOML (keys sorted), so that editing a comment does not
    turn a shipped network into a stranger to its own recipe; a recipe built in code (no file)
    is digested from its fields.
    """
    import hashlib

    text = repr(recipe)
    if recipe.source:
        try:
            data = tomllib.loads(Path(recipe.source).read_text(encoding="utf-8"))
            text = json.dumps(data, sort_keys=True, default=str)
        except (OSError, tomllib.TOMLDecodeError):
            pass  # the fields, as for a recipe built in code
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stage_histories(run_dir: Path) -> dict[str, Any]:
    """Per stage under ``run_dir``: epochs, training seconds (all epochs, resumed runs
    included) and the last logged epoch, read from the trainer's ``metrics.jsonl`` files."""
    out = {}
    for log in sorted(run_dir.rglob("metrics.jsonl")):
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        if records:
            out[str(log.parent.relative_to(run_dir))] = {
                "epochs": len(records),
                "seconds": round(sum(r.get("seconds", 0.0) for r in records), 1),
                "last": records[-1],
            }
    return out


def cross_subject_model(
    recipe: Recipe,
    root: Path,
    subjects: Sequence[int],
    run_dir: Path,
    device: str | None = None,
    resume: bool = True,
) -> tuple[EEGModel, Path]:
    """The recipe's final cross-subject model trained on ``subjects``, cached in ``run_dir``.

    The checkpoint ``run_dir/model.safetensors`` is reused when it was trained on the same
    subjects by the same recipe text; otherwise the recipe runs (self-supervised stage if any,
    then the supervised stage) and the checkpoint is written. ``neurodeck pretrain`` and the
    folds of ``neurodeck evaluate`` both come through here.

    Returns
    -------
    model : EEGModel
        On the CPU, in eval mode.
    path : Path
        Its checkpoint.
    """
    from neurodeck.models.checkpoint import CheckpointError, load_checkpoint

    path = Path(run_dir) / "model.safetensors"
    wanted = [int(s) for s in subjects]
    if path.is_file() and resume:
        try:
            model, meta = load_checkpoint(path)
            same = meta.training.get("subjects") == wanted
            if same and meta.training.get("recipe_digest") == recipe_digest(recipe):
                logger.info("Reusing %s (trained on %s)", path, wanted)
                return model.eval(), path  # type: ignore[return-value]
        except CheckpointError as exc:
            logger.warning("Retraining: %s", exc)
    if recipe.supervised is None:
        raise ConfigError(f"recipe {recipe.name!r} has no [supervised] stage to train.")
    models = run_recipe(recipe, root, wanted, run_dir, ("ssl", "supervised"), resume, device)
    metrics = {
        "stages": {
            stage: {k: v for k, v in h.items() if k != "last"}
            for stage, h in stage_histories(Path(run_dir)).items()
        }
    }
    save_stage(
        models["supervised"],
        recipe,
        path,
        "supervised",
        recipe.supervised.class_names,
        wanted,
        metrics,
    )
    return models["supervised"], path


def _portable(source: str) -> str:
    """A recipe path relative to the repository when it lies inside it."""
    repo = Path(__file__).resolve().parents[1]
    try:
        return str(Path(source).resolve().relative_to(repo))
    except ValueError:
        return source


def stage_settings(train: TrainSettings, device: str | None) -> TrainSettings:
    """``train`` with the device overridden when one is given."""
    if device is None:
        return train
    from dataclasses import replace

    return replace(train, device=device)


def run_trainer(
    objective: torch.nn.Module,
    dataset: Any,
    train: TrainSettings,
    out_dir: Path | None,
    resume: bool,
    collate_fn: Any = None,
    param_groups: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Fit ``objective`` and return its history (logs, curves and resume file in ``out_dir``)."""
    trainer = Trainer(objective, dataset, train, out_dir, collate_fn, param_groups)
    return trainer.fit(resume=resume)


# -- the stages ------------------------------------------------------------------------------


def eegbci_corpus(recipe: Recipe, root: Path, subjects: Sequence[int], runs: Sequence[int]):
    """Preprocessed, cached corpus of EEGBCI runs (runs a subject lacks are skipped)."""
    from neurodeck.offline_training.corpus import EEGBCISource, build_corpus

    sources = []
    for subject in subjects:
        have = [r for r in runs if _has_run(root, subject, r)]
        if have:
            sources.append(EEGBCISource(root, [subject], have))
    return build_corpus(sources, recipe.preprocessing, Path(recipe.cache_dir))


def _has_run(root: Path, subject: int, run: int) -> bool:
    from neurodeck.streaming.recording_io import eegbci_run_files

    try:
        eegbci_run_files(root, subject, [run])
    except RecordingError:  # a run the subject lacks is simply not used
        return False
    return True


def pretrain_ssl(
    recipe: Recipe,
    model: EEGModel,
    corpus: Any,
    out_dir: Path | None,
    resume: bool = True,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """Self-supervised stage: train ``model``'s encoder in place with the recipe's objective."""
    from neurodeck.offline_training.objectives import (
        ContrastiveObjective,
        PairTaskObjective,
        SimCLRObjective,
    )
    from neurodeck.offline_training.pairs import PairDataset, pair_collate
    from neurodeck.offline_training.windows import WindowDataset

    ssl = recipe.ssl
    if ssl is None:
        raise ConfigError(f"recipe {recipe.name!r} has no [ssl] stage.")
    windows = WindowDataset(
        corpus, recipe.window_s, ssl.stride_s, model.channel_names, alignment=ssl.alignment
    )
    train = stage_settings(ssl.train, device)
    args = dict(ssl.objective_args)
    if ssl.objective == "pair":
        embed_dim = int(model.config.get("embed_dim", 100))
        dataset = PairDataset(windows, args.pop("min_gap_s", 10.0), seed=train.seed)
        objective = PairTaskObjective(model, embed_dim, recipe.sfreq, seed=train.seed)
        return run_trainer(objective, dataset, train, out_dir, resume, pair_collate)
    if ssl.objective == "contrastive":
        objective = ContrastiveObjective(model, recipe.sfreq, seed=train.seed, **args)
        return run_trainer(objective, windows, train, out_dir, resume)
    if ssl.objective == "simclr":
        objective = SimCLRObjective(
            model, recipe.sfreq, n_times=recipe.n_times, seed=train.seed, **args
        )
        return run_trainer(objective, windows, train, out_dir, resume)
    return _pretrain_mem(recipe, model, windows, train, out_dir, resume, device)


def _pretrain_mem(
    recipe: Recipe,
    model: EEGModel,
    windows: Any,
    train: TrainSettings,
    out_dir: Path | None,
    resume: bool,
    device: str | None,
) -> list[dict[str, Any]]:
    """LaBraM: train the neural tokenizer, freeze it, then masked EEG modelling."""
    from neurodeck.models.labram_tokenizer import NeuralTokenizer
    from neurodeck.offline_training.mem import MaskedEEGModelling

    ssl = recipe.ssl
    assert ssl is not None
    tok_args = dict(ssl.tokenizer)
    if "preset" in tok_args:
        tok_args = {**_preset(NeuralTokenizer, tok_args.pop("preset")), **tok_args}
    tok_args.update(channel_names=list(model.channel_names), sfreq=recipe.sfreq)
    tokenizer = NeuralTokenizer(**tok_args)
    tok_train = stage_settings(ssl.tokenizer_train or train, device)
    tok_dir = None if out_dir is None else out_dir / "tokenizer"
    history = run_trainer(TokenizerObjective(tokenizer), windows, tok_train, tok_dir, resume)
    tokenizer.requires_grad_(False).eval()
    objective = MaskedEEGModelling(model, tokenizer, **ssl.objective_args)
    mem_dir = None if out_dir is None else out_dir / "mem"
    return history + run_trainer(objective, windows, train, mem_dir, resume)


def train_supervised(
    recipe: Recipe,
    model: EEGModel,
    corpus: Any,
    out_dir: Path | None,
    resume: bool = True,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """Cross-subject supervised stage: train ``model`` in place on cue windows of many people."""
    from neurodeck.offline_training.objectives import SupervisedObjective
    from neurodeck.offline_training.windows import CueWindowDataset

    sup = recipe.supervised
    if sup is None:
        raise ConfigError(f"recipe {recipe.name!r} has no [supervised] stage.")

    def windows(part: Any, alignment: str = sup.alignment) -> CueWindowDataset:
        return CueWindowDataset(
            part,
            sup.marker_classes,
            sup.class_names,
            recipe.window_s,
            ends_s=sup.ends,
            channel_names=model.channel_names,
            alignment=alignment,
        )

    if sup.channel_subsets is not None:
        return _train_on_subsets(recipe, model, windows(corpus, "none"), out_dir, resume, device)
    train_corpus, val_corpus = split_subjects(corpus, sup.val_subjects, sup.train.seed)
    validate = None if val_corpus is None else _window_validator(windows(val_corpus))
    augment = None
    if sup.augment:
        from neurodeck.offline_training.label_augment import SupervisedAugment

        augment = SupervisedAugment(
            sup.augment, model.channel_names, sup.class_names, sup.train.seed
        )
    objective = SupervisedObjective(model, sup.label_smoothing, augment)
    trainer = Trainer(
        objective,
        windows(train_corpus),
        stage_settings(sup.train, device),
        out_dir,
        validate=validate,
    )
    history = trainer.fit(resume=resume)
    trainer.restore_best()  # the epoch that did best on the held-out subjects, if any
    return history


def _train_on_subsets(
    recipe: Recipe,
    model: EEGModel,
    dataset: Any,
    out_dir: Path | None,
    resume: bool,
    device: str | None,
) -> list[dict[str, Any]]:
    """The supervised stage on per-batch channel subsets, each aligned on its own subset."""
    from neurodeck.offline_training.channel_subsets import (
        ChannelSubsetSampler,
        SubsetSupervisedObjective,
        trial_groups,
    )

    sup = recipe.supervised
    assert sup is not None and sup.channel_subsets is not None
    if not hasattr(model, "logits_at"):
        raise ConfigError(
            f"'supervised.channel_subsets' needs an encoder that reads channels by name; "
            f"{recipe.architecture!r} does not (use shallow_convnet_any)."
        )
    if sup.val_subjects or sup.alignment != "subject":
        raise ConfigError(
            "'supervised.channel_subsets' aligns each subject on each subset: it needs "
            "alignment = 'subject' and val_subjects = 0."
        )
    covariances, recording_group = dataset.subject_covariances()
    objective = SubsetSupervisedObjective(
        model,
        covariances,
        trial_groups(dataset, recording_group),
        ChannelSubsetSampler(model.channel_names, sup.channel_subsets, sup.train.seed),
        sup.class_names,
        sup.label_smoothing,
        sup.augment,
        sup.train.seed,
    )
    trainer = Trainer(objective, dataset, stage_settings(sup.train, device), out_dir)
    return trainer.fit(resume=resume)


def split_subjects(corpus: Any, n_val: int, seed: int) -> tuple[Any, Any]:
    """(training corpus, corpus of ``n_val`` held-out subjects or None), seeded."""
    if n_val <= 0:
        return corpus, None
    subjects = list(corpus.subjects())
    if n_val >= len(subjects):
        raise ConfigError(
            f"'val_subjects' = {n_val} leaves no training subject among {len(subjects)}.",
            "Lower supervised.val_subjects or train on more subjects.",
        )
    order = np.random.default_rng(seed).permutation(len(subjects))
    val = [subjects[i] for i in order[:n_val]]
    return corpus.select(subjects=[s for s in subjects if s not in val]), corpus.select(
        subjects=val
    )


def _window_validator(dataset: Any):
    """Validation on every window of ``dataset`` (loaded once)."""
    from neurodeck.offline_training.finetune import validator

    items = [dataset[i] for i in range(len(dataset))]
    x = torch.stack([item[0] for item in items])
    y = torch.as_tensor([int(item[1]) for item in items])
    return validator(x, y)


def run_recipe(
    recipe: Recipe,
    root: Path,
    subjects: Sequence[int],
    out_dir: Path | None,
    stages: Sequence[str] = ("ssl", "supervised", "scratch"),
    resume: bool = True,
    device: str | None = None,
    channel_names: Sequence[str] | None = None,
) -> dict[str, EEGModel]:
    """Train the recipe's models on ``subjects``.

    Returns
    -------
    models : dict
        ``"ssl"`` (self-supervised encoder), ``"supervised"`` (ssl then cross-subject) and
        ``"scratch"`` (random init then cross-subject), for the stages asked for.
    """
    import copy

    sup = recipe.supervised
    classes = sup.class_names if sup else ("left", "right")
    models: dict[str, EEGModel] = {}
    mi_corpus = None
    if sup is not None and ({"supervised", "scratch"} & set(stages)):
        mi_corpus = eegbci_corpus(recipe, root, subjects, sup.runs)
    names = channel_names or _corpus_channels(mi_corpus, recipe, root, subjects)
    sub = (lambda s: None) if out_dir is None else (lambda s: out_dir / s)
    if "ssl" in stages or "supervised" in stages:
        torch.manual_seed(sup.train.seed if sup is not None else 0)
        ssl_model = build_encoder(recipe, names, len(classes))
        if recipe.ssl is not None:
            corpus = eegbci_corpus(recipe, root, subjects, recipe.ssl.runs)
            pretrain_ssl(recipe, ssl_model, corpus, sub("ssl"), resume, device)
        models["ssl"] = ssl_model
        if "supervised" in stages and sup is not None:
            tuned = copy.deepcopy(ssl_model)
            train_supervised(recipe, tuned, mi_corpus, sub("supervised"), resume, device)
            models["supervised"] = tuned
    if "scratch" in stages and sup is not None:
        torch.manual_seed(recipe.supervised.train.seed + 1)
        scratch = build_encoder(recipe, names, len(classes))
        train_supervised(recipe, scratch, mi_corpus, sub("scratch"), resume, device)
        models["scratch"] = scratch
    for m in models.values():
        m.cpu().eval()
    return models


def _corpus_channels(corpus: Any, recipe: Recipe, root: Path, subjects: Sequence[int]):
    if recipe.preprocessing.channel_names:
        return list(recipe.preprocessing.channel_names)
    if corpus is None:
        corpus = eegbci_corpus(recipe, root, subjects[:1], (4,))
    return list(corpus.recordings[0].channel_names)
