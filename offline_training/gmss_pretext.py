"""GMSS's self-supervised tasks: frequency jigsaw, spatial jigsaw, contrastive, weighted jointly.

The three pretext tasks of GMSS (``../shared/reference/model_specs.md`` section 4.3) on
differential-entropy node features ``(batch, n_electrodes, n_bands)``:

- **Frequency jigsaw**: the band columns are permuted by one of all ``5! = 120`` permutations
  (lexicographic order, :func:`frequency_permutations`); a head predicts which.
- **Spatial jigsaw**: the electrodes' ten region blocks are re-stacked in a permuted order (one of
  128 permutations of 10 chosen greedily for a large mean Hamming distance,
  :func:`hamming_permutations`) while the graph stays fixed, so features land on other
  electrodes; a head predicts which permutation.
- **Contrastive**: each original gets ``n_copies`` views per side, each a random spatial then a
  random frequency permutation; a multi-positive NT-Xent (temperature 0.5) pulls together every
  view of the same original (:func:`multi_positive_nt_xent`).
- **Weighting**: learned uncertainty weights (:class:`UncertaintyWeighting`).

Differences from the original code, on purpose:

- Heads return logits for ``cross_entropy`` (the original applies softmax twice).
- Permutations are drawn afresh for every batch (``selfSupervised.py`` rebuilds them every epoch;
  ``jointly_train.py`` fixes them for the whole run, which lets a network memorise them).
- The weighting uses one form for every task, ``exp(-s_i) L_i / 2 + s_i / 2`` with
  ``s_i = log sigma_i^2`` (Kendall et al. 2018); the original mixes ``0.5 / sigma^2`` and
  ``1 / sigma^2`` and optimises ``sigma`` directly, which can cross zero.
- The contrastive loss is not multiplied by 2.
- Permutations of the spatial set come from a seeded pool of random permutations (not all 10!),
  identity first.

References
----------
.. [1] Y. Li et al. "GMSS: Graph-based multi-task self-supervised learning for EEG emotion
   recognition." IEEE Transactions on Affective Computing 14(3), 2512-2525, 2023.
.. [2] M. Noroozi, P. Favaro. "Unsupervised learning of visual representations by solving jigsaw
   puzzles." ECCV 2016 (maximal-Hamming permutation sets).
.. [3] A. Kendall, Y. Gal, R. Cipolla. "Multi-task learning using uncertainty to weigh losses for
   scene geometry and semantics." CVPR 2018.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import torch
import torch.nn.functional as F
from neurodeck.common.types import ConfigError
from neurodeck.models.gmss import GMSS, N_REGIONS, mlp_head
from numpy.typing import NDArray
from torch import Tensor, nn

#: Number of spatial-jigsaw permutations (GMSS: 128).
N_SPATIAL_PERMUTATIONS = 128
#: Contrastive temperature (GMSS: 0.5).
TEMPERATURE = 0.5


@functools.cache
def frequency_permutations(n_bands: int = 5) -> NDArray[np.int64]:
    """All permutations of the band axis in ``itertools`` lexicographic order.

    Returns
    -------
    perms : ndarray, shape (n_bands!, n_bands), int64
        Row 0 is the identity.
    """
    return np.asarray(list(itertools.permutations(range(n_bands))), dtype=np.int64)


@functools.cache
def hamming_permutations(
    n: int = N_REGIONS, count: int = N_SPATIAL_PERMUTATIONS, seed: int = 0, pool: int = 20_000
) -> NDArray[np.int64]:
    """``count`` permutations of ``n`` items chosen greedily for a large mean Hamming distance.

    Starting from the identity, each step adds the candidate of a seeded random pool with the
    largest summed Hamming distance to those chosen (ties: the largest minimum distance).

    Returns
    -------
    perms : ndarray, shape (count, n), int64
        Distinct permutations; row 0 is the identity.
    """
    if count < 1 or n < 2:
        raise ConfigError(f"need count >= 1 and n >= 2; got count={count}, n={n}.")
    rng = np.random.default_rng(seed)
    candidates = np.unique(np.stack([rng.permutation(n) for _ in range(pool)]), axis=0)
    identity = np.arange(n)
    candidates = candidates[(candidates != identity).any(1)]
    if len(candidates) < count - 1:
        raise ConfigError(f"only {len(candidates)} distinct permutations of {n} are available.")
    chosen = [identity]
    total = (candidates != identity).sum(1).astype(np.int64)
    closest = total.copy()
    free = np.ones(len(candidates), dtype=bool)
    for _ in range(count - 1):
        score = np.where(free, total * (n + 1) + closest, -1)
        pick = int(np.argmax(score))
        free[pick] = False
        chosen.append(candidates[pick])
        dist = (candidates != candidates[pick]).sum(1)
        total += dist
        closest = np.minimum(closest, dist)
    return np.stack(chosen).astype(np.int64)


def spatial_gather_index(regions: NDArray[np.int64], perms: NDArray[np.int64]) -> Tensor:
    """For each permutation, the source electrode of every electrode after re-stacking.

    The electrodes are ordered by region (stable); permutation ``p`` stacks the blocks of regions
    ``p[0], p[1], ...`` one after the other and lays the result onto the electrodes in that
    region order. Regions without electrodes contribute nothing.

    Parameters
    ----------
    regions : ndarray, shape (n_electrodes,)
        Region of each electrode (:func:`neurodeck.models.gmss.region_index`).
    perms : ndarray, shape (n_perms, n_regions)

    Returns
    -------
    index : Tensor, shape (n_perms, n_electrodes), int64
        ``permuted[:, e] = features[:, index[k, e]]``.
    """
    regions = np.asarray(regions)
    slots = np.argsort(regions, kind="stable")  # electrodes in region order
    blocks = [np.flatnonzero(regions == r) for r in range(perms.shape[1])]
    out = np.empty((len(perms), len(regions)), dtype=np.int64)
    for k, perm in enumerate(perms):
        out[k, slots] = np.concatenate([blocks[r] for r in perm])
    return torch.from_numpy(out)


def permute_nodes(x: Tensor, index: Tensor, perm_ids: Tensor) -> Tensor:
    """Re-stack each sample's electrodes, ``(batch, E, F) -> (batch, E, F)``."""
    rows = index.to(x.device)[perm_ids]  # (batch, E)
    return torch.gather(x, 1, rows[..., None].expand(-1, -1, x.shape[2]))


