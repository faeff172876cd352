"""Imported embeddings: every format read back equal to the source, limits, bad files named by line,
the memory bound, store entries that refuse what needs a training, and the CLI end to end."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from w2vcore.embeddings import detect_format, import_embedding, read_embedding
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore

from clikit import cli

WORDS = [f"w{i}" for i in range(40)] + ["café", "naïve", "ελληνικά", "日本", "straße"]


@pytest.fixture(scope="module")
def source():
    rng = np.random.default_rng(0)
    return WORDS, rng.standard_normal((len(WORDS), 7)).astype(np.float32)


def glove_text(words, matrix, header: bool = False) -> str:
    lines = [f"{len(words)} {matrix.shape[1]}"] if header else []
    lines += [w + " " + " ".join(f"{x:.9g}" for x in row) for w, row in zip(words, matrix)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def files(source, tmp_path_factory):
    """The same vectors in every format: written by gensim and by hand."""
    from gensim.models import KeyedVectors

    words, matrix = source
    folder = tmp_path_factory.mktemp("emb")
    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(words, matrix)
    kv.save_word2vec_format(str(folder / "vectors.txt"))
    kv.save_word2vec_format(str(folder / "vectors.bin"), binary=True)
    kv.save(str(folder / "vectors.kv"))
    (folder / "glove.txt").write_text(glove_text(words, matrix), encoding="utf-8")
    (folder / "wiki.vec").write_text(glove_text(words, matrix, header=True) + "\n", encoding="utf-8")
    (folder / "crlf.txt").write_bytes(glove_text(words, matrix).replace("\n", " \r\n").encode())
    return folder


CASES = [("vectors.txt", "word2vec"), ("vectors.bin", "word2vec-binary"), ("vectors.kv", "keyedvectors"),
         ("glove.txt", "glove"), ("wiki.vec", "word2vec"), ("crlf.txt", "glove")]


@pytest.mark.parametrize("name, fmt", CASES, ids=[c[0] for c in CASES])
def test_every_format_round_trips_to_the_source_vectors(files, source, name, fmt):
    words, matrix = source
    assert detect_format(files / name) == fmt
    seen = []
    emb = read_embedding(files / name, progress=seen.append)
    assert emb.format == fmt and emb.words == words and emb.in_file == len(words)
    assert emb.vectors.dtype == np.float32 and np.array_equal(emb.vectors, matrix)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    explicit = "fasttext" if name.endswith(".vec") else fmt
    assert read_embedding(files / name, format=explicit).words == words


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_limit_keeps_the_first_words(files, source, name):
    words, matrix = source
    emb = read_embedding(files / name, limit=5)
    assert emb.words == words[:5] and np.array_equal(emb.vectors, matrix[:5])
    assert emb.in_file == (None if name in ("glove.txt", "crlf.txt") else len(words))
    assert len(read_embedding(files / name, limit=10_000).words) == len(words)


def test_a_full_gensim_model_gives_its_word_vectors(tmp_path):
    from gensim.models import Word2Vec

    model = Word2Vec([["a", "b", "c"], ["b", "c", "d"]] * 5, vector_size=4, min_count=1, epochs=1)
    model.save(str(tmp_path / "model.w2v"))
    emb = read_embedding(tmp_path / "model.w2v")
    assert emb.words == model.wv.index_to_key and np.array_equal(emb.vectors, model.wv.vectors)
    assert "full gensim Word2Vec model" in emb.notes[0]


def test_a_pickle_of_something_else_is_refused(tmp_path):
    import pickle

    (tmp_path / "x.pkl").write_bytes(pickle.dumps({"not": "vectors"}, protocol=4))
    with pytest.raises(W2VError, match="not a gensim KeyedVectors file"):
        read_embedding(tmp_path / "x.pkl")


BAD = {  # file text -> (format, the message, naming the line)
    "short row": ("2 3\nalpha 1 2 3\nbeta 1 2\n", "auto", r"line 3: expected the word and 3 numbers, got 2"),
    "not a number": ("alpha 1 2 3\nbeta 1 x 3\n", "auto", r"line 2: value 2 \('x'\) is not a number"),
    "nan": ("alpha 1 2 3\n\nbeta 1 nan 3\n", "auto", r"line 3: value 2 of 'beta' is nan"),
    "inf": ("2 3\nalpha 1 2 3\nbeta 1 2 -inf\n", "auto", r"line 3: value 3 of 'beta' is -inf"),
    "duplicate": ("alpha 1 2 3\nbeta 1 2 3\nalpha 4 5 6\n", "auto", r"line 3: the word 'alpha' appears a second"),
    "empty": ("", "auto", "is empty"),
    "blank": ("\n\n  \n", "auto", "is empty"),
    "truncated": ("3 3\nalpha 1 2 3\nbeta 1 2 3\n", "auto", r"ends after 2 of the 3 words .*\(line 4\)"),
    "header as glove": ("2 3\nalpha 1 2 3\nbeta 1 2 3\n", "glove", r"line 1 looks like a word2vec header"),
    "no header": ("alpha 1 2 3\n", "word2vec", r"line 1: a word2vec file starts with"),
    "not vectors": ("hello world\nsome prose\n", "auto", r"line 1: expected a word followed by numbers"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_files_name_their_line(tmp_path, case):
    text, fmt, message = BAD[case]
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(W2VError, match=message) as err:
        read_embedding(path, format=fmt)
    assert "bad.txt" in str(err.value)


def test_a_bad_line_deep_in_a_large_block_is_named(tmp_path, source):
    words, matrix = source
    big = [f"x{i} " + " ".join(["0.5"] * 7) for i in range(5000)]
    big[4321] = "x4321 " + " ".join(["0.5"] * 6)
    (tmp_path / "big.txt").write_text("\n".join(big) + "\n")
    with pytest.raises(W2VError, match=r"line 4322: expected the word and 7 numbers, got 6"):
        read_embedding(tmp_path / "big.txt")


def test_binary_where_text_is_expected_and_text_where_binary_is(files):
    with pytest.raises(W2VError, match=r"line 2 holds binary data, not text; is it a word2vec binary file"):
        read_embedding(files / "vectors.bin", format="word2vec")
    with pytest.raises(W2VError, match="the first vector is text"):
        read_embedding(files / "vectors.txt", format="word2vec-binary")


def test_binary_nan_and_truncation_name_the_vector(files, tmp_path, source):
    from gensim.models import KeyedVectors

    words, matrix = source
    bad = matrix.copy()
    bad[3, 2] = np.nan
    kv = KeyedVectors(7)
    kv.add_vectors(words, bad)
    kv.save_word2vec_format(str(tmp_path / "nan.bin"), binary=True)
    with pytest.raises(W2VError, match=r"vector 4 \('w3'\) holds NaN"):
        read_embedding(tmp_path / "nan.bin")
    data = (files / "vectors.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(W2VError, match=r"ends after \d+ of the 45 vectors"):
        read_embedding(tmp_path / "cut.bin")


def test_non_utf8_words_say_which_encoding_to_pick(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("alpha 1 2\ncafé 3 4\n".encode("latin-1"))
    with pytest.raises(W2VError, match=r"line 2: the word b'caf\\xe9' is not valid utf-8 .*--encoding latin-1"):
        read_embedding(path)
    for encoding in ("latin-1", "cp1252", "auto"):
        assert read_embedding(path, encoding=encoding).words == ["alpha", "café"]


def test_unknown_format_encoding_and_limit_are_refused(files):
    with pytest.raises(W2VError, match="format must be one of"):
        read_embedding(files / "glove.txt", format="csv")
    with pytest.raises(W2VError, match="encoding of an embedding file must be one of"):
        read_embedding(files / "glove.txt", encoding="utf-16")
    with pytest.raises(W2VError, match="limit must be a whole number"):
        read_embedding(files / "glove.txt", limit=0)
    with pytest.raises(W2VError, match="not found"):
        read_embedding(files / "nope.txt")


def test_memory_stays_near_the_kept_matrix(tmp_path):
    rng = np.random.default_rng(1)
    n, d = 50_000, 50
    matrix = rng.standard_normal((n, d)).astype(np.float32)
    path = tmp_path / "big.txt"
    with open(path, "w") as f:
        for start in range(0, n, 5000):
            f.write("".join(f"word{i} " + " ".join(f"{x:.6g}" for x in row) + "\n"
                            for i, row in enumerate(matrix[start: start + 5000], start)))
    tracemalloc.start()
    try:
        emb = read_embedding(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert emb.vectors.shape == (n, d) and np.allclose(emb.vectors, matrix, rtol=1e-5)
    assert peak < 2.5 * matrix.nbytes, f"peak {peak / 2**20:.1f} MB for a {matrix.nbytes / 2**20:.1f} MB matrix"


# ------------------------------------------------------------------ the store
@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs", tmp_path / "cache")


def test_an_import_is_a_read_only_entry_of_the_store(store, files, source):
    words, matrix = source
    run_id = import_embedding(store, files / "glove.txt", name="My GloVe", limit=30)
    (info,) = store.list()
    assert (info.id, info.kind, info.status, info.name, info.progress) == (run_id, "imported", "done", "My GloVe", 1.0)
    vectors = store.load_vectors(run_id)
    assert vectors.index_to_key == words[:30] and np.array_equal(vectors.vectors, matrix[:30])
    src = store.source(run_id)
    assert src["format"] == "glove" and src["origin"] == str(files / "glove.txt") and src["limit"] == 30
    assert src["words"] == 30 and src["dim"] == 7
    assert sorted(p.name for p in store.path(run_id).iterdir()) == ["source.json", "status.json", "vectors.npz"]
    with np.load(store.path(run_id) / "vectors.npz") as npz:  # uncompressed: loading is a read, not an inflate
        assert set(npz.files) == {"keys", "vectors"}
    assert store.metrics(run_id) == [] and store.snapshots(run_id) == []


@pytest.mark.parametrize("action", ["config", "stop", "resume", "start", "checkpoint"])
def test_what_needs_a_training_says_an_import_has_none(store, files, action):
    run_id = import_embedding(store, files / "vectors.bin")
    calls = {"config": lambda: store.config(run_id), "stop": lambda: store.stop(run_id),
             "resume": lambda: store.start(run_id, resume=True), "start": lambda: store.start(run_id),
             "checkpoint": lambda: store.load_checkpoint(run_id)}
    with pytest.raises(W2VError, match=f"'{run_id}' is an imported embedding .*: it has no "):
        calls[action]()
    assert store.info(run_id).status == "done"


def test_a_failed_import_leaves_no_entry(store, tmp_path):
    (tmp_path / "bad.txt").write_text("alpha 1 2\nbeta x 2\n")
    with pytest.raises(W2VError):
        import_embedding(store, tmp_path / "bad.txt")
    assert store.list() == [] and not any(store.root.iterdir())


def test_trained_runs_and_imports_list_together(store, files):
    from w2vcore.config import CorpusConfig, CorpusSource, RunConfig

    run_id = store.create(RunConfig(name="t", corpus=CorpusConfig(source=CorpusSource("text", str(files / "glove.txt")))))
    imported = import_embedding(store, files / "vectors.txt")
    kinds = {r.id: r.kind for r in store.list()}
    assert kinds == {run_id: "trained", imported: "imported"}
    with pytest.raises(W2VError, match="is a trained run, not an imported embedding"):
        store.source(run_id)
    store.delete(imported)
    assert [r.id for r in store.list()] == [run_id]


# --------------------------------------------------------------------- the CLI
def test_cli_import_list_eval_export(tmp_path, files, source):
    words, matrix = source
    out = cli(tmp_path, "import", str(files / "vectors.bin"), "--name", "gensim bin", "--limit", "20").stdout
    assert "imported 20 of 45 words x 7 dimensions (word2vec-binary)" in out
    run_id = out.split(" as ")[-1].strip()
    listing = cli(tmp_path, "list").stdout
    assert run_id in listing and "imported" in listing and "done" in listing
    report = cli(tmp_path, "eval", run_id).stdout
    assert "simlex999" in report and "analogies 3cosadd" in report
    cli(tmp_path, "export", run_id, "--format", "word2vec", "--out", str(tmp_path / "out.txt"))
    again = read_embedding(tmp_path / "out.txt")
    assert again.words == words[:20] and np.array_equal(again.vectors, matrix[:20])
    for args, message in [(("export", run_id, "--format", "ckpt"), "has no training checkpoint"),
                          (("resume", run_id), "has no training to start or resume"),
                          (("stop", run_id), "has no training to stop"),
                          (("import", str(files / "nope.txt")), "not found"),
                          (("import", str(files / "glove.txt"), "--format", "word2vec"), "line 1: a word2vec file")]:
        proc = cli(tmp_path, *args, ok=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
