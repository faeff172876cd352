"""Explore one finished run or imported embedding: nearest neighbours, similarity, analogies, a 2-D map
of the vectors (frequent words, a pasted list, or THINGS concepts; PCA, UMAP or word-arithmetic axes) with
word search and highlighting and colour by frequency, THINGS category or an uploaded column, and the map
over training, from the snapshots a run saved along the way. Typed inputs are kept with the settings
(`state.PAGE_INPUTS`), so tab switches and refreshes keep them.
"""
import numpy as np
import pandas as pd
import streamlit as st

from labui import analysis, cached, maps, mapcharts, panels, runs, settings, state, text
from w2vcore import things
from w2vcore.errors import W2VError

st.title("Explore")
chosen = runs.readable(runs.infos(runs.selected()))
candidates = [i for i in chosen if runs.has_vectors(i)]
for info in chosen:
    if info.status == "failed" and not runs.has_vectors(info):
        st.error(f"**{text.plain(info.name)}** failed: {text.plain(info.error)}")
if not candidates:
    st.info("Pick a run that has finished (or was stopped) in the sidebar: its vectors are explored here.")
    st.stop()
if len(candidates) > 1:
    pick = st.segmented_control("Run", [i.id for i in candidates], default=candidates[0].id, required=True,
                                format_func=lambda i: text.plain(next(c.name for c in candidates if c.id == i)),
                                key="explore.run")
    info = next(c for c in candidates if c.id == pick)
else:
    info = candidates[0]
try:
    vec = cached.vectors(info.id)
except W2VError as e:
    st.error(text.plain(e))
    st.stop()
st.caption(f"**{text.plain(info.name)}**: {len(vec):,} words × {vec.vector_size} dimensions ({info.status}).")
fold = cached.fold(info.id)  # typed words are lower-cased when the run's tokenizer did so


def default_words(n: int = 4, min_count: int = 100) -> str:
    """Words the corpus saw often enough to say something: the notebook's, else everyday topic words
    (water, music, city, ...), else frequent long words."""
    count = (lambda w: vec.counts[vec.key_to_index[w]]) if vec.counts is not None else (lambda w: min_count)
    words = [w for w in settings.NOTEBOOK_WORDS if w in vec and count(w) >= min_count]
    if len(words) < 2:
        words += [w for w in settings.TOPIC_WORDS if w in vec and count(w) >= min_count][:n - len(words)]
    if len(words) < 2:
        words += [w for w in vec.index_to_key[100:1000] if len(w) >= 5 and w not in words][:n - len(words)]
    return ", ".join(words)


data_dir = state.settings()["data_dir"].strip()
if not data_dir and info.kind != "imported":  # an imported embedding has no config: the settings' folder only
    try:
        data_dir = cached.config(info.id).data_dir or ""
    except W2VError as e:
        st.warning(text.plain(e))
has_things = things.available(data_dir)


@st.cache_data(show_spinner=False, max_entries=16)
def concepts(root: str, run_id: str, stamp: tuple, data_dir: str) -> tuple[pd.DataFrame, str]:
    """THINGS concepts in this run's vocabulary (word, concept, category) and the alignment summary."""
    frame, alignment = analysis.concept_table(cached.vectors(run_id).key_to_index, data_dir)
    return frame, alignment.summary()


WORD_SETS = {"frequent": "the most frequent", "pasted": "a pasted list", "things": "THINGS concepts"}


def neighbours_tab() -> None:
    left, right = st.columns([4, 1])
    words = analysis.parse_words(fold(state.keep(left.text_input, "Words", "explore.words", default_words(),
                                                 help="separated by commas or spaces")))
    topn = state.keep(right.slider, "neighbours", "explore.topn", 10, min_value=5, max_value=50)
    if not words:
        st.info("Type one or more words.")
    marks = cached.rsr_marks(info.id, data_dir)  # {} unless the run has an RSR spec
    cols = st.columns(min(4, max(1, len(words))))
    for i, word in enumerate(words):
        with cols[i % len(cols)]:
            try:
                table = pd.DataFrame(vec.most_similar(word, topn=topn), columns=["neighbour", "cosine"])
            except W2VError as e:
                panels.word_error(e)
                continue
            if marks:
                table["neighbour"] = [analysis.marked(w, marks) for w in table["neighbour"]]
            status = f" ({text.plain(analysis.mark(word, marks))})" if marks else ""
            st.markdown(f"**{text.plain(word)}**{status}")
            st.dataframe(table, hide_index=True, column_config={"cosine": st.column_config.NumberColumn(format="%.3f")})
    if marks and words:
        st.caption("▲ = a THINGS concept RSR trained on; △ = a THINGS concept RSR never saw (held out).")


