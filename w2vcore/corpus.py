"""Encoded corpora, vocabularies and the token stream a training run consumes.

`encode_corpus` tokenizes a source once and caches it on disk as int32 ids sorted by
frequency (id 0 = most frequent word), so every `min_count` / `max_vocab_size` cut is
a prefix of ids and changing either never re-reads the text. `prepare` turns an
encoded corpus and a `CorpusConfig` into `TrainingData`: vocabulary, subsampling keep
probabilities, noise distribution, a train/validation split by document, and chunks
of whole sentences read slice by slice from the memory-mapped token file.

Cache layout, `cache_dir/corpus-<key[:16]>/`:
    tokens.int32     (n_tokens,) int32 ids, raw, memory-mapped
    sent_starts.npy  (n_sentences + 1,) int64 offsets into tokens
    doc_starts.npy   (n_docs + 1,) int64 offsets into sentences
    vocab.json       words in id order, counts, source label, stats
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .config import CorpusConfig, CorpusSource, TokenizerConfig
from .errors import W2VError
from .sources import iter_documents, source_fingerprint
from .tokenize import Tokenizer

FORMAT_VERSION = 1  # bump when the cache layout or the meaning of a source changes
MAX_SENTENCE_LEN = 10_000  # longer sentences are cut into pieces, as gensim's LineSentence does
BLOCK_TOKENS = 1 << 22  # tokens read from disk at a time by whole-corpus passes
BLOCK_SENTENCES = 1 << 20  # sentence offsets handled at a time by `TrainingData.chunks`

ProgressFn = Callable[[str, float], None]  # (stage, fraction 0..1)


@dataclasses.dataclass
class EncodedCorpus:
    """A tokenized corpus on disk; ids are sorted by count, descending."""

    words: list[str]  # (V_all,) id -> word
    counts: np.ndarray  # (V_all,) int64, non-increasing
    tokens: np.memmap  # (n_tokens,) int32, read-only
    sent_starts: np.ndarray  # (n_sentences + 1,) int64 offsets into tokens
    doc_starts: np.ndarray  # (n_docs + 1,) int64 offsets into sentences
    label: str  # the source's display name
    path: Path  # the cache folder
    stats: dict = dataclasses.field(default_factory=dict)  # seconds, warnings, tokenizer, ...

    @property
    def n_tokens(self) -> int:
        return int(self.sent_starts[-1])

    @property
    def n_sentences(self) -> int:
        return len(self.sent_starts) - 1

    @property
    def n_docs(self) -> int:
        return len(self.doc_starts) - 1

    def sentence(self, i: int) -> list[str]:
        """The words of sentence i (decoded from ids)."""
        return [self.words[t] for t in self.tokens[self.sent_starts[i]:self.sent_starts[i + 1]]]


def encode_corpus(source: CorpusSource, tokenizer: TokenizerConfig, cache_dir: Path,
                  progress: ProgressFn | None = None) -> EncodedCorpus:
    """Tokenize `source` once and cache the result; later calls with the same key just load it."""
    key = _cache_key(source, tokenizer)
    cache_dir = Path(cache_dir)
    final = cache_dir / f"corpus-{key[:16]}"
    if not (final / "vocab.json").is_file():
        tmp = _temp_folder(cache_dir)
        try:
            _encode_into(tmp, source, tokenizer, _throttled(progress))
            try:
                os.replace(tmp, final)
            except OSError:  # another process finished the same corpus first
                if not (final / "vocab.json").is_file():
                    raise
        except OSError as e:  # reading the source raises W2VError; this is the cache's own writing
            raise W2VError(f"could not write the corpus cache in {cache_dir}: {e.strerror or e}; "
                           "free some disk space or point W2V_CACHE_DIR (--cache-dir) elsewhere") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress("done", 1.0)
    return _load(final, source.label)


def _temp_folder(cache_dir: Path) -> Path:
    """A fresh folder inside `cache_dir` (created if needed), or W2VError saying why there cannot be one."""
    if cache_dir.exists() and not cache_dir.is_dir():
        raise W2VError(f"the corpus cache {cache_dir} is a file, not a folder; point W2V_CACHE_DIR "
                       "(--cache-dir) at a folder")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".tmp-corpus-", dir=cache_dir))
    except OSError as e:
        raise W2VError(f"cannot use {cache_dir} as the corpus cache: {e.strerror or e}; point W2V_CACHE_DIR "
                       "(--cache-dir) at a writable folder") from None


def _cache_key(source: CorpusSource, tokenizer: TokenizerConfig) -> str:
    settings = dataclasses.asdict(tokenizer)
    settings["phrases"] = sorted(set(settings["phrases"]))  # their order does not change the output
    if settings["letters"] == "ascii":  # the notebook's default: caches made before the option keep their key
        del settings["letters"]
    blob = json.dumps({"source": source_fingerprint(source), "tokenizer": settings, "format": FORMAT_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _encode_into(folder: Path, source: CorpusSource, cfg: TokenizerConfig, progress: ProgressFn) -> None:
    """Write a complete cache into `folder`: tokenize once, then renumber ids by count."""
    started = time.perf_counter()
    first_seen, sent_starts, doc_starts, notes = _tokenize_to_file(folder / "provisional.int32", source, cfg,
                                                                   progress)
    n_tokens = sent_starts[-1]
    if n_tokens == 0:
        raise W2VError(f"{source.label} has no tokens after tokenization (settings: {_describe(cfg)}); "
                       "the default tokenizer keeps only a-z, so non-English text yields nothing (letters='unicode' keeps "
                       "every script)")
    order, counts = _renumber_by_count(folder / "provisional.int32", folder / "tokens.int32",
                                       len(first_seen), progress)
    np.save(folder / "sent_starts.npy", np.frombuffer(sent_starts, dtype=np.int64))
    np.save(folder / "doc_starts.npy", np.frombuffer(doc_starts, dtype=np.int64))
    meta = {
        "format": FORMAT_VERSION,
        "label": source.label,
        "words": [first_seen[i] for i in order],
        "counts": counts.tolist(),
        "stats": {"n_tokens": n_tokens, "n_sentences": len(sent_starts) - 1, "n_docs": len(doc_starts) - 1,
                  "seconds": round(time.perf_counter() - started, 3), "warnings": notes,
                  "tokenizer": dataclasses.asdict(cfg), "source": dataclasses.asdict(source)},
    }
    (folder / "vocab.json").write_text(json.dumps(meta), encoding="utf-8")


def _tokenize_to_file(out_path: Path, source: CorpusSource, cfg: TokenizerConfig, progress: ProgressFn):
    """Stream int32 ids by first appearance to `out_path`.

    Returns (words by first appearance, sentence offsets, document offsets, warnings);
    documents without tokens are dropped.
    """
    tokenizer = Tokenizer(cfg)
    word_ids: defaultdict[str, int] = defaultdict()
    word_ids.default_factory = word_ids.__len__  # an unseen word gets the next id
    sent_starts, doc_starts = array("q", [0]), array("q", [0])
    notes: list[str] = []
    buf = array("i")
    with open(out_path, "wb") as out:
        for doc in iter_documents(source, notes, lambda f: progress("tokenizing", 0.9 * f)):
            for sentence in tokenizer.sentences("\n".join(doc)):
                buf.extend(map(word_ids.__getitem__, sentence))
                sent_starts.append(sent_starts[-1] + len(sentence))
            if len(sent_starts) - 1 > doc_starts[-1]:
                doc_starts.append(len(sent_starts) - 1)
            if len(buf) >= BLOCK_TOKENS:
                buf.tofile(out)
                buf = array("i")
        buf.tofile(out)
    return list(word_ids), sent_starts, doc_starts, notes


def _renumber_by_count(src: Path, dst: Path, n_words: int, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite ids so that id 0 is the most frequent word; ties keep first-appearance order.

    Returns (order, counts): order[new id] = old id, counts (n_words,) int64 by new id. Deletes `src`.
    """
    progress("sorting vocabulary", 0.9)
    provisional = np.memmap(src, dtype=np.int32, mode="r")
    n_tokens = len(provisional)
    counts = np.zeros(n_words, dtype=np.int64)
    for a in range(0, n_tokens, BLOCK_TOKENS):
        counts += np.bincount(provisional[a:a + BLOCK_TOKENS], minlength=n_words)
    order = np.argsort(-counts, kind="stable")
    new_id = np.empty(n_words, dtype=np.int32)
    new_id[order] = np.arange(n_words, dtype=np.int32)
    with open(dst, "wb") as out:
        for a in range(0, n_tokens, BLOCK_TOKENS):
            new_id[provisional[a:a + BLOCK_TOKENS]].tofile(out)
            progress("remapping ids", 0.9 + 0.1 * min(1.0, (a + BLOCK_TOKENS) / n_tokens))
    del provisional
    src.unlink()
    return order, counts[order]


