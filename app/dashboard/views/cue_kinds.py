"""What the calibration cue screen shows for a marker in a phase (no Qt, no painting).

:func:`cue_kind` maps the latest marker of :attr:`CalibrationView.cue
<neurodeck.control.snapshot.CalibrationView>` (vocabulary in :mod:`neurodeck.calibration.paradigm`)
to one of :data:`CUE_KINDS` with its text: a fixation cross, an arrow per hand, a double down arrow
for the feet, a circle for the rest class, a dim "relax" during breaks, and the title of any other
class. :func:`display_kind` refines it for affective paradigms (``emotion-recall``): the block's
recall prompt, the user's picture or video, and the self-assessment rating. The painter is
:class:`~neurodeck.app.dashboard.views.cue_screen.CueDisplay`.
"""

from __future__ import annotations

from pathlib import Path

from neurodeck.calibration.emotion import STIMULUS_FIXATION_PROMPT, stimulus_kind
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_END,
    CALIB_START,
    FIXATION,
    REST,
    SELF_ASSESSMENT,
    class_of_marker,
)
from neurodeck.control.snapshot import CalibrationView

#: Title and instruction per class (as :data:`neurodeck.calibration.cue_terminal.CLASS_PROMPTS`,
#: which imports pylsl).
CLASS_TEXT: dict[str, tuple[str, str]] = {
    "left": ("LEFT HAND", "imagine squeezing your left hand"),
    "right": ("RIGHT HAND", "imagine squeezing your right hand"),
    "feet": ("BOTH FEET", "imagine pressing both feet down"),
    "tongue": ("TONGUE", "imagine moving your tongue"),
    "rest": ("REST", "relax, imagine no movement"),
}

#: What the cue display can draw
#: (:attr:`~neurodeck.app.dashboard.views.cue_screen.CueDisplay.current`).
CUE_KINDS = (
    "idle",
    "ready",
    "cross",
    "arrow_left",
    "arrow_right",
    "feet",
    "rest_class",
    "class_text",
    "break",
    "paused",
    "finished",
    "aborted",
    "prompt",  # affective: the recall prompt before the block
    "recall",  # affective: the block, recall with closed eyes
    "image",  # affective: the user's picture
    "video",  # affective: the user's video
    "rating",  # affective: the self-assessment panel
    "rated",  # affective: the rest after the rating
)
_GLYPH_OF_CLASS = {
    "left": "arrow_left",
    "right": "arrow_right",
    "feet": "feet",
    "rest": "rest_class",
}


#: Instruction of the paused screen: the Resume button (on the full-screen cues, and the panel's)
#: and the P key (the window's shortcut, active over the full-screen cues too).
PAUSED_INSTRUCTION = "click Resume or press P to continue"


def class_text(class_name: str) -> tuple[str, str]:
    """``(title, instruction)`` of a class (generic for classes without a prompt)."""
    return CLASS_TEXT.get(class_name, (class_name.upper(), f"perform the '{class_name}' task"))


def cue_kind(cue: str | None, phase: str) -> tuple[str, str, str]:
    """What the cue display draws for a marker in a phase.

    Parameters
    ----------
    cue : str or None
        The latest marker (``calib_start``, ``fixation``, ``cue_left``, ``rest``, ...).
    phase : str
        The calibration phase (:data:`~neurodeck.control.snapshot.CALIBRATION_PHASES`).

    Returns
    -------
    kind : str
        One of :data:`CUE_KINDS`.
    title, instruction : str
        Text drawn with it (may be empty).
    """
    if phase == "paused":
        return "paused", "Paused", PAUSED_INSTRUCTION
    if phase == "failed":
        return "aborted", "Failed", ""
    if phase == "aborted" or cue == CALIB_ABORT:
        return "aborted", "Aborted", ""
    if cue is None:
        if phase == "starting":
            return "ready", "Get ready", "starting..."
        return "idle", "Calibration cues appear here", "press Start"
    if cue == CALIB_START:
        return "ready", "Get ready", "relax and keep still"
    if cue == FIXATION:
        return "cross", "", "look at the cross"
    if cue == REST:
        return "break", "relax", "blink, swallow, relax"
    if cue == SELF_ASSESSMENT:
        return "rated", "Thank you", "relax and let the feeling fade"
    if cue == CALIB_END:
        return "finished", "Finished", "thank you"
    name = class_of_marker(cue)
    if name is None:
        return "class_text", cue, ""
    title, instruction = class_text(name)
    return _GLYPH_OF_CLASS.get(name, "class_text"), title, instruction


#: Instruction under the prompt before a recall block, and during it.
RECALL_BEFORE = "read this, then close your eyes and relive it until the tone"
RECALL_DURING = "eyes closed: relive it until the tone"


def display_kind(cal: CalibrationView) -> tuple[str, str, str]:
    """What the cue display draws for a view: :func:`cue_kind`, refined for affective paradigms.

    Returns
    -------
    kind : str
        One of :data:`CUE_KINDS`.
    title, instruction : str
        For ``prompt`` and ``recall`` the title is the prompt text; for ``image`` and ``video``
        the instruction is. A failed or aborted calibration's instruction is its message (why,
        and where the recording is kept).
    """
    kind, title, instruction = cue_kind(cal.cue, cal.phase)
    if kind == "aborted" and cal.message:  # full screen hides the panel: say why here
        return kind, title, cal.message
    if kind in ("idle", "ready", "paused", "finished", "aborted"):
        return kind, title, instruction
    if cal.rating_open:
        return "rating", "How did you feel?", "rate the block you just lived through"
    if cal.stimulus:
        media = "video" if stimulus_kind(cal.stimulus) == "video" else "image"
        return media, Path(cal.stimulus).name, cal.prompt
    if cal.prompt and cal.cue == FIXATION:
        before = "" if cal.prompt == STIMULUS_FIXATION_PROMPT else RECALL_BEFORE
        return "prompt", cal.prompt, before
    if cal.prompt and class_of_marker(cal.cue or "") is not None:
        return "recall", cal.prompt, RECALL_DURING
    return kind, title, instruction
