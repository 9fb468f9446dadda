"""SeqCLR: shapes, length-preserving channel encoder, config round trip, parameter groups."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from neurodeck.common.types import ConfigError
from neurodeck.models.registry import build_model
from neurodeck.models.seqclr import SeqCLR, split_width
from neurodeck.streaming.simulator import STANDARD_MONTAGES

NAMES_8 = STANDARD_MONTAGES[8]
NAMES_19 = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
    "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2",
)  # fmt: skip
NAMES_64 = STANDARD_MONTAGES[64]  # the EEGBCI montage


# A CPU-tiny configuration: same architecture, few features.
TINY = {
    "width": 10,
    "stem_kernel_sizes": (9, 5, 3),
    "res_kernel_size": 5,
    "out_kernel_size": 5,
    "lstm_hidden_sizes": (6, 4, 2),
    "mlp_hidden": 8,
    "projection_dim": 5,
}


def _model(
    names: Sequence[str] = NAMES_8,
    sfreq: float = 128.0,
    n_times: int = 256,
    n_outputs: int = 3,
    **kwargs: Any,
) -> SeqCLR:
    """A seeded TINY SeqCLR; ``kwargs`` override TINY."""
    torch.manual_seed(0)
    return SeqCLR(list(names), sfreq, n_times, n_outputs, **{**TINY, **kwargs})


@pytest.mark.parametrize("names", [NAMES_8, NAMES_19, NAMES_64], ids=["8ch", "19ch", "64ch"])
@pytest.mark.parametrize("sfreq", [128.0, 160.0])
def test_shapes_on_two_second_windows(names: tuple[str, ...], sfreq: float) -> None:
    n_times = int(2 * sfreq)
    model = _model(names, sfreq, n_times)
    x = torch.randn(2, len(names), n_times) * 20.0
    assert model.n_features == 2 * sum(TINY["lstm_hidden_sizes"])
    assert model.encode(x).shape == (2, model.n_features)
    assert model(x).shape == (2, 3)
    assert model.project(x[:, :1]).shape == (2, TINY["projection_dim"])
    assert model.encode_channels(x[:, :1]).shape == (2, 4, n_times)


@pytest.mark.parametrize(
    ("stem", "res", "out"),
    [
        ((9, 5, 3), 5, 5),
        ((8, 4, 2), 6, 2),
        ((65, 33, 17), 33, 33),
        ((64, 32, 16), 64, 64),
        ((1,), 1, 1),
    ],
)
@pytest.mark.parametrize("n_times", [65, 66])
def test_channel_encoder_keeps_length(
    stem: tuple[int, ...], res: int, out: int, n_times: int
) -> None:
    model = _model(
        n_times=n_times, stem_kernel_sizes=stem, res_kernel_size=res, out_kernel_size=out
    )
    z = model.encode_channels(torch.randn(3, 1, n_times))
    assert z.shape == (3, 4, n_times)


def test_too_short_window_is_rejected() -> None:
    with pytest.raises(ConfigError, match="'n_times' must be >= 33"):
        SeqCLR(list(NAMES_8), 160.0, 32, 2)  # kernel 65 needs 33 samples for reflection padding
    model = _model(n_times=64)
    with pytest.raises(ConfigError, match="n_times of the input"):
        model.encode_channels(torch.randn(2, 1, 4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stem_widths": (5, 5, 5)}, "must sum to 'width'"),
        ({"stem_widths": (5, 5)}, "one entry per stem kernel"),
        ({"width": 0}, "'width' must be an integer >= 1"),
        ({"lstm_hidden_sizes": ()}, "'lstm_hidden_sizes' must be a non-empty"),
        ({"input_scale_uv": 0.0}, "'input_scale_uv' must be a finite number > 0"),
    ],
)
def test_invalid_config_is_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _model(**kwargs)


def test_wrong_channel_count_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"shape \(batch, 8, n_times\)"):
        _model().encode(torch.randn(2, 7, 256))


def test_split_width_keeps_proportions_and_total() -> None:
    assert split_width(250, 3) == (100, 100, 50)
    assert sum(split_width(64, 3)) == 64
    assert split_width(64, 3)[2] == 13
    assert split_width(10, 4) == (3, 3, 2, 2)
    with pytest.raises(ConfigError):
        split_width(2, 3)


def test_config_round_trip_gives_identical_outputs() -> None:
    model = _model(NAMES_19, 160.0, 320).eval()
    config = json.loads(json.dumps(model.config))  # what a checkpoint stores
    assert config["stem_widths"] == list(split_width(TINY["width"], 3))
    rebuilt = build_model("seqclr", config)
    assert isinstance(rebuilt, SeqCLR)
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x = torch.randn(2, 19, 320) * 20.0
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(rebuilt.project(x[:, :1]), model.project(x[:, :1]))


def test_layer_groups_cover_every_parameter_once() -> None:
    model = _model()
    groups = model.layer_groups()
    n_res = model.n_res_units
    assert len(groups) == 1 + n_res + 1 + 1 + 1  # stem, units, output, summariser, head
    grouped = [id(p) for group in groups for p in group]
    projector = {id(p) for p in model.projector.parameters()}
    assert len(grouped) == len(set(grouped))
    assert set(grouped) | projector == {id(p) for p in model.parameters()}
    assert not set(grouped) & projector  # the projector is in no group, as documented
    assert [id(p) for p in groups[-1]] == [id(p) for p in model.head.parameters()]
    encoder = {id(p) for p in model.encoder_parameters()}
    assert encoder == set(grouped) - {id(p) for p in model.head.parameters()}
    pretraining = {id(p) for p in model.pretraining_parameters()}
    assert projector <= pretraining and not pretraining & {id(p) for p in groups[-1]}


def test_freeze_encoder_leaves_head_trainable() -> None:
    model = _model()
    model.freeze_encoder()
    x = torch.randn(2, 8, 256) * 20.0
    model(x).sum().backward()
    assert all(p.grad is None for p in model.encoder_parameters())
    assert all(p.grad is not None for p in model.head.parameters())


def test_reset_head_changes_outputs() -> None:
    model = _model()
    model.reset_head(5)
    assert model(torch.randn(2, 8, 256)).shape == (2, 5)


def test_few_adam_steps_lower_cross_entropy() -> None:
    torch.manual_seed(1)
    n_times, sfreq = 128, 64.0
    t = torch.arange(n_times) / sfreq
    y = torch.tensor([0, 1] * 4)
    x = torch.randn(8, 4, n_times) * 5.0
    x[y == 1] += 20.0 * torch.sin(2 * math.pi * 10.0 * t)  # class 1 carries a 10-Hz rhythm
    model = _model(NAMES_8[:4], sfreq, n_times, n_outputs=2)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize("level_uv", [0.0, 50.0])
def test_flat_window_gives_finite_output(level_uv: float) -> None:
    model = _model()
    x = torch.full((2, 8, 256), level_uv)
    assert torch.isfinite(model(x)).all()  # training mode: BatchNorm sees zero variance
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()
        assert torch.isfinite(model.project(x[:, :1])).all()