def permute_bands(x: Tensor, perms: Tensor, perm_ids: Tensor) -> Tensor:
    """Permute each sample's band columns, ``(batch, E, F) -> (batch, E, F)``."""
    cols = perms.to(x.device)[perm_ids]  # (batch, F)
    return torch.gather(x, 2, cols[:, None, :].expand(-1, x.shape[1], -1))


def multi_positive_nt_xent(z: Tensor, groups: Tensor, temperature: float = TEMPERATURE) -> Tensor:
    """NT-Xent where every other sample of the same group is a positive.

    Parameters
    ----------
    z : Tensor, shape (n, dim)
        Projections (normalised here).
    groups : Tensor, shape (n,), int64
        Original sample of each view; every group needs at least two views.
    temperature : float

    Returns
    -------
    loss : Tensor, scalar
        Mean over anchors of ``-log(sum_pos exp(s/t) / sum_{j != i} exp(s/t))``.
    """
    z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    positive = (groups[:, None] == groups[None, :]) & ~eye
    if not bool(positive.any(1).all()):
        raise ConfigError("every original needs at least two views for the contrastive loss.")
    log_all = torch.logsumexp(sim, dim=1)
    log_pos = torch.logsumexp(sim.masked_fill(~positive, float("-inf")), dim=1)
    return (log_all - log_pos).mean()


