"""Skip-gram with negative sampling in PyTorch: pair generation, negatives and the table updates.

Everything here stays on the device (sampling included) and never syncs with the
host, so the same code feeds a GPU at full speed. The torch batches driver trains with
it; every driver keeps its tables in an `Update` (`TorchSGD` or `TorchAdam`), through
which extra losses read and step the word vectors.

Shapes: V words, d dims, B positive pairs per step, K negatives per pair.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F


MAX_SENTENCE = 10_000  # word2vec's cap on sentence length; contexts never cross sentences


def make_pairs(ids: torch.Tensor, sent_lens: torch.Tensor, keep_prob: torch.Tensor, window: int,
               gen: torch.Generator, shuffle: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(centre, context) pairs from one chunk of sentences, word2vec style.

    Frequent words are dropped with probability 1 - keep_prob[w] before windowing;
    each centre draws its reduced window b ~ U{1..window} and pairs with every
    word at distance <= b in the same sentence.  ids: (n,) int, sent_lens: (S,) int.
    Returns two (P,) int64 tensors, shuffled unless `shuffle` is False.
    """
    dev = ids.device
    sent = torch.repeat_interleave(torch.arange(len(sent_lens), device=dev), sent_lens.long())
    keep = torch.rand(ids.shape[0], generator=gen, device=dev) < keep_prob[ids]
    ids, sent = ids[keep].long(), sent[keep]
    n = ids.shape[0]
    reach = torch.randint(1, window + 1, (n,), generator=gen, device=dev)
    centres, contexts = [], []
    for off in range(1, min(window, n - 1) + 1):
        same = sent[:-off] == sent[off:]  # position i and i + off share a sentence
        fwd = same & (reach[:-off] >= off)  # centre i sees i + off
        bwd = same & (reach[off:] >= off)  # centre i + off sees i
        centres += [ids[:-off][fwd], ids[off:][bwd]]
        contexts += [ids[off:][fwd], ids[:-off][bwd]]
    if not centres:
        empty = torch.empty(0, dtype=torch.long, device=dev)
        return empty, empty
    centre, context = torch.cat(centres), torch.cat(contexts)
    if shuffle:
        perm = torch.randperm(centre.shape[0], generator=gen, device=dev)
        centre, context = centre[perm], context[perm]
    return centre, context


