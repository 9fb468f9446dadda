"""Emotion calibration: self-assessment ratings as markers, the user's own stimuli, and the
per-block ratings of a recording.

The ``emotion-recall`` paradigm (:mod:`neurodeck.calibration.paradigm`, "Emotion recall") asks the
person to rate each block on two Self-Assessment Manikin scales (Bradley & Lang 1994): valence (1
unhappy .. 9 happy) and arousal (1 calm .. 9 excited). A rating travels as a string marker on the
cue stream, so that it is recorded with the EEG and the cues::

    sam valence=7 arousal=3

:func:`format_rating` writes it and :func:`parse_rating` reads it back; :func:`block_ratings`
pairs each rating with its block (the ``cue_<class>`` before the latest ``self_assessment``) for
the calibration report.

Instead of recall prompts, a person may bring their own stimuli: a folder with one subfolder per
class (``negative/``, ``neutral/``, ``positive/``) of pictures (png, jpg, jpeg, bmp, gif) or videos
(mp4, webm, avi, mkv, mov). :func:`load_stimuli` checks it, :meth:`StimulusSet.assign` gives every
block one file of its class (seeded, no file twice before all of its class were shown), and
:func:`with_stimuli` adds a ``stimulus <relative path>`` marker at each cue.

This module imports numpy and the paradigm only (no LSL, no Qt), so the displays can use it.

References
----------
Bradley MM, Lang PJ (1994). Measuring emotion: the self-assessment manikin and the semantic
differential. J Behav Ther Exp Psychiatry 25(1):49-59.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.calibration.paradigm import SELF_ASSESSMENT, Cue, Paradigm, class_of_marker
from neurodeck.common.types import ConfigError, MarkerEvent

logger = logging.getLogger(__name__)

#: First word of a rating marker.
SAM_PREFIX = "sam"
#: Lowest and highest point of both SAM scales.
SAM_MIN, SAM_MAX = 1, 9
#: Words at the ends of the scales: (scale, low end, high end).
SAM_SCALES: tuple[tuple[str, str, str], ...] = (
    ("valence", "unhappy", "happy"),
    ("arousal", "calm", "excited"),
)
#: First word of a stimulus marker.
STIMULUS_PREFIX = "stimulus"
#: File suffixes read as pictures.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: File suffixes read as videos.
VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mkv", ".mov")
#: Files of a stimuli folder that are skipped without complaint (hidden files are too).
IGNORED_FILES = frozenset({"thumbs.db", "desktop.ini"})

#: What the person is told before a block with a stimulus (its kind is not known yet).
STIMULUS_FIXATION_PROMPT = "Next: a picture or a video. Look at it and let yourself feel it."
#: What the person is told while a stimulus is shown, by kind.
STIMULUS_PROMPTS: dict[str, str] = {
    "image": "Look at the picture and let yourself feel it.",
    "video": "Watch the video and let yourself feel it.",
}

_KEY_VALUE = re.compile(r"([a-z_]+)\s*=\s*([^\s,;]+)")


# -- ratings --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SamRating:
    """One self-assessment: valence and arousal, each an int in 1..9."""

    valence: int
    arousal: int


def check_rating(valence: object, arousal: object) -> SamRating:
    """Validate a rating and return it.

    Raises
    ------
    ConfigError
        When a value is not an int from 1 to 9.
    """
    for name, value in (("valence", valence), ("arousal", arousal)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not SAM_MIN <= value <= SAM_MAX
        ):
            raise ConfigError(
                f"'{name}' must be an int from {SAM_MIN} to {SAM_MAX}; got {value!r}.",
                "Rate on the SAM scale: 1 (unhappy / calm) to 9 (happy / excited).",
            )
    return SamRating(int(valence), int(arousal))  # type: ignore[arg-type]


def format_rating(valence: int, arousal: int) -> str:
    """The marker of a rating: ``format_rating(7, 3) == "sam valence=7 arousal=3"``.

    Raises
    ------
    ConfigError
        When a value is not an int from 1 to 9.
    """
    rating = check_rating(valence, arousal)
    return f"{SAM_PREFIX} valence={rating.valence} arousal={rating.arousal}"


def parse_rating(label: str) -> SamRating | None:
    """The rating a marker carries, or None for any other marker.

    Tolerant: case, extra spaces, the order of the two values, a ``:`` after ``sam``, integral
    floats (``7.0``) and extra ``key=value`` fields are accepted. A rating marker with a value
    missing or outside 1..9 also gives None (with a logged warning).

    Examples
    --------
    >>> parse_rating("SAM  arousal=3 valence=7")
    SamRating(valence=7, arousal=3)
    >>> parse_rating("cue_left") is None
    True
    """
    if not isinstance(label, str):
        return None
    text = label.strip().lower()
    head = text.split(maxsplit=1)[0].rstrip(":") if text else ""
    if head != SAM_PREFIX:
        return None
    values = {key: _integral(value) for key, value in _KEY_VALUE.findall(text)}
    try:
        return check_rating(values.get("valence"), values.get("arousal"))
    except ConfigError:
        logger.warning("Unreadable self-assessment marker %r ignored.", label)
        return None


def _integral(text: str) -> int | None:
    """``"7"`` or ``"7.0"`` -> 7; anything else (``"7.5"``, ``"x"``) -> None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def is_annotation(label: str) -> bool:
    """True for markers that annotate a block (ratings, stimuli) rather than change what is
    shown: displays keep their state when one arrives."""
    return parse_stimulus(label) is not None or _looks_like_rating(label)


