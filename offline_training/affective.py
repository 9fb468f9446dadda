"""Affective and mental-state models offline: data, reference, GMSS pretraining, evaluation.

The shipped affective encoder and its validation, built from the public data beside the project:

- **Pretraining** (:func:`pretrain_gmss`): GMSS's three self-supervised tasks on the DE features
  of every EEGBCI run (64 electrodes, 18 subjects; no labels used). EEGMAT is not seen, so the
  evaluation below tests transfer to another dataset and montage (19 electrodes).
- **Validation** (:func:`evaluate_eegmat`): PhysioNet EEGMAT, rest (``SubjectNN_1``, about 180 s)
  versus serial subtraction (``SubjectNN_2``, 60 s), leave-one-subject-out over the ten subjects:
  the band-power logistic regression reference, GMSS trained from scratch, and GMSS fine-tuned
  from the pretrained encoder. Windows of 4 s every 2 s; training balances the classes by drawing
  as many rest windows as task windows per subject (seeded); test scores are balanced accuracy
  over all of the held-out subject's windows.

No openly licensed emotion EEG can be shipped, so the emotion path (SEED / SEED-IV / DEAP
loaders, :mod:`neurodeck.offline_training.affective_datasets`) is tested on generated files only;
the real validation of the affective family is this rest-vs-workload task.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import AFFECTIVE, ConfigError, FloatArray, RecordingError
from neurodeck.models.band_power_lr import BandPowerLR
from neurodeck.models.checkpoint import ModelMeta, save_checkpoint
from neurodeck.models.gmss import GMSS
from neurodeck.offline_training.corpus import Corpus, EEGBCISource, FolderSource, build_corpus
from neurodeck.offline_training.finetune import AdaptSettings, adapt, predict_proba
from neurodeck.offline_training.gmss_pretext import GMSSPretext
from neurodeck.offline_training.trainer import Trainer, TrainSettings
from neurodeck.streaming.preprocessing import PreprocessingConfig
from numpy.typing import NDArray
from torch.utils.data import TensorDataset

logger = logging.getLogger(__name__)

#: Rate of the affective models' input, Hz.
AFFECTIVE_SFREQ = 128.0
#: Window of the affective models, seconds (four 1-s DE frames).
AFFECTIVE_WINDOW_S = 4.0
#: Bands of the shipped affective models: SEED-IV's, with gamma stopped at 45 Hz so that 50 and
#: 60 Hz mains (and their spectral leakage) stay out of every band.
AFFECTIVE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 31.0),
    ("gamma", 31.0, 45.0),
)
#: Classes of the EEGMAT task, in model order.
EEGMAT_CLASSES = ("rest", "arithmetic")
#: EEGMAT file suffix -> class index.
_EEGMAT_RUNS = {"1": 0, "2": 1}
#: Seconds skipped at the start of each file while the causal filters settle.
SETTLE_S = 2.0


def affective_preprocessing(channel_names: Sequence[str] | None = None) -> PreprocessingConfig:
    """The causal chain of the affective models: average reference, 1-45 Hz, 128 Hz."""
    return PreprocessingConfig(
        channel_names=None if channel_names is None else tuple(channel_names),
        reference="average",
        bandpass=(1.0, 45.0),
        filter_order=4,
        sfreq_out=AFFECTIVE_SFREQ,
    )


@dataclass(frozen=True)
class StateWindows:
    """Labelled windows of a state task.

    Parameters
    ----------
    X : ndarray, shape (n_windows, n_channels, n_times), float32
        Preprocessed windows in microvolts.
    y : ndarray, shape (n_windows,), int64
        Class index.
    subject : ndarray, shape (n_windows,), str
    block : ndarray, shape (n_windows,), int64
        Index of the recording (one class each) the window comes from.
    channel_names : tuple of str
    sfreq : float
    class_names : tuple of str
    """

    X: FloatArray
    y: NDArray[np.int64]
    subject: NDArray[np.str_]
    block: NDArray[np.int64]
    channel_names: tuple[str, ...]
    sfreq: float
    class_names: tuple[str, ...]

    def subset(self, mask: NDArray[np.bool_]) -> StateWindows:
        """The windows where ``mask`` is true."""
        return dataclasses.replace(
            self, X=self.X[mask], y=self.y[mask], subject=self.subject[mask], block=self.block[mask]
        )


def sliding(data: FloatArray, n: int, hop: int, start: int = 0) -> FloatArray:
    """Windows of ``n`` samples every ``hop`` from ``start``, ``(C, N) -> (W, C, n)`` (a copy)."""
    ends = np.arange(start + n, data.shape[1] + 1, hop)
    if len(ends) == 0:
        return np.zeros((0, data.shape[0], n), dtype=np.float32)
    return np.stack([data[:, e - n : e] for e in ends]).astype(np.float32, copy=False)


def eegmat_corpus(root: Path, cache_dir: Path) -> Corpus:
    """EEGMAT's files, preprocessed with :func:`affective_preprocessing` (cached)."""
    folder = Path(root) / "physionet-eegmat"
    if not folder.is_dir():
        raise RecordingError(
            f"{folder} does not exist.",
            "Point --data at the folder holding physionet-eegmat (../shared/data).",
        )
    source = FolderSource(folder, pattern="Subject*_*", subject_regex=r"(Subject\d+)_")
    return build_corpus(source, affective_preprocessing(), cache_dir)