def similarity_tab() -> None:
    st.markdown("**Similarity of two words**")
    a, b, out = st.columns([2, 2, 1], vertical_alignment="bottom")
    known = [w for w in settings.NOTEBOOK_WORDS if w in vec] + vec.index_to_key[:2]
    w1 = fold(state.keep(a.text_input, "first word", "explore.sim1", known[0]).strip())
    w2 = fold(state.keep(b.text_input, "second word", "explore.sim2", known[1]).strip())
    if w1 and w2:
        try:
            out.metric("cosine", f"{vec.similarity(w1, w2):.3f}")
        except W2VError as e:
            panels.word_error(e)
    st.markdown("**Analogy**: *a* is to *b* as *c* is to …")
    a, b, c, method = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    defaults = ("man", "king", "woman") if all(w in vec for w in ("man", "king", "woman")) else vec.index_to_key[:3]
    wa, wb, wc = (fold(state.keep(col.text_input, name, f"explore.{name}", word).strip())
                  for col, name, word in zip((a, b, c), "abc", defaults))
    how = state.keep(method.radio, "method", "explore.method", "3cosadd", options=["3cosadd", "3cosmul"],
                     horizontal=True, format_func={"3cosadd": "3CosAdd", "3cosmul": "3CosMul"}.get,
                       help="3CosAdd ranks by cos(x, b − a + c); 3CosMul (Levy & Goldberg) multiplies the "
                            "similarities, so one large term dominates less")
    if wa and wb and wc:
        try:
            answers = vec.analogy(wa, wb, wc, method=how, topn=5)
            st.dataframe(pd.DataFrame(answers, columns=["answer", "score"]), hide_index=True,
                         column_config={"score": st.column_config.NumberColumn(format="%.3f")})
        except W2VError as e:
            panels.word_error(e)
    else:
        st.info("Fill in a, b and c.")


@st.cache_data(show_spinner=False, max_entries=32)
def project(root: str, run_id: str, stamp: tuple, words: tuple, method: str, n_neighbors: int,
            min_dist: float) -> pd.DataFrame:
    """2-D coordinates of `words`, cached per run (and vectors file version), word set and method."""
    v = cached.vectors(run_id)
    rows = np.array([v.key_to_index[w] for w in words])
    xy = analysis.project(v.vectors[rows], method, n_neighbors=n_neighbors, min_dist=min_dist)
    frame = pd.DataFrame({"word": words, "x": xy[:, 0], "y": xy[:, 1]})
    if v.counts is not None:
        frame["log10 count"] = np.log10(np.maximum(v.counts[rows], 1))
    return frame


@st.cache_resource(show_spinner=False)
def umap_warm_up():
    """Once per server: UMAP's compile runs while the user looks at the other tabs."""
    return analysis.warm_umap()


umap_warm_up()


