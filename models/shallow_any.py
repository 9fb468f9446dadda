"""ShallowConvNet for any montage: spatial filters indexed by electrode name.

The fixed-montage :class:`~neurodeck.models.shallow_convnet.ShallowConvNet` has one spatial weight
per input row, so a checkpoint trained on EEGBCI's 64 channels reads only those 64 rows. This
variant keeps one spatial weight per electrode of a *vocabulary* (the training montage's names) and
reads any subset of it: the rows of a window are placed at their electrodes' positions, the absent
electrodes are zero (their spatial weights are left out), and the whole is scaled by
``sqrt(n_vocabulary / n_present)`` so that a whitened (Euclidean-aligned) window of 8 channels
carries as much power into the spatial filters as one of 64. Trained on random channel subsets
(:mod:`neurodeck.offline_training.channel_subsets`), one checkpoint decodes the 64-channel EEGBCI
montage and 8- to 32-channel consumer headsets.

Because the network sees a different spread of spatial-filter outputs on every montage, its
BatchNorm statistics are measured again on each person's calibration windows
(:meth:`ShallowConvNetAnyMontage.fit_input_statistics`, "AdaBN", Li et al. 2018), together with
the Euclidean alignment; both need no labels.

References
----------
.. [1] R. T. Schirrmeister et al. "Deep learning with convolutional neural networks for EEG
   decoding and visualization." Human Brain Mapping 38(11), 5391-5420, 2017.
.. [2] Y. Li, N. Wang, J. Shi, X. Hou, J. Liu. "Adaptive batch normalization for practical domain
   adaptation." Pattern Recognition 80, 109-117, 2018.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.models.registry import register_model
from neurodeck.models.shallow_convnet import ShallowConvNet
from torch import Tensor, nn

#: Fewest vocabulary electrodes a montage must have for this model to read it.
MIN_CHANNELS = 3
#: Windows per forward pass when measuring BatchNorm statistics.
_STATS_BATCH = 256


def channel_key(name: str) -> str:
    """Case-, dot- and alias-insensitive key of an electrode name (``T3`` is ``T7``).

    The electrode's row in :data:`neurodeck.models.electrodes.ELECTRODE_TABLE`; labels that are no
    electrode keep their own (lower-case) spelling.
    """
    from neurodeck.models.electrodes import electrode_row

    row = electrode_row(name)
    return f"#{row}" if row is not None else str(name).strip().lower()


def vocabulary_index(vocabulary: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Position of each of ``names`` in ``vocabulary``, shape (len(names),), int64.

    Raises
    ------
    ChannelMappingError
        Naming the electrodes the vocabulary lacks.
    """
    keys = {channel_key(v): i for i, v in enumerate(vocabulary)}
    missing = [n for n in names if channel_key(n) not in keys]
    if missing:
        raise ChannelMappingError(
            f"The model has no spatial weights for {missing[:12]}{' ...' * (len(missing) > 12)}; "
            f"it knows {len(vocabulary)} electrodes ({', '.join(list(vocabulary)[:10])}, ...).",
            "Leave those channels out (calibration does so by itself), or train a model whose "
            "vocabulary has them.",
        )
    return np.array([keys[channel_key(n)] for n in names], dtype=np.int64)


