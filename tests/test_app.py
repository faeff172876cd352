"""The dashboard in Streamlit's AppTest: every page against a runs folder prepared by a fixture,
a run launched through the Train page, bad input at the boundary; plus the pages' pure helpers."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from gensim.test.utils import datapath
from streamlit.testing.v1 import AppTest

from apptest import app, open_tab, texts, unescape

from labui import analysis, settings, state
from labui import mapcharts
from w2vcore import losses, presets, things
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TrainConfig
from w2vcore.runs import RunStore, default_cache_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"  # as in conftest.py; used only when present
LEE = datapath("lee_background.cor")


def tiny(name: str, path: str = LEE, **train) -> RunConfig:
    return RunConfig(name=name, corpus=CorpusConfig(source=CorpusSource("text", path), min_count=3, val_fraction=0.1),
                     train=TrainConfig(**{"dim": 16, "epochs": 1, "batch_size": 512, "log_every_s": 0.05,
                                          "device": "cpu", **train}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A runs folder with two finished tiny runs on the Lee corpus and one failed run.

    The corpus cache is the user's (content-keyed, so sharing it is safe): the Data page reads the
    built-in corpus on arrival, and encoding it again for every test session costs seconds."""
    root = tmp_path_factory.mktemp("lab")
    store = RunStore(root / "runs", default_cache_dir())
    ids = {}
    for name, cfg in (("tiny-a", tiny("tiny-a")), ("tiny-b", tiny("tiny-b", seed=2)),
                      ("broken", tiny("broken", path=str(root / "missing.txt")))):
        ids[name] = store.create(cfg)
        store.start(ids[name], mode="thread")
        store.wait(ids[name], timeout=120)
    assert store.info(ids["tiny-a"]).status == "done", store.info(ids["tiny-a"]).error
    assert store.info(ids["broken"]).status == "failed"
    return store, ids


@pytest.fixture
def env(lab, monkeypatch):
    store, ids = lab
    (store.root / state.SETTINGS_FILE).unlink(missing_ok=True)  # each test starts from the default settings
    monkeypatch.setenv("W2V_RUNS_DIR", str(store.root))
    monkeypatch.setenv("W2V_CACHE_DIR", str(store.cache_dir))
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("W2V_DATA_DIR", str(SHARED_DATA))
    else:
        monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    return store, ids


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


# ---------------------------------------------------------------- pages
def test_home_lists_runs_with_status_error_and_presets(env):
    _, ids = env
    at = app()
    table = at.dataframe[0].value
    assert set(table["name"]) == {"tiny-a", "tiny-b", "broken"}
    assert table.set_index("name").loc["tiny-a", "status"] == "done"
    assert "not found" in table.set_index("name").loc["broken", "error"]
    labels = [b.label for b in at.button]
    assert "Start the quick demo" in labels and "Train with the notebook's settings" in labels
    has_things = "rsr" in {i.name for i in losses.available()} and things.available("")
    assert ("Start the 3 runs" in labels) == has_things  # THINGS is packaged: no data folder needed
    assert [t.value for t in at.title] == ["Word2Vec Lab"]
    assert at.multiselect(key="selected_runs").value  # the newest finished run is picked on arrival


def test_home_without_runs_says_how_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_RUNS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    at = app()
    assert "No runs yet" in texts(at)
    assert "Start the 3 runs" in [b.label for b in at.button]  # packaged THINGS: the flagship preset needs no folder
    for page in ("pages/explore.py", "pages/compare.py", "pages/export.py", "pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception and at.info, page


def test_data_page_reads_a_path_and_shows_statistics(env):
    at = app("pages/data.py")
    at.radio(key="data.source").set_value("path").run()
    at.text_input(key="data.path").input(LEE).run()
    next(b for b in at.button if b.label == "Read the corpus").click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["tokens"].replace(",", "")) > 50_000
    assert charts(at)  # the Zipf plot
    assert at.dataframe[0].value["word"][0] == "the"
    at.number_input(key="data.min_count").set_value(10_000).run()
    assert "above every word count" in at.error[0].value  # an absurd min_count is a message, not a traceback


def test_data_page_reports_a_missing_path(env, tmp_path):
    at = app("pages/data.py")
    at.radio(key="data.source").set_value("path").run()
    at.text_input(key="data.path").input(str(tmp_path / "nothing.txt")).run()
    next(b for b in at.button if b.label == "Read the corpus").click().run()
    assert not at.exception and "not found" in at.error[0].value


