"""The flagship experiment in the app (AppTest): the Runs page's card counts the concepts before launch with
no data folder and launches three runs per seed; Compare shows a flagship group's verdict and chart and marks
RSR's trained and held-out concepts; the α sweep page draws the headline metrics on their own axes; the
Train page's twins and sweeps take seeds. The group is six tiny thread-mode runs on Lee (dim 16, 1 epoch,
seeds 1 and 2), trained once for the module."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from gensim.test.utils import datapath
from streamlit.testing.v1 import AppTest

from apptest import app as _app, texts

from labui import analysis, charts, state
from w2vcore import presets
from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.presets import arm_of, flagship_configs
from w2vcore.runs import RunStore, default_cache_dir

TIMEOUT = 120  # seconds per script run: the first imports torch, the scorecard cross-validates


def app(page: str | None = None, runs: list[str] | None = None) -> AppTest:
    return _app(page, runs, TIMEOUT)


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """The three-run preset on Lee with seeds 1 and 2: {run name: id} in a store of their own."""
    root = tmp_path_factory.mktemp("flagship-app")
    store = RunStore(root / "runs", default_cache_dir())
    base = RunConfig(name="lee", corpus=CorpusConfig(source=CorpusSource("text", datapath("lee_background.cor")),
                                                     min_count=3),
                     train=TrainConfig(dim=16, epochs=1, batch_size=1024, device="cpu", threads=1, log_every_s=0.5,
                                       snapshots=0))
    ids = {cfg.name: store.create(cfg) for cfg in flagship_configs(base, seeds=(1, 2))}
    for run_id in ids.values():
        store.start(run_id, mode="thread")
    for run_id in ids.values():
        info = store.wait(run_id, timeout=600)
        assert info.status == "done", info.error
    return store, ids


@pytest.fixture
def lab(group, monkeypatch):
    store, ids = group
    (store.root / state.SETTINGS_FILE).unlink(missing_ok=True)
    monkeypatch.setenv("W2V_RUNS_DIR", str(store.root))
    monkeypatch.setenv("W2V_CACHE_DIR", str(store.cache_dir))
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)  # THINGS and the benchmarks ship with the packages
    return store, ids


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_the_flagship_card_counts_concepts_without_a_data_folder_and_launches_three_runs_per_seed(
        tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("W2V_CACHE_DIR", str(default_cache_dir()))  # the built-in corpus, encoded once per machine
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    monkeypatch.delenv("W2V_TINY_PRESETS", raising=False)
    started = []  # training is covered by the group fixture; here only what the button creates and starts
    monkeypatch.setattr(RunStore, "start", lambda self, run_id, **kw: started.append(run_id))
    at = app()
    numbers = {m.label: m.value for m in at.metric}
    assert int(numbers["concepts align"].replace(",", "")) > 300  # the built-in corpus, THINGS packaged
    held = int(numbers["held out"].replace(",", ""))
    assert 0.4 * int(numbers["concepts align"].replace(",", "")) < held  # HELDOUT = 0.5 of them
    assert numbers["categories scored"].endswith("of 27")
    assert "built-in corpus" in texts(at) and "no corpus file or Brown folder is set" in texts(at)
    assert "cannot change the held-out ones" in texts(at) and "shared by all words" in texts(at)
    assert any("Underpowered" in w.value.replace("\\", "") and "Brown" in w.value for w in at.warning)
    at.number_input(key="preset.seeds").set_value(2).run()
    assert at.button(key="preset.things").label == "Start the 6 runs"
    at.button(key="preset.things").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Compare"]
    store = RunStore(tmp_path / "runs", default_cache_dir())
    runs = store.list()
    arms = sorted(arm_of(store.config(r.id)) for r in runs)
    assert arms == sorted((arm, seed) for arm in presets.ARMS for seed in (1, 2))
    assert sorted(started) == sorted(r.id for r in runs)
    assert sorted(at.multiselect(key="selected_runs").value) == sorted(started)  # exactly the group is picked
    cfg = store.config(runs[0].id)
    assert cfg.corpus.source.kind == "default" and cfg.data_dir is None
    assert "Flagship group" in texts(at)  # Compare shows the group (and its progress) straight away


def test_compare_shows_the_verdict_the_chart_and_marks_rsrs_concepts(lab):
    store, ids = lab
    at = app("pages/compare.py", runs=list(ids.values()))
    assert at.button_group(key="compare.view").value == "flagship"
    assert not at.get("plotly_chart")  # nothing is scored before the button
    at.select_slider(key="compare.fl.repeats").set_value(1).run()
    at.button(key="compare.fl.score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Underpowered" in shown  # Lee aligns far too few concepts, and the verdict says so first
    assert "**RSR per-row** against vanilla" in shown and "**RSR learned map** against vanilla" in shown
    assert "- Human similarity on held-out concepts: ρ" in shown  # each arm's sentences in its own column
    assert "t-intervals over the per-seed Δs of 2 seeds" in shown
    (fig,) = figures(at)
    traces = {t["name"]: t for t in fig["data"]}
    assert set(traces) == {"RSR per-row", "RSR learned map"}
    assert all(t["error_x"]["array"] for t in traces.values())  # CI whiskers
    assert any(s.get("type") == "line" and s["x0"] == 0 == s["x1"] for s in fig["layout"]["shapes"])  # zero line
    ticks = fig["layout"]["yaxis"]["ticktext"]
    assert {charts.SCORE_SHORT[m] for m in ("rho_heldout", "simlex999", "wordsim353")} <= set(ticks)
    table = next(d.value for d in at.dataframe if "Δ mean" in d.value.columns)
    assert set(table["arm"]) == {"RSR per-row", "RSR learned map"} and set(table["seeds"]) == {2}

    marks = analysis.rsr_marks(store.load_vectors(ids["lee-rsr-rows-s1"]),
                               store.config(ids["lee-rsr-rows-s1"]).train.losses[0])
    trained = next(w for w, m in marks.items() if m == analysis.TRAINED)
    held = next(w for w, m in marks.items() if m == analysis.HELD_OUT)
    at.session_state["compare.fl.tab"] = "Neighbours"
    at.run()
    at.text_input(key="compare.fl.words").input(f"{trained}, {held}").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert f"**{trained}** (RSR trained on)" in shown and f"**{held}** (held out)" in shown
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 2 and {"vanilla", "RSR per-row", "RSR learned map"} <= set(tables[0].columns)
    cells = pd.concat([t["RSR per-row"] for t in tables])
    for cell in cells:  # every neighbour carries its own mark
        word = cell.split(" ")[0]
        assert cell == analysis.marked(word, marks)


def test_a_two_run_selection_keeps_the_ab_view(lab):
    _, ids = lab
    at = app("pages/compare.py", runs=[ids["lee-vanilla-s1"], ids["lee-rsr-rows-s1"]])
    assert not [b for b in at.button_group if b.key == "compare.view"]
    assert "**A** = lee" in at.markdown[0].value.replace("\\", "")
    assert "▲ = a THINGS concept RSR trained on" in texts(at)  # the A/B neighbours mark RSR's split too


def test_sweep_page_draws_the_headline_metrics_on_their_own_axes(lab):
    _, ids = lab
    sweep = [ids[n] for n in ("lee-vanilla-s1", "lee-vanilla-s2", "lee-rsr-rows-s1", "lee-rsr-rows-s2")]
    at = app("pages/sweep.py", runs=sweep)
    assert "α = 0, 0.1 × 2 seed(s)" in texts(at)
    at.select_slider(key="sweep.repeats").set_value(1).run()
    at.button(key="sweep.score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    fig = next(f for f in figures(at) if len(f["data"]) >= 3)
    axes = sorted(k for k in fig["layout"] if k.startswith("yaxis"))
    assert axes == ["yaxis", "yaxis2", "yaxis3", "yaxis4"]  # four small multiples
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert any("held-out" in t for t in titles) and any("SimLex" in t for t in titles)
    rho = next(t for t in fig["data"] if "held-out" in t["name"])
    assert list(rho["x"]) == [0.0, 0.1] and list(rho["customdata"]) == [2, 2]  # α = 0 has a point; 2 seeds each
    assert rho["error_y"]["array"][0] is not None  # a CI across the seeds
    table = at.dataframe[0].value
    assert sorted(zip(table["α"], table["seed"])) == [(0.0, 1), (0.0, 2), (0.1, 1), (0.1, 2)]


def test_explore_marks_rsrs_concepts_on_the_things_map(lab):
    _, ids = lab
    at = app("pages/explore.py", runs=[ids["lee-rsr-map-s1"]])
    at.session_state["explore.tab"] = "Map"
    at.run()
    at.radio(key="explore.set").set_value("things").run()
    assert not at.exception, [e.value for e in at.exception]
    fig = figures(at)[0]
    names = [t.get("name", "") for t in fig["data"]]
    assert any(n.startswith("RSR trained on (") for n in names) and any(n.startswith("held out (") for n in names)
    symbols = {s for t in fig["data"] if isinstance(t.get("marker", {}).get("symbol"), list)
               for s in t["marker"]["symbol"]}
    assert symbols == {"x", "circle"}
    assert "RSR never saw it" in texts(at)


def test_train_page_sweeps_and_twins_take_seeds(lab, monkeypatch):
    store, ids = lab
    started = []
    monkeypatch.setattr(RunStore, "start", lambda self, run_id, **kw: started.append(run_id))
    at = app("pages/train.py")
    at.button_group(key="train.mode").set_value("sweep").run()
    assert at.number_input(key="train.seeds.sweep").value == 3  # sweeps: 3 seeds by default
    assert at.button(key="train.launch").label == "Train 12 runs"  # 4 weights × 3 seeds
    at.text_input(key="train.sweep").input("0, 0.1").run()
    at.number_input(key="train.seeds.sweep").set_value(2).run()
    at.button(key="train.launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    new = [r for r in store.list() if r.id in started]
    cells = sorted((store.config(r.id).train.losses[0].weight, store.config(r.id).train.seed) for r in new)
    assert cells == [(0.0, 1), (0.0, 2), (0.1, 1), (0.1, 2)]
    assert sorted(store.config(r.id).name for r in new) == ["run-rsr-a0.1-s1", "run-rsr-a0.1-s2", "run-vanilla-s1",
                                                             "run-vanilla-s2"]
    for r in new:  # queued, never started: not deletable through the store
        shutil.rmtree(store.path(r.id))
    at.button_group(key="train.mode").set_value("twin").run()
    assert at.number_input(key="train.seeds.twin").value == 1


# ---------------------------------------------------------------- pure helpers
def test_scorecard_figure_draws_whiskers_only_where_there_is_a_ci():
    rows = [{"arm": "rsr-rows", "metric": "f1_unseen", "delta": -0.1, "ci_low": -0.3, "ci_high": 0.05, "n_seeds": 1},
            {"arm": "rsr-rows", "metric": "f1_notebook", "delta": 0.4, "ci_low": None, "ci_high": None, "n_seeds": 1},
            {"arm": "rsr-map", "metric": "f1_unseen", "delta": 0.02, "ci_low": 0.01, "ci_high": 0.03, "n_seeds": 3}]
    fig = charts.scorecard_figure(rows, presets.ARM_LABELS)
    rows_trace = next(t for t in fig.data if t.name == "RSR per-row")
    assert list(rows_trace.error_x.array) == [pytest.approx(0.15), None]
    assert list(rows_trace.error_x.arrayminus) == [pytest.approx(0.2), None]
    assert list(fig.layout.yaxis.ticktext) == [charts.SCORE_SHORT["f1_unseen"], charts.SCORE_SHORT["f1_notebook"]]
    y = {t.name: list(t.y) for t in fig.data}
    assert y["RSR per-row"][0] != y["RSR learned map"][0]  # the arms sit side by side, not on top of each other


def test_sweep_rows_are_means_with_t_intervals_across_seeds():
    frame = pd.DataFrame({"α": [0.0, 0.0, 0.1, 0.1, 0.2], "score": [1.0, 3.0, 2.0, 2.0, 5.0]})
    rows = {r["alpha"]: r for r in analysis.sweep_rows(frame, ["score"])}
    assert rows[0.0]["mean"] == 2.0 and rows[0.0]["ci_low"] < 1.0 and rows[0.0]["n_seeds"] == 2
    assert rows[0.1]["ci_low"] == rows[0.1]["ci_high"] == 2.0
    assert rows[0.2]["ci_low"] is None  # one run: no interval


def test_a_sweep_may_repeat_each_weight_over_seeds():
    base = RunConfig(train=TrainConfig(dim=16))
    configs = presets.sweep_configs(base, [0.0, 0.1], seeds=(1, 2))
    loss, weights = analysis.sweep_axis({c.name: c.to_dict() for c in configs})
    assert loss == "rsr" and sorted(weights.values()) == [0.0, 0.0, 0.1, 0.1]
