"""Cue paradigms for calibration: what the person is asked to do, when, and in which order.

A :class:`Paradigm` describes a calibration session of one decoding family (motor imagery, or
affective: emotion recall); :meth:`Paradigm.schedule` turns it into a list of timed :class:`Cue`
markers, balanced across classes and shuffled by a seed.
The markers go out on an LSL marker stream (:class:`neurodeck.calibration.cues.CuePlayer`) from
which the recorder, the dashboard's cue display and the terminal display
(:class:`neurodeck.calibration.cue_terminal.TerminalCueDisplay`) all read.

Marker vocabulary (string markers, one per LSL sample, timestamp = the moment it refers to):

====================  =============================================================================
marker                meaning
====================  =============================================================================
``calib_start``       Session begins (t = 0); the lead-in (settle time) follows.
``fixation``          A trial begins: fixation cross on screen, the person keeps still and waits.
``cue_<class>``       The cue is shown **and** the imagery period starts (``cue_left``,
                      ``cue_right``, ``cue_feet``, ``cue_rest`` ...). Epochs are cut relative to
                      this marker (:attr:`Paradigm.epoch_s`).
``rest``              The imagery period ends; a randomised break follows (blink, swallow, relax).
                      Not to be confused with ``cue_rest``, the *rest class* of ``mi-4``.
``self_assessment``   Paradigms with ``self_assessment = true`` (``emotion-recall``): at the same
                      time as ``rest``, the rating period opens; the person rates how they felt
                      during the block (SAM valence and arousal, 1-9) while the break runs.
``sam ...``           A rating, ``sam valence=V arousal=A`` (V and A in 1..9); not scheduled:
                      pushed when the person submits it (timestamp = that moment). It belongs to
                      the block of the latest ``self_assessment``
                      (:mod:`neurodeck.calibration.emotion`).
``stimulus PATH``     With the user's own stimuli: pushed right after ``cue_<class>``, same
                      timestamp; PATH is the file relative to the stimuli folder
                      (``negative/a.jpg``).
``calib_end``         The session finished normally, after the last break.
``calib_abort``       The session was stopped before ``calib_end``; the trials so far are usable.
``calib_pause``       The user held the session between two trials (after a break, before the
                      next ``fixation``); the EEG keeps being recorded.
``calib_resume``      The session continues; later markers are shifted by the pause.
====================  =============================================================================

One trial, in seconds from its ``fixation`` marker (defaults)::

    0.0 fixation ... 1.5 cue_<class> ............ 5.5 rest ...... 6.75-7.25 next fixation
                     |<------ imagery 4.0 s ----->|<- break U(1.25, 1.75) ->|

Presets (:data:`PARADIGMS`):

- ``mi-lr`` (default): left hand vs right hand, 20 trials per class (40 trials).
- ``mi-4``: left hand, right hand, feet, rest; 10 trials per class (40 trials).
- ``emotion-recall`` (affective): negative, neutral, positive; 2 recall blocks per class (6 blocks,
  about 10 minutes), each followed by a self-assessment. See "Emotion recall" below.

Motor imagery
-------------
Both motor-imagery presets last at most 293 s (3 s lead-in + 40 trials of at most 7.25 s; 283 s
on average), within the 5-minute budget of a calibration session. Where the defaults come from:

- Imagery of 4.0 s: the imagery period of both reference protocols (EEGBCI: the target stays
  about 4.1 s; BCI Competition IV 2a: cue at t = 2 s, imagery until t = 6 s).
- Fixation of 1.5 s before the cue (2a: 2 s, with a warning tone): enough to fix the gaze and get
  ready, 0.5 s shorter than 2a so that 20 trials per class fit in 5 minutes.
- Break drawn uniformly from 1.25 to 1.75 s: its mean is 2a's 1.5 s break, and the jitter keeps
  the trial rhythm from becoming predictable (EEGBCI rested about 4.1 s, but between targets with
  no fixation period). Break plus fixation leaves 2.75 to 3.25 s between the end of one imagery
  period and the next cue, so the post-imagery beta rebound (about 1 s) has faded before the
  next epoch starts.
- Lead-in of 3 s after ``calib_start``: the causal filters settle and the person gets ready.
- Epoch from 0.5 to 4.0 s after the cue: skips the visual response to the cue and the reaction
  time (the ERD develops about 0.5 s after the cue) and ends with the imagery period; the longest
  span of sustained imagery, from which sub-windows of the live window length are cropped. The
  2a literature commonly uses 0.5 to 2.5 s, which lies inside it.
- 20 trials per class for ``mi-lr``: roughly what a Riemannian (tangent-space) decoder needs to
  estimate class covariances usefully, and what EEGBCI offers per class (about 22 imagery trials of
  each hand over three 2-minute runs). ``mi-4`` has four classes in the same 5 minutes, hence 10
  per class: enough to fine-tune a pretrained encoder, thin for a decoder trained from scratch.
  For more, load a TOML file with ``base = "mi-4"`` and ``trials_per_class = 20`` (about 10
  minutes), or record two sessions.
- At most 3 trials of one class in a row (``max_run``): shuffled, but with no long streaks that
  would let the person (or slow drifts in the EEG) predict the class.

Emotion recall
--------------
``emotion-recall`` induces emotions with the autobiographical emotional memory task (AEMT): the
person recalls and relives a personal experience of the cued kind. Mills and D'Mello (2014) found
that recalling (and writing about) such experiences induces the intended emotions, but also some
incidental ones (recalling anger raised disgust and sadness more than recalling fear), so the
classes here are valences (negative, neutral, positive), not discrete emotions, and every block is
followed by a self-assessment that records what the person actually felt. One block, in seconds
from its ``fixation`` marker::

    0 fixation ... 10 cue_<class> ............... 70 rest + self_assessment ...... 95-105 next
      |<- prompt ->|<------ recall 60 s -------->|<-- rating, then rest 25-35 s -->|

- Lead-in of 5 s after ``calib_start`` (a judgement call): the filters settle and the person
  settles in before the first prompt.
- Prompt of 10 s (``fixation_s``): the recall prompt is shown (:attr:`Paradigm.prompts`); the
  person reads it and closes their eyes. SEED (Zheng & Lu 2015) gave a 5 s hint before each film
  clip; 10 s here leaves time to read a two-sentence prompt (a judgement call).
- Recall of 60 s (``imagery_s``): one-minute blocks, as the one-minute music-video excerpts of
  DEAP (Koelstra et al. 2012); long enough for several windows of the live decoder, short enough
  to hold one memory (a judgement call). The displays sound a tone at the block's end, since
  the person's eyes are closed.
- Epoch from 5 to 60 s after the cue (``epoch_s``): skips the first seconds, in which the person
  closes their eyes and searches for the memory (the 5 s are a judgement call).
- Rating and rest of 25 to 35 s (``rest_s``, uniform): the self-assessment, then a rest that lets
  the feeling fade before the next prompt. SEED gave 45 s for its questionnaire and 15 s of rest
  after each clip; two SAM scales take less time than a questionnaire (a judgement call). The
  terminal waits for a rating at most the shortest rest (25 s), so it never overlaps a block.
- Self-assessment: the Self-Assessment Manikin (SAM; Bradley & Lang 1994) for valence (unhappy ..
  happy) and arousal (calm .. excited), each 1-9 (the 9-point form: five figures and the points
  between them; DEAP's ratings also run from 1 to 9); dominance is left out to keep the rating
  short.
- 2 blocks per class, no two blocks of the same class in a row (``max_run = 1``; SEED never showed
  two clips of the same emotion in a row): 6 blocks, 605 s on average (at most 635 s). Two blocks
  per class is the least that lets a block be held out for validation; record a second session
  (or ``trials_per_class = 3`` in a TOML file, about 15 minutes) for more. This exceeds the
  5-minute budget of the motor-imagery presets: emotion induction needs blocks of a minute and a
  rating after each, so affective presets may last up to 12 minutes
  (:data:`MAX_PRESET_DURATION_S_BY_FAMILY`).
- Eyes are closed during recall, while the decoder later usually runs with open eyes, and alpha
  power differs a lot between the two. When that matters, override the prompts (``[prompts]`` in
  a TOML file) to ask for recall with open eyes, looking at a fixed point.
- The order is random, so a session may end on a negative block: let the person rest, or recall
  something pleasant, afterwards (a judgement call, not a measurement).

With the user's own stimuli (``--stimuli FOLDER``, :mod:`neurodeck.calibration.emotion`), each block
shows one picture or video of its class instead of a recall prompt; the timing is the same.

References
----------
Bradley MM, Lang PJ (1994). Measuring emotion: the self-assessment manikin and the semantic
differential. J Behav Ther Exp Psychiatry 25(1):49-59.

Koelstra S, Mühl C, Soleymani M, Lee JS, Yazdani A, Ebrahimi T, Pun T, Nijholt A, Patras I (2012).
DEAP: a database for emotion analysis using physiological signals. IEEE Trans Affect Comput
3(1):18-31.

Mills C, D'Mello S (2014). On the validity of the autobiographical emotional memory task for
emotion induction. PLoS ONE 9(4):e95837.

Zheng WL, Lu BL (2015). Investigating critical frequency bands and channels for EEG-based emotion
recognition with deep neural networks. IEEE Trans Auton Ment Dev 7(3):162-175 (the SEED data set).

Schalk G, McFarland DJ, Hinterberger T, Birbaumer N, Wolpaw JR (2004). BCI2000: a general-purpose
brain-computer interface (BCI) system. IEEE Trans Biomed Eng 51(6):1034-1043. Data: the EEG Motor
Movement/Imagery Dataset (EEGBCI) in Goldberger AL et al. (2000), PhysioBank, PhysioToolkit, and
PhysioNet. Circulation 101(23):e215-e220.

Tangermann M, Müller KR, Aertsen A, Birbaumer N, Braun C, Brunner C, et al. (2012). Review of the
BCI Competition IV. Front Neurosci 6:55. Data set 2a: Brunner C, Leeb R, Müller-Putz GR, Schlögl
A, Pfurtscheller G (2008), BCI Competition 2008 - Graz data set A.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.checks import check_positive
from neurodeck.common.types import AFFECTIVE, FAMILIES, MOTOR_IMAGERY, ConfigError

#: Session begins.
CALIB_START = "calib_start"
#: A trial begins (fixation cross).
FIXATION = "fixation"
#: Prefix of the cue markers: ``cue_<class>`` marks the cue and the start of imagery.
CUE_PREFIX = "cue_"
#: Imagery ends; a randomised break follows.
REST = "rest"
#: The rating period after a block opens (paradigms with ``self_assessment``), with ``rest``.
SELF_ASSESSMENT = "self_assessment"
#: Session finished normally.
CALIB_END = "calib_end"
#: Session stopped before its end.
CALIB_ABORT = "calib_abort"
#: The user held the cues between two trials (the EEG keeps being recorded).
CALIB_PAUSE = "calib_pause"
#: The cues continue after a pause; the rest of the schedule is shifted by the pause.
CALIB_RESUME = "calib_resume"
#: The markers that are not cues.
CONTROL_MARKERS = (
    CALIB_START,
    FIXATION,
    REST,
    SELF_ASSESSMENT,
    CALIB_END,
    CALIB_ABORT,
    CALIB_PAUSE,
    CALIB_RESUME,
)

#: Preset used when none is named.
DEFAULT_PARADIGM = "mi-lr"
#: Upper bound on the duration of every motor-imagery preset, in seconds.
MAX_PRESET_DURATION_S = 300.0
#: Upper bound on the duration of the presets of each family, in seconds. Affective presets may
#: last longer: emotion induction needs blocks of about a minute and a rating after each (see
#: "Emotion recall" in the module docstring).
MAX_PRESET_DURATION_S_BY_FAMILY: dict[str, float] = {
    MOTOR_IMAGERY: MAX_PRESET_DURATION_S,
    AFFECTIVE: 720.0,
}

#: Recall prompts of the emotion classes (:attr:`Paradigm.prompts` of ``emotion-recall``).
DEFAULT_RECALL_PROMPTS: dict[str, str] = {
    "negative": "Recall a time you felt sad, angry or afraid. Relive it in detail: where you "
    "were, who was there, what you felt.",
    "neutral": "Recall an ordinary moment that left you indifferent, such as a usual morning or "
    "a routine errand. Relive it in detail: where you were, what you did, what was around you.",
    "positive": "Recall a time you felt happy, proud or deeply content. Relive it in detail: "
    "where you were, who was there, what you felt.",
}

#: Default epoch start after the cue, in seconds (skips the visual response to the cue).
DEFAULT_EPOCH_START_S = 0.5

_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def cue_marker(class_name: str) -> str:
    """The cue marker of a class: ``cue_marker("left") == "cue_left"``.

    Raises
    ------
    ConfigError
        If ``class_name`` is not a valid class name (lower case letters, digits, ``_`` or ``-``,
        starting with a letter).
    """
    _check_class_name(class_name)
    return f"{CUE_PREFIX}{class_name}"


def class_of_marker(label: str) -> str | None:
    """The class a cue marker announces (``"cue_left"`` -> ``"left"``), None for other markers."""
    if not label.startswith(CUE_PREFIX):
        return None
    name = label[len(CUE_PREFIX) :]
    return name if _CLASS_NAME.match(name) else None


def _check_class_name(name: object) -> str:
    if not isinstance(name, str) or not _CLASS_NAME.match(name):
        raise ConfigError(
            f"class names must be lower case letters, digits, '_' or '-', starting with a "
            f"letter; got {name!r}."
        )
    return name


@dataclass(frozen=True, slots=True)
class Cue:
    """One scheduled marker.

    Parameters
    ----------
    t_s : float
        Seconds from the session start (``calib_start`` is at 0), at speed 1.
    marker : str
        The marker label (see the module docstring).
    trial : int
        Trial index from 0, or -1 for the session markers (``calib_start``, ``calib_end``).
    class_name : str or None
        The trial's class (for the trial's ``fixation``, cue and ``rest`` markers), else None.
    """

    t_s: float
    marker: str
    trial: int
    class_name: str | None


@dataclass(frozen=True)
class Paradigm:
    """A calibration protocol; the defaults are the ``mi-lr`` preset (motor imagery).

    Parameters
    ----------
    name : str
        Short name (written in the marker stream header and in reports).
    class_names : tuple of str
        At least two distinct classes, in model order; each becomes a ``cue_<class>`` marker.
    trials_per_class : int
        Trials of each class (the classes are exactly balanced).
    fixation_s : float
        Fixation cross before the cue, in seconds.
    imagery_s : float
        Imagery period from the cue to the ``rest`` marker, in seconds.
    rest_s : (float, float)
        Break after the imagery period, drawn uniformly from ``[min, max)`` seconds per trial
        (``min == max`` gives a fixed break).
    lead_in_s : float
        Settle time from ``calib_start`` to the first ``fixation``, in seconds.
    epoch_s : (float, float), optional
        ``(tmin, tmax)`` relative to the cue, in seconds: the span used to fit decoders. Must lie
        within the trial: ``-fixation_s <= tmin < tmax <= imagery_s``. Default (None): from
        0.5 s after the cue to the end of the imagery period, ``(0.5, imagery_s)`` (``(0,
        imagery_s)`` when the imagery period is 0.5 s or shorter).
    max_run : int
        Most trials of the same class in a row.
    family : str
        Decoding family: ``common.types.MOTOR_IMAGERY`` (default) or ``common.types.AFFECTIVE``.
    prompts : mapping of str to str
        Class -> the text shown before and during its blocks (what to recall); given as a mapping,
        stored as ``(class, text)`` pairs in class order. Affective paradigms get a prompt for
        every class: :data:`DEFAULT_RECALL_PROMPTS` for the emotion classes, a generic recall
        prompt for others. Empty by default for motor imagery.
    self_assessment : bool
        Open a rating period (``self_assessment`` marker) after every block, at its ``rest``.

    Raises
    ------
    ConfigError
        When a value is out of range; the message names the field, the rule and the value.
    """

    name: str = "mi-lr"
    class_names: tuple[str, ...] = ("left", "right")
    trials_per_class: int = 20
    fixation_s: float = 1.5
    imagery_s: float = 4.0
    rest_s: tuple[float, float] = (1.25, 1.75)
    lead_in_s: float = 3.0
    epoch_s: tuple[float, float] = None  # type: ignore[assignment]  # see __post_init__
    max_run: int = 3
    family: str = MOTOR_IMAGERY
    prompts: tuple[tuple[str, str], ...] = ()
    self_assessment: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"'name' must be a non-empty string; got {self.name!r}.")
        self._set("class_names", _check_class_names(self.class_names))
        _check_count("trials_per_class", self.trials_per_class)
        _check_count("max_run", self.max_run)
        self._set("fixation_s", check_positive("fixation_s", self.fixation_s, unit="s"))
        self._set("imagery_s", check_positive("imagery_s", self.imagery_s, unit="s"))
        self._set("lead_in_s", _check_non_negative("lead_in_s", self.lead_in_s))
        self._set("rest_s", _check_rest(self.rest_s))
        epoch = self.epoch_s
        if epoch is None:
            epoch = (
                DEFAULT_EPOCH_START_S if self.imagery_s > DEFAULT_EPOCH_START_S else 0.0,
                self.imagery_s,
            )
        self._set("epoch_s", _check_epoch(epoch, self.fixation_s, self.imagery_s))
        if self.family not in FAMILIES:
            raise ConfigError(
                f"'family' must be one of {', '.join(FAMILIES)}; got {self.family!r}."
            )
        if not isinstance(self.self_assessment, bool):
            raise ConfigError(
                f"'self_assessment' must be true or false; got {self.self_assessment!r}."
            )
        self._set("prompts", _check_prompts(self.prompts, self.class_names, self.family))

    def _set(self, field: str, value: object) -> None:
        object.__setattr__(self, field, value)

    # -- derived ------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def n_trials(self) -> int:
        """Trials in the session (``n_classes * trials_per_class``)."""
        return self.n_classes * self.trials_per_class

    @property
    def marker_classes(self) -> dict[str, str]:
        """Cue marker -> class name, in class order (``{"cue_left": "left", ...}``)."""
        return {cue_marker(name): name for name in self.class_names}

    @property
    def prompt_map(self) -> dict[str, str]:
        """Class -> prompt text, for the classes that have one."""
        return dict(self.prompts)

    def prompt(self, class_name: str) -> str:
        """The prompt of a class (``""`` when it has none)."""
        return dict(self.prompts).get(class_name, "")

    @property
    def trial_max_s(self) -> float:
        """Longest trial (fixation + imagery + longest break), in seconds."""
        return self.fixation_s + self.imagery_s + self.rest_s[1]

    @property
    def max_duration_s(self) -> float:
        """Upper bound of the session length (every break at its maximum), in seconds."""
        return self.lead_in_s + self.n_trials * self.trial_max_s

    @property
    def mean_duration_s(self) -> float:
        """Expected session length (breaks at their mean), in seconds."""
        mean_rest = 0.5 * (self.rest_s[0] + self.rest_s[1])
        return self.lead_in_s + self.n_trials * (self.fixation_s + self.imagery_s + mean_rest)

    def summary(self) -> str:
        """One line for the terminal: classes, trials and duration."""
        return (
            f"{self.name}: {self.n_classes} classes ({', '.join(self.class_names)}) x "
            f"{self.trials_per_class} trials = {self.n_trials} trials; "
            f"about {self.mean_duration_s / 60:.1f} min (at most {self.max_duration_s:.0f} s)"
        )

    # -- schedule -----------------------------------------------------------------------------
    def schedule(self, seed: int = 0) -> list[Cue]:
        """The session's markers in time order, deterministic for a seed.

        ``calib_start`` at 0; trial ``i`` has ``fixation`` at ``t``, ``cue_<class>`` at
        ``t + fixation_s``, ``rest`` at ``t + fixation_s + imagery_s`` (followed, with
        :attr:`self_assessment`, by ``self_assessment`` at the same time), and the next trial
        starts after its random break; ``calib_end`` comes after the last break. The first trial
        starts at ``lead_in_s``.

        Parameters
        ----------
        seed : int
            Seed of ``numpy.random.default_rng``, which draws the class order (exactly
            ``trials_per_class`` of each class, no more than ``max_run`` of a class in a row)
            and then the breaks.

        Returns
        -------
        cues : list of Cue
            ``3 * n_trials + 2`` markers (``4 * n_trials + 2`` with :attr:`self_assessment`).
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"'seed' must be an int >= 0; got {seed!r}.")
        rng = np.random.default_rng(int(seed))
        order = balanced_order(self.n_classes, self.trials_per_class, self.max_run, rng)
        rests = rng.uniform(self.rest_s[0], self.rest_s[1], size=len(order))
        cues = [Cue(0.0, CALIB_START, -1, None)]
        t = self.lead_in_s
        for trial, (class_index, rest) in enumerate(zip(order, rests, strict=True)):
            name = self.class_names[class_index]
            cue_at = t + self.fixation_s
            rest_at = cue_at + self.imagery_s
            cues.append(Cue(t, FIXATION, trial, name))
            cues.append(Cue(cue_at, cue_marker(name), trial, name))
            cues.append(Cue(rest_at, REST, trial, name))
            if self.self_assessment:
                cues.append(Cue(rest_at, SELF_ASSESSMENT, trial, name))
            t = rest_at + float(rest)
        cues.append(Cue(t, CALIB_END, -1, None))
        return cues

    # -- (de)serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON- and TOML-ready dictionary (tuples as lists, ``prompts`` as a dictionary)."""
        out = {
            f.name: list(value) if isinstance(value, tuple) else value
            for f in dataclasses.fields(self)
            for value in (getattr(self, f.name),)
        }
        out["prompts"] = dict(self.prompts)
        return out

    def to_toml(self) -> str:
        """The paradigm as TOML text, readable by :meth:`from_toml` (prompts as a table)."""
        values = self.to_dict()
        prompts = values.pop("prompts")
        text = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
        if prompts:
            text += "\n[prompts]\n" + "".join(
                f"{name} = {json.dumps(prompt, ensure_ascii=False)}\n"
                for name, prompt in prompts.items()
            )
        return text

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Paradigm:
        """Build from a dictionary such as :meth:`to_dict` writes.

        A ``base`` key names a preset whose values fill in the keys not given.

        Raises
        ------
        ConfigError
            Unknown keys, an unknown ``base``, values of the wrong type or out of range.
        """
        if not isinstance(values, Mapping):
            raise ConfigError(f"a paradigm must be a table of settings; got {values!r}.")
        values = dict(values)
        base = values.pop("base", None)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"Unknown paradigm setting(s): {', '.join(unknown)}.",
                f"Known settings: base, {', '.join(known)}.",
            )
        if base is not None:
            if base not in PARADIGMS:
                raise ConfigError(
                    f"Unknown base paradigm {base!r}.", f"Presets: {', '.join(PARADIGMS)}."
                )
            values = _with_base(PARADIGMS[base], values)
        for key in ("class_names", "rest_s", "epoch_s"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)

    @classmethod
    def from_toml(cls, path: Path | str) -> Paradigm:
        """Read a paradigm from a TOML file of top-level keys (see :meth:`from_dict`).

        Example::

            base = "mi-4"            # optional: start from a preset
            name = "mi-4-long"
            trials_per_class = 20
            rest_s = [1.5, 2.5]

        Prompts go in a ``[prompts]`` table, class -> text; with a ``base``, they replace the
        base's prompts of those classes only::

            base = "emotion-recall"
            [prompts]
            positive = "Recall the happiest day of your last holidays. Relive it in detail."

        Without ``name`` (and ``base``), the file's stem is the name.

        Raises
        ------
        ConfigError
            The file is missing or not valid TOML, or :meth:`from_dict` refuses its values.
        """
        path = Path(path).expanduser()
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"Paradigm file {path} does not exist.",
                f"Give an existing .toml file or a preset ({', '.join(PARADIGMS)}).",
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Paradigm file {path} is not valid TOML ({exc}).") from None
        if "name" not in raw and "base" not in raw:
            raw["name"] = path.stem
        try:
            return cls.from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc.problem}", exc.hint) from None