@register_model("shallow_convnet_any")
class ShallowConvNetAnyMontage(ShallowConvNet):
    """ShallowConvNet whose spatial filters are indexed by electrode name.

    Parameters
    ----------
    channel_names : sequence of str
        The input montage: names of the rows of the windows it is given, in order; each must be
        in ``vocabulary``.
    sfreq, n_times, n_outputs
        As :class:`~neurodeck.models.shallow_convnet.ShallowConvNet`.
    vocabulary : sequence of str, optional
        Electrodes the spatial filters have weights for (default: ``channel_names``).
    **kwargs
        The other arguments of :class:`~neurodeck.models.shallow_convnet.ShallowConvNet`.

    Notes
    -----
    ``forward(x)`` takes ``(batch, len(channel_names), n_times)``; training on random subsets
    calls :meth:`logits_at` with the vocabulary positions of each batch's channels instead.
    """

    channel_agnostic = True

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        vocabulary: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        vocab = [str(v) for v in (vocabulary if vocabulary is not None else channel_names)]
        super().__init__(vocab, sfreq, n_times, n_outputs, **kwargs)
        self.vocabulary: list[str] = vocab
        names = [str(n) for n in channel_names]
        index = vocabulary_index(vocab, names)
        if len(set(index.tolist())) != len(index):
            raise ConfigError(f"'channel_names' names an electrode twice: {names}.")
        self.channel_names = names
        self.register_buffer("alignment", torch.eye(len(names)))
        self.register_buffer("input_index", torch.from_numpy(index), persistent=False)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, with the vocabulary."""
        return {**super().config, "vocabulary": list(self.vocabulary)}

    @classmethod
    def readable_channels(cls, vocabulary: Sequence[str], available: Sequence[str]) -> tuple:
        """The channels of ``available`` the model has weights for, in their order.

        Raises
        ------
        ChannelMappingError
            If fewer than :data:`MIN_CHANNELS` of them are in the vocabulary.
        """
        keys = {channel_key(v) for v in vocabulary}
        picked = tuple(n for n in available if channel_key(n) in keys)
        if len(picked) < MIN_CHANNELS:
            raise ChannelMappingError(
                f"Only {len(picked)} of the recording's channels ({list(available)[:12]}) are "
                f"electrodes this model knows; it needs at least {MIN_CHANNELS}.",
                "Use standard 10-10 labels (C3, Cz, C4, ...) on the headset, or calibrate the "
                "classical reference alone.",
            )
        return picked

    def _gain(self, n_rows: int) -> float:
        """``sqrt(V / k)``: a whitened window of k rows brings the power of V rows."""
        return math.sqrt(len(self.vocabulary) / n_rows)

    def encode(self, x: Tensor) -> Tensor:
        """Features of aligned windows of the input montage.

        Parameters
        ----------
        x : Tensor, shape (batch, len(channel_names), n_times)

        Returns
        -------
        features : Tensor, shape (batch, n_features)
        """
        if x.ndim != 3 or x.shape[1] != len(self.channel_names) or x.shape[2] != self.n_times:
            raise ConfigError(
                f"{type(self).__name__} reads (batch, {len(self.channel_names)} channels, "
                f"{self.n_times} samples); got shape {tuple(x.shape)}. Move it to another "
                "montage with with_channels()."
            )
        return self.features(x * self._gain(x.shape[1]), self.input_index)

    def logits_at(self, x: Tensor, index: Tensor) -> Tensor:
        """Logits of aligned windows whose rows are the vocabulary electrodes ``index``.

        Parameters
        ----------
        x : Tensor, shape (batch, k, n_times)
            Windows already aligned (their own subset's Euclidean alignment).
        index : Tensor, shape (k,), int64
            Vocabulary position of each row.

        Returns
        -------
        logits : Tensor, shape (batch, n_outputs)
        """
        return self.head(self.features(x * self._gain(x.shape[1]), index))

    @torch.no_grad()
    def fit_input_statistics(self, x: Tensor | Any) -> None:
        """Measure the BatchNorm statistics on a person's windows (AdaBN).

        Parameters
        ----------
        x : array or Tensor, shape (n_windows, len(channel_names), n_times)
            Calibration windows, not aligned (the model's alignment is applied first).
        """
        windows = torch.as_tensor(np.asarray(x, dtype=np.float32))
        bn: nn.BatchNorm2d = self.bn
        was_training, momentum = self.training, bn.momentum
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over all the windows
        self.eval()
        bn.train()
        device = self.alignment.device
        for begin in range(0, len(windows), _STATS_BATCH):
            self.encode(self.align(windows[begin : begin + _STATS_BATCH].to(device)))
        bn.momentum = momentum
        self.train(was_training)