def map_tab() -> None:
    words, which, table = map_words()
    shown, sampled = analysis.sample_words(words)
    focus, near = search_box()
    if sampled:
        st.info(f"Showing a random sample of {len(shown):,} of the {len(words):,} words, so the map stays fast"
                + (" (the searched word and its neighbours are always drawn)." if focus else "."))
    if len(shown) < 3:
        st.info("The map needs at least 3 known words.")
        return
    on_map = set(shown)
    extra = [w for w in [focus, *near] if w and w not in on_map]
    if which == "things" and st.session_state.get("explore.last_set", "things") != "things" and has_things:
        state.update_setting("explore.colour", "category")  # switching to THINGS concepts colours by category
        st.session_state["explore.colour"] = "category"
    st.session_state["explore.last_set"] = which
    colour = colour_controls(which, table)
    look = dict(focus=focus, neighbours=near, show=state.settings()["explore.show"],
                labelled=shown if which == "pasted" else ())
    # Every projection is drawn and the browser switches between them (no rerun): a computed UMAP is one click
    # away from the PCA, however slow the machine.
    pca, umap, axes = st.tabs(["PCA", "UMAP", "Axes"])
    with pca:
        st.caption("Linear: the two directions of largest variance.")
        draw_map(shown, extra, "pca", 15, 0.1, colour, look)
    with umap:
        a, b = st.columns(2)
        n_neighbors = state.keep(a.slider, "UMAP neighbours", "explore.nn", 15, min_value=2, max_value=100,
                                 help="larger = more global structure")
        min_dist = state.keep(b.slider, "UMAP min_dist", "explore.md", 0.1, min_value=0.0, max_value=0.99, step=0.01,
                              help="smaller = tighter clusters")
        args = (str(runs.store().root), info.id, cached.vectors_stamp(info.id), tuple(shown), "umap", n_neighbors,
                min_dist)
        if panels.computed_or_clicked(
                args, "explore.drawn", f"Compute the UMAP of {len(shown):,} words",
                "UMAP keeps local neighbourhoods. It waits for this button so that moving a slider never blocks "
                "the page; once computed it is cached.", key="explore.umap",
                help="UMAP takes seconds to minutes depending on the machine (the first one also compiles numba "
                     "code); the result is cached for this run and word set") and draw_map(
                shown, extra, "umap", n_neighbors, min_dist, colour, look):
            panels.computed(args, "explore.drawn")
    with axes:
        axes_map(shown + extra, colour, look)


def map_words() -> tuple[list[str], str, pd.DataFrame | None]:
    """The map's word set as chosen (frequent, pasted, THINGS concepts), which set, and the concept table."""
    a, c = st.columns([2, 3])
    which = state.keep(a.radio, "Words", "explore.set", "frequent",
                       options=["frequent", "pasted"] + (["things"] if has_things else []), horizontal=True,
                       format_func=WORD_SETS.get,
                       help=None if has_things else "THINGS concepts coloured by category appear here when the "
                                                    "reference data folder (Data page, Reference data tab) has things/")
    table = None
    if which == "frequent":
        most = min(20_000, len(vec))
        if most > 50:
            top = state.keep(c.slider, "how many", "explore.n", min(1000, most), min_value=50, max_value=most,
                             step=50, help=f"beyond {analysis.MAX_POINTS:,} words the map shows a random sample")
        else:
            top = most
            c.caption(f"All {most} words of the vocabulary.")
        words = vec.index_to_key[:top]
    elif which == "things":
        table = concept_table()
        c.caption(f"THINGS: {text.plain(concept_summary())}.")
        words = table["word"].tolist()
    else:
        typed = state.keep(c.text_area, "one word per line or comma separated", "explore.paste", "", height=100,
                           help="every pasted word is labelled on the map")
        words, unknown = analysis.split_known(analysis.parse_words(fold(typed)), vec.key_to_index)
        if unknown:
            st.warning(f"{len(unknown)} word(s) not in the vocabulary, left out: {text.plain(', '.join(unknown[:30]))}"
                       + (" …" if len(unknown) > 30 else ""))
    return words, which, table


def concept_table() -> pd.DataFrame:
    return concepts(str(runs.store().root), info.id, cached.vectors_stamp(info.id), data_dir)[0]


def concept_summary() -> str:
    return concepts(str(runs.store().root), info.id, cached.vectors_stamp(info.id), data_dir)[1]


