"""Values (ValueVec): embeddings whose cosine similarity follows a continuous value (wavelength,
valence, a THINGS rating, your own word,value CSV). Train the article's standalone model here and
see whether the map is ordered by the value; score a finished run against the same values. The
regulariser version (loss "valuevec") is on the Train page's Losses tab."""
import numpy as np
import pandas as pd
import streamlit as st

from labui import analysis, cached, mapcharts, runs, state, text
from w2vcore import things
from w2vcore.errors import W2VError
from w2vcore.sources import save_upload
from w2vcore.losses.valuevec.trainers import ValueVecConfig, train_valuevec
from w2vcore.losses.valuevec.values import load_values, value_scores

SOURCES = {"colours": "colour spectrum (wavelength, generated)", "vader": "VADER valence (ships with vaderSentiment)",
           "things": "a THINGS rating", "csv": "my word,value CSV"}
RATINGS = ("pleasant", "arousing", "natural", "moves", "manmade", "precious", "lives", "heavy", "grasp", "hold",
           "be.moved")

st.title("Values")
data_dir = state.settings()["data_dir"].strip()
has_things = things.available(data_dir)
left, right = st.columns([3, 2])
kind = left.radio("Values", [k for k in SOURCES if k != "things" or has_things], horizontal=True, key="values.source",
                  format_func=SOURCES.get)
source = kind
if kind == "things":
    source = "things:" + right.selectbox("rating", RATINGS, key="values.rating")
elif kind == "csv":
    upload = right.file_uploader("word,value CSV", type=["csv", "txt"], key="values.csv")
    if upload is None:
        st.info("Upload a CSV with one `word,value` per line (a header line is optional).")
        st.stop()
    try:
        source = save_upload(upload.getvalue(), upload.name, runs.store().cache_dir / "uploads").path
    except W2VError as e:
        st.error(text.plain(e))
        st.stop()
try:
    values = load_values(source, data_dir or None)
except W2VError as e:
    st.error(text.plain(e))
    st.stop()
st.caption(f"{len(values):,} words, values {min(values.values()):.3g} … {max(values.values()):.3g}.")

standalone, on_run = st.tabs(["Standalone ValueVec", "Score a run"])

with standalone:
    a, b, c, d = st.columns(4)
    mode = a.radio("mode", ["faithful", "fast"], horizontal=True, key="values.mode",
                   help="faithful: the article's averaged per-epoch updates with re-normalised rows; fast: Adam")
    dim = b.slider("dimensions", 2, 64, 16, key="values.dim")
    window = c.slider("window", 1, 10, 3, key="values.window", help="positives: neighbours either side in value order")
    limit = d.slider("words (at most)", 50, 3000, min(500, max(50, len(values))), step=50, key="values.limit",
                     help="a seeded sample of the words when there are more; the article's model is per word")
    words = list(values)
    if len(words) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(words), limit, replace=False))
        words = [words[i] for i in keep]
    subset = {w: values[w] for w in words}
    if st.button("Train ValueVec", type="primary", key="values.train"):
        try:
            with st.spinner(f"Training {mode} ValueVec on {len(subset):,} words…"):
                result = train_valuevec(subset, ValueVecConfig(mode=mode, dim=dim, window=window))
            st.session_state["values.result"] = (source, mode, result)
        except W2VError as e:
            st.error(text.plain(e))
    stored = st.session_state.get("values.result")
    if stored and stored[0] == source:
        _, trained_mode, result = stored
        scores = result.scores()
        m1, m2, m3 = st.columns(3)
        m1.metric("|r(PC1, value)|", f"{scores['pc1_r']:.3f}", help="1 = the first principal axis is the value")
        m2.metric("pair ρ", f"{scores['pair_rho']:.3f}",
                  help="Spearman of |value difference| vs embedding distance over word pairs")
        m3.metric("epochs", f"{len(result.losses)}" + (" (early stop)" if result.stopped_early else ""))
        xy = analysis.project(result.vectors, "pca")
        frame = pd.DataFrame({"word": result.words, "x": xy[:, 0], "y": xy[:, 1], "value": result.values})
        st.plotly_chart(mapcharts.projection_figure(frame, "value", f"{trained_mode} ValueVec, PCA"), key="values.map")

with on_run:
    chosen = [i for i in runs.infos(runs.selected()) if runs.has_vectors(i)]
    if not chosen:
        st.info("Pick a finished run in the sidebar to see how well its geometry follows these values.")
    else:
        rows = []
        for info in chosen:
            try:
                rows.append({"run": info.name, **value_scores(cached.vectors(info.id), values)})
            except W2VError as e:
                st.warning(text.plain(f"{info.name}: {e}"))
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
                "oov_ratio": st.column_config.NumberColumn(format="percent"),
                "n_used": st.column_config.NumberColumn(format="%d"),
                "pair_rho": st.column_config.NumberColumn(format="%.3f"),
                "pc1_r": st.column_config.NumberColumn(format="%.3f")})
            st.caption("A run trained with the valuevec loss reports held-out scores live (valuevec/rho_heldout); "
                       "these scores use every valued word the run knows, training words included.")
