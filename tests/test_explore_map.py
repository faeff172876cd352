"""The Explore map's pure pieces (`labui.maps`, `labui.charts`): word search, placing words off a computed
map, word-arithmetic axes, an uploaded word,value column, and the figure's highlighting, labels and colours."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labui import mapcharts, maps
from w2vcore.errors import W2VError
from w2vcore.vectors import Vectors


@pytest.fixture
def toy() -> Vectors:
    """Hand-made 3-d vectors: he/she differ along axis 0 (he -1, she +1), small/big along axis 1."""
    words = ["he", "she", "small", "big", "king", "queen", "tiny", "huge"]
    rows = np.array([[-1, 0, 1], [1, 0, 1], [0, -1, 1], [0, 1, 1], [-1, 1, 1], [1, 1, 1], [0, -2, 1], [0, 2, 1]],
                    dtype=np.float32)
    return Vectors(words, rows, np.arange(8, 0, -1) * 10)


# ---------------------------------------------------------------- search
def test_search_finds_the_word_and_its_neighbours_by_cosine_in_the_full_vectors(toy):
    word, near = maps.search(toy, "Small", 2)  # as typed, else lower-cased
    assert word == "small"
    assert near[0][0] == "tiny" and near[1][0] in ("he", "she")  # cosines 0.95, then 0.5 (he and she tie)
    assert near[0][1] == pytest.approx(float(toy.get_vector("small", True) @ toy.get_vector("tiny", True)))
    assert maps.search(toy, "he", 0) == ("he", [])


def test_search_of_an_unknown_word_names_close_matches(toy):
    with pytest.raises(W2VError, match="queen"):
        maps.search(toy, "quen", 5)


def test_extra_words_land_where_pca_puts_them_and_beside_their_neighbours_on_umap():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    unit = rng.normal(size=(40, 12))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    shown, extra = unit[:30], unit[30:]
    pca = PCA(n_components=2, random_state=0).fit(shown)
    placed = maps.place_extra("pca", extra, shown, pca.transform(shown))
    assert np.allclose(placed, pca.transform(extra), atol=1e-8)
    few = unit[:5]  # fewer words than dimensions: the least-squares lift is still PCA's own
    pca = PCA(n_components=2, random_state=0).fit(few)
    assert np.allclose(maps.place_extra("pca", extra, few, pca.transform(few)), pca.transform(extra), atol=1e-8)
    xy = rng.normal(size=(30, 2))
    twin = shown[7:8]  # a word identical to a drawn one sits near it (weighted mean of its 1 nearest: exactly on it)
    assert np.allclose(maps.place_extra("umap", twin, shown, xy, k=1), xy[7])
    assert maps.place_extra("umap", extra, shown, xy).shape == (10, 2)


# ---------------------------------------------------------------- axes
def test_word_axes_on_a_hand_made_example(toy):
    x = maps.axis_vector(toy, maps.parse_axis("he -> she"))
    y = maps.axis_vector(toy, maps.parse_axis("small → big"))
    # unit(she) - unit(he) = (2/sqrt2, 0, 0): the axis is (1, 0, 0); small -> big: (0, 1, 0)
    assert np.allclose(x, [1, 0, 0], atol=1e-6) and np.allclose(y, [0, 1, 0], atol=1e-6)
    xy = maps.axes_project(toy.get_normed_vectors(), x, y)
    at = dict(zip(toy.index_to_key, xy))
    assert at["she"][0] == pytest.approx(1 / np.sqrt(2)) and at["he"][0] == pytest.approx(-1 / np.sqrt(2))
    assert at["queen"] == pytest.approx([1 / np.sqrt(3), 1 / np.sqrt(3)])
    assert at["huge"][1] == pytest.approx(2 / np.sqrt(5)) and at["tiny"][1] < at["small"][1] < 0
    single = maps.axis_vector(toy, maps.parse_axis("king"))
    assert np.allclose(single, toy.get_vector("king", True))
    assert maps.axis_title(maps.parse_axis("he=>she")) == "he → she"


@pytest.mark.parametrize("typed, message", [("he -> shee", "x axis: 'shee'"), ("", "one word"),
                                            ("he -> she -> it", "one word"), ("big dog", "one word"),
                                            ("he -> he", "no direction")])
def test_a_bad_axis_says_what_is_wrong(toy, typed, message):
    with pytest.raises(W2VError, match=message):
        maps.axis_vector(toy, maps.parse_axis(typed), "x axis")


# ---------------------------------------------------------------- uploaded column
def test_an_uploaded_word_value_file_is_read_with_or_without_a_header():
    table = maps.read_word_values(b"Word,valence,kind\ncat,0.8,animal\ndog,,animal\ncat,0.1,x\nzzz,0.5,thing\n")
    assert list(table.columns) == ["word", "valence", "kind"]
    assert list(table["word"]) == ["cat", "dog", "zzz"]  # the repeated cat keeps its first row
    assert table["valence"].dtype == float and np.isnan(table["valence"][1])
    assert table["kind"].tolist() == ["animal", "animal", "thing"]
    plain = maps.read_word_values("cat\t1\nsmall\t2.5\n".encode("utf-8"), "v.tsv")
    assert list(plain.columns) == ["word", "value"] and plain["value"].tolist() == [1.0, 2.5]
    values, counts = maps.word_values(table, "valence", ["cat", "dog", "he"], {"cat": 0, "dog": 1, "he": 2})
    assert values[0] == 0.8 and values[1:].isna().all()
    assert counts == {"unknown": 1, "missing": 2, "empty": 1, "rows": 3}


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"cat\ndog\n", "one column"),
                                           (b"term,score\ncat,1\n", "no word column"),
                                           (b"word,score\n", "no rows"), (b"\xff\xfe\x00c\xd8", "UTF-8")])
def test_a_bad_upload_says_what_to_change(data, message):
    with pytest.raises(W2VError, match=message):
        maps.read_word_values(data, "my.csv")


# ---------------------------------------------------------------- the figure
def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"word": [f"w{i}" for i in range(n)], "x": rng.normal(size=n), "y": rng.normal(size=n),
                         "log10 count": rng.uniform(0, 3, n)})


@pytest.mark.parametrize("n", [40, 12_000])
def test_a_searched_word_and_its_neighbours_are_labelled_at_any_map_size(n):
    frame = _frame(n)
    near = {"w5": 0.9, "w6": 0.8, "w7": 0.7}
    fig = mapcharts.projection_figure(frame, "log10 count", focus="w3", neighbours=near)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["w3"].text) == ["w3"] and by_name["w3"].marker.symbol == "star"
    assert sorted(by_name["neighbours (3)"].text) == ["w5", "w6", "w7"]
    assert list(by_name["neighbours (3)"].customdata) == [0.9, 0.8, 0.7]
    base = fig.data[0]
    assert len(base.x) == n and base.marker.color == mapcharts.DIM  # the rest dimmed
    if n < mapcharts.WEBGL_FROM:
        assert "w3" not in list(base.text) and "w5" not in list(base.text)  # labelled once, on top
    far = frame[["x", "y"]].abs().max().max()
    assert fig.layout.xaxis.range is not None and max(map(abs, fig.layout.xaxis.range)) < far  # zoomed to them
    isolated = mapcharts.projection_figure(frame, "log10 count", focus="w3", neighbours=near, show="isolate")
    assert sum(len(t.x) for t in isolated.data if t.x is not None) == 2 * 4  # base (4 points) + the highlights


def test_pasted_words_are_all_labelled_even_where_they_crowd():
    frame = pd.DataFrame({"word": [f"word{i}" for i in range(49)], "x": np.linspace(0, 0.01, 49), "y": np.zeros(49)})
    assert sum(bool(t) for t in mapcharts.sparse_labels(frame)) < 49  # crowded: sparse labels skip most
    fig = mapcharts.projection_figure(frame, labelled=frame["word"].tolist())
    labels = next(t for t in fig.data if t.name == "labels")
    assert list(labels.text) == frame["word"].tolist()
    assert not any(fig.data[0].text)  # not twice


def test_categories_get_distinct_colour_and_shape_pairs_and_one_can_be_highlighted():
    styles = [mapcharts.category_style(i) for i in range(27)]
    assert len(set(styles)) == 27 and len({c for c, _ in styles[:9]}) == 9
    assert all(c.upper() not in ("#BAB0AC", mapcharts.GREY.upper(), mapcharts.DIM.upper()) for c, _ in styles)  # no greys
    frame = _frame(60)
    frame["cat"] = [f"c{i % 12}" for i in range(60)]
    fig = mapcharts.projection_figure(frame, "cat")
    colours = {t.name: t.marker.color for t in fig.data}
    assert len({(t.marker.color, t.marker.symbol) for t in fig.data}) == 12
    one = mapcharts.projection_figure(frame, "cat", category="c3")
    tints = {t.legendgroup: t.marker.color for t in one.data}
    assert tints["c3"] == colours["c3 (5)"] and {c for g, c in tints.items() if g != "c3"} == {mapcharts.DIM}
    assert one.data[-1].legendgroup == "c3"  # drawn on top
    assert [t.name for t in one.data if t.showlegend is not False] == ["other (55)", "c3 (5)"]  # no grey entries


def test_an_uploaded_column_with_gaps_draws_them_grey():
    frame = _frame(30)
    frame["score"] = np.where(np.arange(30) % 3 == 0, np.nan, 1.0)
    fig = mapcharts.projection_figure(frame, "score")
    assert len(fig.data[0].x) == 20 and fig.data[1].name == "no value (10)"


def test_word_axes_show_their_titles():
    fig = mapcharts.projection_figure(_frame(10), axis_titles=("he → she (cosine)", "small → big (cosine)"))
    assert fig.layout.xaxis.title.text == "he → she (cosine)" and fig.layout.yaxis.title.text.startswith("small")
