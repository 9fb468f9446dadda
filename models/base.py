"""The contract every deep neurodeck model follows.

A deep model maps a window of preprocessed EEG in microvolts, shape ``(batch, n_channels,
n_times)``, to class logits ``(batch, n_outputs)``. It is built from keyword arguments only (so a
checkpoint can rebuild it, see :mod:`neurodeck.models.registry`) and always takes these four:

``channel_names``
    Canonical 10-20 / 10-10 names of the input rows, in order (mapping is by name, never by
    position; transformer models look their spatial embeddings up by these names).
``sfreq``
    Sampling rate of the input in Hz.
``n_times``
    Samples per window (models whose head does not depend on it still record it).
``n_outputs``
    Number of classes of the head.

Subclasses implement :meth:`EEGModel.encode` (features before the head) and build ``self.head``.
The base class adds what calibration and evaluation need from every model: per-subject spatial
re-centering (the ``alignment`` buffer), a replaceable head, freezing for linear probes, and
parameter groups from input to output for layer-wise learning rates.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import torch
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ChannelMappingError, ConfigError
from torch import Tensor, nn


def check_model_args(channel_names: Sequence[str], sfreq: float, n_times: int, n_outputs: int):
    """Validate the four common constructor arguments; return them normalised.

    Raises
    ------
    ConfigError
        Naming the argument, the rule and the value.
    """
    if isinstance(channel_names, str) or not channel_names:
        raise ConfigError(
            f"'channel_names' must be a non-empty list of channel names; got {channel_names!r}."
        )
    names = [str(n) for n in channel_names]
    if len(set(n.upper() for n in names)) != len(names):
        raise ConfigError(f"'channel_names' must be unique; got {names}.")
    sfreq = check_positive("sfreq", sfreq)
    return names, sfreq, check_int("n_times", n_times), check_int("n_outputs", n_outputs)


class EEGModel(nn.Module):
    """Base class of neurodeck's deep EEG models.

    Parameters
    ----------
    channel_names : sequence of str
        Input channel names, in order.
    sfreq : float
        Input sampling rate in Hz.
    n_times : int
        Samples per input window.
    n_outputs : int
        Number of classes.

    Attributes
    ----------
    alignment : Tensor, shape (n_channels, n_channels)
        Spatial re-centering applied to every window before the network (identity by default;
        calibration sets it to the inverse square root of the subject's mean covariance, the
        "Euclidean alignment" of He & Wu 2019). It is a buffer, so it is saved in checkpoints.
    head : nn.Module
        Maps ``encode`` features to logits; replaced by :meth:`reset_head`.

    Notes
    -----
    ``forward`` is called from training loops and from the inference worker thread (under
    ``torch.no_grad()``); it keeps no state between calls.

    References
    ----------
    .. [1] H. He, D. Wu. "Transfer learning for brain-computer interfaces: A Euclidean space data
       alignment approach." IEEE Transactions on Biomedical Engineering 67(2), 399-410, 2020.
    """

    head: nn.Module
    #: True when no weight depends on the number or order of channels (spatial pyramid pooling,
    #: electrode-name embeddings): :meth:`with_channels` can then move the model to any montage.
    channel_agnostic: ClassVar[bool] = False

    def __init__(
        self, channel_names: Sequence[str], sfreq: float, n_times: int, n_outputs: int
    ) -> None:
        super().__init__()
        names, sfreq, n_times, n_outputs = check_model_args(
            channel_names, sfreq, n_times, n_outputs
        )
        self.channel_names: list[str] = names
        self.sfreq = sfreq
        self.n_times = n_times
        self.n_outputs = n_outputs
        self.register_buffer("alignment", torch.eye(len(names)))

    @property
    def n_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments; subclasses extend it with their own."""
        return {
            "channel_names": list(self.channel_names),
            "sfreq": self.sfreq,
            "n_times": self.n_times,
            "n_outputs": self.n_outputs,
        }

    # -- the network -------------------------------------------------------------------------

    def encode(self, x: Tensor) -> Tensor:
        """Features of aligned windows.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows after :meth:`align`.

        Returns
        -------
        features : Tensor, shape (batch, n_features)
        """
        raise NotImplementedError

    def new_head(self, n_outputs: int) -> nn.Module:
        """A freshly initialised head from features to ``n_outputs`` logits."""
        raise NotImplementedError

    def align(self, x: Tensor) -> Tensor:
        """Apply the spatial re-centering: ``alignment @ x``.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)

        Returns
        -------
        x_aligned : Tensor, shape (batch, n_channels, n_times)
        """
        if x.shape[1] != self.alignment.shape[0]:
            if torch.equal(self.alignment, torch.eye(len(self.alignment), device=x.device)):
                return x  # input-agnostic models accept other montages when not aligned
            raise ConfigError(
                f"input has {x.shape[1]} channels but the model's alignment is for "
                f"{self.alignment.shape[0]}."
            )
        return torch.matmul(self.alignment.to(x.dtype), x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times), float32, microvolts

        Returns
        -------
        logits : Tensor, shape (batch, n_outputs)
        """
        return self.head(self.encode(self.align(x)))

    # -- what calibration and evaluation use ----------------------------------------------------

    def reset_head(self, n_outputs: int) -> None:
        """Replace the head with a fresh one for ``n_outputs`` classes."""
        _, _, _, n_outputs = check_model_args(
            self.channel_names, self.sfreq, self.n_times, n_outputs
        )
        device = self.alignment.device
        self.head = self.new_head(n_outputs).to(device)
        self.n_outputs = n_outputs

    def fit_input_statistics(self, x: Tensor | Any) -> None:
        """Measure input statistics on a subject's windows before adapting (default: nothing).

        Models whose input scaling is measured rather than learned
        (:class:`neurodeck.models.gmss.GMSS`) override it;
        :func:`neurodeck.offline_training.finetune.adapt` calls it with the calibration windows,
        shape (n_windows, n_channels, n_times).
        """

    def set_alignment(self, matrix: Tensor) -> None:
        """Set the spatial re-centering matrix, shape (n_channels, n_channels)."""
        if tuple(matrix.shape) != (self.n_channels, self.n_channels):
            raise ConfigError(
                f"alignment must have shape ({self.n_channels}, {self.n_channels}); "
                f"got {tuple(matrix.shape)}."
            )
        self.alignment.copy_(matrix.to(self.alignment))

    def with_channels(self, channel_names: Sequence[str]) -> EEGModel:
        """A copy of this model that reads ``channel_names`` (another montage).

        Parameters
        ----------
        channel_names : sequence of str
            Canonical names of the new input rows, in order.

        Returns
        -------
        EEGModel
            Same weights; the alignment is reset to identity (calibration sets it for the new
            montage). A copy even when the names are unchanged.

        Raises
        ------
        ChannelMappingError
            If the architecture's weights depend on its channels and the names differ.
        """
        names = [str(n) for n in channel_names]
        if names == self.channel_names:
            return copy.deepcopy(self)
        if not self.channel_agnostic:
            raise ChannelMappingError(
                f"{type(self).__name__} was trained on {self.n_channels} fixed channels and "
                f"cannot read another montage of {len(names)} channels.",
                "Record the model's channels, or start from an input-agnostic encoder "
                "(spp_eegnet, labram).",
            )
        other = type(self)(**{**self.config, "channel_names": names})
        state = {k: v for k, v in self.state_dict().items() if k != "alignment"}
        state["alignment"] = torch.eye(len(names))
        other.load_state_dict(state)
        return other.to(self.alignment.device).train(self.training)

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        """All trainable parameters except the head's."""
        head_ids = {id(p) for p in self.head.parameters()}
        return (p for p in self.parameters() if id(p) not in head_ids)

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) everything but the head, for linear probing."""
        for p in self.encoder_parameters():
            p.requires_grad_(not frozen)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters grouped from the input side to the output side.

        The default is two groups: encoder, head. Models override it with finer groups (one per
        block) so that fine-tuning can use layer-wise learning-rate decay; the head is always the
        last group.
        """
        return [list(self.encoder_parameters()), list(self.head.parameters())]
