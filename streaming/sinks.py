"""Prediction sinks: an LSL outlet other programs can read, and a JSONL log."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pylsl
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, Prediction
from neurodeck.streaming.lsl_io import make_stream_info

logger = logging.getLogger(__name__)

#: Default prediction stream name per decoding family. Both are of type ``Predictions``; the
#: stream's ``desc/family`` says which family it is, so a consumer that resolves by type can tell.
OUTLET_NAMES = {MOTOR_IMAGERY: "neurodeck-predictions", AFFECTIVE: "neurodeck-emotion"}


def default_outlet_name(family: str) -> str:
    """``neurodeck-predictions`` for motor imagery, ``neurodeck-emotion`` for affective decoders."""
    return OUTLET_NAMES.get(family, OUTLET_NAMES[MOTOR_IMAGERY])


class LSLPredictionOutlet:
    """Publishes class probabilities on an LSL stream of type ``Predictions``.

    One float32 channel per class, labelled with the class name; each sample is timestamped with
    the window's last-sample time ``t_last``, so a consumer can align predictions with the EEG.
    Affective decoders publish the same way (type ``Predictions``, one channel per class such as
    ``negative, neutral, positive``), by default as ``neurodeck-emotion`` (:data:`OUTLET_NAMES`),
    with ``desc/family = affective``: consumers that resolve by type keep working, and read the
    family to know whether the classes are imagery commands or mental states.

    Parameters
    ----------
    class_names : sequence of str
        Class labels (channel labels of the outlet).
    name : str
        Stream name.
    source_id : str
        Stable source id.
    family : str, optional
        Decoding family (``common.types.FAMILIES``), written as ``desc/family``; omitted if None.

    Notes
    -----
    ``__call__`` is called from the inference thread; ``push_sample`` does not block.
    """

    def __init__(
        self, class_names: Sequence[str], name: str, source_id: str, family: str | None = None
    ) -> None:
        info = make_stream_info(
            name,
            "Predictions",
            list(class_names),
            0.0,
            source_id,
            unit="probability",
            channel_type="Probability",
            extra_desc=None if family is None else {"family": family},
        )
        self.outlet = pylsl.StreamOutlet(info)
        self.name = name
        self.source_id = source_id
        self.family = family

    def __call__(self, prediction: Prediction) -> None:
        """Push one prediction."""
        self.outlet.push_sample(np.asarray(prediction.probabilities, np.float32), prediction.t_last)

    def close(self) -> None:
        """Withdraw the outlet."""
        del self.outlet


class JSONLSink:
    """Appends one JSON object per prediction to a file (line-buffered: a crash loses nothing).

    Parameters
    ----------
    path : str or Path
        File to append to (created with its parent folders).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("a", buffering=1, encoding="utf-8")

    def __call__(self, prediction: Prediction) -> None:
        """Write one line (called from the inference thread)."""
        if self._fh is not None:
            self._fh.write(json.dumps(prediction.to_dict()) + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
