"""A decoder that averages the class probabilities of several decoders of one window.

Calibration builds it from decoders that read the same preprocessed window (same channels, rate,
band and length): the re-centred cross-subject network, the same network fine-tuned to the
person, and the tangent-space reference. It is one module behind the usual interface, so the
live path, the checkpoint format and ``neurodeck decode`` treat it like any other model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.registry import architecture_name, build_model, register_model
from torch import Tensor, nn

#: Probabilities are floored here before the log, so that a member's certainty cannot give -inf.
_PROBABILITY_FLOOR = 1e-12


@register_model("ensemble")
class ProbabilityEnsemble(nn.Module):
    """Weighted mean of the members' softmax probabilities, returned as log-probabilities.

    Parameters
    ----------
    members : sequence of mapping
        ``{"architecture": name, "config": {...}}`` of each member, as stored in checkpoints.
    weights : sequence of float, optional
        One non-negative weight per member (normalised to sum to 1; default: equal).

    Notes
    -----
    ``forward(x)`` takes ``(batch, n_channels, n_samples)`` and returns ``log(mean p)``, shape
    ``(batch, n_classes)``: a softmax of it gives back the mean probabilities, so callers that
    apply softmax to logits (the live runner, ``predict_proba``) get the ensemble's
    probabilities.
    """

    def __init__(
        self, members: Sequence[Mapping[str, Any]], weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least 2 members; got {len(members)}.")
        self.member_specs = [
            {"architecture": str(m["architecture"]), "config": dict(m["config"])} for m in members
        ]
        self.members = nn.ModuleList(
            build_model(m["architecture"], m["config"]) for m in self.member_specs
        )
        w = [1.0] * len(members) if weights is None else [float(v) for v in weights]
        if len(w) != len(members) or min(w) < 0 or sum(w) <= 0:
            raise ConfigError(
                f"'weights' must be {len(members)} non-negative numbers, not all zero; got {w}."
            )
        self.weights = [v / sum(w) for v in w]

    @classmethod
    def of(cls, models: Sequence[nn.Module], weights: Sequence[float] | None = None):
        """An ensemble holding copies of the weights of ``models`` (registered modules)."""
        specs = [{"architecture": architecture_name(m), "config": m.config} for m in models]
        ensemble = cls(specs, weights)
        for target, source in zip(ensemble.members, models, strict=True):
            target.load_state_dict(source.state_dict())
        return ensemble.eval()

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe."""
        return {"members": [dict(m) for m in self.member_specs], "weights": list(self.weights)}

    def forward(self, x: Tensor) -> Tensor:
        """Log of the weighted mean probability, shape (batch, n_classes)."""
        mean = sum(
            w * torch.softmax(m(x).double(), dim=1)
            for w, m in zip(self.weights, self.members, strict=True)
        )
        return mean.clamp(min=_PROBABILITY_FLOOR).log().float()  # type: ignore[union-attr]