def _looks_like_rating(label: str) -> bool:
    words = label.strip().lower().split(maxsplit=1) if isinstance(label, str) else []
    return bool(words) and words[0].rstrip(":") == SAM_PREFIX


# -- stimuli --------------------------------------------------------------------------------
def stimulus_marker(relative_path: str) -> str:
    """The marker of a stimulus: ``stimulus negative/storm.jpg``."""
    return f"{STIMULUS_PREFIX} {relative_path}"


def parse_stimulus(label: str) -> str | None:
    """The relative path a stimulus marker names, or None for any other marker."""
    if not isinstance(label, str) or not label.startswith(STIMULUS_PREFIX + " "):
        return None
    path = label[len(STIMULUS_PREFIX) + 1 :].strip()
    return path or None


def stimulus_kind(path: str | Path) -> str | None:
    """``"image"`` or ``"video"`` by the file's suffix, None for other files."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def trial_prompt(paradigm: Paradigm, class_name: str | None, stimulus: str | None = None) -> str:
    """What a display shows during a block: the recall prompt, or the stimulus instruction.

    Parameters
    ----------
    paradigm : Paradigm
    class_name : str or None
        The block's class (None: unknown, gives ``""`` without a stimulus).
    stimulus : str, optional
        The block's stimulus file (any path); with it, the instruction for its kind.
    """
    if stimulus is not None:
        return STIMULUS_PROMPTS.get(stimulus_kind(stimulus) or "", STIMULUS_FIXATION_PROMPT)
    return paradigm.prompt(class_name) if class_name else ""


@dataclass(frozen=True)
class StimulusSet:
    """The user's stimuli, one tuple of files per class.

    Parameters
    ----------
    root : Path
        The stimuli folder (absolute).
    files : tuple of (str, tuple of str)
        ``(class, relative paths)`` in class order; paths use ``/`` and are relative to ``root``
        (``"negative/storm.jpg"``), sorted.
    """

    root: Path
    files: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes, in order."""
        return tuple(name for name, _ in self.files)

    def of_class(self, class_name: str) -> tuple[str, ...]:
        """The relative paths of a class."""
        return dict(self.files)[class_name]

    def path(self, relative_path: str) -> Path:
        """The absolute path of a relative one."""
        return self.root / relative_path

    def assign(self, classes: Sequence[str], seed: int = 0) -> list[str]:
        """One stimulus per block: ``classes[i]`` is block ``i``'s class.

        Each class's files are shuffled (seeded) and dealt in turn; a file comes again only after
        every file of its class was shown, and then in a new random order.

        Returns
        -------
        list of str
            Relative paths, one per block.
        """
        rng = np.random.default_rng([int(seed), 0x57])
        decks: dict[str, list[str]] = {}
        out = []
        for name in classes:
            if name not in dict(self.files):
                raise ConfigError(f"There are no stimuli for class {name!r}.")
            if not decks.get(name):
                pool = list(self.of_class(name))
                decks[name] = [pool[i] for i in rng.permutation(len(pool))]
            out.append(decks[name].pop(0))
        return out

    def describe(self) -> str:
        """One line: how many files per class."""
        counts = ", ".join(f"{name} {len(paths)}" for name, paths in self.files)
        return f"stimuli from {self.root} ({counts})"


