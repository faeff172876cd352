"""Sources, encoded corpora, vocabularies and training chunks on tiny corpora (plus Brown)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import w2vcore.corpus as corpus_module
from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig
from w2vcore.corpus import build_vocab, encode_corpus, keep_probs, noise_distribution, prepare
from w2vcore.errors import W2VError
from w2vcore.sources import brown_categories, iter_documents, save_upload, source_fingerprint
from w2vcore.tokenize import Tokenizer

PARAGRAPHS = [
    "The cat sat on the mat.\nThe dog sat on the log.",
    "A cat and a dog met.\nThe cat ran.",
    "Dogs and cats are pets.",
    "The mat is red.\nThe log is brown.\nA bird sang.",
    "Zebra!",
]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def text_source(path: Path) -> CorpusSource:
    return CorpusSource(kind="text", path=str(path))


@pytest.fixture
def small(tmp_path):
    """An encoded five-paragraph corpus and its cache folder."""
    src = text_source(write(tmp_path / "small.txt", "\n\n".join(PARAGRAPHS) + "\n"))
    return encode_corpus(src, TokenizerConfig(), tmp_path / "cache")


@pytest.fixture(scope="module")
def brown(shared_data, tmp_path_factory):
    src = CorpusSource(kind="brown", path=str(shared_data / "corpora" / "brown"))
    return src, encode_corpus(src, TokenizerConfig(), tmp_path_factory.mktemp("brown-cache"))


def expected_chunk_sentences(data, split: str) -> list[list[int]]:
    """In-vocabulary ids per sentence of the split's documents, empty sentences dropped."""
    enc, V = data.encoded, len(data.vocab)
    out = []
    for d in data.split_docs(split):
        for s in range(enc.doc_starts[d], enc.doc_starts[d + 1]):
            ids = [int(t) for t in enc.tokens[enc.sent_starts[s]:enc.sent_starts[s + 1]] if t < V]
            if ids:
                out.append(ids)
    return out


def chunk_sentences(data, split: str, max_tokens: int) -> list[list[int]]:
    out = []
    for ids, lens in data.chunks(split, max_tokens=max_tokens):
        assert ids.dtype == np.int32 and lens.dtype == np.int32
        assert ids.size == lens.sum() and (lens > 0).all() and ids.size <= max_tokens
        out.extend(part.tolist() for part in np.split(ids, np.cumsum(lens)[:-1]))
    return out


# --- sources -------------------------------------------------------------------------------------


def test_text_file_documents_are_paragraphs_of_lines(tmp_path):
    path = write(tmp_path / "a.txt", "\n\nline one\n  line two  \n\n\n\nline three\n   \nline four")
    assert list(iter_documents(text_source(path))) == [["line one", "line two"], ["line three"], ["line four"]]


def test_text_file_without_blank_separators_gives_one_document_per_line(tmp_path):
    path = write(tmp_path / "a.txt", "\n first\nsecond\r\nthird\n\n\n")
    assert list(iter_documents(text_source(path))) == [["first"], ["second"], ["third"]]


def test_folder_reads_every_txt_file_sorted_and_recursively(tmp_path):
    write(tmp_path / "b.txt", "bee one\n\nbee two")
    write(tmp_path / "a" / "z.txt", "zed")
    write(tmp_path / "a" / "notes.md", "ignored")
    write(tmp_path / "c.TXT", "sea")
    notes = []
    write(tmp_path / "empty.txt", b"")
    docs = list(iter_documents(text_source(tmp_path), notes))
    assert docs == [["zed"], ["bee one"], ["bee two"], ["sea"]]
    assert any("empty.txt is empty" in n for n in notes)


