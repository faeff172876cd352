"""Imported embeddings in the app: the import form (a path read in place, an upload, a bad file), every
inspect page opened with an imported entry picked (and against a trained run), and the Data page's
letters and encoding options (text in any language)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from gensim.test.utils import datapath

from apptest import app, texts

from labui import pretrained, settings, state
from w2vcore.compare import Comparison, Scorecard, sweep_table
from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.embeddings import import_embedding
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore, default_cache_dir

LEE = datapath("lee_background.cor")
WORDS = ["the", "king", "queen", "man", "woman", "cat", "dog", "car", "hammer", "apple", "he", "she",
         "doctor", "nurse", "water", "music", "city", "film", "river", "art"] + [f"w{i}" for i in range(180)]


def write_word2vec(path, words=WORDS, dim=12, seed=0):
    """A word2vec text file written by gensim's KeyedVectors.save_word2vec_format."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(dim)
    kv.add_vectors(words, np.random.default_rng(seed).standard_normal((len(words), dim)).astype(np.float32))
    kv.save_word2vec_format(str(path))
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A runs folder with one finished tiny run on the Lee corpus and one imported embedding (gensim's file)."""
    root = tmp_path_factory.mktemp("imported")
    store = RunStore(root / "runs", default_cache_dir())
    trained = store.create(RunConfig(name="tiny", corpus=CorpusConfig(source=CorpusSource("text", LEE), min_count=3),
                                     train=TrainConfig(dim=16, epochs=1, batch_size=512, device="cpu")))
    store.start(trained, mode="thread")
    assert store.wait(trained, timeout=120).status == "done"
    imported = import_embedding(store, write_word2vec(root / "pretrained.txt"), name="pretrained")
    return store, {"tiny": trained, "pretrained": imported}


@pytest.fixture
def env(lab, monkeypatch):
    store, ids = lab
    (store.root / state.SETTINGS_FILE).unlink(missing_ok=True)
    monkeypatch.setenv("W2V_RUNS_DIR", str(store.root))
    monkeypatch.setenv("W2V_CACHE_DIR", str(store.cache_dir))
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    return store, ids


def wait_for_import(at, timeout: float = 60):
    """Rerun the page until this session's import has finished (its thread runs beside the script)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = at.session_state[pretrained.JOB] if pretrained.JOB in at.session_state else None
        if job is not None and job.finished:
            at.run()
            return job
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


# ---------------------------------------------------------------- the import form
def test_import_from_a_path_adds_an_entry_and_selects_it(env, tmp_path):
    store, ids = env
    glove = tmp_path / "glove.50d.txt"
    rows = np.random.default_rng(1).standard_normal((300, 5))
    glove.write_text("".join(f"g{i} " + " ".join(f"{x:.4f}" for x in row) + "\n" for i, row in enumerate(rows)))
    at = app()
    at.text_input(key="import.path").input(str(glove)).run()
    at.text_input(key="import.name").input("my glove").run()
    at.number_input(key="import.limit").set_value(200).run()
    at.button(key="import.go").click().run()
    job = wait_for_import(at)
    assert job.run_id and not job.error, job.error
    try:
        assert not at.exception
        assert store.info(job.run_id).kind == "imported" and store.source(job.run_id)["words"] == 200
        table = at.dataframe[0].value.set_index("name")
        assert table.loc["my glove", "kind"] == "imported" and table.loc["pretrained", "kind"] == "imported"
        assert table.loc["tiny", "kind"] == "trained"
        assert job.run_id in at.multiselect(key="selected_runs").value  # added to the sidebar selection
        assert "Imported **my glove**" in texts(at)
    finally:
        store.delete(job.run_id)


def test_a_bad_file_names_its_line_and_adds_nothing(env, tmp_path):
    store, ids = env
    bad = tmp_path / "bad.txt"
    bad.write_text("alpha 1 2 3\nbeta 1 x 3\n")
    before = {r.id for r in store.list()}
    at = app()
    at.text_input(key="import.path").input(str(bad)).run()
    at.button(key="import.go").click().run()
    job = wait_for_import(at)
    assert job.run_id is None and "line 2" in job.error
    assert not at.exception and "line 2" in texts(at) and "Your other runs are untouched" in texts(at)
    assert {r.id for r in store.list()} == before


def test_an_upload_is_imported_and_says_the_limit(env, tmp_path):
    store, ids = env
    data = write_word2vec(tmp_path / "small.txt", words=["café", "naïve", "tea", "milk"], dim=4).read_bytes()
    at = app()
    at.radio(key="import.way").set_value("upload").run()
    assert "limited to 200 MB" in texts(at)
    at.file_uploader(key="import.upload").upload("small.vec", data, "text/plain").run()
    at.button(key="import.go").click().run()
    job = wait_for_import(at)
    assert job.run_id, job.error
    try:
        assert store.info(job.run_id).name == "small"  # the upload's name when none is typed
        assert store.load_vectors(job.run_id).index_to_key[:2] == ["café", "naïve"]
    finally:
        store.delete(job.run_id)


def test_the_runs_page_shows_an_imports_source_instead_of_progress(env):
    store, ids = env
    at = app()
    table = at.dataframe[0].value.set_index("name")
    assert np.isnan(table.loc["pretrained", "progress"])  # no progress bar for an import
    row = list(at.dataframe[0].value["id"]).index(ids["pretrained"])
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [row], "columns": [], "cells": []}}  # tick it
    at.run()
    assert not at.exception
    facts = at.dataframe[1].value.set_index("source")["value"]
    assert facts["format"] == "word2vec" and facts["words kept"] == f"{len(WORDS):,}" and facts["dimensions"] == "12"
    assert next(b for b in at.button if b.label == "Resume").disabled  # an import never resumes


# ---------------------------------------------------------------- inspect pages
@pytest.mark.parametrize("page, expected", [
    ("pages/explore.py", ""),
    ("pages/bias.py", "Measure bias"),
    ("pages/values.py", "Score a run"),
    ("pages/export.py", "no checkpoint, no metrics and no config"),
    ("pages/train.py", "imported"),
    ("pages/compare.py", "RSR's defaults"),
], ids=lambda x: x.split("/")[-1] if "/" in x else None)
def test_each_page_opens_with_an_imported_entry(env, page, expected):
    _, ids = env
    at = app(page, runs=[ids["pretrained"]])
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at) + " ".join(b.label for b in at.button) + " ".join(t.label for t in at.tabs)
    assert expected in shown


def test_export_offers_the_vectors_and_the_source_of_an_import(env):
    _, ids = env
    at = app("pages/export.py", runs=[ids["pretrained"]])
    labels = [d.label for d in at.get("download_button")]
    assert "word2vec text (.txt)" in labels and "source (.json)" in labels
    assert not any("checkpoint" in label or "config" in label or "metrics" in label for label in labels)


def test_bias_measures_an_import(env):
    _, ids = env
    at = app("pages/bias.py", runs=[ids["pretrained"]])
    at.button(key="bias.measure").click().run()
    assert not at.exception and at.dataframe  # the table of bias metrics (words it lacks are named)


def test_compare_an_import_against_a_trained_run(env):
    _, ids = env
    at = app("pages/compare.py", runs=[ids["tiny"], ids["pretrained"]])
    assert "**A** = tiny (done) · **B** = pretrained (done)" in texts(at)
    assert "left out of the training curves" in texts(at)
    settings_table = at.dataframe[0].value.set_index("setting")
    assert settings_table.loc["kind", "B: pretrained"] == "imported"
    assert settings_table.loc["source.format", "B: pretrained"] == "word2vec"
    at.button(key="compare.score").click().run()  # too few THINGS concepts here to score: a message, no crash
    assert not at.exception and not any("imported" in e.value for e in at.error), [e.value for e in at.error]


def test_the_rsr_map_fit_runs_on_an_import_with_rsrs_defaults(env, tmp_path):
    """Compare with one imported entry fits RSR's map on its vectors (THINGS words, RSR's default split)."""
    from w2vcore import things

    store, _ = env
    words = list(dict.fromkeys(w.replace(" ", "_") for w in things.load(None).ids[:400]))
    run_id = import_embedding(store, write_word2vec(tmp_path / "things.txt", words, dim=8), name="things words")
    try:
        at = app("pages/compare.py", runs=[run_id])
        assert "RSR's defaults" in texts(at)
        at.select_slider(key="compare.fit.steps").set_value(250).run()
        at.button(key="compare.fit").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert "things words + fitted map" in texts(at) or any(
            "things words + fitted map" in c for d in at.dataframe for c in d.value.columns)
    finally:
        store.delete(run_id)


def test_the_sweep_page_leaves_an_import_out(env):
    _, ids = env
    at = app("pages/sweep.py", runs=[ids["tiny"], ids["pretrained"]])
    assert "left out of the α sweep" in texts(at)


# ---------------------------------------------------------------- backend: compare and refuse
def test_comparison_from_runs_takes_imports_on_either_side(env):
    store, ids = env
    for a, b in ((ids["tiny"], ids["pretrained"]), (ids["pretrained"], ids["tiny"]),
                 (ids["pretrained"], ids["pretrained"])):
        cmp = Comparison.from_runs(store, a, b, n_boot=50, repeats=1, n_overlap=50)
        assert cmp.labels == (store.info(a).name, store.info(b).name) and cmp.rsr is None
        assert cmp.word_pairs is not None and cmp.overlap.k == 10


def test_the_rsr_probe_comes_from_whichever_side_was_trained(tmp_path):
    """An import against a run with an RSR spec (weight 0): the probe is the trained run's, on either side."""
    from w2vcore import things
    from w2vcore.config import LossSpec
    from w2vcore.vectors import Vectors

    store = RunStore(tmp_path / "runs", tmp_path / "cache")
    words = list(dict.fromkeys(w.replace(" ", "_") for w in things.load(None).ids[:300]))
    imported = import_embedding(store, write_word2vec(tmp_path / "things.txt", words, dim=8), name="imp")
    trained = store.create(RunConfig(name="rsr0", corpus=CorpusConfig(source=CorpusSource("text", LEE)),
                                     train=TrainConfig(losses=(LossSpec("rsr", 0.0, {}),))))
    Vectors(words, store.load_vectors(imported).vectors).save(store.path(trained) / "vectors.npz")
    for a, b in ((imported, trained), (trained, imported)):
        cmp = Comparison.from_runs(store, a, b, n_boot=50, repeats=1)
        assert cmp.rsr is not None and cmp.human["concepts"] > 10
        assert cmp.labels == (store.info(a).name, store.info(b).name)