def test_data_page_takes_an_upload_and_rejects_binary(env, tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path))  # uploads are saved in the cache: keep this one apart
    at = app()
    at.session_state["settings"] = settings.defaults() | {"source": "upload"}
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data.upload").upload("blob.bin", b"\x00\x01\x02" * 100).run()
    assert "does not look like text" in at.error[0].value
    at.file_uploader(key="data.upload").clear().upload("lee.txt", Path(LEE).read_bytes(), "text/plain").run()
    next(b for b in at.button if b.label == "Read the corpus").click().run()
    assert not at.exception and not at.error
    assert "lee.txt" in texts(at) and charts(at)


def test_train_page_has_every_hyperparameter_and_a_group_per_loss(env):
    at = app("pages/train.py")
    sliders, select_sliders, numbers, selects = set(), set(), set(), set()
    for tab in ("Model", "Optimiser", "Vocab", "Machine", "Advanced", f"Losses ({len(losses.available())})"):
        open_tab(at, tab, "train.tab")  # only the open tab draws its widgets
        assert not at.exception
        sliders |= {s.label for s in at.slider}
        select_sliders |= {s.label for s in at.select_slider}
        numbers |= {n.label for n in at.number_input}
        selects |= {s.label for s in at.selectbox}
    assert {"dimensions", "window", "negatives", "epochs", "noise exponent", "validation share",
            "early stopping patience", "CPU threads"} <= sliders
    assert {"batch size", "subsampling threshold"} <= select_sliders
    assert {"min_count", "seed", "log every (s)"} <= numbers
    assert {"device", "engine", "penalty", "rank_method", "metric"} <= selects  # a text parameter with choices is a select box
    for info in losses.available():
        label = "REG_STRENGTH (α)" if info.name == "rsr" else f"{info.name} weight (α)"
        assert at.slider(key=f"train.loss.{info.name}.weight").label == label
    modes = at.button_group(key="train.mode").options
    assert len(modes) == (3 if losses.available() else 1)


@pytest.mark.skipif(not losses.available(), reason="no extra loss is registered, so there is no twin or sweep")
def test_twin_and_sweep_explain_bad_settings(env):
    at = app("pages/train.py")
    at.button_group(key="train.mode").set_value("twin").run()
    assert "above 0" in at.error[0].value and at.button(key="train.launch").disabled
    at.button_group(key="train.mode").set_value("sweep").run()
    at.text_input(key="train.sweep").input("0, 2").run()
    assert "[0, 1]" in unescape(at.error[0].value)


def test_a_run_launched_from_the_train_page_completes_and_shows_metrics(env):
    store, _ = env
    at = app("pages/data.py")
    at.radio(key="data.source").set_value("path").run()
    at.text_input(key="data.path").input(LEE).run()
    at.switch_page("pages/train.py").run()
    at.slider(key="train.dim").set_value(8).run()
    open_tab(at, "Optimiser", "train.tab")  # the dimension set on the closed Model tab is kept
    at.slider(key="train.epochs").set_value(1)
    at.select_slider(key="train.batch_size").set_value(512)
    at.text_input(key="train.name").input("from-the-page").run()
    at.button(key="train.launch").click().run()
    assert not at.exception and not at.error
    launched = [r for r in store.list() if r.name == "from-the-page"]
    assert len(launched) == 1
    assert store.config(launched[0].id).train.dim == 8
    assert store.wait(launched[0].id, timeout=120).status == "done"
    at.run()
    picked = at.multiselect(key="selected_runs").value
    assert picked[-1] == launched[0].id and len(picked) == 2  # added to the run picked on arrival
    assert "from-the-page" in texts(at) and "done" in texts(at)
    assert charts(at)  # its loss curve
    store.delete(launched[0].id)


def test_a_new_session_finds_a_running_run_and_can_stop_it(env):
    store, _ = env
    run_id = store.create(tiny("long", epochs=10_000))
    store.start(run_id, mode="thread")
    try:
        assert wait_until(lambda: store.metrics(run_id))
        at = app("pages/train.py")  # a fresh session, as after a browser refresh
        assert at.multiselect(key="selected_runs").value == [run_id]
        assert any("long" in p.proto.text and "ETA" in p.proto.text for p in at.get("progress"))
        at.button(key=f"train.stop.{run_id}").click().run()
        assert store.wait(run_id, timeout=60).status == "stopped"
    finally:
        store.stop(run_id)
        store.wait(run_id, timeout=60)
        store.delete(run_id)


def wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_quick_demo_preset_starts_a_run_and_opens_the_train_page(env, monkeypatch):
    store, _ = env
    started = []  # training itself is covered above; here only what the button starts
    monkeypatch.setattr(RunStore, "start", lambda self, run_id, **kw: started.append(run_id))
    at = app()
    at.button(key="preset.demo").click().run()
    assert not at.exception and [t.value for t in at.title] == ["Train"]
    demo = [r for r in store.list() if r.name == "quick-demo"]
    assert len(demo) == 1 and started == [demo[0].id]
    assert at.multiselect(key="selected_runs").value[-1] == demo[0].id
    cfg = store.config(demo[0].id)
    assert (cfg.train.dim, cfg.train.epochs, cfg.corpus.source.kind) == (50, 5, "default")
    shutil.rmtree(store.path(demo[0].id))


def test_explore_neighbours_similarity_analogy_and_map(env):
    _, ids = env
    at = app("pages/explore.py", runs=[ids["tiny-a"]])
    assert "tiny-a" in texts(at)
    assert not charts(at)  # only the open tab runs: no map is drawn behind the neighbours
    at.text_input(key="explore.words").input("Government, Goverment").run()  # case folded like the corpus
    assert len(at.dataframe) >= 1  # government's neighbours
    assert "did you mean" in at.warning[0].value  # the misspelt word gets a suggestion
    open_tab(at, "Similarity & analogies")
    assert len(at.dataframe) == 1  # the analogy answers
    at.text_input(key="explore.sim1").input("government").run()
    at.text_input(key="explore.sim2").input("police").run()
    assert -1 <= float(at.metric[0].value) <= 1
    at.radio(key="explore.method").set_value("3cosmul").run()
    assert not at.exception
    open_tab(at, "Map")
    assert charts(at)  # the PCA map
    assert at.button(key="explore.umap").label.startswith("Compute the UMAP")  # UMAP waits for a click of the most frequent words
    at.radio(key="explore.set").set_value("pasted").run()
    at.text_area(key="explore.paste").input("government police court zzzq").run()
    assert any("zzzq" in w.value for w in at.warning)
    assert charts(at)


def test_explore_over_training_and_things_concepts(env):
    _, ids = env
    at = app("pages/explore.py", runs=[ids["tiny-a"]])
    open_tab(at, "Over training")
    figures = [c.proto.spec for c in charts(at)]
    assert any('"frames"' in spec and "training: " in spec for spec in figures)  # the animated snapshots
    assert "snapshots from the random start" in texts(at)
    open_tab(at, "Map")  # THINGS concepts come from the packaged copy: no data folder needed
    at.radio(key="explore.set").set_value("things").run()
    assert not at.exception
    assert "concepts aligned" in texts(at)
    assert any('"legendgroup"' in c.proto.spec or "animal" in c.proto.spec for c in charts(at))


def test_data_page_shows_things_coverage(env):
    at = app("pages/data.py")
    open_tab(at, "Reference data", "data.tab")
    assert "concepts aligned" in texts(at)
    assert "Hebart" in texts(at)  # the packaged THINGS copy carries its attribution
    assert any("coverage" in df.value.columns and "category" in df.value.columns for df in at.dataframe)


def test_explore_shows_why_a_failed_run_has_nothing(env):
    _, ids = env
    at = app("pages/explore.py", runs=[ids["broken"]])
    assert "not found" in at.error[0].value and at.info


def test_compare_two_runs(env):
    _, ids = env
    at = app("pages/compare.py", runs=[ids["tiny-a"], ids["tiny-b"]])
    diff = at.dataframe[0].value
    assert list(diff["setting"]) == ["name", "train.seed"]  # only what differs
    assert any("Jaccard@10" in m.value for m in at.markdown)
    bench = next(d.value for d in at.dataframe if "benchmark" in d.value.columns)
    assert any(bench["benchmark"].str.startswith("simlex999"))
    assert len(charts(at)) >= 3  # curves, overlap histogram, aligned map
    at.select_slider(key="compare.repeats").set_value(1).run()
    at.button(key="compare.score").click().run()  # the scorecard: B - A with paired CIs
    assert not at.exception, [e.value for e in at.exception]
    card = next(d.value for d in at.dataframe if "B − A" in d.value.columns and "metric" in d.value.columns)
    assert any(card["metric"].str.startswith("simlex999")) and any(card["metric"].str.contains("Jaccard"))
    assert card["CI low"].notna().any()
    if SHARED_DATA.is_dir():  # THINGS categories: per-category F1 of both runs on the same folds
        assert any(card["metric"].str.startswith("category F1"))


def test_export_offers_every_format(env):
    _, ids = env
    at = app("pages/export.py", runs=[ids["tiny-a"]])
    labels = " ".join(b.label for b in at.download_button)
    for fmt in ("word2vec text", "word2vec binary", "TensorBoard", "checkpoint", "metrics", "config"):
        assert fmt in labels