def test_folder_without_txt_files_is_an_error(tmp_path):
    write(tmp_path / "x.md", "text")
    with pytest.raises(W2VError, match="no .txt files"):
        list(iter_documents(text_source(tmp_path)))


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"PNG\x00\x01\x02 header" * 10, "does not look like text"),
    (bytes(range(128, 256)) * 20, "does not look like text"),
], ids=["empty", "nul-bytes", "not-utf8"])
def test_bad_files_raise_with_the_file_name(tmp_path, data, message):
    path = write(tmp_path / "bad.txt", data)
    with pytest.raises(W2VError, match=message) as err:
        list(iter_documents(text_source(path)))
    assert "bad.txt" in str(err.value)
    with pytest.raises(W2VError, match=message):
        save_upload(data, "bad.txt", tmp_path / "uploads")


def test_latin1_bytes_are_replaced_and_reported(tmp_path):
    path = write(tmp_path / "latin.txt", "Un caf\xe9 cr\xe8me, s'il vous pla\xeet.\nVoil\xe0 tout.\n".encode("latin-1"))
    notes = []
    docs = list(iter_documents(text_source(path), notes))
    assert docs == [["Un caf\ufffd cr\ufffdme, s'il vous pla\ufffdt."], ["Voil\ufffd tout."]]
    assert notes and "4 undecodable bytes replaced" in notes[0]


def test_a_latin1_upload_is_flagged_at_once_and_reported_by_its_own_name(tmp_path):
    data = "Un caf\xe9 cr\xe8me.\n".encode("latin-1") * 3
    upload_notes, read_notes = [], []
    source = save_upload(data, "menu.txt", tmp_path / "up", upload_notes)
    assert len(upload_notes) == 1 and "menu.txt is not valid UTF-8" in upload_notes[0] and "offset 6" in upload_notes[0]
    assert "pick its encoding" in upload_notes[0] and "save it as utf-8" not in upload_notes[0].lower()
    list(iter_documents(source, read_notes))
    assert len(read_notes) == 1 and read_notes[0].startswith("menu.txt: 6 undecodable bytes replaced (the file "
                                                             "is not valid UTF-8); pick its encoding")
    clean = []
    save_upload("Un caf\xe9.\n".encode(), "ok.txt", tmp_path / "up", clean)
    assert clean == []


def test_missing_path_raises(tmp_path):
    for kind in ("text", "brown"):
        with pytest.raises(W2VError, match="not found"):
            list(iter_documents(CorpusSource(kind=kind, path=str(tmp_path / "nope"))))
    with pytest.raises(W2VError, match="not found"):
        encode_corpus(text_source(tmp_path / "nope.txt"), TokenizerConfig(), tmp_path / "cache")


def test_save_upload_is_idempotent(tmp_path):
    data = "Hello upload.\n\nSecond paragraph.".encode()
    first = save_upload(data, "my notes.txt", tmp_path / "up")
    stamp = os.stat(first.path).st_mtime_ns
    second = save_upload(data, "my notes.txt", tmp_path / "up")
    assert first == second and first.kind == "text" and first.name == "my notes.txt"
    assert Path(first.path).read_bytes() == data and os.stat(first.path).st_mtime_ns == stamp
    assert len(list((tmp_path / "up").iterdir())) == 1
    assert list(iter_documents(first)) == [["Hello upload."], ["Second paragraph."]]


def test_fingerprint_changes_with_the_file(tmp_path):
    path = write(tmp_path / "a.txt", "one")
    before = source_fingerprint(text_source(path))
    assert source_fingerprint(text_source(path)) == before
    write(path, "one two")
    assert source_fingerprint(text_source(path)) != before


def test_brown_layout_without_cats_uses_file_names(tmp_path):
    write(tmp_path / "ca01", "\n\n\tThe/at cat/nn ./.\n\n\tRatio/nn 1/2/cd\n")
    write(tmp_path / "cb02", "\tA/at dog/nn\n")
    write(tmp_path / "README", "not a corpus file")
    write(tmp_path / "categories.pickle", b"\x80\x04\x00")
    docs = list(iter_documents(CorpusSource(kind="brown", path=str(tmp_path))))
    assert docs == [["The cat .", "Ratio 1/2"], ["A dog"]]
    assert brown_categories(tmp_path) == {}