class NoiseSampler:
    """Draws negatives from the noise distribution (unigram ** 0.75) with Walker's alias method.

    Exact for any distribution and O(1) per draw on any device: pick a bucket
    uniformly, keep it with probability `accept[bucket]`, else take its alias.
    """

    def __init__(self, noise: np.ndarray, device: torch.device):
        accept, alias = alias_table(np.asarray(noise, dtype=np.float64))
        self.accept = torch.as_tensor(accept, dtype=torch.float32, device=device)
        self.alias = torch.as_tensor(alias, dtype=torch.long, device=device)

    def sample(self, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
        dev = self.accept.device
        bucket = torch.randint(0, self.accept.shape[0], shape, generator=gen, device=dev)
        u = torch.rand(shape, generator=gen, device=dev)
        return torch.where(u < self.accept[bucket], bucket, self.alias[bucket])


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for the distribution p (normalised here)."""
    n = len(p)
    scaled = p / p.sum() * n
    accept = np.ones(n)
    alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, big = small.pop(), large[-1]
        accept[s], alias[s] = scaled[s], big
        scaled[big] -= 1.0 - scaled[s]
        if scaled[big] < 1.0:
            small.append(large.pop())
    return accept, alias


def init_tables(vocab_size: int, dim: int, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """word2vec's initialisation: word vectors U(-0.5/d, 0.5/d), context vectors zero."""
    gen = torch.Generator().manual_seed(seed)  # on the CPU, so every device starts identically
    w_in = (torch.rand(vocab_size, dim, generator=gen) - 0.5) / dim
    return w_in.to(device), torch.zeros(vocab_size, dim, device=device)


class Update(Protocol):
    """The tables and their SGNS update. `step` returns the summed loss of the batch as a device scalar.

    Extra losses reach the word vectors through `gather` + `apply_extra` (autograd), or through
    `apply_extra_steps` (a loss's compiled SGD path; None when there is none).
    """

    w_in: torch.Tensor  # (V, d) word vectors, the ones users query
    w_out: torch.Tensor  # (V, d) context vectors

    def step(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor,
             lr: float, scale: float) -> torch.Tensor: ...

    def gather(self, ids: torch.Tensor) -> torch.Tensor: ...

    def apply_extra(self, loss: torch.Tensor, lr: float) -> None: ...

    def apply_extra_steps(self, loss, weight: float, times: int, lr: float, generator: torch.Generator,
                          progress: float = 0.0) -> tuple[torch.Tensor, dict] | None: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def sgns_scores(w_in, w_out, centre, context, negatives) -> torch.Tensor:
    """(B, 1 + K) logits: column 0 is the true context, the rest are negatives."""
    targets = torch.cat([context.unsqueeze(1), negatives], dim=1)  # (B, 1 + K)
    return torch.bmm(w_out[targets], w_in[centre].unsqueeze(2)).squeeze(2), targets


def sgns_loss_sum(scores: torch.Tensor) -> torch.Tensor:
    """-log s(pos) - sum log s(-neg), summed over the batch (float32 scalar)."""
    return -(F.logsigmoid(scores[:, 0]).sum() + F.logsigmoid(-scores[:, 1:]).sum())


class TorchSGD:
    """word2vec's plain SGD with hand-written gradients and `index_add_` scatter.

    Like word2vec, each pair takes a step of size lr on its own loss; for a batch this
    is a step of lr * B on the batch-mean loss, and extra losses are stepped on that
    same scale so the weight a keeps its meaning.
    """

    def __init__(self, w_in: torch.Tensor, w_out: torch.Tensor):
        self.w_in, self.w_out = w_in, w_out
        self._rows: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.batch_size = 1

    @torch.no_grad()
    def step(self, centre, context, negatives, lr, scale):
        self.batch_size = centre.shape[0]
        d = self.w_in.shape[1]
        targets = torch.cat([context.unsqueeze(1), negatives], dim=1)  # (B, 1 + K)
        w_c = self.w_in.index_select(0, centre)  # (B, d)
        w_o = self.w_out.index_select(0, targets.reshape(-1)).view(*targets.shape, d)  # (B, 1 + K, d)
        scores = (w_o * w_c.unsqueeze(1)).sum(2)  # (B, 1 + K); faster than bmm for tiny matrices
        loss = sgns_loss_sum(scores)
        g = torch.sigmoid(scores).neg_()
        g[:, 0] += 1.0  # label - sigmoid: 1 for the true context, 0 for negatives
        g *= lr * scale  # (B, 1 + K) ascent step per logit
        grad_c = torch.bmm(g.unsqueeze(1), w_o).squeeze(1)  # (B, d)
        grad_o = g.unsqueeze(2) * w_c.unsqueeze(1)  # (B, 1 + K, d)
        self.w_out.index_add_(0, targets.reshape(-1), grad_o.reshape(-1, d))
        self.w_in.index_add_(0, centre, grad_c)
        return loss

    def gather(self, ids):
        rows = self.w_in[ids].detach().requires_grad_(True)
        self._rows.append((ids, rows))
        return rows

    def apply_extra(self, loss, lr):
        loss.backward()
        with torch.no_grad():
            for ids, rows in self._rows:
                if rows.grad is not None:
                    self.w_in.index_add_(0, ids, rows.grad, alpha=-lr * self.batch_size)
        self._rows.clear()

    def apply_extra_steps(self, loss, weight, times, lr, generator, progress=0.0):
        """`times` applications of `loss` by its compiled in-place SGD path (`sgd_steps`), if it has one.

        The step is `apply_extra`'s: lr * batch_size on the loss at `weight`; `progress` (0..1 of the
        run) is for losses whose own state follows the run (RSR's map step size). Returns the loss's
        (summed value, summed metrics), or None: then use `loss.loss` + `apply_extra`.
        """
        return loss.sgd_steps(self.w_in, weight * lr * self.batch_size, times, generator, progress)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class TorchAdam:
    """Autograd + SparseAdam on the batch-mean loss, as in the course notebooks."""

    def __init__(self, w_in: torch.Tensor, w_out: torch.Tensor, lr: float):
        self.w_in = torch.nn.Parameter(w_in)
        self.w_out = torch.nn.Parameter(w_out)
        self.opt = torch.optim.SparseAdam([self.w_in, self.w_out], lr=lr)
        self._extra: torch.Tensor | None = None

    def step(self, centre, context, negatives, lr, scale):
        for group in self.opt.param_groups:
            group["lr"] = lr
        targets = torch.cat([context.unsqueeze(1), negatives], dim=1)
        c = F.embedding(centre, self.w_in, sparse=True)
        o = F.embedding(targets, self.w_out, sparse=True)
        scores = torch.bmm(o, c.unsqueeze(2)).squeeze(2)
        loss = sgns_loss_sum(scores)
        total = loss * (scale / centre.shape[0])
        if self._extra is not None:
            total = total + self._extra
            self._extra = None
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        return loss.detach()

    def gather(self, ids):
        return F.embedding(ids, self.w_in, sparse=True)

    def apply_extra(self, loss, lr):
        # folded into the next SGNS step so Adam sees one combined gradient
        self._extra = loss if self._extra is None else self._extra + loss

    def apply_extra_steps(self, loss, weight, times, lr, generator, progress=0.0):
        """None: Adam steps extra losses only through autograd, folded into its next SGNS step."""
        return None

    def state_dict(self):
        return {"adam": self.opt.state_dict()}

    def load_state_dict(self, state):
        if "adam" in state:
            self.opt.load_state_dict(state["adam"])


def make_update(optimizer: str, w_in: torch.Tensor, w_out: torch.Tensor, lr: float) -> Update:
    return TorchAdam(w_in, w_out, lr) if optimizer == "adam" else TorchSGD(w_in, w_out)