class _Shrink(losses.LossBase):
    """A test loss: pulls a few rows towards 0 and reports a score that grows with its weight."""

    def __init__(self, spec, setup):
        self.name, self.weight, self.every = spec.name, spec.weight, 1

    def loss(self, ctx):
        import torch

        return ctx.gather(torch.arange(4)).pow(2).mean(), {}

    def evaluate(self, vectors):
        return {"shrink/score": self.weight}


@pytest.fixture
def sweep(env):
    """Two tiny runs differing only in the weight of a registered test loss."""
    store, _ = env
    losses.register("shrink", "a test loss")(_Shrink)
    ids = []
    try:
        for weight in (0.0, 0.2):
            cfg = tiny(f"sweep-{weight}", eval_every_s=0.05, losses=(LossSpec("shrink", weight),))
            ids.append(store.create(cfg))
            store.start(ids[-1], mode="thread")
            assert store.wait(ids[-1], timeout=120).status == "done", store.info(ids[-1]).error
        yield ids
    finally:
        del losses.REGISTRY["shrink"]
        for run_id in ids:
            store.delete(run_id)


def test_sweep_page_plots_scores_against_alpha(sweep):
    at = app("pages/sweep.py", runs=sweep)
    table = at.dataframe[0].value
    assert list(table["α"]) == [0.0, 0.2]
    # α = 0 has a point too: a loss at weight 0 is built evaluation-only and logs its metrics
    assert table["shrink/score"][0] == pytest.approx(0.0) and table["shrink/score"][1] == pytest.approx(0.2)
    assert "simlex999 ρ" in table.columns and charts(at)
    assert "switched off" in texts(at)


def test_sweep_page_says_why_runs_are_not_a_sweep(env):
    _, ids = env
    at = app("pages/sweep.py", runs=[ids["tiny-a"], ids["tiny-b"]])
    assert "train.seed" in unescape(at.warning[0].value)


# ---------------------------------------------------------------- pure helpers
def test_smoothing_is_debiased_and_skips_gaps():
    y = np.array([1.0, np.nan, 1.0, 1.0])
    assert np.allclose(analysis.smooth(y, 0.9)[[0, 2, 3]], 1.0) and np.isnan(analysis.smooth(y, 0.9)[1])


def test_procrustes_recovers_a_rotation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    _, _, cos = analysis.aligned_pca(a, a @ rotation)
    assert cos.min() > 0.999


def test_neighbour_overlap_of_a_run_with_itself_is_one():
    rng = np.random.default_rng(0)
    unit = rng.normal(size=(50, 4))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    keys = [f"w{i}" for i in range(50)]
    from w2vcore.neighbours import neighbour_overlap
    from w2vcore.vectors import Vectors

    same = Vectors(keys, unit.astype(np.float32))
    assert np.allclose(neighbour_overlap(same, same, keys[:10], k=5).jaccard, 1.0)  # what the Compare page shows


@pytest.mark.parametrize("text, message", [("0.1", "at least two"), ("0, x", "numbers"), ("0, 0", "once"),
                                           ("0, 1.5", "[0, 1]")])
def test_sweep_weights_are_validated(text, message):
    with pytest.raises(Exception, match=message.replace("[", r"\[").replace("]", r"\]")):
        presets.parse_weights(text)


def test_projections_beyond_the_limit_are_sampled():
    words = [f"w{i}" for i in range(analysis.MAX_POINTS + 10)]
    shown, sampled = analysis.sample_words(words)
    assert sampled and len(shown) == analysis.MAX_POINTS and shown == sorted(shown, key=words.index)
    assert analysis.sample_words(words[:10]) == (words[:10], False)


def test_the_flagship_arms_differ_only_in_reg_strength():
    vanilla, rsr, _ = settings.flagship_preset("")  # vanilla, RSR per-row, RSR map
    assert "air conditioner" in vanilla.corpus.tokenizer.phrases
    diff = analysis.config_diff(vanilla.to_dict(), rsr.to_dict())
    assert list(diff["setting"]) == ["name", "train.losses.rsr.params.metric", "train.losses.rsr.weight"]


def test_a_sweep_is_runs_differing_only_in_one_loss_weight():
    base = RunConfig().to_dict()
    with_loss = RunConfig(train=TrainConfig(losses=(LossSpec("rsr", 0.1, {"pairs": 10}),))).to_dict()
    assert analysis.sweep_axis({"a": base, "b": with_loss}) == ("rsr", {"a": 0.0, "b": 0.1})
    other = RunConfig(train=TrainConfig(dim=7, losses=(LossSpec("rsr", 0.2, {"pairs": 10}),))).to_dict()
    with pytest.raises(Exception, match="train.dim"):
        analysis.sweep_axis({"b": with_loss, "c": other})
    params = RunConfig(train=TrainConfig(losses=(LossSpec("rsr", 0.2, {"pairs": 99}),))).to_dict()
    with pytest.raises(Exception, match="pairs"):
        analysis.sweep_axis({"b": with_loss, "c": params})


