"""GMSS: montage graph, regions, Chebyshev convolution, input-agnostic readout, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neurodeck.common.types import AFFECTIVE, ChannelMappingError
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.gmss import (
    GMSS,
    N_REGIONS,
    REGIONS,
    ChebConv,
    montage_adjacency,
    region_index,
    scaled_laplacian,
)

EEGMAT = ["Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6", "P3", "P4",
          "O1", "O2", "Fz", "Cz", "Pz"]  # fmt: skip


def test_table_electrodes_keep_their_region_and_others_join_the_nearest():
    names = [n for region in REGIONS for n in region]
    expected = [k for k, region in enumerate(REGIONS) for _ in region]
    assert region_index(names).tolist() == expected
    assert "O2" in REGIONS[6] and "CB1" in REGIONS[3]  # the original's R3/R6 slip, fixed
    got = dict(zip(EEGMAT, region_index(EEGMAT).tolist(), strict=True))
    assert got["T3"] == got["C3"] == 2 and got["T5"] == got["P3"] == 3
    assert got["O1"] == got["O2"] == 6 and got["Fz"] == got["Cz"] == 4
    assert len(set(got.values())) == N_REGIONS  # 19 electrodes cover all ten regions


def test_graph_links_neighbours_symmetrically_and_not_across_the_head():
    adj = montage_adjacency(EEGMAT, k_neighbors=4)
    assert (adj == adj.T).all() and adj.diagonal().sum() == 0
    i = {n: k for k, n in enumerate(EEGMAT)}
    assert adj[i["C3"], i["Cz"]] == 1 and adj[i["Fp1"], i["Fp2"]] == 1
    assert adj[i["Fp1"], i["O2"]] == 0 and adj[i["T3"], i["T4"]] == 0
    assert (adj.sum(1) >= 4).all()


def test_unknown_channels_are_refused_by_name():
    with pytest.raises(ChannelMappingError, match="ECG"):
        region_index(["C3", "ECG"])


def test_chebconv_order_two_is_self_plus_normalised_neighbours():
    adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32)
    lap = scaled_laplacian(adj)
    conv = ChebConv(2, 3, K=2)
    x = torch.randn(4, 3, 2)
    d = torch.tensor([1.0, 2.0, 1.0]).rsqrt()
    a_hat = d[:, None] * torch.from_numpy(adj) * d[None, :]
    expected = x @ conv.weight[0] - (a_hat @ x) @ conv.weight[1] + conv.bias
    torch.testing.assert_close(conv(x, lap), expected)


def test_gmss_reads_any_montage_with_the_same_weights():
    model = GMSS(EEGMAT, 128.0, 512, 3).eval()
    x = torch.randn(2, 19, 512) * 10
    assert model(x).shape == (2, 3)
    small = model.with_channels(["C3", "Cz", "C4", "Pz"]).eval()
    assert small(torch.randn(2, 4, 512)).shape == (2, 3)
    torch.testing.assert_close(small.conv.weight, model.conv.weight)


def test_input_statistics_are_measured_per_band():
    model = GMSS(EEGMAT, 128.0, 512, 2)
    x = torch.randn(8, 19, 512) * 20
    model.fit_input_statistics(x)
    de = model.node_features(x)
    torch.testing.assert_close(model.input_mean, de.mean((0, 1)))
    assert model.input_std.shape == (5,)


def test_gmss_checkpoint_round_trip(tmp_path):
    model = GMSS(EEGMAT, 128.0, 512, 2).eval()
    model.fit_input_statistics(torch.randn(4, 19, 512) * 10)
    meta = ModelMeta(
        architecture="gmss", config=model.config, channel_names=tuple(EEGMAT), sfreq=128.0,
        window_s=4.0, class_names=("rest", "arithmetic"), family=AFFECTIVE,
    )  # fmt: skip
    path = save_checkpoint(tmp_path / "g.safetensors", model, meta)
    loaded, got = load_checkpoint(path)
    assert got.family == AFFECTIVE
    x = torch.randn(3, 19, 512)
    torch.testing.assert_close(loaded.eval()(x), model(x))