class UncertaintyWeighting(nn.Module):
    """Learned task weights: ``sum_i exp(-s_i) L_i / 2 + s_i / 2`` with ``s_i = log sigma_i^2``.

    Parameters
    ----------
    n_tasks : int
    """

    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, losses: list[Tensor]) -> Tensor:
        """The weighted total of ``n_tasks`` scalar losses."""
        stacked = torch.stack(losses)
        return (0.5 * torch.exp(-self.log_vars) * stacked + 0.5 * self.log_vars).sum()


class GMSSPretext(nn.Module):
    """The encoder and its three pretext heads, as a :class:`neurodeck.offline_training.trainer`
    objective.

    Parameters
    ----------
    encoder : GMSS
        The encoder being pretrained (its class head is not used).
    n_copies : int
        Views of each original per side of the contrastive task (GMSS: 4).
    projection_dim : int
        Size of the contrastive projection (GMSS: 128).
    seed : int
        Seed of the spatial permutation set.

    Notes
    -----
    ``loss(batch)`` takes a batch of DE node features ``(batch, n_electrodes, n_bands)`` of the
    encoder's montage (or a tuple whose first item is that).
    """

    def __init__(
        self, encoder: GMSS, n_copies: int = 2, projection_dim: int = 128, seed: int = 0
    ) -> None:
        super().__init__()
        if n_copies < 1:
            raise ConfigError(f"'n_copies' must be >= 1; got {n_copies}.")
        self.encoder = encoder
        self.n_copies = n_copies
        freq = torch.from_numpy(frequency_permutations(encoder.n_bands))
        spatial = hamming_permutations(N_REGIONS, N_SPATIAL_PERMUTATIONS, seed)
        self.register_buffer("freq_perms", freq, persistent=False)
        self.register_buffer(
            "spatial_index",
            spatial_gather_index(encoder.regions.cpu().numpy(), spatial),
            persistent=False,
        )
        n = encoder.n_features
        self.freq_head = mlp_head(n, len(freq), dropout=encoder.dropout)
        self.spatial_head = mlp_head(n, len(spatial), dropout=encoder.dropout)
        self.projection = mlp_head(n, projection_dim, dropout=encoder.dropout)
        self.weights = UncertaintyWeighting(3)

    def loss(self, batch: Tensor | tuple[Tensor, ...]) -> tuple[Tensor, dict[str, float]]:
        """Weighted pretext loss of one batch and its parts (accuracies of the jigsaws)."""
        de = batch[0] if isinstance(batch, (tuple, list)) else batch
        b = de.shape[0]
        gen_device = de.device
        f_ids = torch.randint(len(self.freq_perms), (b,), device=gen_device)
        s_ids = torch.randint(len(self.spatial_index), (b,), device=gen_device)
        f_logits = self.freq_head(
            self.encoder.encode_features(permute_bands(de, self.freq_perms, f_ids))
        )
        s_logits = self.spatial_head(
            self.encoder.encode_features(permute_nodes(de, self.spatial_index, s_ids))
        )
        views = de.repeat(2 * self.n_copies, 1, 1)  # (2 * n_copies * b, E, F)
        n_views = len(views)
        views = permute_nodes(
            views,
            self.spatial_index,
            torch.randint(len(self.spatial_index), (n_views,), device=gen_device),
        )
        views = permute_bands(
            views,
            self.freq_perms,
            torch.randint(len(self.freq_perms), (n_views,), device=gen_device),
        )
        groups = torch.arange(b, device=gen_device).repeat(2 * self.n_copies)
        con = multi_positive_nt_xent(self.projection(self.encoder.encode_features(views)), groups)
        freq_loss = F.cross_entropy(f_logits, f_ids)
        spatial_loss = F.cross_entropy(s_logits, s_ids)
        total = self.weights([freq_loss, spatial_loss, con])
        metrics = {
            "freq_loss": float(freq_loss.detach()),
            "spatial_loss": float(spatial_loss.detach()),
            "contrastive_loss": float(con.detach()),
            "freq_acc": float((f_logits.argmax(1) == f_ids).float().mean()),
            "spatial_acc": float((s_logits.argmax(1) == s_ids).float().mean()),
        }
        return total, metrics