def search_box() -> tuple[str | None, dict[str, float]]:
    """The searched word (as the vocabulary spells it, or None) and its neighbours {word: cosine}."""
    a, b, c = st.columns([3, 2, 2], vertical_alignment="bottom")
    query = state.keep(a.text_input, "Find a word", "explore.search", "", placeholder="a word to highlight",
                       help="the word and its nearest neighbours (cosine in the full vectors, not on the map) are "
                            "highlighted and labelled; the other words are dimmed or hidden")
    k = state.keep(b.slider, "neighbours to highlight", "explore.k", 10, min_value=0, max_value=50)
    state.keep(c.radio, "the other words", "explore.show", "dim", options=["dim", "isolate"], horizontal=True,
               format_func={"dim": "dim the rest", "isolate": "isolate"}.get,
               help="isolate: only the word and its neighbours are drawn")
    if not query.strip():
        return None, {}
    try:
        word, near = maps.search(vec, fold(query), k)
    except W2VError as e:
        panels.word_error(e)
        return None, {}
    return word, dict(near)


COLOURS = {"frequency": "word frequency", "category": "THINGS category", "upload": "a column you upload",
           "none": "one colour"}


def colour_controls(which: str, table: pd.DataFrame | None) -> dict:
    """What colours the map: {"by": choice, "column": uploaded column, "category": one category or None}."""
    options = (["frequency"] if vec.counts is not None else []) + (["category"] if has_things else []) + \
              ["upload", "none"]
    default = "category" if which == "things" else options[0]
    a, b, c = st.columns([2, 2, 3], vertical_alignment="bottom")
    by = state.keep(a.selectbox, "Colour", "explore.colour", default, options=options, format_func=COLOURS.get,
                    help="THINGS category: each word that is a THINGS concept; a column you upload: a CSV/TSV of "
                         "word,value (numbers: a colour scale; text: categories)")
    out = {"by": by, "column": None, "category": None, "values": None}
    if by == "upload":
        out.update(upload_controls(c))
    categories = category_values(out)
    if categories:
        pick = state.keep(b.selectbox, "highlight one category", "explore.focus", "all",
                          options=["all"] + categories, help="that category in colour, the rest grey")
        out["category"] = None if pick == "all" else pick
    return out


def category_values(colour: dict) -> list[str]:
    """The categories a "highlight one category" box offers (none for a continuous colour)."""
    if colour["by"] == "category":
        return sorted(set(concept_table()["category"]) - {"none", "several"})
    values = colour.get("values")
    if values is not None and not pd.api.types.is_numeric_dtype(values):
        return sorted(values.dropna().astype(str).unique())[:200]
    return []


def upload_controls(where) -> dict:
    """The uploader, the column picker and the messages; the parsed table lives in session state."""
    with where:
        upload = st.file_uploader("word,value file (CSV or TSV)", type=["csv", "tsv", "txt"], key="explore.upload",
                                  help="a header row naming a `word` column (or no header and numbers after each "
                                       "word); numbers get a colour scale, text gets categories")
    held = st.session_state.get("explore.colours")
    if upload is not None and (held is None or held[0] != upload.file_id):
        try:
            table = maps.read_word_values(upload.getvalue(), upload.name)
        except W2VError as e:
            st.error(text.plain(e))
            return {}
        held = st.session_state["explore.colours"] = (upload.file_id, upload.name, table)
    if held is None:
        st.info("Upload a CSV/TSV of words and values to colour the map by it.")
        return {}
    _, name, table = held
    columns = list(table.columns[1:])
    column = state.keep(where.selectbox, "column", "explore.column", columns[0], options=columns) \
        if len(columns) > 1 else columns[0]
    vocab = vec.key_to_index
    _, counts = maps.word_values(table, column, [], vocab)
    notes = [f"**{text.plain(name)}**: {counts['rows']:,} words, colouring by {text.plain(column)}"]
    if counts["unknown"]:
        notes.append(f"{counts['unknown']:,} of its words are not in this embedding")
    if counts["empty"]:
        notes.append(f"{counts['empty']:,} have no value (NaN or empty): grey")
    st.caption("; ".join(notes) + ". Map words without a value are grey.")
    return {"column": column, "values": table[column], "table": table}