def load_stimuli(folder: str | Path, class_names: Sequence[str]) -> StimulusSet:
    """Read and check a stimuli folder: one subfolder per class, of pictures or videos.

    Parameters
    ----------
    folder : path
        The folder (``~`` is expanded).
    class_names : sequence of str
        The paradigm's classes; each needs a subfolder of that name with at least one file.

    Raises
    ------
    ConfigError
        The folder is missing, a class subfolder is missing or empty, or it holds files of an
        unsupported kind or nested folders; the message names them and says what to do.
    """
    root = Path(folder).expanduser().resolve()
    layout = "one subfolder per class (" + ", ".join(f"{c}/" for c in class_names) + ")"
    supported = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ConfigError(f"The stimuli folder {root} {what}.", f"Give a folder with {layout}.")
    present = sorted(p.name for p in root.iterdir() if p.is_dir())
    missing = [c for c in class_names if not (root / c).is_dir()]
    if missing:
        raise ConfigError(
            f"The stimuli folder {root} has no subfolder for {', '.join(missing)} (subfolders "
            f"found: {', '.join(present) or 'none'}).",
            f"Create {layout}, named exactly after the classes, with pictures or videos in each.",
        )
    files = []
    for name in class_names:
        usable, bad = _class_files(root, name)
        if bad:
            shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise ConfigError(
                f"The stimuli folder {root / name} holds files neurodeck cannot show: {shown}.",
                f"Keep only pictures or videos there ({supported}), without nested folders; "
                "convert or move the others.",
            )
        if not usable:
            raise ConfigError(
                f"The stimuli folder {root / name} is empty.",
                f"Put at least one picture or video ({supported}) of class '{name}' in it.",
            )
        files.append((name, tuple(usable)))
    return StimulusSet(root, tuple(files))


def _class_files(root: Path, class_name: str) -> tuple[list[str], list[str]]:
    """Usable relative paths of a class folder, and the names of what cannot be used."""
    usable, bad = [], []
    for entry in sorted((root / class_name).iterdir()):
        if entry.name.startswith(".") or entry.name.lower() in IGNORED_FILES:
            continue
        if entry.is_dir():
            bad.append(entry.name + "/")
        elif stimulus_kind(entry) is None:
            bad.append(entry.name)
        else:
            usable.append(f"{class_name}/{entry.name}")
    return usable, bad


def with_stimuli(schedule: Sequence[Cue], assigned: Sequence[str]) -> list[Cue]:
    """The schedule with a ``stimulus <path>`` marker right after each cue, at the same time.

    Parameters
    ----------
    schedule : sequence of Cue
        From :meth:`Paradigm.schedule <calibration.paradigm.Paradigm.schedule>`.
    assigned : sequence of str
        One relative path per trial (:meth:`StimulusSet.assign`), in trial order.
    """
    out: list[Cue] = []
    for cue in schedule:
        out.append(cue)
        if class_of_marker(cue.marker) is not None and cue.trial >= 0:
            out.append(
                Cue(cue.t_s, stimulus_marker(assigned[cue.trial]), cue.trial, cue.class_name)
            )
    return out