def test_brown_corpus(brown):
    src, enc = brown
    first = next(iter(iter_documents(src)))
    assert Tokenizer(TokenizerConfig()).sentences(first[0])[0][:5] == ["the", "fulton", "county", "grand", "jury"]
    assert enc.sentence(0)[:5] == ["the", "fulton", "county", "grand", "jury"]
    assert enc.n_docs == 500
    assert 1_000_000 <= enc.n_tokens <= 1_200_000
    cats = brown_categories(src.path)
    assert len(cats) == 500 and cats["ca01"] == "news" and len(set(cats.values())) == 15


def test_brown_validation_split_covers_every_token(brown):
    _, enc = brown
    data = prepare(enc, CorpusConfig(min_count=5, val_fraction=0.1, split_seed=3))
    assert len(data.split_docs("val")) == 50
    total = int(np.isin(enc.tokens, np.arange(len(data.vocab))).sum())
    assert data.n_train_tokens + data.n_val_tokens == total
    seen = sum(ids.size for ids, _ in data.chunks("train", max_tokens=100_000))
    assert seen == data.n_train_tokens


def test_default_corpus_starts_with_a_wiki_article():
    docs = iter_documents(CorpusSource())
    first = next(docs)
    words = Tokenizer(TokenizerConfig()).sentences(first[0])[0]
    assert words[:5] == ["anarchism", "is", "a", "political", "philosophy"]
    assert len(first) > 20  # one segment per line of the article


# --- encoding ------------------------------------------------------------------------------------


def test_ids_are_sorted_by_count_with_ties_in_first_appearance_order(small):
    assert (np.diff(small.counts) <= 0).all()
    assert small.words[0] == "the"
    sat, on = small.words.index("sat"), small.words.index("on")
    assert small.counts[sat] == small.counts[on] and sat < on  # both twice; "sat" appears first
    assert small.counts.sum() == small.n_tokens == len(small.tokens)
    assert small.tokens.dtype == np.int32 and not small.tokens.flags.writeable


def test_encoding_round_trips_to_the_tokenizer_output(small):
    tok = Tokenizer(TokenizerConfig())
    expected = [tok.sentences(p) for p in PARAGRAPHS]
    assert small.n_docs == len(PARAGRAPHS)
    assert small.n_sentences == sum(len(d) for d in expected)
    decoded = [[small.sentence(s) for s in range(small.doc_starts[d], small.doc_starts[d + 1])]
               for d in range(small.n_docs)]
    assert decoded == expected


def test_cache_layout(small):
    names = sorted(p.name for p in small.path.iterdir())
    assert names == ["doc_starts.npy", "sent_starts.npy", "tokens.int32", "vocab.json"]
    assert small.path.name.startswith("corpus-") and len(small.path.name) == len("corpus-") + 16
    assert [p.name for p in small.path.parent.iterdir()] == [small.path.name]  # no temp folder left


