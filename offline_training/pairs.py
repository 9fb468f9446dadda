"""Sample pairs for SPP-EEGNet's same/different pretext task.

For each anchor window a fair coin decides: *positive* (label 1) pairs the anchor with itself;
*negative* (label 0) pairs it with another window of the same recording whose start is at least
``min_gap_s`` away (Li & Metsis, section 1.3 of the model specs). The objective then passes the
second windows of a batch through one random augmentation (see
:class:`neurodeck.offline_training.objectives.PairTaskObjective`).

Deviation from the original code, on purpose: the original augments each item separately, and
because resampling and clipping change the length it zero-pads every item to the batch's longest.
On EEGBCI that padding, not the content, separated the pairs (a randomly initialised encoder
ranked pairs by padding with AUC 0.36) and the task stayed at chance. Drawing one augmentation
per batch keeps one length, so no padding is needed and only the content tells the pairs apart.
"""

from __future__ import annotations

import numpy as np
import torch
from neurodeck.common.types import ConfigError
from neurodeck.offline_training.windows import WindowDataset
from torch import Tensor
from torch.utils.data import Dataset


class PairDataset(Dataset):
    """Anchor / other window / same-or-distant label, drawn reproducibly.

    Parameters
    ----------
    windows : WindowDataset
        Unlabelled windows (their recording and start index give the distances).
    min_gap_s : float
        Least distance between the starts of an anchor and its negative (60 s in the paper for
        long clinical recordings; EEGBCI runs last about 2 minutes, so about 10 s here).
    seed : int
        Base seed; item ``i`` of epoch ``e`` uses seed ``(seed, e, i)`` so data-loader workers
        and resumed runs draw the same pairs.

    Notes
    -----
    Items are ``(x1 (C, T1), x2 (C, T2), label)``; call :meth:`set_epoch` to draw new pairs.
    """

    def __init__(self, windows: WindowDataset, min_gap_s: float = 10.0, seed: int = 0) -> None:
        self.windows = windows
        self.sfreq = windows.sfreq
        self.min_gap = round(min_gap_s * windows.sfreq)
        self.seed = int(seed)
        self.epoch = 0
        index = windows.index  # (n, 2): recording, start
        self._by_recording = {
            int(r): np.flatnonzero(index[:, 0] == r) for r in np.unique(index[:, 0])
        }
        self._index = index
        if not any(self._has_negative(i) for i in range(0, len(index), max(1, len(index) // 50))):
            raise ConfigError(
                f"no recording is long enough for windows {min_gap_s} s apart.",
                "Lower 'min_gap_s' or use longer recordings.",
            )

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        """Draw a new set of pairs."""
        self.epoch = int(epoch)

    def _far(self, i: int) -> np.ndarray:
        rec, start = self._index[i]
        same = self._by_recording[int(rec)]
        return same[np.abs(self._index[same, 1] - start) >= self.min_gap]

    def _has_negative(self, i: int) -> bool:
        return len(self._far(i)) > 0

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        gen = torch.Generator().manual_seed(hash((self.seed, self.epoch, int(i))) % 2**63)
        anchor = self.windows[i]
        far = self._far(i)
        positive = len(far) == 0 or torch.rand((), generator=gen).item() < 0.5
        if positive:
            return anchor, anchor.clone(), torch.tensor(1.0)
        j = int(far[torch.randint(len(far), (), generator=gen).item()])
        return anchor, self.windows[j], torch.tensor(0.0)


def pair_collate(batch: list[tuple[Tensor, Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
    """Stack pairs (windows of variable size are zero-padded, as the original collate did).

    Returns
    -------
    x1 : Tensor, shape (batch, C, T1max)
    x2 : Tensor, shape (batch, C, T2max)
    label : Tensor, shape (batch,)
    """
    from neurodeck.offline_training.augment import pad_collate

    x1 = pad_collate([b[0] for b in batch])
    x2 = pad_collate([b[1] for b in batch])
    return x1, x2, torch.stack([b[2] for b in batch])