def trial_classes(schedule: Sequence[Cue]) -> list[str]:
    """The class of every trial, in trial order (from the schedule's cue markers)."""
    return [c.marker[len("cue_") :] for c in schedule if class_of_marker(c.marker) is not None]


# -- ratings of a recording -----------------------------------------------------------------
@dataclass(frozen=True)
class BlockRating:
    """The self-assessment of one block.

    Parameters
    ----------
    block : int
        Block index from 0, in cue order within its recording.
    class_name : str
    onset : float
        Timestamp of the block's cue.
    valence, arousal : int or None
        The rating (None when the block was not rated).
    stimulus : str or None
        The stimulus shown, when the block had one.
    """

    block: int
    class_name: str
    onset: float
    valence: int | None = None
    arousal: int | None = None
    stimulus: str | None = None

    @property
    def rated(self) -> bool:
        """True when the block has a rating."""
        return self.valence is not None


def block_ratings(markers: Sequence[MarkerEvent]) -> list[BlockRating]:
    """Every block of a recording with its rating, in time order.

    A rating belongs to the block of the latest ``self_assessment`` before it; when a block was
    rated twice the last rating counts. Ratings before any ``self_assessment`` are ignored.

    Parameters
    ----------
    markers : sequence of MarkerEvent
        The recording's markers, sorted by timestamp.

    Returns
    -------
    list of BlockRating
        One per ``cue_<class>`` marker (unrated blocks included); empty without cues.
    """
    blocks: list[BlockRating] = []
    rated: int | None = None  # index into blocks of the open rating period
    for marker in markers:
        label = marker.label
        name = class_of_marker(label)
        if name is not None:
            blocks.append(BlockRating(len(blocks), name, marker.timestamp))
        elif label == SELF_ASSESSMENT and blocks:
            rated = len(blocks) - 1
        elif (path := parse_stimulus(label)) is not None and blocks:
            blocks[-1] = replace(blocks[-1], stimulus=path)
        elif (rating := parse_rating(label)) is not None and rated is not None:
            blocks[rated] = replace(blocks[rated], valence=rating.valence, arousal=rating.arousal)
    return blocks


def self_assessment_report(recordings: Sequence[Any]) -> dict[str, Any] | None:
    """The ``self_assessment`` entry of a calibration report, or None without rating periods.

    Parameters
    ----------
    recordings : sequence
        Objects with ``markers`` (sequence of MarkerEvent) and ``source`` (str), such as
        :class:`neurodeck.calibration.trials.ContinuousEEG`.

    Returns
    -------
    dict or None
        ``blocks``: one dictionary per block (``source``, ``block``, ``class``, ``valence``,
        ``arousal``, ``stimulus``); ``per_class``: class -> ``n_rated``, mean ``valence`` and
        ``arousal`` (None when none was rated); ``n_blocks`` and ``n_rated``.
    """
    rows: list[dict[str, Any]] = []
    for rec in recordings:
        if not any(m.label == SELF_ASSESSMENT for m in rec.markers):
            continue
        for b in block_ratings(rec.markers):
            rows.append(
                {
                    "source": str(rec.source),
                    "block": b.block,
                    "class": b.class_name,
                    "valence": b.valence,
                    "arousal": b.arousal,
                    "stimulus": b.stimulus,
                }
            )
    if not rows:
        return None
    return {
        "scales": {name: f"{SAM_MIN} {low} .. {SAM_MAX} {high}" for name, low, high in SAM_SCALES},
        "blocks": rows,
        "per_class": _per_class(rows),
        "n_blocks": len(rows),
        "n_rated": sum(r["valence"] is not None for r in rows),
    }


def _per_class(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["class"] for r in rows):
        rated = [r for r in rows if r["class"] == name and r["valence"] is not None]
        out[name] = {
            "n_blocks": sum(r["class"] == name for r in rows),
            "n_rated": len(rated),
            "valence": round(float(np.mean([r["valence"] for r in rated])), 2) if rated else None,
            "arousal": round(float(np.mean([r["arousal"] for r in rated])), 2) if rated else None,
        }
    return out