def decorate(frame: pd.DataFrame, colour: dict) -> tuple[pd.DataFrame, str | None, str | None]:
    """The map's frame with its colour column (and RSR's split as a symbol column on THINGS concepts)."""
    by, symbol = colour["by"], None
    if by == "frequency":
        return frame, ("log10 count" if "log10 count" in frame.columns else None), None
    if by == "category":
        frame = frame.merge(concept_table()[["word", "concept", "category"]], on="word", how="left")
        frame["category"] = frame["category"].fillna("none")
        marks = cached.rsr_marks(info.id, data_dir)  # {} unless the run has an RSR spec (a flagship run's vanilla too)
        if marks:
            frame["RSR"] = [analysis.mark(w, marks) for w in frame["word"]]
            symbol = "RSR"
        return frame, "category", symbol
    if by == "upload" and colour.get("column"):
        values, _ = maps.word_values(colour["table"], colour["column"], frame["word"].tolist(), vec.key_to_index)
        frame = frame.assign(**{colour["column"]: values.to_numpy()})
        return frame, colour["column"], None
    return frame, None, None


def draw_map(shown: list[str], extra: list[str], method: str, n_neighbors: int, min_dist: float, colour: dict,
             look: dict) -> bool:
    """One projection of `shown` (plus `extra`: searched words off the word set, placed on it), coloured and
    highlighted; False (and a message) on failure."""
    try:
        with st.spinner(f"{method.upper()} of {len(shown):,} words…"):
            frame = project(str(runs.store().root), info.id, cached.vectors_stamp(info.id), tuple(shown), method,
                            n_neighbors, min_dist)
    except W2VError as e:
        st.error(text.plain(e))
        return False
    if extra:
        frame = pd.concat([frame, placed(frame, extra, method)], ignore_index=True)
    show(frame, colour, look, key=f"explore.map.{method}")
    if extra:
        how = "where PCA puts them" if method == "pca" else "beside their nearest words on this map"
        st.caption(f"{len(extra)} highlighted word(s) are not in the map's word set: drawn {how}.")
    return True


def placed(frame: pd.DataFrame, extra: list[str], method: str) -> pd.DataFrame:
    """Rows for words off the computed map (`maps.place_extra`)."""
    unit = vec.get_normed_vectors()
    rows = [vec.key_to_index[w] for w in frame["word"]]
    xy = maps.place_extra(method, unit[[vec.key_to_index[w] for w in extra]], unit[rows],
                              frame[["x", "y"]].to_numpy(float))
    out = pd.DataFrame({"word": extra, "x": xy[:, 0], "y": xy[:, 1]})
    if vec.counts is not None:
        out["log10 count"] = np.log10(np.maximum(vec.counts[[vec.key_to_index[w] for w in extra]], 1))
    return out


def show(frame: pd.DataFrame, colour: dict, look: dict, key: str, axis_titles: tuple[str, str] | None = None) -> None:
    frame, column, symbol = decorate(frame, colour)
    fig = mapcharts.projection_figure(frame, column, symbol=symbol, category=colour["category"],
                                   axis_titles=axis_titles, **look)
    st.plotly_chart(fig, key=key)
    if fig.layout.xaxis.range is not None:
        st.caption("The view starts on the highlighted words: the chart's Autoscale button shows the whole map.")
    if symbol:
        st.caption("✕ = a concept RSR trained on (its row was pulled towards human similarity); ● = held out: RSR "
                   "never saw it. Clusters of ✕ show the fit; only the ● concepts say whether it transfers.")


def axis_default(pairs: tuple[tuple[str, str], ...], fallback: int) -> str:
    """The first word pair the vocabulary has ("he -> she"), else two frequent words."""
    for a, b in pairs:
        if a in vec and b in vec:
            return f"{a} -> {b}"
    return f"{vec.index_to_key[fallback]} -> {vec.index_to_key[fallback + 1]}" if len(vec) > fallback + 1 \
        else vec.index_to_key[0]


