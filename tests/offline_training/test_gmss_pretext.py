"""GMSS pretext tasks: permutation sets, jigsaw transforms and labels, losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from neurodeck.models.gmss import GMSS
from neurodeck.offline_training.gmss_pretext import (
    GMSSPretext,
    UncertaintyWeighting,
    frequency_permutations,
    hamming_permutations,
    multi_positive_nt_xent,
    permute_bands,
    permute_nodes,
    spatial_gather_index,
)


def test_frequency_permutations_are_all_120_in_lexicographic_order():
    perms = frequency_permutations(5)
    assert perms.shape == (120, 5)
    assert [tuple(p) for p in perms] == list(itertools.permutations(range(5)))


def test_spatial_set_is_128_distinct_far_apart_permutations_identity_first():
    perms = hamming_permutations()
    assert perms.shape == (128, 10)
    assert (perms[0] == np.arange(10)).all()
    assert len({tuple(p) for p in perms}) == 128
    assert all(sorted(p) == list(range(10)) for p in perms.tolist())
    d = (perms[:, None] != perms[None]).sum(-1)[np.triu_indices(128, 1)]
    assert d.min() >= 4 and d.mean() > 8.5  # GMSS's file: min 4, mean about 9.07
    assert (hamming_permutations() == perms).all()  # deterministic


def test_frequency_jigsaw_moves_band_columns_by_the_labelled_permutation():
    perms = torch.from_numpy(frequency_permutations(5))
    x = torch.arange(5.0).repeat(2, 3, 1)  # every node holds bands 0..4
    ids = torch.tensor([0, 7])
    out = permute_bands(x, perms, ids)
    assert out[0, 0].tolist() == [0, 1, 2, 3, 4]
    assert out[1, 2].tolist() == perms[7].float().tolist()


def test_spatial_jigsaw_restacks_region_blocks_onto_fixed_electrodes():
    regions = np.array([1, 0, 1, 2])  # electrodes 1 | 0, 2 | 3 in region order
    perms = np.array([[0, 1, 2], [2, 0, 1]])
    index = spatial_gather_index(regions, perms)
    assert index[0].tolist() == [0, 1, 2, 3]  # identity
    # order [2, 0, 1]: blocks [3], [1], [0, 2] laid onto slots (1, 0, 2, 3)
    x = torch.tensor([[[10.0], [11.0], [12.0], [13.0]]])
    out = permute_nodes(x, index, torch.tensor([1]))
    assert out[0, :, 0].tolist() == [11.0, 13.0, 10.0, 12.0]


def test_multi_positive_nt_xent_is_low_when_views_agree():
    groups = torch.arange(4).repeat(4)
    z = torch.eye(4)[groups]  # views of one original coincide, originals are orthogonal
    aligned = multi_positive_nt_xent(z, groups, 0.5)
    shuffled = multi_positive_nt_xent(
        z[torch.randperm(16, generator=torch.Generator().manual_seed(0))], groups, 0.5
    )
    assert float(aligned) < float(shuffled)
    # analytic: 3 positives at cos 1, 12 others at 0 (t = 0.5): log((3 e^2 + 12) / (3 e^2))
    expected = np.log((3 * np.e**2 + 12) / (3 * np.e**2))
    assert float(aligned) == pytest.approx(expected, rel=1e-5)


def test_uncertainty_weighting_is_the_plain_sum_at_start():
    w = UncertaintyWeighting(3)
    losses = [torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)]
    assert float(w(losses).detach()) == pytest.approx(3.0)


def test_pretext_objective_learns_on_a_small_batch():
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz"]
    torch.manual_seed(0)
    objective = GMSSPretext(GMSS(names, 128.0, 128, 2), n_copies=2)
    de = torch.randn(32, len(names), 5)
    opt = torch.optim.Adam(objective.parameters(), 3e-3)
    first = None
    for _ in range(40):
        loss, metrics = objective.loss(de)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    assert set(metrics) >= {"freq_acc", "spatial_acc", "contrastive_loss"}
