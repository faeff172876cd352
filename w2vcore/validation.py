"""The validation loss: SGNS's loss on held-out pairs, drawn once per run.

The pairs and their negatives come from the validation documents with their own generator
(seed + 2), so every evaluation scores the same pairs and training's random streams are untouched.
"""
from __future__ import annotations

from typing import Any

import torch

from .config import TrainConfig
from .engines.sgns_torch import NoiseSampler, make_pairs, sgns_loss_sum, sgns_scores
from .preflight import VAL_BATCH, VAL_MAX_PAIRS

Pairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # centres (P,), contexts (P,), negatives (P, K)


def validation_pairs(cfg: TrainConfig, data: Any, device: torch.device) -> Pairs | None:
    """Up to VAL_MAX_PAIRS pairs from the validation split, or None without one."""
    if data.n_val_tokens == 0:
        return None
    gen = torch.Generator(device).manual_seed(cfg.seed + 2)
    keep_prob = torch.as_tensor(data.keep_prob, dtype=torch.float32, device=device)
    centres, contexts, n = [], [], 0
    for ids, lens in data.chunks("val", cfg.chunk_tokens):
        c, x = make_pairs(torch.as_tensor(ids, device=device), torch.as_tensor(lens, device=device),
                          keep_prob, cfg.window, gen)
        centres.append(c)
        contexts.append(x)
        n += c.shape[0]
        if n >= VAL_MAX_PAIRS:
            break
    if n == 0:
        return None
    c, x = torch.cat(centres)[:VAL_MAX_PAIRS], torch.cat(contexts)[:VAL_MAX_PAIRS]
    return c, x, NoiseSampler(data.noise, device).sample((c.shape[0], cfg.negative), gen)


@torch.no_grad()
def validation_loss(w_in: torch.Tensor, w_out: torch.Tensor, pairs: Pairs) -> float:
    """Mean SGNS loss per pair (float64 sum on the device, one host sync)."""
    c, x, neg = pairs
    total = torch.zeros((), dtype=torch.float64, device=w_in.device)
    w_in, w_out = w_in.detach(), w_out.detach()
    for i in range(0, c.shape[0], VAL_BATCH):
        s = slice(i, i + VAL_BATCH)
        scores, _ = sgns_scores(w_in, w_out, c[s], x[s], neg[s])
        total += sgns_loss_sum(scores).double()
    return total.item() / c.shape[0]