def axes_map(words: list[str], colour: dict, look: dict) -> None:
    """Word-arithmetic axes: x and y each a word difference or one word; coordinate = cosine with the axis."""
    st.caption("Each axis is a direction: `he -> she` (from one word to another) or one word. A word sits at "
               "its cosine with each direction, so words far right are more *she* than *he*.")
    a, b = st.columns(2)
    x_text = state.keep(a.text_input, "x axis", "explore.ax", axis_default((("he", "she"), ("man", "woman")), 0))
    y_text = state.keep(b.text_input, "y axis", "explore.ay",
                        axis_default((("small", "big"), ("small", "large"), ("bad", "good")), 2))
    try:
        specs = maps.parse_axis(fold(x_text)), maps.parse_axis(fold(y_text))
        x_axis = maps.axis_vector(vec, specs[0], "x axis")
        y_axis = maps.axis_vector(vec, specs[1], "y axis")
    except W2VError as e:
        st.error(text.plain(e), icon=":material/search_off:")
        return
    rows = [vec.key_to_index[w] for w in words]
    xy = maps.axes_project(vec.get_normed_vectors()[rows], x_axis, y_axis)
    frame = pd.DataFrame({"word": words, "x": xy[:, 0], "y": xy[:, 1]})
    if vec.counts is not None:
        frame["log10 count"] = np.log10(np.maximum(vec.counts[rows], 1))
    titles = tuple(f"{maps.axis_title(s)} (cosine)" for s in specs)
    show(frame, colour, look, key="explore.map.axes", axis_titles=titles)
    cos = float(x_axis @ y_axis)
    if abs(cos) > 0.5:
        st.caption(f"The two directions are far from independent (cosine {cos:.2f}): the map squeezes along a diagonal.")


@st.cache_data(show_spinner=False, max_entries=8)
def trajectory(root: str, run_id: str, points: tuple, words: tuple) -> tuple[list[np.ndarray], str]:
    snaps = [runs.store().load_snapshot(run_id, p) for p in points]
    return analysis.trajectory([snap.vectors for snap in snaps], [snaps[0].key_to_index[w] for w in words])


def over_training_tab() -> None:
    try:
        draw_over_training()
    except runs.READ_ERRORS as e:  # W2VError included: a missing or damaged snapshot file
        st.error(text.plain(f"The snapshots of this run cannot be read: {e}"))


def draw_over_training() -> None:
    if info.kind == "imported":
        st.info("This is an imported embedding: it has no snapshots from training, only its final vectors "
                "(the other tabs explore them).")
        return
    points = runs.store().snapshots(info.id)
    if len(points) < 2:
        st.info("This run saved fewer than two snapshots (runs save `snapshots` of them, 10 by default, as they "
                "train; runs from before snapshots existed have none).")
    else:
        first = runs.store().load_snapshot(info.id, points[0])
        a, b = st.columns([2, 3])
        which_t = a.radio("Words", ["frequent", "things"] if has_things else ["frequent"], horizontal=True,
                          key="explore.t.set", format_func=WORD_SETS.get)
        groups = None
        if which_t == "things":
            table, _ = concepts(str(runs.store().root), info.id, cached.vectors_stamp(info.id), data_dir)
            table = table[table["word"].isin(first.key_to_index)]
            top_cats = table["category"].value_counts().index[:8]
            table = table[table["category"].isin(top_cats)].head(400)
            words_t, groups = table["word"].tolist(), table["category"].tolist()
            b.caption("The concepts of the 8 largest THINGS categories (at most 400), coloured by category.")
        else:
            n = b.slider("how many", 20, min(500, len(first)), min(100, len(first)), step=10, key="explore.t.n",
                         help="the most frequent words; snapshots keep the top "
                              f"{len(first):,} words of the vocabulary")
            words_t = first.index_to_key[:n]
        if len(words_t) < 3:
            st.info("The map needs at least 3 words.")
        else:
            coords, how = trajectory(str(runs.store().root), info.id, tuple(points), tuple(words_t))
            st.plotly_chart(mapcharts.trajectory_figure(coords, words_t, points, groups), key="explore.trajectory")
            st.caption(f"{len(points)} snapshots from the random start (0%) to the end (100%), drawn in the final "
                       f"PCA plane of these words. {how} Press ▶ or drag the slider.")


panels.lazy_tabs({"Neighbours": neighbours_tab, "Similarity & analogies": similarity_tab, "Map": map_tab,
                  "Over training": over_training_tab}, key="explore.tab")