def _load(folder: Path, label: str) -> EncodedCorpus:
    try:
        meta = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return EncodedCorpus(
            words=meta["words"],
            counts=np.asarray(meta["counts"], dtype=np.int64),
            tokens=np.memmap(folder / "tokens.int32", dtype=np.int32, mode="r"),
            sent_starts=np.load(folder / "sent_starts.npy", mmap_mode="r"),
            doc_starts=np.load(folder / "doc_starts.npy", mmap_mode="r"),
            label=label,
            path=folder,
            stats=meta["stats"],
        )
    except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged cache (a disk error, a hand edit)
        raise W2VError(f"the cached corpus {folder} is damaged ({type(e).__name__}); delete that folder and "
                       "it will be rebuilt") from None


def _describe(cfg: TokenizerConfig) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(cfg).items() if k != "phrases")


def _throttled(progress: ProgressFn | None, every_s: float = 0.2) -> ProgressFn:
    """Forward at most one call per `every_s` seconds, plus every change of stage."""
    if progress is None:
        return lambda stage, fraction: None
    last = {"t": 0.0, "stage": None}

    def report(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage != last["stage"] or now - last["t"] >= every_s:
            last.update(t=now, stage=stage)
            progress(stage, fraction)

    return report


class Vocab:
    """The kept words: a prefix of an encoded corpus's ids (index i here = corpus id i)."""

    def __init__(self, index_to_key: list[str], counts: np.ndarray):
        self.index_to_key = index_to_key
        self.key_to_index = {w: i for i, w in enumerate(index_to_key)}
        self.counts = counts  # (V,) int64

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words, {int(self.counts.sum())} tokens)"


