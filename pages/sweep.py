"""α sweep: runs that differ only in one extra loss's weight, each scored at the end of training,
so the trade-off between the loss's own metric (e.g. RSR's held-out ρ) and the word-similarity
benchmarks reads off one plot. Launch a sweep from the Train page; it is picked for you."""
import pandas as pd
import streamlit as st

from pages import analysis, charts, common
from w2vcore.errors import W2VError

st.title("α sweep")
chosen = common.readable(common.infos(common.selected()))
finished = [i for i in chosen if common.has_vectors(i)]
if len(finished) < 2:
    st.info("Pick two or more finished runs that differ only in one loss's weight (an α sweep launched from "
            "the Train page is picked for you).")
    st.stop()
try:
    loss, weights = analysis.sweep_axis({i.id: common.config(i.id).to_dict() for i in finished})
except W2VError as e:
    st.warning(common.plain(e))
    st.stop()
if len(finished) < len(chosen):
    st.caption(f"{len(chosen) - len(finished)} picked run(s) without vectors yet are left out.")

data_dir = common.settings()["data_dir"].strip()
with_analogies = st.toggle("include Google analogies (slower)", key="sweep.analogies")
rows = []
try:
    for info in finished:
        m = common.metrics(info.id)
        row = {"run": info.name, "α": weights[info.id]}
        own = sorted({k for r in m for k in r if k.startswith(f"{loss}/")}, key=lambda k: ("heldout" not in k, k))
        row |= {k: analysis.latest(m, k) for k in own}
        for name, score in common.benchmark_scores(info.id, data_dir, with_analogies).items():
            row[f"{name} accuracy" if name == "analogies" else f"{name} ρ"] = (
                score.accuracy if name == "analogies" else score.spearman)
        rows.append(row)
except W2VError as e:
    st.error(common.plain(e))
    st.stop()
frame = pd.DataFrame(rows).sort_values("α")
metrics = [c for c in frame.columns if c not in ("run", "α")]
shown = st.multiselect("Scores", metrics, default=metrics, key="sweep.metrics")
st.plotly_chart(charts.tradeoff_figure(frame, "α", shown), key="sweep.plot")
st.dataframe(frame, hide_index=True, column_config={c: st.column_config.NumberColumn(format="%.3f") for c in metrics})
if (frame["α"] == 0).any() and any(c.startswith(f"{loss}/") for c in metrics):
    st.caption(f"At α = 0 the {common.plain(loss)} loss is switched off, so its own metrics are not logged for that run.")
st.caption(f"Each point is the last logged value of a run ({common.plain(loss)}/… metrics) or its final vectors "
           "scored on the benchmarks; " + (f"benchmarks from {common.plain(data_dir)}." if data_dir else "gensim's bundled benchmarks."))