def test_settings_round_trip_to_the_backend_defaults():
    cfg = settings.run_config(settings.defaults())
    assert cfg.train == TrainConfig() and cfg.corpus == CorpusConfig()


def test_bias_page_measures_a_run_and_its_hard_debiased_copy(env):
    _, ids = env
    at = app("pages/bias.py", runs=[ids["tiny-a"]])
    at.select_slider(key="bias.perm").set_value(1_000).run()
    assert not at.dataframe  # opening the page computes nothing
    at.button(key="bias.measure").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, at.error[0].value
    table = at.dataframe[0].value
    assert {"run", "hard debias", "hard debias, all pairs"} <= set(table.columns)
    assert "direct_bias" in table.index and table.loc["direct_bias", "hard debias"] < 0.05
    assert table.loc["direct_bias", "hard debias, all pairs"] < 0.05
    assert any(i.startswith("weat_d/") for i in table.index) and "cluster_accuracy" in table.index


def test_values_page_trains_valuevec_and_scores_a_run(env):
    _, ids = env
    at = app("pages/values.py", runs=[ids["tiny-a"]])
    at.slider(key="values.limit").set_value(100).run()
    at.button(key="values.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert float(at.metric[0].value) > 0.5  # the colour spectrum orders the map
    assert charts(at)
    at.radio(key="values.source").set_value("vader").run()
    assert not at.exception
    assert any("pair_rho" in d.value.columns for d in at.dataframe)  # the run scored against VADER valence


def test_map_labels_skip_words_that_would_overlap_and_hover_keeps_them_all():
    import pandas as pd
    frame = pd.DataFrame({"word": ["first", "second", "far", "near_far"],
                          "x": [0.0, 0.001, 1.0, 0.999], "y": [0.0, 0.0, 1.0, 1.0]})
    assert mapcharts.sparse_labels(frame) == ["first", "", "far", ""]  # the earlier (more frequent) word wins
    fig = mapcharts.projection_figure(frame)
    assert list(fig.data[0].text) == ["first", "", "far", ""] and list(fig.data[0].hovertext) == list(frame["word"])
    frame["cat"] = ["a", "b", "a", "b"]
    traces = {t.name: t for t in mapcharts.projection_figure(frame, "cat").data}
    assert list(traces["a (2)"].text) == ["first", "far"] and list(traces["b (2)"].text) == ["", ""]


def test_a_reference_folder_that_does_not_exist_is_a_message_on_every_page(env, monkeypatch):
    _, ids = env
    monkeypatch.setenv("W2V_DATA_DIR", "/nonexistent/reference-data")
    at = app(runs=[ids["tiny-a"], ids["tiny-b"]])
    for page in ("pages/data.py", "pages/explore.py", "pages/compare.py", "pages/sweep.py", "pages/bias.py",
                 "pages/values.py", "pages/export.py", "pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    at.switch_page("pages/data.py").run()
    open_tab(at, "Reference data", "data.tab")
    assert "does not exist" in texts(at)


def test_compare_fits_the_learned_map_on_one_finished_run(env):
    _, ids = env
    at = app("pages/compare.py", runs=[ids["tiny-a"]])
    assert any(b.label == "Fit the map and score it" for b in at.button)
    at.select_slider(key="compare.fit.steps").set_value(250).run()
    at.button(key="compare.fit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert "human rho, held-out pairs" in set(table["metric"])
    assert "fitted map" in " ".join(table.columns)


def test_compare_reruns_reuse_the_overlap_and_the_aligned_map(env, monkeypatch):
    """The A/B view's heavy parts are computed once per run pair, not on every rerun or page switch."""
    import w2vcore.neighbours

    _, ids = env
    calls = []
    overlap = w2vcore.neighbours.neighbour_overlap
    monkeypatch.setattr(w2vcore.neighbours, "neighbour_overlap", lambda *a, **k: calls.append(1) or overlap(*a, **k))
    at = app("pages/compare.py", runs=[ids["tiny-a"], ids["tiny-b"]])
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception and any("Jaccard@10" in m.value for m in at.markdown)
    assert len(calls) <= 1, f"neighbour_overlap ran {len(calls)} times for one run pair"