def test_scorecard_and_sweep_refuse_imports_by_name(env):
    store, ids = env
    for build in (lambda: Scorecard.from_runs(store, [ids["tiny"], ids["pretrained"]]),
                  lambda: sweep_table(store, [ids["tiny"], ids["pretrained"]])):
        with pytest.raises(W2VError, match="'pretrained' is an imported embedding .*A/B comparison"):
            build()


# ---------------------------------------------------------------- the Data page: text in any language
CAFE = "Le café est très bon.\nNaïve straße ελληνικά\n".encode()


@pytest.mark.parametrize("letters, shown, hidden", [("unicode", "café est très bon", "caf est tr"),
                                                    ("ascii", "caf est tr s bon", "café est")])
def test_the_upload_preview_follows_the_letters_option(env, tmp_path, monkeypatch, letters, shown, hidden):
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path))
    at = app()
    at.session_state["settings"] = settings.defaults() | {"source": "upload"}
    at.switch_page("pages/data.py").run()
    at.radio(key="data.letters").set_value(letters).run()
    at.file_uploader(key="data.upload").upload("cafe.txt", CAFE, "text/plain").run()
    assert not at.exception
    preview = at.code[0].value
    assert "Le café est très bon." in preview  # the line as decoded, intact
    tokens = [line for line in preview.splitlines() if line.strip().startswith("→")]
    assert shown in tokens[0] and hidden not in tokens[0]
    assert state.settings_path().exists() and '"letters": "%s"' % letters in state.settings_path().read_text()


@pytest.mark.parametrize("encoding, data, expected", [
    ("latin-1", "Le café est bon\n".encode("latin-1"), "Le café est bon"),
    ("utf-16", "Le café est bon\n".encode("utf-16"), "Le café est bon"),
    ("utf-8", "Le café est bon\n".encode("latin-1"), "Le caf� est bon"),
])
def test_the_encoding_choice_decodes_uploads(env, tmp_path, monkeypatch, encoding, data, expected):
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path))
    at = app()
    at.session_state["settings"] = settings.defaults() | {"source": "upload", "letters": "unicode"}
    at.switch_page("pages/data.py").run()
    at.selectbox(key="data.encoding").set_value(encoding).run()
    at.file_uploader(key="data.upload").upload("cafe.txt", data, "text/plain").run()
    assert not at.exception
    assert expected in at.code[0].value
    assert (encoding == "utf-8") == ("is not valid UTF-8" in texts(at))  # the wrong choice is a warning
    saved = state.settings_path().read_text()
    assert f'"encoding": "{encoding}"' in saved
    source = settings.corpus_source(at.session_state["settings"])
    assert source.encoding == encoding