def test_second_encode_loads_the_cache_without_tokenizing(small, tmp_path, monkeypatch):
    class Exploding:
        def __init__(self, cfg):
            raise AssertionError("tokenized again")

    monkeypatch.setattr(corpus_module, "Tokenizer", Exploding)
    again = encode_corpus(text_source(tmp_path / "small.txt"), TokenizerConfig(), tmp_path / "cache")
    assert again.path == small.path and again.words == small.words
    assert np.array_equal(again.tokens, small.tokens)
    with pytest.raises(AssertionError, match="tokenized again"):  # another key does tokenize
        encode_corpus(text_source(tmp_path / "small.txt"), TokenizerConfig(keep_digits=True), tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 1  # the failed attempt left nothing behind


def test_tokenizer_settings_change_the_cache_key(small, tmp_path):
    phrased = encode_corpus(text_source(tmp_path / "small.txt"), TokenizerConfig(phrases=("the cat",)),
                            tmp_path / "cache")
    assert phrased.path != small.path and "the_cat" in phrased.words


def test_progress_reaches_done(tmp_path):
    calls = []
    src = text_source(write(tmp_path / "p.txt", "a b c\n\nd e"))
    encode_corpus(src, TokenizerConfig(), tmp_path / "cache", progress=lambda s, f: calls.append((s, f)))
    assert calls[-1] == ("done", 1.0) and all(0.0 <= f <= 1.0 for _, f in calls)


def test_text_without_tokens_is_an_error(tmp_path):
    src = text_source(write(tmp_path / "ru.txt", "Привет, мир!\n\nЭто тест."))
    with pytest.raises(W2VError, match="no tokens after tokenization") as err:
        encode_corpus(src, TokenizerConfig(), tmp_path / "cache")
    assert "a-z" in str(err.value)
    assert not any((tmp_path / "cache").iterdir())


# --- vocabulary ----------------------------------------------------------------------------------


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_min_count_keeps_a_prefix_of_ids(small, min_count):
    vocab = build_vocab(small, min_count, None)
    assert vocab.index_to_key == small.words[:len(vocab)]
    assert (vocab.counts >= min_count).all()
    assert (small.counts[len(vocab):] < min_count).all()
    assert all(vocab.key_to_index[w] == i for i, w in enumerate(vocab.index_to_key))
    assert "the" in vocab and "nonexistent" not in vocab


def test_max_vocab_size_keeps_the_most_frequent(small):
    vocab = build_vocab(small, 1, 3)
    assert vocab.index_to_key == small.words[:3] and len(vocab) == 3


def test_vocab_errors_say_what_to_change(small):
    top = int(small.counts[0])
    with pytest.raises(W2VError, match=f"appears {top} times.*lower min_count"):
        build_vocab(small, top + 1, None)
    with pytest.raises(W2VError, match="too few distinct words"):
        build_vocab(small, top, None)  # only "the" reaches its own count


def test_keep_probs_follow_the_formula():
    counts = np.array([1000, 100, 10, 1], dtype=np.int64)
    t = 1e-3 * counts.sum()
    expected = np.minimum((np.sqrt(counts / t) + 1) * (t / counts), 1.0)
    np.testing.assert_allclose(keep_probs(counts, 1e-3), expected, rtol=1e-6)
    assert keep_probs(counts, 1e-3).dtype == np.float32
    assert (keep_probs(counts, 0.0) == 1.0).all()


def test_keep_probs_match_gensim(tmp_path):
    from gensim.models import Word2Vec

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    zipf = 1.0 / np.arange(1, 61)
    texts = [" ".join(rng.choice(words, size=12, p=zipf / zipf.sum())) for _ in range(150)]
    src = text_source(write(tmp_path / "zipf.txt", "\n".join(texts)))
    enc = encode_corpus(src, TokenizerConfig(keep_digits=True), tmp_path / "cache")
    vocab = build_vocab(enc, 1, None)
    probs = keep_probs(vocab.counts, 1e-3)
    assert (probs < 1).sum() > 10  # the comparison covers downsampled words
    model = Word2Vec(vector_size=4, min_count=1, sample=1e-3, workers=1)
    model.build_vocab([t.split() for t in texts])
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") / 2**32 for w in vocab.index_to_key])
    np.testing.assert_allclose(probs, theirs, rtol=1e-6)


def test_noise_distribution():
    counts = np.array([16, 1, 0, 81])
    p = noise_distribution(counts)
    assert p.dtype == np.float64 and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, np.array([8, 1, 0, 27]) / 36)
    np.testing.assert_allclose(noise_distribution(counts[:2], exponent=0.0), [0.5, 0.5])


# --- training data -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [1, 4, 7, 1 << 20])
def test_chunks_hold_whole_sentences_and_cover_each_in_vocab_token_once(small, max_tokens):
    data = prepare(small, CorpusConfig(min_count=2))
    V = len(data.vocab)
    assert V < len(small.words)  # some tokens are out of vocabulary
    got = chunk_sentences(data, "train", max_tokens)
    if max_tokens >= 7:  # every sentence fits: sentences come out whole
        assert got == expected_chunk_sentences(data, "train")
    flat = [t for s in got for t in s]
    assert flat == [t for s in expected_chunk_sentences(data, "train") for t in s]
    assert len(flat) == data.n_train_tokens == int((np.asarray(small.tokens) < V).sum())