def eegmat_windows(
    corpus: Corpus, window_s: float = AFFECTIVE_WINDOW_S, hop_s: float = 2.0
) -> StateWindows:
    """Rest and arithmetic windows of every EEGMAT recording of ``corpus``.

    Raises
    ------
    RecordingError
        If a file is not named ``SubjectNN_1`` / ``SubjectNN_2`` or the montages differ.
    """
    xs, ys, subjects, blocks = [], [], [], []
    names: tuple[str, ...] | None = None
    sfreq = 0.0
    for i, rec in enumerate(corpus.recordings):
        match = re.search(r"_(\d)$", rec.run)
        if match is None or match.group(1) not in _EEGMAT_RUNS:
            raise RecordingError(f"{rec.path.name} is not an EEGMAT file (SubjectNN_1 or _2).")
        eeg = [k for k, n in enumerate(rec.channel_names) if not _non_eeg(n)]
        channel_names = tuple(rec.channel_names[k] for k in eeg)
        if names is not None and channel_names != names:
            raise RecordingError(f"{rec.path.name} has other channels than the first file.")
        names, sfreq = channel_names, rec.sfreq
        data = np.asarray(corpus.data(i))[eeg]
        w = sliding(data, round(window_s * sfreq), round(hop_s * sfreq), round(SETTLE_S * sfreq))
        xs.append(w)
        ys.append(np.full(len(w), _EEGMAT_RUNS[match.group(1)]))
        subjects.append(np.full(len(w), rec.subject))
        blocks.append(np.full(len(w), i))
    if names is None:
        raise RecordingError("no EEGMAT recordings were found.")
    return StateWindows(
        np.concatenate(xs),
        np.concatenate(ys).astype(np.int64),
        np.concatenate(subjects),
        np.concatenate(blocks).astype(np.int64),
        names,
        sfreq,
        EEGMAT_CLASSES,
    )


def _non_eeg(name: str) -> bool:
    upper = name.upper()
    return "ECG" in upper or "-" in upper or upper in {"A1", "A2"}


# -- the band-power reference ---------------------------------------------------------------------


def fit_band_power_lr(
    X: FloatArray,
    y: NDArray[np.int64],
    n_classes: int,
    sfreq: float,
    C: float = 1.0,
) -> BandPowerLR:
    """Fit :class:`~neurodeck.models.band_power_lr.BandPowerLR` with scikit-learn's logistic
    regression.

    Parameters
    ----------
    X : ndarray, shape (n_windows, n_channels, n_times)
    y : ndarray, shape (n_windows,)
    n_classes : int
    sfreq : float
    C : float
        Inverse L2 regularisation (classes weighted by inverse frequency).
    """
    from sklearn.linear_model import LogisticRegression

    model = BandPowerLR(X.shape[1], n_classes, sfreq, bands=AFFECTIVE_BANDS)
    feats = model.features(torch.from_numpy(np.ascontiguousarray(X))).double().numpy()
    mean, std = feats.mean(0), feats.std(0)
    std[std < 1e-8] = 1.0
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    clf.fit((feats - mean) / std, y)
    weight = np.zeros((n_classes, feats.shape[1]))
    bias = np.zeros(n_classes)
    if n_classes == 2 and clf.coef_.shape[0] == 1:  # sklearn's binary form: one logit
        weight[1], bias[1] = clf.coef_[0], clf.intercept_[0]
    else:
        weight[clf.classes_], bias[clf.classes_] = clf.coef_, clf.intercept_
    with torch.no_grad():
        for name, value in (("mean", mean), ("scale", std), ("weight", weight), ("bias", bias)):
            getattr(model, name).copy_(torch.from_numpy(value))
    return model


