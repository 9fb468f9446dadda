"""Prediction sinks: an LSL outlet other programs can read, and a JSONL log."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pylsl

from common.types import Prediction
from streaming.lsl_io import make_stream_info

logger = logging.getLogger(__name__)


class LSLPredictionOutlet:
    """Publishes class probabilities on an LSL stream of type ``Predictions``.

    One float32 channel per class, labelled with the class name; each sample is timestamped with
    the window's last-sample time ``t_last``, so a consumer can align predictions with the EEG.

    Parameters
    ----------
    class_names : sequence of str
        Class labels (channel labels of the outlet).
    name : str
        Stream name.
    source_id : str
        Stable source id.

    Notes
    -----
    ``__call__`` is called from the inference thread; ``push_sample`` does not block.
    """

    def __init__(self, class_names: Sequence[str], name: str, source_id: str) -> None:
        info = make_stream_info(
            name,
            "Predictions",
            list(class_names),
            0.0,
            source_id,
            unit="probability",
            channel_type="Probability",
        )
        self.outlet = pylsl.StreamOutlet(info)
        self.name = name
        self.source_id = source_id

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
