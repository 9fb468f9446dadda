"""Masked EEG modelling: exact masks, symmetric coverage, training, frozen tokenizer."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.labram import LaBraM
from neurodeck.models.labram_tokenizer import NeuralTokenizer
from neurodeck.offline_training.mem import MaskedEEGModelling, random_mask

NAMES = ["C3", "Cz", "C4", "Pz", "Fz"]
STUDENT = {"conv_channels": 4, "depth": 1, "n_heads": 4, "drop_path": 0.0}
TOKENIZER = {"conv_channels": 4, "depth": 1, "decoder_depth": 1, "n_heads": 4}


def _objective(n_codes: int = 16, seed: int = 0, **kw: object) -> MaskedEEGModelling:
    torch.manual_seed(seed)
    student = LaBraM(NAMES, 200.0, 400, 2, **STUDENT)
    tokenizer = NeuralTokenizer(NAMES, n_codes=n_codes, code_dim=8, kmeans_init=False, **TOKENIZER)
    generator = torch.Generator().manual_seed(seed)
    return MaskedEEGModelling(student, tokenizer, generator=generator, **kw)


def _windows(n: int = 4, n_times: int = 400, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 20.0 * torch.randn(n, len(NAMES), n_times, generator=gen)


@pytest.mark.parametrize("length", [10, 13])
def test_random_mask_has_exactly_int_half_per_sample(length: int) -> None:
    gen = torch.Generator().manual_seed(1)
    mask = random_mask(6, length, 0.5, generator=gen)
    assert mask.dtype == torch.bool and mask.shape == (6, length)
    assert (mask.sum(dim=1) == int(length * 0.5)).all()
    assert len({tuple(row.tolist()) for row in mask}) > 1  # independent per sample
    again = random_mask(6, length, 0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(mask, again)


def test_symmetric_masking_predicts_every_token_once(monkeypatch: pytest.MonkeyPatch) -> None:
    objective = _objective()
    seen: list[torch.Tensor] = []
    forward_tokens = objective.student.forward_tokens

    def spy(x: torch.Tensor, mask: torch.Tensor, channel_index: torch.Tensor) -> torch.Tensor:
        seen.append(mask)
        return forward_tokens(x, mask, channel_index)

    monkeypatch.setattr(objective.student, "forward_tokens", spy)
    x = _windows(3, n_times=600)  # 5 channels x 3 patches: L = 15, 7 masked
    loss, metrics = objective.loss(x)
    (mask,) = seen
    first, second = mask[:3], mask[3:]
    assert (first.sum(dim=1) == 7).all()
    assert torch.equal(first.int() + second.int(), torch.ones(3, 15, dtype=torch.int))
    assert torch.isfinite(loss)
    assert {"loss", "loss_masked", "loss_symmetric", "accuracy", "accuracy_masked"} <= set(metrics)
    assert metrics["loss"] == pytest.approx(metrics["loss_masked"] + metrics["loss_symmetric"])


def test_a_few_steps_lower_the_mem_loss() -> None:
    objective = _objective().train()
    x = _windows(4)

    def evaluate() -> float:
        objective.generator.manual_seed(123)
        with torch.no_grad():
            return objective.loss(x)[0].item()

    start = evaluate()
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    for _ in range(10):
        loss, _ = objective.loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert evaluate() < 0.8 * start


def test_the_tokenizer_is_frozen_and_not_a_parameter() -> None:
    objective = _objective().train()
    tokenizer = objective.tokenizer
    codebook = tokenizer.quantizer.codebook.clone()
    weights = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    tokenizer_ids = {id(p) for p in tokenizer.parameters()}
    assert not tokenizer_ids & {id(p) for p in objective.parameters()}
    assert not any(k.startswith("tokenizer") for k in objective.state_dict())
    assert not tokenizer.training
    loss, _ = objective.loss(_windows(2))
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in tokenizer.parameters())
    assert objective.lm_head.weight.grad is not None
    assert torch.equal(tokenizer.quantizer.codebook, codebook)
    assert all(torch.equal(v, weights[k]) for k, v in tokenizer.state_dict().items())
    objective.double()  # moves (and casts) the tokenizer with the objective
    assert tokenizer.encoder.cls_token.dtype == torch.float64


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="mask_ratio"):
        _objective(mask_ratio=1.0)
    objective = _objective(mask_ratio=0.1)
    with pytest.raises(ConfigError, match="masks 0 of"):
        objective.loss(_windows(2, n_times=200))  # L = 5 -> int(0.5) = 0 masked
    with pytest.raises(ConfigError, match="patch_size"):
        torch.manual_seed(0)
        MaskedEEGModelling(
            LaBraM(NAMES, 160.0, 320, 2, patch_size=160, **STUDENT),
            NeuralTokenizer(NAMES, **TOKENIZER),
        )