def test_tiny_io_blocks_give_the_same_corpus_and_chunks(small, tmp_path, monkeypatch):
    """Block boundaries of the streaming passes fall mid-sentence and mid-document here."""
    monkeypatch.setattr(corpus_module, "BLOCK_TOKENS", 3)
    monkeypatch.setattr(corpus_module, "BLOCK_SENTENCES", 2)
    blocky = encode_corpus(text_source(tmp_path / "small.txt"), TokenizerConfig(), tmp_path / "cache-blocky")
    assert blocky.words == small.words and np.array_equal(blocky.tokens, small.tokens)
    cfg = CorpusConfig(min_count=2, val_fraction=0.4, split_seed=1)
    data, reference = prepare(blocky, cfg), prepare(small, cfg)
    assert (data.n_train_tokens, data.n_val_tokens) == (reference.n_train_tokens, reference.n_val_tokens)
    for split in ("train", "val"):
        assert chunk_sentences(data, split, 100) == expected_chunk_sentences(reference, split)


def test_long_sentences_are_cut(tmp_path):
    words = " ".join(["alpha", "beta"] * 12_500)  # one 25,000-token sentence
    src = text_source(write(tmp_path / "long.txt", f"{words}\nshort line\n"))
    data = prepare(encode_corpus(src, TokenizerConfig(), tmp_path / "cache"), CorpusConfig(min_count=1))
    lens = np.concatenate([lens for _, lens in data.chunks()])
    assert lens.tolist() == [10_000, 10_000, 5_000, 2]
    small_lens = [lens.tolist() for _, lens in data.chunks(max_tokens=9_000)]
    assert small_lens == [[9_000], [9_000], [7_000, 2]]


def test_validation_split_is_disjoint_by_document_and_deterministic(small):
    cfg = CorpusConfig(min_count=1, val_fraction=0.4, split_seed=7)
    data = prepare(small, cfg)
    train, val = data.split_docs("train"), data.split_docs("val")
    assert len(val) == 2 and len(train) == 3
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(small.n_docs))
    assert np.array_equal(prepare(small, cfg).split_docs("val"), val)
    assert chunk_sentences(data, "val", 100) == expected_chunk_sentences(data, "val")
    assert data.n_train_tokens + data.n_val_tokens == small.n_tokens
    seeds = {tuple(prepare(small, CorpusConfig(min_count=1, val_fraction=0.4, split_seed=s)).split_docs("val"))
             for s in range(10)}
    assert len(seeds) > 1


def test_no_validation_split_by_default(small):
    data = prepare(small, CorpusConfig(min_count=1))
    assert len(data.split_docs("val")) == 0 and data.n_val_tokens == 0
    assert list(data.chunks("val")) == []
    with pytest.raises(W2VError, match="'train' or 'val'"):
        data.split_docs("test")


def test_prepare_tables(small):
    data = prepare(small, CorpusConfig(min_count=2, sample=1e-2, ns_exponent=0.5))
    np.testing.assert_allclose(data.keep_prob, keep_probs(data.vocab.counts, 1e-2))
    np.testing.assert_allclose(data.noise, noise_distribution(data.vocab.counts, 0.5))
    assert data.keep_prob.dtype == np.float32 and data.noise.dtype == np.float64
    assert len(data.keep_prob) == len(data.noise) == len(data.vocab)


def test_validation_split_needs_two_documents(tmp_path):
    src = text_source(write(tmp_path / "one.txt", "just one line of text\n"))
    enc = encode_corpus(src, TokenizerConfig(), tmp_path / "cache")
    with pytest.raises(W2VError, match="need at least 2 documents for a validation split"):
        prepare(enc, CorpusConfig(min_count=1, val_fraction=0.5))


