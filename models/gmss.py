"""GMSS: a graph network over differential-entropy features, for affective and mental state.

After Li et al., "GMSS: Graph-based multi-task self-supervised learning for EEG emotion
recognition" (IEEE TAFFC 14(3), 2023; code ``CHEN-XDU/GMSS``; facts in
``../shared/reference/model_specs.md`` section 4). Node features are the differential entropy of
five bands at each electrode (:mod:`neurodeck.models.band_features`); one Chebyshev graph
convolution over a graph of neighbouring electrodes mixes them; heads classify the result.

What is kept from the paper, and what differs (each difference has a reason):

- **Kept**: DE node features (electrodes x 5 bands, 1-s frames); one ChebConv of order K = 2
  with 32 features per node, ReLU; heads ``-> 256 -> BatchNorm -> ReLU -> Dropout(0.25) ->
  128 -> ... -> out`` (the paper's 512/256 scaled to the smaller readout); the ten brain regions
  of the spatial jigsaw; the unweighted graph (the original builds edge weights but never passes
  them to the convolution).
- **Input-agnostic**: the original is tied to SEED's 62 channels (adjacency literal, flatten to
  62 x 32). Here the graph is built from the electrodes' positions in MNE's ``standard_1005``
  montage (each electrode linked to its ``k_neighbors`` nearest, symmetrised, which on a 10-10
  grid gives the original's left/right/front/back links), and the readout averages the node
  features within each of the ten regions (10 x 32 = 320 features) instead of flattening, so one
  set of weights reads any montage that covers the scalp; an empty region reads zeros.
- **Regions**: GMSS's table with its index slip fixed (region 3 holds CB1 where the code has O2;
  region 6 holds O2). An electrode outside the table joins the region of the nearest table
  electrode on the montage sphere (CB1 / CB2, not in the 10-05 system, sit at I1 / I2).
- **Input scaling**: DE values are standardised per band with a mean and spread measured on
  data (:meth:`GMSS.fit_input_statistics`), not learned: pretraining measures them on its corpus
  and calibration re-measures them on the person's windows before fine-tuning (the AdaBN idea of
  Li et al. 2016: new statistics for a new domain), so headsets of other gains read alike. A
  BatchNorm there failed in practice: with a few dozen calibration windows its running
  statistics had not converged when training stopped, and the model predicted one class.
- **Logits, not softmax**: the heads return logits; the original applies softmax before a
  cross-entropy that applies log-softmax again.
- A window of several seconds is split into 1-s frames whose DE is averaged (SEED averages
  neighbouring frames with a moving average or a linear dynamical system).

The self-supervised pretext heads (frequency jigsaw, spatial jigsaw, contrastive projection) and
their losses live in :mod:`neurodeck.offline_training.gmss_pretext`; only the encoder and the class
head are in checkpoints.

References
----------
.. [1] Y. Li, J. Chen, F. Li, B. Fu, H. Wu, Y. Ji, Y. Zhou, Y. Niu, G. Shi, W. Zheng. "GMSS:
   Graph-based multi-task self-supervised learning for EEG emotion recognition." IEEE
   Transactions on Affective Computing 14(3), 2512-2525, 2023.
.. [2] M. Defferrard, X. Bresson, P. Vandergheynst. "Convolutional neural networks on graphs with
   fast localized spectral filtering." NeurIPS 2016.
.. [3] R.-N. Duan, J.-Y. Zhu, B.-L. Lu. "Differential entropy feature for EEG-based emotion
   classification." IEEE EMBS NER 2013.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.models.band_features import BANDS, check_bands, differential_entropy
from neurodeck.models.base import EEGModel
from neurodeck.models.electrodes import ELECTRODE_TABLE, electrode_row, montage_positions
from neurodeck.models.registry import register_model
from numpy.typing import NDArray
from torch import Tensor, nn

#: The ten regions of the spatial jigsaw (GMSS's table, with its R3/R6 index slip fixed).
REGIONS: tuple[tuple[str, ...], ...] = (
    ("FP1", "FPZ", "FP2", "AF3", "AF4"),
    ("F7", "F5", "F3", "FT7", "FC5", "FC3"),
    ("T7", "C5", "C3", "TP7", "CP5", "CP3"),
    ("P7", "P5", "P3", "PO7", "PO5", "CB1"),
    ("F1", "FZ", "F2", "FC1", "FCZ", "FC2", "C1", "CZ", "C2"),
    ("CP1", "CPZ", "CP2", "P1", "PZ", "P2"),
    ("PO3", "POZ", "PO4", "O1", "OZ", "O2"),
    ("F4", "F6", "F8", "FC4", "FC6", "FT8"),
    ("C4", "C6", "T8", "CP4", "CP6", "TP8"),
    ("P4", "P6", "P8", "PO6", "PO8", "CB2"),
)
#: Number of regions.
N_REGIONS = len(REGIONS)
#: SEED's cerebellar electrodes, placed at the nearest 10-05 sites.
_CEREBELLAR = {"CB1": "I1", "CB2": "I2"}


@functools.cache
def _montage_positions() -> dict[str, NDArray[np.float64]]:
    """Upper-case 10-05 name -> unit vector of its position (:func:`montage_positions`)."""
    out = {}
    for name, pos in montage_positions().items():
        out[name.upper()] = pos / np.linalg.norm(pos)
    return out


def electrode_positions(channel_names: Sequence[str]) -> NDArray[np.float64]:
    """Unit vectors of the electrodes on the ``standard_1005`` sphere.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
        Electrode labels (case, dots, ``EEG`` prefixes, T3/T4/T5/T6 and CB1/CB2 accepted).

    Returns
    -------
    positions : ndarray, shape (n_channels, 3)

    Raises
    ------
    ChannelMappingError
        Naming every label that is not an electrode with a known position.
    """
    table = _montage_positions()
    out, unknown = [], []
    for name in channel_names:
        key = str(name).replace(".", "").strip().upper()
        if key in _CEREBELLAR:
            out.append(table[_CEREBELLAR[key]])
            continue
        row = electrode_row(name)
        pos = table.get(ELECTRODE_TABLE[row]) if row is not None else None
        if pos is None:
            unknown.append(str(name))
        else:
            out.append(pos)
    if unknown:
        raise ChannelMappingError(
            f"{len(unknown)} channels have no scalp position: {unknown[:16]}.",
            "A graph model places electrodes by their 10-20 / 10-10 names; drop non-EEG and "
            "bipolar channels, or rename them ('Fp1', 'C3', 'O2').",
        )
    return np.stack(out)


@functools.cache
def _anchor_regions() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    names = [name for region in REGIONS for name in region]
    regions = [k for k, region in enumerate(REGIONS) for _ in region]
    return electrode_positions(names), np.asarray(regions)


def region_index(channel_names: Sequence[str]) -> NDArray[np.int64]:
    """The spatial-jigsaw region of each electrode.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels

    Returns
    -------
    regions : ndarray, shape (n_channels,), int64
        Values in ``[0, N_REGIONS)``: the table's region for table electrodes, else the region of
        the nearest table electrode.
    """
    positions = electrode_positions(channel_names)
    anchors, anchor_regions = _anchor_regions()
    nearest = np.argmax(positions @ anchors.T, axis=1)  # largest cosine = nearest on the sphere
    return anchor_regions[nearest]


def montage_adjacency(channel_names: Sequence[str], k_neighbors: int = 4) -> NDArray[np.float32]:
    """Unweighted, symmetric adjacency linking each electrode to its nearest neighbours.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
    k_neighbors : int
        Neighbours per electrode before symmetrisation (fewer when there are fewer electrodes).

    Returns
    -------
    adjacency : ndarray, shape (n_channels, n_channels), float32
        1 where two electrodes are linked, 0 elsewhere (no self-loops).
    """
    positions = electrode_positions(channel_names)
    n = len(positions)
    adj = np.zeros((n, n), dtype=np.float32)
    k = min(int(k_neighbors), n - 1)
    if k < 1:
        return adj
    cosine = positions @ positions.T
    np.fill_diagonal(cosine, -np.inf)
    nearest = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    adj[np.repeat(np.arange(n), k), nearest.ravel()] = 1.0
    return np.maximum(adj, adj.T)


def scaled_laplacian(adjacency: NDArray[np.float32] | Tensor) -> Tensor:
    """``L~ = 2 L / lambda_max - I`` with ``L = I - D^-1/2 A D^-1/2`` and ``lambda_max = 2``.

    That is ``-D^-1/2 A D^-1/2``, what PyTorch Geometric's ``ChebConv`` uses by default (symmetric
    normalisation); an isolated electrode gets a zero row.

    Parameters
    ----------
    adjacency : array or Tensor, shape (n_nodes, n_nodes)

    Returns
    -------
    laplacian : Tensor, shape (n_nodes, n_nodes), float32
    """
    a = torch.as_tensor(adjacency, dtype=torch.float32)
    deg = a.sum(1)
    inv_sqrt = torch.where(deg > 0, deg.clamp_min(1e-12).rsqrt(), torch.zeros_like(deg))
    return -(inv_sqrt[:, None] * a * inv_sqrt[None, :])


class ChebConv(nn.Module):
    """Chebyshev spectral graph convolution of order ``K`` (Defferrard et al. 2016).

    ``out = sum_k T_k(L~) X W_k + b`` with ``T_0 = X``, ``T_1 = L~ X``,
    ``T_k = 2 L~ T_{k-1} - T_{k-2}``.

    Parameters
    ----------
    in_features, out_features : int
        Features per node.
    K : int
        Number of Chebyshev terms (K = 2: the node itself and its first neighbours).
    """

    def __init__(self, in_features: int, out_features: int, K: int = 2) -> None:
        super().__init__()
        if K < 1:
            raise ConfigError(f"'K' must be >= 1; got {K}.")
        self.K = K
        self.weight = nn.Parameter(torch.empty(K, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        for w in self.weight:
            nn.init.xavier_uniform_(w)

    def forward(self, x: Tensor, laplacian: Tensor) -> Tensor:
        """Convolve node features.

        Parameters
        ----------
        x : Tensor, shape (batch, n_nodes, in_features)
        laplacian : Tensor, shape (n_nodes, n_nodes)
            :func:`scaled_laplacian` of the graph.

        Returns
        -------
        Tensor, shape (batch, n_nodes, out_features)
        """
        terms = [x]
        if self.K > 1:
            terms.append(torch.matmul(laplacian, x))
        for _ in range(2, self.K):
            terms.append(2 * torch.matmul(laplacian, terms[-1]) - terms[-2])
        out = sum(t @ w for t, w in zip(terms, self.weight, strict=True))
        return out + self.bias


def mlp_head(n_in: int, n_out: int, dims: Sequence[int] = (256, 128), dropout: float = 0.25):
    """GMSS's head: ``n_in -> dims[0] -> BN -> ReLU -> Dropout -> ... -> n_out`` (logits)."""
    layers: list[nn.Module] = []
    width = n_in
    for d in dims:
        layers += [nn.Linear(width, d), nn.BatchNorm1d(d), nn.ReLU(), nn.Dropout(dropout)]
        width = d
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@register_model("gmss")
class GMSS(EEGModel):
    """GMSS graph encoder over differential-entropy features, with a class head.

    Parameters
    ----------
    channel_names : sequence of str
        Electrode names (any montage: the graph and regions are built from them).
    sfreq : float
        Input rate in Hz (at least twice the top band edge that is used).
    n_times : int
        Samples per window (a whole number of ``frame_s`` frames is used; at least one).
    n_outputs : int
        Number of classes.
    hidden : int
        Features per node after the graph convolution (32 in GMSS).
    cheb_k : int
        Chebyshev order (2 in GMSS).
    k_neighbors : int
        Nearest electrodes linked in the graph.
    frame_s : float
        DE frame length in seconds (1 s as SEED).
    dropout : float
        Dropout of the heads (0.25 in GMSS).
    bands : sequence of (name, low, high), optional
        Frequency bands (default :data:`neurodeck.models.band_features.BANDS`).

    Notes
    -----
    ``forward`` maps raw windows ``(batch, n_channels, n_times)`` in microvolts to logits; the
    offline pretext tasks use :meth:`node_features` and :meth:`encode_features` directly.
    """

    channel_agnostic: ClassVar[bool] = True

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        hidden: int = 32,
        cheb_k: int = 2,
        k_neighbors: int = 4,
        frame_s: float = 1.0,
        dropout: float = 0.25,
        bands: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(channel_names, sfreq, n_times, n_outputs)
        frame_n = round(frame_s * self.sfreq)
        if frame_n < 2 or n_times < frame_n:
            raise ConfigError(
                f"a GMSS window of {n_times} samples at {self.sfreq:g} Hz must hold at least "
                f"one {frame_s:g}-s DE frame.",
                "Use a longer window or shorter frames.",
            )
        self.bands = check_bands(BANDS if bands is None else bands, self.sfreq, frame_n)
        self.hidden = int(hidden)
        self.cheb_k = int(cheb_k)
        self.k_neighbors = int(k_neighbors)
        self.frame_s = float(frame_s)
        self.dropout = float(dropout)
        n_bands = len(self.bands)
        self.register_buffer("input_mean", torch.zeros(n_bands))
        self.register_buffer("input_std", torch.ones(n_bands))
        self.conv = ChebConv(n_bands, self.hidden, self.cheb_k)
        self.register_buffer(
            "laplacian",
            scaled_laplacian(montage_adjacency(self.channel_names, self.k_neighbors)),
            persistent=False,
        )
        regions = torch.from_numpy(region_index(self.channel_names))
        self.register_buffer("regions", regions, persistent=False)
        self.register_buffer("readout", _readout_matrix(regions), persistent=False)
        self.head = self.new_head(n_outputs)

    @property
    def n_bands(self) -> int:
        """Number of frequency bands (node features)."""
        return len(self.bands)

    @property
    def n_features(self) -> int:
        """Length of the representation, ``N_REGIONS * hidden``."""
        return N_REGIONS * self.hidden

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe."""
        return {
            **super().config,
            "hidden": self.hidden,
            "cheb_k": self.cheb_k,
            "k_neighbors": self.k_neighbors,
            "frame_s": self.frame_s,
            "dropout": self.dropout,
            "bands": [list(b) for b in self.bands],
        }

    def node_features(self, x: Tensor) -> Tensor:
        """Differential entropy per electrode and band, averaged over the window's 1-s frames.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times), microvolts

        Returns
        -------
        de : Tensor, shape (batch, n_channels, n_bands)
        """
        return differential_entropy(x, self.sfreq, self.bands, self.frame_s).mean(-2)

    def encode_features(self, de: Tensor, laplacian: Tensor | None = None) -> Tensor:
        """Representation of DE node features.

        Parameters
        ----------
        de : Tensor, shape (batch, n_channels, n_bands)
        laplacian : Tensor, shape (n_channels, n_channels), optional
            Graph of another montage (default: this model's).

        Returns
        -------
        features : Tensor, shape (batch, N_REGIONS * hidden)
        """
        b, c = de.shape[:2]
        h = (de - self.input_mean) / self.input_std
        lap = self.laplacian if laplacian is None else laplacian
        h = torch.relu(self.conv(h, lap.to(h.dtype)))  # (b, c, hidden)
        readout = self.readout if c == self.readout.shape[1] else None
        if readout is None:
            raise ConfigError(
                f"DE features of {c} electrodes do not fit this model's {self.n_channels}.",
                "Build the model for that montage (GMSS.with_channels).",
            )
        return torch.matmul(readout.to(h.dtype), h).reshape(b, -1)  # (b, regions * hidden)

    @torch.no_grad()
    def fit_input_statistics(self, x: Tensor | np.ndarray, batch: int = 256) -> None:
        """Measure the per-band mean and spread of the DE features of windows.

        Parameters
        ----------
        x : Tensor or ndarray, shape (n_windows, n_channels, n_times)
            Windows of the data the model will see (the calibration recording).
        batch : int
            Windows per step (bounds the memory).
        """
        t = torch.as_tensor(x, dtype=torch.float32)
        de = torch.cat([self.node_features(t[i : i + batch]) for i in range(0, len(t), batch)])
        self.input_mean.copy_(de.mean((0, 1)))
        self.input_std.copy_(de.std((0, 1)).clamp_min(1e-3))

    def encode(self, x: Tensor) -> Tensor:
        """Representation of raw windows, ``(batch, C, T) -> (batch, N_REGIONS * hidden)``."""
        return self.encode_features(self.node_features(x))

    def new_head(self, n_outputs: int) -> nn.Module:
        """GMSS's MLP head on the region readout."""
        return mlp_head(self.n_features, n_outputs, dropout=self.dropout)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The graph convolution, then the head."""
        return [list(self.conv.parameters()), list(self.head.parameters())]


def _readout_matrix(regions: Tensor) -> Tensor:
    """``(N_REGIONS, n_nodes)`` averaging matrix: row r = 1 / |region r| on its nodes."""
    onehot = torch.zeros(N_REGIONS, len(regions))
    onehot[regions, torch.arange(len(regions))] = 1.0
    return onehot / onehot.sum(1, keepdim=True).clamp_min(1.0)