# -- GMSS -----------------------------------------------------------------------------------------


def new_gmss(channel_names: Sequence[str], n_classes: int) -> GMSS:
    """A fresh GMSS for the affective input (128 Hz, 4-s windows, :data:`AFFECTIVE_BANDS`)."""
    n_times = round(AFFECTIVE_WINDOW_S * AFFECTIVE_SFREQ)
    return GMSS(list(channel_names), AFFECTIVE_SFREQ, n_times, n_classes, bands=AFFECTIVE_BANDS)


def gmss_adapt_settings(epochs: int = 40, seed: int = 0) -> AdaptSettings:
    """Supervised training of GMSS: no spatial re-centering (it would erase the power changes
    that carry state), whole blocks held back for early stopping."""
    train = TrainSettings(
        epochs=epochs,
        batch_size=16,
        lr=3e-3,
        weight_decay=1e-3,
        patience=8,
        seed=seed,
        progress=False,
        monitor="acc",
    )
    return AdaptSettings(
        mode="finetune", train=train, layer_decay=1.0, val_fraction=0.2, align=False
    )


def eegbci_de_features(
    root: Path, subjects: Sequence[int], cache_dir: Path, hop_s: float = 2.0
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """DE node features of every EEGBCI run of ``subjects`` (the pretraining data).

    Returns
    -------
    de : Tensor, shape (n_windows, 64, n_bands)
    channel_names : tuple of str
    """
    source = EEGBCISource(root, tuple(subjects), runs=PRETRAIN_RUNS)
    corpus = build_corpus(source, affective_preprocessing(), cache_dir, on_missing="skip")
    names = corpus.recordings[0].channel_names
    probe = new_gmss(names, 2)
    n, hop = round(AFFECTIVE_WINDOW_S * AFFECTIVE_SFREQ), round(hop_s * AFFECTIVE_SFREQ)
    chunks = []
    for i, rec in enumerate(corpus.recordings):
        if rec.channel_names != names:
            raise RecordingError(f"{rec.path.name} has another montage than the first run.")
        w = sliding(np.asarray(corpus.data(i)), n, hop, round(SETTLE_S * rec.sfreq))
        with torch.no_grad():
            chunks.append(probe.node_features(torch.from_numpy(w)))
    return torch.cat(chunks), tuple(names)


def pretrain_gmss(
    de: torch.Tensor,
    channel_names: Sequence[str],
    settings: TrainSettings,
    out_dir: Path | None = None,
) -> tuple[GMSS, list[dict[str, Any]]]:
    """Self-supervised GMSS pretraining on DE node features.

    Parameters
    ----------
    de : Tensor, shape (n_windows, n_channels, n_bands)
    channel_names : sequence of str
        The montage of ``de``.
    settings : TrainSettings
    out_dir : Path, optional
        Logs and curves (``metrics.jsonl``, ``curves.png``).

    Returns
    -------
    encoder : GMSS
        In eval mode, on the CPU (its class head is untrained).
    history : list of dict
    """
    encoder = new_gmss(channel_names, len(EEGMAT_CLASSES))
    encoder.input_mean.copy_(de.mean((0, 1)))
    encoder.input_std.copy_(de.std((0, 1)).clamp_min(1e-3))
    objective = GMSSPretext(encoder)
    trainer = Trainer(objective, TensorDataset(de), settings, out_dir)
    history = trainer.fit(resume=False)
    return encoder.cpu().eval(), history


# -- evaluation -----------------------------------------------------------------------------------


def balanced_accuracy(y: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    """Mean per-class recall over the classes present in ``y``."""
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


def balance_classes(data: StateWindows, seed: int) -> StateWindows:
    """Per subject, as many windows of each class as its rarest class has (seeded draw)."""
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(data.y), dtype=bool)
    for s in np.unique(data.subject):
        mine = data.subject == s
        n = min(int((mine & (data.y == c)).sum()) for c in np.unique(data.y[mine]))
        for c in np.unique(data.y[mine]):
            idx = np.flatnonzero(mine & (data.y == c))
            keep[rng.choice(idx, n, replace=False)] = True
    return data.subset(keep)


Method = Callable[[StateWindows, StateWindows], NDArray[np.int64]]


def method_band_power(train: StateWindows, test: StateWindows) -> NDArray[np.int64]:
    """Band-power logistic regression: predicted classes of ``test``."""
    model = fit_band_power_lr(train.X, train.y, len(train.class_names), train.sfreq)
    return model.predict_proba(test.X).argmax(1)


def method_gmss(base: GMSS | None, epochs: int = 40, seed: int = 0) -> Method:
    """GMSS trained on ``train`` (from ``base``'s weights when given, else from scratch)."""

    def run(train: StateWindows, test: StateWindows) -> NDArray[np.int64]:
        n_classes = len(train.class_names)
        if base is None:
            model = new_gmss(train.channel_names, n_classes)
        else:
            model = base.with_channels(train.channel_names)
            model.reset_head(n_classes)
        blocks = _blocks(train, 10.0)
        settings = gmss_adapt_settings(epochs, seed)
        if min(len(np.unique(blocks[train.y == c])) for c in np.unique(train.y)) < 3:
            settings = dataclasses.replace(settings, val_fraction=0.0)  # too little to hold back
        result = adapt(model, train.X, train.y, blocks, settings)
        return predict_proba(result.model, test.X).argmax(1)

    return run


def _blocks(data: StateWindows, span_s: float) -> NDArray[np.int64]:
    """Early-stopping groups: consecutive ``span_s`` stretches of each recording (hop 2 s)."""
    per_block = max(1, round(span_s / 2.0))
    out = np.zeros(len(data.y), dtype=np.int64)
    for b in np.unique(data.block):
        idx = np.flatnonzero(data.block == b)
        out[idx] = b * 10_000 + np.arange(len(idx)) // per_block
    return out


def leave_subjects_out(
    data: StateWindows,
    methods: dict[str, Method],
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Leave-one-subject-out balanced accuracy of each method.

    Returns
    -------
    dict
        ``split`` (a description), ``subjects``, per method ``per_subject`` accuracies, ``mean``,
        ``std`` and ``seconds``.
    """
    subjects = sorted(np.unique(data.subject).tolist())
    if len(subjects) < 2:
        raise ConfigError(f"leave-subjects-out needs two subjects or more; got {subjects}.")
    out: dict[str, Any] = {
        "split": f"leave-one-subject-out over {len(subjects)} subjects; training classes "
        f"balanced per subject (seed {seed}); test: all windows of the held-out subject, "
        "balanced accuracy",
        "subjects": subjects,
        "methods": {},
    }
    splits = (
        (s, balance_classes(data.subset(data.subject != s), seed), data.subset(data.subject == s))
        for s in subjects
    )
    out["methods"] = _run_splits(splits, methods, progress)
    return out


def within_subject(
    data: StateWindows,
    methods: dict[str, Method],
    train_fraction: float = 0.5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Calibration-like protocol: per subject, train on the start of each recording, test on
    its end.

    The first ``train_fraction`` of each class's windows (in time order) train, the windows
    that do not overlap them test (a gap of one window length), so a model never sees the future
    of a recording; the training classes are balanced per subject (seeded).
    """
    subjects = sorted(np.unique(data.subject).tolist())
    out: dict[str, Any] = {
        "split": f"within subject, chronological: first {train_fraction:.0%} of each recording "
        f"trains, the rest after a one-window gap tests; training classes balanced (seed {seed}); "
        "balanced accuracy",
        "subjects": subjects,
        "methods": {},
    }
    gap = 2  # windows of 4 s every 2 s: two windows later, no sample is shared

    def split(s: str) -> tuple[str, StateWindows, StateWindows]:
        train_mask = np.zeros(len(data.y), dtype=bool)
        test_mask = np.zeros(len(data.y), dtype=bool)
        for b in np.unique(data.block[data.subject == s]):
            idx = np.flatnonzero(data.block == b)
            cut = round(train_fraction * len(idx))
            train_mask[idx[:cut]] = True
            test_mask[idx[cut + gap :]] = True
        return s, balance_classes(data.subset(train_mask), seed), data.subset(test_mask)

    out["methods"] = _run_splits((split(s) for s in subjects), methods, progress)
    return out


def _run_splits(
    splits: Iterable[tuple[str, StateWindows, StateWindows]],
    methods: dict[str, Method],
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Balanced accuracy of every method on every (label, train, test) split, and a summary."""
    scores: dict[str, list[float]] = {name: [] for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for label, train, test in splits:
        cells = []
        for name, method in methods.items():
            t0 = time.perf_counter()
            acc = balanced_accuracy(test.y, method(train, test))
            seconds[name] += time.perf_counter() - t0
            scores[name].append(acc)
            cells.append(f"{name} {acc:.3f}")
        if progress:
            progress(f"{label}: " + "  ".join(cells))
    return {
        name: {
            "per_subject": [round(v, 4) for v in values],
            "mean": round(float(np.mean(values)), 4),
            "std": round(float(np.std(values)), 4),
            "seconds": round(seconds[name], 1),
        }
        for name, values in scores.items()
    }


def save_affective(
    model: torch.nn.Module,
    path: Path,
    channel_names: Sequence[str],
    class_names: Sequence[str],
    training: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write an affective checkpoint (family ``affective``, the affective preprocessing)."""
    from neurodeck.models.registry import architecture_name

    meta = ModelMeta(
        architecture=architecture_name(model),
        config=model.config,  # type: ignore[arg-type]
        channel_names=tuple(channel_names),
        sfreq=AFFECTIVE_SFREQ,
        window_s=AFFECTIVE_WINDOW_S,
        class_names=tuple(class_names),
        preprocessing=affective_preprocessing(channel_names).to_dict(),
        training=training,
        metrics=metrics or {},
        family=AFFECTIVE,
    )
    return save_checkpoint(path, model, meta)


#: Settings of the shipped GMSS pretraining (``neurodeck pretrain gmss``).
PRETRAIN_SETTINGS = TrainSettings(
    epochs=60, batch_size=128, lr=3e-3, weight_decay=1e-4, warmup_epochs=1, seed=0, progress=False
)
#: EEGBCI runs the pretraining reads (every shared subject has them).
PRETRAIN_RUNS = (4, 6, 8, 12)


def run_pretrain_gmss(
    root: Path,
    subjects: Sequence[int],
    out: Path,
    run_dir: Path,
    cache_dir: Path,
    device: str = "auto",
    settings: TrainSettings = PRETRAIN_SETTINGS,
) -> tuple[Path, dict[str, Any]]:
    """Pretrain GMSS self-supervised on EEGBCI and write the checkpoint (stage ``ssl``)."""
    t0 = time.perf_counter()
    de, names = eegbci_de_features(root, subjects, cache_dir)
    settings = dataclasses.replace(settings, device=device)
    encoder, history = pretrain_gmss(de, names, settings, run_dir)
    seconds = round(time.perf_counter() - t0, 1)
    last = {k: round(v, 4) for k, v in history[-1].items() if isinstance(v, float)}
    training = {
        "stage": "ssl",
        "recipe": "gmss",
        "data": f"EEGBCI subjects {list(subjects)} runs {list(PRETRAIN_RUNS)} (no labels)",
        "n_windows": len(de),
        "objective": "GMSS frequency jigsaw + spatial jigsaw + contrastive, uncertainty-weighted",
        "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "device"},
    }
    path = save_affective(
        encoder, out, names, EEGMAT_CLASSES, training, {"last_epoch": last, "seconds": seconds}
    )
    return path, {"seconds": seconds, "n_windows": len(de), "last_epoch": last}


def evaluate_eegmat(
    root: Path,
    cache_dir: Path,
    pretrained: GMSS | None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Both EEGMAT protocols for the band-power reference and GMSS (scratch, pretrained)."""
    data = eegmat_windows(eegmat_corpus(root, cache_dir))
    methods: dict[str, Method] = {
        "band_power_lr": method_band_power,
        "gmss_scratch": method_gmss(None),
    }
    if pretrained is not None:
        methods["gmss_pretrained"] = method_gmss(pretrained)
    say = progress or (lambda _line: None)
    result: dict[str, Any] = {
        "data": "PhysioNet EEGMAT: SubjectNN_1 rest (~180 s) vs SubjectNN_2 serial subtraction "
        f"(60 s); {len(data.y)} windows of {AFFECTIVE_WINDOW_S:g} s every 2 s, "
        f"{len(data.channel_names)} channels at {data.sfreq:g} Hz",
        "windows_per_class": {
            name: int((data.y == i).sum()) for i, name in enumerate(data.class_names)
        },
    }
    say("cross-subject (leave one subject out):")
    result["cross_subject"] = leave_subjects_out(data, methods, progress=say)
    say("within subject (calibration-like, chronological):")
    result["within_subject"] = within_subject(data, methods, progress=say)
    return result