TEXT = "Un café crème, s'il vous plaît. Ελληνικά und Straße.\n\nSecond paragraph: naïve.\n"


@pytest.mark.parametrize("encoding, codec", [
    ("utf-8", "utf-8"), ("utf-16", "utf-16"), ("utf-16", "utf-16-be"), ("latin-1", "latin-1"),
    ("cp1252", "cp1252"), ("auto", "utf-8"), ("auto", "utf-8-sig"), ("auto", "utf-16"), ("auto", "utf-16-le"),
    ("auto", "utf-16-be"), ("auto", "cp1252"),
], ids=lambda x: x)
def test_each_encoding_decodes_a_file_written_in_it(tmp_path, encoding, codec):
    text = TEXT if codec not in ("latin-1", "cp1252") else TEXT.replace("Ελληνικά", "Grec")
    if codec == "cp1252":
        text = text.replace("crème", "crème – €5")  # cp1252's own characters, absent from Latin-1
    path = write(tmp_path / "t.txt", text.encode(codec))
    notes = []
    docs = list(iter_documents(CorpusSource(kind="text", path=str(path), encoding=encoding), notes))
    assert docs == [[line for line in para.splitlines()] for para in text.strip().split("\n\n")]
    assert all("undecodable" not in n for n in notes)
    if encoding == "auto" and codec == "cp1252":
        assert notes == ["t.txt: not UTF-8; read as Windows-1252 (cp1252). If accented letters look wrong, pick its "
                         "encoding (the Data page's Encoding choice, or --encoding; 'auto' detects UTF-16 and "
                         "Windows-1252)"]


def test_utf16_as_utf8_says_to_pick_the_encoding(tmp_path):
    path = write(tmp_path / "u.txt", TEXT.encode("utf-16"))
    with pytest.raises(W2VError, match=r"NUL bytes\); if it is UTF-16 text, pick UTF-16 or auto"):
        list(iter_documents(text_source(path)))
    upload = save_upload(TEXT.encode("utf-16"), "u.txt", tmp_path / "up", encoding="auto")
    assert upload.encoding == "auto" and list(iter_documents(upload))[0][0].startswith("Un café")


def test_an_unknown_encoding_is_refused():
    with pytest.raises(W2VError, match="encoding must be one of"):
        CorpusSource(kind="text", path="x.txt", encoding="ebcdic")


def test_the_cache_key_distinguishes_encoding_and_letters(tmp_path):
    path = write(tmp_path / "t.txt", "Un caf\xe9 cr\xe8me.\n".encode("latin-1") * 3)
    as_utf8 = encode_corpus(text_source(path), TokenizerConfig(letters="unicode"), tmp_path / "cache")
    as_latin = encode_corpus(CorpusSource(kind="text", path=str(path), encoding="latin-1"),
                             TokenizerConfig(letters="unicode"), tmp_path / "cache")
    ascii_only = encode_corpus(CorpusSource(kind="text", path=str(path), encoding="latin-1"), TokenizerConfig(),
                               tmp_path / "cache")
    assert len({as_utf8.path, as_latin.path, ascii_only.path}) == 3
    assert "café" in as_latin.words and "crème" in as_latin.words and "caf" in ascii_only.words
    assert "café" not in as_utf8.words


def test_default_settings_keep_the_cache_key_they_had_before_the_new_options(tmp_path):
    from w2vcore.corpus import _cache_key

    path = write(tmp_path / "t.txt", "one two")
    source = text_source(path)
    old = json.dumps({"source": json.dumps({"kind": "text", "files": [["t.txt", 7, path.stat().st_mtime_ns]]}),
                      "tokenizer": {"lowercase": True, "keep_digits": False, "min_token_len": 1, "sentences": "line",
                                    "phrases": []}, "format": 1}, sort_keys=True)
    assert _cache_key(source, TokenizerConfig()) == hashlib.sha256(old.encode()).hexdigest()
