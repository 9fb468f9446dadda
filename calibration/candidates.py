"""The decoders calibration can hand a person, and how it chooses among them.

Candidates (motor imagery with a cross-subject encoder whose classes are the cued ones):

``zeroshot``
    The cross-subject network, only re-centred on the person's calibration windows: Euclidean
    alignment and, for networks whose normalisation depends on the montage, BatchNorm statistics.
    No labels, no training: ready about a second after the recording ends.
``finetuned``
    The same network fine-tuned on the calibration trials (the recipe's adaptation).
``reference``
    Tangent-space logistic regression on the calibration epochs.
ensembles
    The mean of the members' probabilities (``zeroshot+reference``, ``finetuned+reference``,
    ``zeroshot+finetuned``, ``zeroshot+finetuned+reference``), possible when every member reads
    the same preprocessed window.

A chooser is ``cv`` (the candidate with the highest cross-validated trial accuracy on the
calibration trials) or ``always:NAME`` (that candidate, or the nearest available one).
``default`` is the rule measured best leave-subjects-out
(``benchmarks/results/evaluate-calibrated.md``, "Decoder choice").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neurodeck.common.types import ConfigError

ZEROSHOT, FINETUNED, REFERENCE = "zeroshot", "finetuned", "reference"
SINGLE = (ZEROSHOT, FINETUNED, REFERENCE)
#: Ensemble name -> members, in a fixed order.
ENSEMBLES: dict[str, tuple[str, ...]] = {
    "zeroshot+reference": (ZEROSHOT, REFERENCE),
    "finetuned+reference": (FINETUNED, REFERENCE),
    "zeroshot+finetuned": (ZEROSHOT, FINETUNED),
    "zeroshot+finetuned+reference": (ZEROSHOT, FINETUNED, REFERENCE),
}
ALL_CANDIDATES = (*SINGLE, *ENSEMBLES)

#: The rule measured best (see the module docstring); ``default`` resolves to it.
DEFAULT_CHOOSER = "always:zeroshot+finetuned+reference"
#: When the rule's candidate is not available, the next of these that is.
_FALLBACK = (
    "zeroshot+finetuned+reference",
    "finetuned+reference",
    "zeroshot+reference",
    REFERENCE,
    FINETUNED,
    ZEROSHOT,
)


def check_chooser(rule: str) -> str:
    """``rule`` resolved (``default`` -> :data:`DEFAULT_CHOOSER`), or a ConfigError."""
    rule = DEFAULT_CHOOSER if rule == "default" else str(rule)
    if rule == "cv":
        return rule
    name = rule.removeprefix("always:")
    if not rule.startswith("always:") or name not in ALL_CANDIDATES:
        raise ConfigError(
            f"unknown decoder choice {rule!r}; use 'default', 'cv' or 'always:NAME' with NAME "
            f"one of {list(ALL_CANDIDATES)}."
        )
    return rule


def members(name: str) -> tuple[str, ...]:
    """The single decoders of a candidate (itself for a single one)."""
    return ENSEMBLES.get(name, (name,))


def available_candidates(singles: Sequence[str], shared_window: bool) -> tuple[str, ...]:
    """The candidates buildable from ``singles`` (ensembles only on a shared window)."""
    have = [n for n in SINGLE if n in singles]
    if shared_window:
        have += [n for n, m in ENSEMBLES.items() if set(m) <= set(singles)]
    return tuple(have)


def choose(
    rule: str, available: Sequence[str], cv_accuracy: Mapping[str, float] | None
) -> tuple[str, str]:
    """The decoder a profile decodes with, and why.

    Parameters
    ----------
    rule : str
        ``cv`` or ``always:NAME`` (see :func:`check_chooser`).
    available : sequence of str
        Candidates that were built.
    cv_accuracy : mapping, optional
        Cross-validated trial accuracy of each candidate (None when CV was skipped).

    Returns
    -------
    decoder, reason : str
    """
    rule = check_chooser(rule)
    if rule == "cv":
        if cv_accuracy:
            scored = [n for n in available if n in cv_accuracy]
            # ties: the earlier in the fallback order (ensembles first: less variance)
            best = max(scored, key=lambda n: (cv_accuracy[n], -_rank(n)))
            return best, (
                f"highest cross-validated trial accuracy ({cv_accuracy[best]:.2f}) of "
                f"{len(scored)} candidates (--choose cv)"
            )
        rule = DEFAULT_CHOOSER
    wanted = rule.removeprefix("always:")
    if wanted not in available and rule == DEFAULT_CHOOSER and cv_accuracy:
        best, why = choose("cv", available, cv_accuracy)
        return best, f"{why}; the default {wanted} cannot be built for this encoder"
    if wanted in available:
        why = "the rule measured best leave-subjects-out" if rule == DEFAULT_CHOOSER else "asked"
        return (
            wanted,
            f"always {wanted} ({why}; cross-validation does not decide: on ~30 trials it is noisy)",
        )
    for name in _FALLBACK:
        if name in available:
            return name, f"{wanted} cannot be built here; {name} is the nearest available"
    raise ConfigError(f"no decoder among {list(available)} to choose from.")


def _rank(name: str) -> int:
    return _FALLBACK.index(name) if name in _FALLBACK else len(_FALLBACK)
