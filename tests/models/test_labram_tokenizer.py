"""Neural tokenizer: Fourier targets, cosine EMA quantizer, training, config round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.labram_tokenizer import (
    DEAD_THRESHOLD,
    TOKENIZER_PRESETS,
    USAGE_DECAY,
    NeuralTokenizer,
    VectorQuantizer,
    code_perplexity,
    fourier_targets,
)
from neurodeck.models.layers import patchify

NAMES = ["C3", "Cz", "C4", "Pz"]
TINY = {
    "conv_channels": 4,
    "depth": 1,
    "decoder_depth": 1,
    "n_heads": 4,
    "n_codes": 16,
    "code_dim": 8,
}


def _windows(n: int, n_times: int = 400, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n_times) / 200.0
    alpha = 30.0 * torch.sin(2 * torch.pi * 10.0 * t)  # a shared rhythm makes spectra learnable
    return alpha + 10.0 * torch.randn(n, len(NAMES), n_times, generator=gen)


def _tiny(**kw: object) -> NeuralTokenizer:
    torch.manual_seed(0)
    return NeuralTokenizer(NAMES, **{**TINY, **kw})


def test_fourier_targets_are_zscored_per_sample() -> None:
    x = _windows(3)
    patches = patchify(x, 200, 16)  # (3, 4, 2, 200)
    amplitude, phase = fourier_targets(patches)
    assert amplitude.shape == phase.shape == (3, 8, 200)
    for target in (amplitude, phase):
        flat = target.reshape(3, -1)
        assert torch.allclose(flat.mean(dim=1), torch.zeros(3), atol=1e-5)
        assert torch.allclose(flat.std(dim=1), torch.ones(3), atol=1e-5)
    spectrum = np.fft.fft(patches[0].double().numpy(), axis=-1)
    raw = np.abs(spectrum).reshape(8, 200)
    expected = (raw - raw.mean()) / raw.std(ddof=1)
    np.testing.assert_allclose(amplitude[0].numpy(), expected, atol=1e-4)
    flat_amp, flat_phase = fourier_targets(torch.zeros(1, 2, 1, 200))
    assert torch.isfinite(flat_amp).all() and torch.isfinite(flat_phase).all()


def test_quantizer_returns_nearest_codebook_rows() -> None:
    torch.manual_seed(0)
    quantizer = VectorQuantizer(32, 6, kmeans_init=False).eval()
    z = torch.randn(5, 7, 6, requires_grad=True)
    z_q, loss, index = quantizer(z)
    assert index.shape == (5, 7) and z_q.shape == (5, 7, 6)
    assert torch.allclose(z_q, quantizer.codebook[index], atol=1e-6)
    unit = torch.nn.functional.normalize(z.detach(), dim=-1)
    distances = torch.cdist(unit.reshape(-1, 6), quantizer.codebook)
    assert torch.equal(index.reshape(-1), distances.argmin(dim=1))
    assert torch.allclose(quantizer.codebook.norm(dim=1), torch.ones(32))
    (z_q.sum() + loss).backward()  # straight-through: the gradient reaches the inputs
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_ema_moves_used_codes_only() -> None:
    torch.manual_seed(0)
    quantizer = VectorQuantizer(16, 4, decay=0.9, kmeans_init=False).train()
    before = quantizer.codebook.clone()
    z = before[[1, 1, 5]] + 0.05 * torch.randn(3, 4)  # close to codes 1 and 5
    _, _, index = quantizer(z)
    assert set(index.tolist()) == {1, 5}
    after = quantizer.codebook
    unused = [k for k in range(16) if k not in (1, 5)]
    assert torch.equal(after[unused], before[unused])
    assert not torch.allclose(after[[1, 5]], before[[1, 5]])
    assert torch.allclose(after.norm(dim=1), torch.ones(16), atol=1e-6)
    target = torch.nn.functional.normalize(z[2], dim=0)  # the mean of its one vector
    expected = torch.nn.functional.normalize(0.9 * before[5] + 0.1 * target, dim=0)
    assert torch.allclose(after[5], expected, atol=1e-6)
    quantizer.eval()
    frozen = quantizer.codebook.clone()
    quantizer(z)
    assert torch.equal(quantizer.codebook, frozen)


def _clusters(n_per: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit vectors around 4 well-separated directions (+-e0, +-e1) of R^4; and the labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, -1.0, 0, 0]])
    labels = torch.arange(4).repeat_interleave(n_per)
    z = centres[labels] + 0.05 * torch.randn(4 * n_per, 4, generator=gen)
    return torch.nn.functional.normalize(z, dim=-1), labels


def _collapsed(**kw: object) -> VectorQuantizer:
    """A trained-looking quantizer whose 32 codes are all one vector (e2), used as code 0 only."""
    quantizer = VectorQuantizer(32, 4, kmeans_init=False, **kw).train()
    quantizer.codebook.copy_(torch.tensor([0.0, 0, 1, 0]).expand(32, 4))
    quantizer.cluster_size.zero_()[0] = 64.0  # every vector of the batch went to code 0
    return quantizer


def test_dead_codes_are_restarted_from_the_batch() -> None:
    z, labels = _clusters()
    torch.manual_seed(0)  # the restarts draw from torch's global RNG
    quantizer = _collapsed()
    _, _, index = quantizer(z)
    assert index.unique().numel() == 1  # collapsed: everything maps to code 0
    assert quantizer.n_restarted == 31  # codes 1-31 are dead
    restarted = quantizer.codebook[1:]
    # each restarted code is one of the batch's (normalised) vectors, drawn without repeats
    matches = ((restarted[:, None] - z[None]).abs().amax(dim=-1) < 1e-6).float()  # (31, 64)
    assert (matches.sum(dim=1) >= 1).all()
    assert len({int(row.argmax()) for row in matches}) == 31
    assert torch.allclose(quantizer.codebook.norm(dim=1), torch.ones(32), atol=1e-6)
    for _ in range(5):
        _, _, index = quantizer(z)
    assert index.unique().numel() >= 4
    # every cluster has its own codes: no code is shared by two clusters
    for code in index.unique():
        assert labels[index == code].unique().numel() == 1
    assert code_perplexity(index, 32) > 3.0


def test_restarts_are_reproducible_and_can_be_turned_off() -> None:
    z, _ = _clusters()
    books = []
    for _ in range(2):
        torch.manual_seed(3)
        quantizer = _collapsed()
        for _ in range(3):
            quantizer(z)
        books.append(quantizer.codebook.clone())
    assert torch.equal(books[0], books[1])
    published = _collapsed(dead_threshold=0.0)  # LaBraM's quantizer: only used codes move
    for _ in range(5):
        _, _, index = published(z)
    assert index.unique().numel() <= 2 and published.n_restarted == 0
    assert torch.equal(published.codebook[2:], _collapsed().codebook[2:])


def test_fresh_usage_statistics_restart_unused_codes_within_a_few_dozen_steps() -> None:
    z, _ = _clusters()
    torch.manual_seed(0)
    quantizer = VectorQuantizer(8, 4, kmeans_init=False).train()
    quantizer.codebook.copy_(torch.tensor([0.0, 0, 1, 0]).expand(8, 4))
    quantizer(z)  # no statistics yet: every code starts at the mean usage, 64 / 8
    assert quantizer.n_restarted == 0
    assert torch.allclose(quantizer.cluster_size.sum(), torch.tensor(64.0))
    steps = 1
    while quantizer.n_restarted == 0 and steps < 30:
        quantizer(z)
        steps += 1
    expected = int(np.ceil(np.log(DEAD_THRESHOLD) / np.log(USAGE_DECAY)))
    assert abs(steps - expected) <= 1  # 11 with the defaults
    for _ in range(3):
        _, _, index = quantizer(z)
    assert index.unique().numel() > 1


def test_code_perplexity() -> None:
    assert code_perplexity(torch.zeros(10, dtype=torch.long), 16) == pytest.approx(1.0)
    assert code_perplexity(torch.arange(16).repeat(3), 16) == pytest.approx(16.0)
    assert code_perplexity(torch.tensor([0, 0, 1, 1]), 16) == pytest.approx(2.0)


def test_quantizer_works_in_float32_under_autocast() -> None:
    z, _ = _clusters()
    torch.manual_seed(0)
    quantizer = VectorQuantizer(8, 4, kmeans_init=True).train()
    x = z.to(torch.bfloat16).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z_q, loss, index = quantizer(x)
    assert z_q.dtype == torch.bfloat16 and loss.dtype == torch.float32
    assert quantizer.codebook.dtype == quantizer.cluster_size.dtype == torch.float32
    assert torch.allclose(quantizer.codebook.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.allclose(quantizer.cluster_size.sum(), torch.tensor(64.0))
    assert index.unique().numel() > 1
    z_q.float().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_kmeans_initialises_on_the_first_training_batch() -> None:
    tokenizer = _tiny(kmeans_init=True).train()
    assert not bool(tokenizer.quantizer.initialized)
    x = _windows(4)
    codes_before = tokenizer.codes(x)  # codes() never initialises or updates
    assert not bool(tokenizer.quantizer.initialized)
    tokenizer.loss(x)
    assert bool(tokenizer.quantizer.initialized)
    assert codes_before.shape == (4, 8) and codes_before.dtype == torch.long
    # the usage statistics start from the k-means cluster sizes (32 vectors in the batch)
    assert torch.allclose(tokenizer.quantizer.cluster_size.sum(), torch.tensor(32.0), atol=1e-4)


def test_a_few_steps_lower_the_tokenizer_loss() -> None:
    tokenizer = _tiny().train()
    x = _windows(4)
    optimizer = torch.optim.Adam(tokenizer.parameters(), lr=2e-3)
    losses = []
    for _ in range(12):
        loss, metrics = tokenizer.loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    expected = {"loss", "commit", "amplitude_mse", "phase_mse", "code_usage", "perplexity"}
    assert set(metrics) == expected
    assert 1.0 <= metrics["perplexity"] <= metrics["code_usage"] * tokenizer.n_codes + 1e-6
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0]
    assert all(p.grad is not None for p in tokenizer.parameters())
    assert "quantizer.codebook" not in dict(tokenizer.named_parameters())


def test_config_round_trip_and_presets() -> None:
    tokenizer = _tiny().eval()
    rebuilt = NeuralTokenizer(**json.loads(json.dumps(tokenizer.config)))
    rebuilt.load_state_dict(tokenizer.state_dict(), strict=True)
    rebuilt.eval()
    x = _windows(2)
    assert torch.equal(rebuilt.codes(x), tokenizer.codes(x))
    assert rebuilt.config == tokenizer.config
    assert tokenizer.config["dead_threshold"] == DEAD_THRESHOLD
    assert tokenizer.config["usage_decay"] == USAGE_DECAY
    custom = _tiny(dead_threshold=0.0, usage_decay=0.5)
    again = NeuralTokenizer(**json.loads(json.dumps(custom.config)))
    assert again.quantizer.dead_threshold == 0.0 and again.quantizer.usage_decay == 0.5
    with pytest.raises(ConfigError, match="dead_threshold"):
        _tiny(dead_threshold=1.5)
    old = {k: v for k, v in tokenizer.state_dict().items() if not k.endswith("cluster_size")}
    rebuilt.load_state_dict(old, strict=True)  # saved before the usage statistics existed
    assert not rebuilt.quantizer.cluster_size.any()
    small = NeuralTokenizer.from_preset("small", NAMES)
    assert small.n_codes == TOKENIZER_PRESETS["small"]["n_codes"]
    with pytest.raises(ConfigError, match="unknown tokenizer preset"):
        NeuralTokenizer.from_preset("tiny", NAMES)
    with pytest.raises(ConfigError, match="multiple of patch_size"):
        tokenizer.codes(_windows(1, n_times=300))