def _with_base(base: Paradigm, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` over the settings of ``base``; prompts are merged class by class, and the base's
    prompts of classes that ``values`` drops are left out."""
    merged = {**base.to_dict(), **values}
    classes = merged["class_names"]
    prompts = {k: v for k, v in base.prompts if k in classes}
    given = values.get("prompts")
    if isinstance(given, Mapping):
        prompts.update(given)
    elif given is not None:
        prompts = given  # refused with a message by _check_prompts
    merged["prompts"] = prompts
    return merged


def _check_prompts(
    prompts: object, class_names: tuple[str, ...], family: str
) -> tuple[tuple[str, str], ...]:
    """Prompts as ``(class, text)`` pairs in class order; affective classes get a default."""
    if isinstance(prompts, Mapping):
        pairs = list(prompts.items())
    elif isinstance(prompts, (tuple, list)) and all(
        isinstance(p, (tuple, list)) and len(p) == 2 for p in prompts
    ):
        pairs = [tuple(p) for p in prompts]
    else:
        raise ConfigError(
            f"'prompts' must be a table of class = text; got {prompts!r}.",
            'For example: [prompts] then negative = "Recall a time you felt sad ...".',
        )
    given: dict[str, str] = {}
    for name, text in pairs:
        if name not in class_names:
            raise ConfigError(
                f"'prompts' names {name!r}, which is not a class ({', '.join(class_names)}).",
                "Give prompts for the paradigm's classes only.",
            )
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"The prompt of {name!r} must be a non-empty text; got {text!r}.")
        given[name] = " ".join(text.split())
    if family == AFFECTIVE:
        for name in class_names:
            given.setdefault(name, DEFAULT_RECALL_PROMPTS.get(name, _generic_prompt(name)))
    return tuple((name, given[name]) for name in class_names if name in given)


def _generic_prompt(class_name: str) -> str:
    feeling = class_name.replace("_", " ").replace("-", " ")
    return (
        f"Recall a time you felt {feeling}. Relive it in detail: where you were, who was there, "
        "what you felt."
    )


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"'{name}' must be an int >= 1; got {value!r}.")
    return value


def _check_non_negative(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(f"'{name}' must be a finite number >= 0 s; got {value!r}.")
    return float(value)


def _check_class_names(class_names: object) -> tuple[str, ...]:
    if isinstance(class_names, str) or not isinstance(class_names, (tuple, list)):
        raise ConfigError(f"'class_names' must be a sequence of names; got {class_names!r}.")
    names = tuple(_check_class_name(name) for name in class_names)
    if len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"'class_names' must hold at least two distinct names; got {names!r}.")
    return names


def _check_pair(name: str, value: object) -> tuple[float, float]:
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    ):
        raise ConfigError(f"'{name}' must be a pair of finite numbers (seconds); got {value!r}.")
    return float(value[0]), float(value[1])


def _check_rest(value: object) -> tuple[float, float]:
    low, high = _check_pair("rest_s", value)
    if low < 0 or high < low:
        raise ConfigError(f"'rest_s' must satisfy 0 <= min <= max (seconds); got {value!r}.")
    return low, high


def _check_epoch(value: object, fixation_s: float, imagery_s: float) -> tuple[float, float]:
    tmin, tmax = _check_pair("epoch_s", value)
    if not -fixation_s <= tmin < tmax <= imagery_s:
        raise ConfigError(
            f"'epoch_s' must satisfy -fixation_s ({-fixation_s:g}) <= tmin < tmax <= imagery_s "
            f"({imagery_s:g}) (seconds from the cue); got {value!r}.",
            "An epoch must stay inside its own trial's fixation and imagery period.",
        )
    return tmin, tmax


def balanced_order(
    n_classes: int, per_class: int, max_run: int, rng: np.random.Generator
) -> list[int]:
    """A random class order with exactly ``per_class`` trials of each class.

    Built one trial at a time: each step picks among the classes that keep the rest of the
    sequence completable without a run longer than ``max_run``, weighted by how many trials of
    each class are left.

    Parameters
    ----------
    n_classes : int
        Number of classes (>= 2; with one class no run limit can be met).
    per_class : int
        Trials of each class.
    max_run : int
        Most consecutive trials of the same class (>= 1).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    order : list of int
        Class indices, length ``n_classes * per_class``.
    """
    if n_classes < 2:
        raise ConfigError(f"'n_classes' must be >= 2; got {n_classes!r}.")
    remaining = [per_class] * n_classes
    order: list[int] = []
    last, run = -1, 0
    for _ in range(n_classes * per_class):
        options = []
        for c in range(n_classes):
            if remaining[c] == 0 or (c == last and run >= max_run):
                continue
            remaining[c] -= 1
            if _completable(remaining, c, run + 1 if c == last else 1, max_run):
                options.append(c)
            remaining[c] += 1
        if not options:  # pragma: no cover - _completable is exact for n_classes >= 2
            raise RuntimeError(f"no valid class order for {remaining} after {order}.")
        weights = np.array([remaining[c] for c in options], dtype=np.float64)
        choice = int(options[int(rng.choice(len(options), p=weights / weights.sum()))])
        run = run + 1 if choice == last else 1
        last = choice
        remaining[choice] -= 1
        order.append(choice)
    return order


def _completable(remaining: list[int], last: int, run: int, max_run: int) -> bool:
    """Whether ``remaining`` can follow a run of ``run`` trials of ``last`` within ``max_run``.

    A class with ``r`` trials left among ``total`` needs ``ceil(r / max_run)`` runs, separated by
    trials of other classes: at most ``total - r + 1`` runs, or ``total - r`` plus a first run of
    at most ``max_run - run`` for the class that ends the current run.
    """
    total = sum(remaining)
    for c, r in enumerate(remaining):
        others = total - r
        capacity = max_run * others + (max_run - run if c == last else max_run)
        if r > capacity:
            return False
    return True


#: Preset paradigms by name (see the module docstring for the choice of timings).
PARADIGMS: dict[str, Paradigm] = {
    "mi-lr": Paradigm(),
    "mi-4": Paradigm(
        name="mi-4",
        class_names=("left", "right", "feet", "rest"),
        trials_per_class=10,
    ),
    "emotion-recall": Paradigm(
        name="emotion-recall",
        family=AFFECTIVE,
        class_names=("negative", "neutral", "positive"),
        trials_per_class=2,
        fixation_s=10.0,
        imagery_s=60.0,
        rest_s=(25.0, 35.0),
        lead_in_s=5.0,
        epoch_s=(5.0, 60.0),
        max_run=1,
        prompts=tuple(DEFAULT_RECALL_PROMPTS.items()),
        self_assessment=True,
    ),
}


def load_paradigm(name_or_path: str | Path = DEFAULT_PARADIGM) -> Paradigm:
    """A preset by name (``mi-lr``, ``mi-4``, ``emotion-recall``) or a paradigm TOML file.

    Raises
    ------
    ConfigError
        When the name is no preset and no ``.toml`` file, or the file is refused.
    """
    if isinstance(name_or_path, str) and name_or_path in PARADIGMS:
        return PARADIGMS[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".toml" or path.is_file():
        return Paradigm.from_toml(path)
    raise ConfigError(
        f"Unknown paradigm {str(name_or_path)!r}.",
        f"Use a preset ({', '.join(PARADIGMS)}) or the path of a .toml paradigm file.",
    )
