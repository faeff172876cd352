"""Explore one finished run: nearest neighbours, similarity, analogies, a 2-D map of the vectors
(frequent words, a pasted list, or THINGS concepts coloured by category) and the map over
training, from the snapshots the run saved along the way.
"""
import numpy as np
import pandas as pd
import streamlit as st

from labui import analysis, cached, charts, panels, runs, settings, state, text
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


try:
    data_dir = state.settings()["data_dir"].strip() or (cached.config(info.id).data_dir or "")
except W2VError as e:
    st.warning(text.plain(e))
    data_dir = ""
has_things = things.available(data_dir)


@st.cache_data(show_spinner=False, max_entries=16)
def concepts(root: str, run_id: str, stamp: tuple, data_dir: str) -> tuple[pd.DataFrame, str]:
    """THINGS concepts in this run's vocabulary (word, concept, category) and the alignment summary."""
    frame, alignment = analysis.concept_table(cached.vectors(run_id).key_to_index, data_dir)
    return frame, alignment.summary()


WORD_SETS = {"frequent": "the most frequent", "pasted": "a pasted list", "things": "THINGS concepts"}


def neighbours_tab() -> None:
    left, right = st.columns([4, 1])
    words = analysis.parse_words(fold(left.text_input("Words", default_words(), key="explore.words",
                                                      help="separated by commas or spaces")))
    topn = right.slider("neighbours", 5, 50, 10, key="explore.topn")
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
    w1 = fold(a.text_input("first word", known[0], key="explore.sim1").strip())
    w2 = fold(b.text_input("second word", known[1], key="explore.sim2").strip())
    if w1 and w2:
        try:
            out.metric("cosine", f"{vec.similarity(w1, w2):.3f}")
        except W2VError as e:
            panels.word_error(e)
    st.markdown("**Analogy**: *a* is to *b* as *c* is to …")
    a, b, c, method = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    defaults = ("man", "king", "woman") if all(w in vec for w in ("man", "king", "woman")) else vec.index_to_key[:3]
    wa, wb, wc = (fold(col.text_input(name, word, key=f"explore.{name}").strip())
                  for col, name, word in zip((a, b, c), "abc", defaults))
    how = method.radio("method", ["3cosadd", "3cosmul"], horizontal=True, key="explore.method",
                       format_func={"3cosadd": "3CosAdd", "3cosmul": "3CosMul"}.get,
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
    a, c = st.columns([2, 3])
    which = a.radio("Words", ["frequent", "pasted"] + (["things"] if has_things else []), horizontal=True,
                    key="explore.set", format_func=WORD_SETS.get,
                    help=None if has_things else "THINGS concepts coloured by category appear here when the reference "
                                             "data folder (Data page, Reference data tab) has things/")
    table = None
    if which == "frequent":
        most = max(50, min(20_000, len(vec)))
        top = c.slider("how many", 50, most, min(1000, most), step=50, key="explore.n",
                       help=f"beyond {analysis.MAX_POINTS:,} words the map shows a random sample")
        words = vec.index_to_key[:top]
    elif which == "things":
        table, summary = concepts(str(runs.store().root), info.id, cached.vectors_stamp(info.id), data_dir)
        c.caption(f"THINGS: {text.plain(summary)}. Colour = the concept's category (\"several\" when it has more than one).")
        words = table["word"].tolist()
    else:
        typed = c.text_area("one word per line or comma separated", key="explore.paste", height=100)
        pasted = analysis.parse_words(fold(typed))
        words, unknown = analysis.split_known(pasted, vec.key_to_index)
        if unknown:
            st.warning(f"{len(unknown)} word(s) not in the vocabulary, left out: {text.plain(', '.join(unknown[:30]))}"
                       + (" …" if len(unknown) > 30 else ""))
    shown, sampled = analysis.sample_words(words)
    if sampled:
        st.info(f"Showing a random sample of {len(shown):,} of the {len(words):,} words, so the map stays fast.")
    if len(shown) < 3:
        st.info("The map needs at least 3 known words.")
        return
    # Both projections are drawn and the browser switches between them (no rerun): a computed UMAP is one click
    # away from the PCA, however slow the machine.
    pca, umap = st.tabs(["PCA", "UMAP"])
    with pca:
        st.caption("Linear: the two directions of largest variance.")
        draw_map(shown, "pca", 15, 0.1, which, table)
    with umap:
        a, b = st.columns(2)
        n_neighbors = a.slider("UMAP neighbours", 2, 100, 15, key="explore.nn", help="larger = more global structure")
        min_dist = b.slider("UMAP min_dist", 0.0, 0.99, 0.1, 0.01, key="explore.md", help="smaller = tighter clusters")
        args = (str(runs.store().root), info.id, cached.vectors_stamp(info.id), tuple(shown), "umap", n_neighbors,
                min_dist)
        if panels.computed_or_clicked(
                args, "explore.drawn", f"Compute the UMAP of {len(shown):,} words",
                "UMAP keeps local neighbourhoods. It waits for this button so that moving a slider never blocks "
                "the page; once computed it is cached.", key="explore.umap",
                help="UMAP takes seconds to minutes depending on the machine (the first one also compiles numba "
                     "code); the result is cached for this run and word set") and draw_map(
                shown, "umap", n_neighbors, min_dist, which, table):
            panels.computed(args, "explore.drawn")


def draw_map(shown: list[str], method: str, n_neighbors: int, min_dist: float, which: str,
             table: pd.DataFrame | None) -> bool:
    """One projection of `shown`, coloured by frequency or THINGS category; False (and a message) on failure."""
    try:
        with st.spinner(f"{method.upper()} of {len(shown):,} words…"):
            frame = project(str(runs.store().root), info.id, cached.vectors_stamp(info.id), tuple(shown), method,
                            n_neighbors, min_dist)
    except W2VError as e:
        st.error(text.plain(e))
        return False
    colour, symbol = ("log10 count" if "log10 count" in frame.columns else None), None
    if which == "things":
        frame = frame.merge(table[["word", "concept", "category"]], on="word", how="left")
        colour = "category"
        marks = cached.rsr_marks(info.id, data_dir)  # {} unless the run has an RSR spec (a flagship run's vanilla too)
        if marks:
            frame["RSR"] = [analysis.mark(w, marks) for w in frame["word"]]
            symbol = "RSR"
    st.plotly_chart(charts.projection_figure(frame, colour, symbol=symbol), key=f"explore.map.{method}")
    if symbol:
        st.caption("✕ = a concept RSR trained on (its row was pulled towards human similarity); ● = held out: RSR "
                   "never saw it. Clusters of ✕ show the fit; only the ● concepts say whether it transfers.")
    return True


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
            st.plotly_chart(charts.trajectory_figure(coords, words_t, points, groups), key="explore.trajectory")
            st.caption(f"{len(points)} snapshots from the random start (0%) to the end (100%), drawn in the final "
                       f"PCA plane of these words. {how} Press ▶ or drag the slider.")


panels.lazy_tabs({"Neighbours": neighbours_tab, "Similarity & analogies": similarity_tab, "Map": map_tab,
                  "Over training": over_training_tab}, key="explore.tab")