def build_vocab(encoded: EncodedCorpus, min_count: int, max_vocab_size: int | None) -> Vocab:
    """Keep words seen at least `min_count` times, then at most `max_vocab_size` most frequent ones."""
    counts = encoded.counts
    n = int(np.searchsorted(-counts, -min_count, side="right"))  # counts are non-increasing
    if n == 0:
        raise W2VError(f"min_count={min_count} is above every word count (the most frequent word, "
                       f"'{encoded.words[0]}', appears {int(counts[0])} times); use a lower min_count")
    if max_vocab_size is not None:
        n = min(n, max_vocab_size)
    if n < 2:
        raise W2VError(f"too few distinct words: {n} kept with min_count={min_count}, "
                       f"max_vocab_size={max_vocab_size}; use a larger corpus or a lower min_count")
    return Vocab(encoded.words[:n], np.array(counts[:n], dtype=np.int64))


def keep_probs(vocab_counts: np.ndarray, sample: float) -> np.ndarray:
    """(V,) float32 probability of keeping each occurrence of a word, exactly as gensim computes it.

    threshold = sample * total count (sample >= 1 is gensim's absolute shorthand);
    p = (sqrt(c / threshold) + 1) * threshold / c, capped at 1.
    """
    counts = np.asarray(vocab_counts, dtype=np.float64)
    if not sample:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum() if sample < 1.0 else int(sample * (3 + np.sqrt(5)) / 2)
    p = (np.sqrt(counts / threshold) + 1) * (threshold / counts)
    return np.minimum(p, 1.0).astype(np.float32)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """(V,) float64 negative-sampling distribution, proportional to counts ** exponent."""
    p = np.asarray(counts, dtype=np.float64) ** exponent
    return p / p.sum()


