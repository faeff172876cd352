"""Explore in AppTest: search and highlight on the map, word-arithmetic axes, colour by an uploaded
column or one category, inputs that survive tab switches and a refresh (a new AppTest session on the same
runs folder), and an imported embedding.

Run folders are written directly (no training), so these tests are fast."""
from __future__ import annotations

import json

import numpy as np
import pytest

from apptest import app, open_tab, texts

from labui import state
from w2vcore.embeddings import import_embedding
from w2vcore.runs import RunStore
from test_app_state import write_run


@pytest.fixture
def lab(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("W2V_RUNS_DIR", str(root))
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    return root, write_run(root, "20260101-000000-toy", "toy")


def map_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def test_search_highlights_the_word_and_its_neighbours_on_every_projection(lab):
    _, run = lab
    at = app("pages/explore.py", runs=[run])
    open_tab(at, "Map")
    at.text_input(key="explore.search").input("Cat").run()  # lower-cased like the vocabulary
    at.slider(key="explore.k").set_value(4).run()
    assert not at.exception
    pca, axes = map_specs(at)  # UMAP waits for its button
    for spec in (pca, axes):
        assert trace(spec, "cat")["text"] == ["cat"]
        assert len(trace(spec, "neighbours (4)")["text"]) == 4
    at.radio(key="explore.show").set_value("isolate").run()
    pca = map_specs(at)[0]
    drawn = {w for t in pca["data"] for w in t.get("hovertext") or t.get("text") or []}
    assert drawn == {"cat"} | set(trace(pca, "neighbours (4)")["text"])  # only the word and its 4 neighbours
    at.text_input(key="explore.search").input("caat").run()
    assert "did you mean 'cat'" in texts(at)


def test_a_searched_word_off_the_word_set_is_added_to_the_map(lab):
    _, run = lab
    at = app("pages/explore.py", runs=[run])
    open_tab(at, "Map")
    at.radio(key="explore.set").set_value("pasted").run()
    at.text_area(key="explore.paste").input("the cat dog car hammer").run()
    at.text_input(key="explore.search").input("w30").run()
    assert not at.exception
    pca = map_specs(at)[0]
    assert trace(pca, "w30")["text"] == ["w30"]
    assert "not in the map's word set" in texts(at)
    labels = trace(pca, "labels")["text"]  # pasted words keep their labels beside the highlights
    assert set(labels) | set(trace(pca, "neighbours (10)")["text"]) >= {"the", "cat", "dog", "car", "hammer"}


def test_word_axes_and_a_bad_axis_naming_the_word(lab):
    _, run = lab
    at = app("pages/explore.py", runs=[run])
    open_tab(at, "Map")
    at.text_input(key="explore.ax").input("cat -> dog").run()
    at.text_input(key="explore.ay").input("apple").run()
    axes = map_specs(at)[-1]
    assert axes["layout"]["xaxis"]["title"]["text"] == "cat → dog (cosine)"
    assert axes["layout"]["yaxis"]["title"]["text"] == "apple (cosine)"
    at.text_input(key="explore.ay").input("apple -> zebra").run()
    assert "y axis: 'zebra' is not in the vocabulary" in texts(at) and at.error


def test_colour_by_an_uploaded_column_and_one_category(lab):
    _, run = lab
    at = app("pages/explore.py", runs=[run])
    open_tab(at, "Map")
    at.selectbox(key="explore.colour").set_value("upload").run()
    assert "Upload a CSV" in texts(at)
    # AppTest cannot upload a file: put the parsed table where the uploader leaves it
    from labui import maps
    table = maps.read_word_values(b"word,kind\ncat,pet\ndog,pet\ncar,thing\nzebra,animal\n", "kinds.csv")
    at.session_state["explore.colours"] = ("file-1", "kinds.csv", table)
    at.run()
    assert "1 of its words are not in this embedding" in texts(at)
    pca = map_specs(at)[0]
    assert trace(pca, "pet (2)") and trace(pca, "no value (45)")  # 48 words, 3 with a value
    at.selectbox(key="explore.focus").set_value("pet").run()
    pca = map_specs(at)[0]
    assert trace(pca, "thing (1)")["marker"]["color"] == "#dcdcdc" and pca["data"][-1]["name"] == "pet (2)"


def test_explore_inputs_survive_tab_switches_and_a_refresh(lab):
    root, run = lab
    at = app("pages/explore.py", runs=[run])
    at.text_input(key="explore.words").input("dog, apple").run()
    at.slider(key="explore.topn").set_value(7).run()
    open_tab(at, "Similarity & analogies")
    at.text_input(key="explore.sim1").input("car").run()
    at.text_input(key="explore.a").input("dog").run()
    at.radio(key="explore.method").set_value("3cosmul").run()
    open_tab(at, "Map")
    at.radio(key="explore.set").set_value("pasted").run()
    at.text_area(key="explore.paste").input("cat dog apple").run()
    at.text_input(key="explore.search").input("dog").run()
    at.slider(key="explore.k").set_value(3).run()
    at.text_input(key="explore.ax").input("cat -> car").run()
    at.selectbox(key="explore.colour").set_value("none").run()
    open_tab(at, "Neighbours")  # the map's widgets are gone now
    assert at.text_input(key="explore.words").value == "dog, apple" and at.slider(key="explore.topn").value == 7
    for session in (at, app("pages/explore.py", runs=[run])):  # the second: a refresh (a new browser session)
        open_tab(session, "Neighbours")
        assert session.text_input(key="explore.words").value == "dog, apple"
        assert session.slider(key="explore.topn").value == 7
        open_tab(session, "Similarity & analogies")
        assert session.text_input(key="explore.sim1").value == "car"
        assert session.text_input(key="explore.a").value == "dog"
        assert session.radio(key="explore.method").value == "3cosmul"
        open_tab(session, "Map")
        assert session.radio(key="explore.set").value == "pasted"
        assert session.text_area(key="explore.paste").value == "cat dog apple"
        assert session.text_input(key="explore.search").value == "dog"
        assert session.slider(key="explore.k").value == 3
        assert session.text_input(key="explore.ax").value == "cat -> car"
        assert session.selectbox(key="explore.colour").value == "none"
    saved = json.loads((root / state.SETTINGS_FILE).read_text())
    assert saved["explore.paste"] == "cat dog apple"


def test_a_stale_or_hand_edited_saved_input_falls_back(lab):
    root, run = lab
    (root / state.SETTINGS_FILE).write_text(json.dumps({"explore.topn": 999, "explore.k": "ten", "explore.set": "nope",
                                                        "explore.md": True, "explore.search": "cat"}))
    at = app("pages/explore.py", runs=[run])
    assert at.slider(key="explore.topn").value == 50  # clamped to the slider's range
    open_tab(at, "Map")
    assert at.slider(key="explore.k").value == 10 and at.radio(key="explore.set").value == "frequent"
    assert at.text_input(key="explore.search").value == "cat"


def test_an_imported_embedding_explores_without_warnings_and_has_no_snapshots(lab, tmp_path):
    root, _ = lab
    words = ["the", "cat", "dog", "car", "king", "queen", "man", "woman"] + [f"x{i}" for i in range(30)]
    rng = np.random.default_rng(3)
    path = tmp_path / "glove.txt"
    path.write_text("".join(f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=5)) + "\n" for w in words))
    store = RunStore(root, tmp_path / "cache")
    imported = import_embedding(store, path, name="My GloVe")
    at = app("pages/explore.py", runs=[imported])
    assert not at.warning and not at.error, [w.value for w in at.warning]
    assert "My GloVe" in texts(at)
    open_tab(at, "Map")
    at.text_input(key="explore.search").input("king").run()
    assert not at.exception and not at.error
    assert trace(map_specs(at)[0], "king")
    open_tab(at, "Over training")
    assert "imported embedding" in texts(at) and "no snapshots" in texts(at)