class TrainingData:
    """What a training run consumes: vocabulary, sampling tables and the token stream by split."""

    def __init__(self, encoded: EncodedCorpus, cfg: CorpusConfig):
        self.encoded = encoded
        self.config = cfg
        self.vocab = build_vocab(encoded, cfg.min_count, cfg.max_vocab_size)
        self.keep_prob = keep_probs(self.vocab.counts, cfg.sample)  # (V,) float32
        self.noise = noise_distribution(self.vocab.counts, cfg.ns_exponent)  # (V,) float64
        self._splits = _split_documents(encoded.n_docs, cfg.val_fraction, cfg.split_seed)
        doc_tokens = np.asarray(encoded.sent_starts)[np.asarray(encoded.doc_starts)]
        in_vocab_per_doc = np.diff(_count_below(encoded.tokens, len(self.vocab), doc_tokens))
        self.doc_tokens = in_vocab_per_doc  # (n_docs,) in-vocabulary tokens per document
        self.n_train_tokens = int(in_vocab_per_doc[self._splits["train"]].sum())  # in-vocab tokens per epoch
        self.n_val_tokens = int(in_vocab_per_doc[self._splits["val"]].sum())

    def split_docs(self, split: str) -> np.ndarray:
        """(n,) int64 sorted document indices of "train" or "val"."""
        if split not in self._splits:
            raise W2VError(f"split must be 'train' or 'val', got {split!r}")
        return self._splits[split]

    def restricted(self, train_docs: np.ndarray) -> "TrainingData":
        """The same data training on `train_docs` only (a process's shard); vocabulary, tables, memory map shared."""
        out = copy.copy(self)
        out._splits = {**self._splits, "train": np.sort(np.asarray(train_docs, dtype=np.int64))}
        out.n_train_tokens = int(self.doc_tokens[out._splits["train"]].sum())
        return out

    def chunks(self, split: str = "train", max_tokens: int = 1 << 20) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (ids, sent_lens) over the split's whole sentences in corpus order.

        ids: (n,) int32 in-vocabulary ids (out-of-vocabulary tokens removed, as word2vec does);
        sent_lens: (s,) int32 lengths after removal, no zeros, summing to n. A chunk covers at
        most `max_tokens` raw tokens; sentences longer than min(max_tokens, 10,000) are cut.
        """
        if max_tokens < 1:
            raise W2VError(f"max_tokens must be at least 1, got {max_tokens}")
        cap = min(MAX_SENTENCE_LEN, max_tokens)
        tokens, sent_starts, doc_starts = self.encoded.tokens, self.encoded.sent_starts, self.encoded.doc_starts
        V = len(self.vocab)
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        pending_raw = 0
        for d0, d1 in _runs(self.split_docs(split)):
            s_end = int(doc_starts[d1])
            for s0 in range(int(doc_starts[d0]), s_end, BLOCK_SENTENCES):
                bounds = _piece_bounds(np.asarray(sent_starts[s0:min(s0 + BLOCK_SENTENCES, s_end) + 1]), cap)
                i = 0
                while i < len(bounds) - 1:
                    start = bounds[i]
                    j = int(np.searchsorted(bounds, start + max_tokens - pending_raw, side="right")) - 1
                    if j == i:  # the next piece does not fit: emit what is pending first
                        yield from _emit(pending)
                        pending, pending_raw = [], 0
                        continue
                    pending.append(_drop_oov(np.asarray(tokens[start:bounds[j]]), bounds[i:j + 1] - start, V))
                    pending_raw += int(bounds[j] - start)
                    i = j
        yield from _emit(pending)


def prepare(encoded: EncodedCorpus, corpus_cfg: CorpusConfig) -> TrainingData:
    """Vocabulary, sampling tables and train/validation split for one run."""
    return TrainingData(encoded, corpus_cfg)


def _split_documents(n_docs: int, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Sorted document indices per split; a seeded random `val_fraction` of documents is held out."""
    if val_fraction <= 0:
        splits = {"train": np.arange(n_docs, dtype=np.int64), "val": np.zeros(0, dtype=np.int64)}
    elif n_docs < 2:
        raise W2VError(f"need at least 2 documents for a validation split (the corpus has {n_docs}); "
                       "set val_fraction to 0 or separate documents with blank lines")
    else:
        n_val = min(max(1, round(n_docs * val_fraction)), n_docs - 1)
        order = np.random.default_rng(seed).permutation(n_docs)
        splits = {"train": np.sort(order[n_val:]), "val": np.sort(order[:n_val])}
    for docs in splits.values():
        docs.flags.writeable = False
    return splits


def _runs(docs: np.ndarray) -> Iterator[tuple[int, int]]:
    """Maximal ranges [d0, d1) of consecutive document indices."""
    if len(docs) == 0:
        return
    breaks = np.flatnonzero(np.diff(docs) != 1) + 1
    for part in np.split(docs, breaks):
        yield int(part[0]), int(part[-1]) + 1


def _piece_bounds(starts: np.ndarray, cap: int) -> np.ndarray:
    """Sentence offsets (k + 1,) -> offsets with every sentence cut into pieces of at most `cap` tokens."""
    lens = np.diff(starts)
    n_pieces = -(-lens // cap)
    if (n_pieces <= 1).all():
        return starts
    first = np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    piece = np.arange(int(n_pieces.sum())) - first
    return np.append(np.repeat(starts[:-1], n_pieces) + piece * cap, starts[-1])


def _drop_oov(raw: np.ndarray, offsets: np.ndarray, V: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens (n,) with sentences at `offsets` (s + 1,) -> (in-vocab ids, non-zero sentence lengths)."""
    keep = raw < V
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    lens = np.diff(kept_before[offsets])
    return raw[keep], lens[lens > 0].astype(np.int32)


def _emit(pending: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if pending:
        ids = np.concatenate([p[0] for p in pending]).astype(np.int32, copy=False)
        if ids.size:
            yield ids, np.concatenate([p[1] for p in pending])


def _count_below(tokens: np.ndarray, limit: int, positions: np.ndarray) -> np.ndarray:
    """(len(positions),) int64: how many of tokens[:p] are < limit, for sorted positions p."""
    out = np.zeros(len(positions), dtype=np.int64)
    carry, k = 0, 0
    for a in range(0, len(tokens), BLOCK_TOKENS):
        block = np.cumsum(tokens[a:a + BLOCK_TOKENS] < limit, dtype=np.int64)
        hi = int(np.searchsorted(positions, a + len(block), side="right"))
        inside = positions[k:hi] - a  # 0 < inside <= len(block) except at position a itself
        out[k:hi] = carry + np.where(inside > 0, block[np.maximum(inside - 1, 0)], 0)
        carry += int(block[-1])
        k = hi
    out[k:] = carry
    return out
