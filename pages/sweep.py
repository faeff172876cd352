"""α sweep: runs that differ only in one extra loss's weight (each weight over one or more seeds). For
RSR the headline metrics per α, each on its own axes: honest ΔF1 (concepts RSR never saw, against the
α = 0 run of the same seed), held-out human ρ, SimLex-999 and WordSim-353, each point the mean across
seeds with its CI (`compare.sweep_table`). Every run's own scores are in the table below. Launch a sweep
from the Train page; it is picked for you."""
import pandas as pd
import streamlit as st

from labui import analysis, cached, charts, panels, runs, state, text
from w2vcore.compare import sweep_table
from w2vcore.errors import W2VError

st.title("α sweep")
chosen = runs.trained_only(runs.readable(runs.infos(runs.selected())), "the α sweep (it compares training settings)")
finished = [i for i in chosen if runs.has_vectors(i)]
if len(finished) < 2:
    st.info("Pick two or more finished runs that differ only in one loss's weight (an α sweep launched from "
            "the Train page is picked for you).")
    st.stop()
try:
    configs = {i.id: cached.config(i.id) for i in finished}
    loss, weights = analysis.sweep_axis({run_id: cfg.to_dict() for run_id, cfg in configs.items()})
except W2VError as e:
    st.warning(text.plain(e))
    st.stop()
if len(finished) < len(chosen):
    st.caption(f"{len(chosen) - len(finished)} picked run(s) without vectors yet are left out.")
seeds = sorted({cfg.train.seed for cfg in configs.values()})
alphas = sorted(set(weights.values()))
st.caption(f"{len(finished)} runs: α = {', '.join(f'{a:g}' for a in alphas)} × {len(seeds)} seed(s) "
           f"({', '.join(map(str, seeds))}).")
data_dir = state.settings()["data_dir"].strip()


@st.cache_data(show_spinner=False, max_entries=8)
def headline(root: str, ids: tuple, stamps: tuple, data_dir: str, repeats: int) -> list[dict]:
    return sweep_table(runs.store(), list(ids), data_dir or None, repeats=repeats)


def headline_metrics() -> None:
    """RSR's headline metrics per α (small multiples), behind a button: honest ΔF1 cross-validates per run."""
    repeats = st.select_slider("CV repeats", [1, 2, 3, 5], 5, key="sweep.repeats",
                               help="5 folds × this many seeded repeats for honest ΔF1; more = steadier, slower")
    ids = tuple(sorted(configs))
    args = (str(runs.store().root), ids, tuple(cached.vectors_stamp(i) for i in ids), data_dir, repeats)
    if not panels.computed_or_clicked(
            args, "sweep.scored", "Compute the headline metrics",
            "Honest ΔF1, held-out ρ, SimLex-999 and WordSim-353 per α, each the mean across seeds with its CI. "
            "Waits for the button, so that opening the page never blocks on the cross-validation.",
            key="sweep.score", icon=":material/query_stats:",
            help="honest ΔF1 cross-validates THINGS categories for every run with α > 0: some seconds per run"):
        return
    try:
        with st.spinner(f"Scoring {len(ids)} runs…"):
            rows = headline(*args)
        panels.computed(args, "sweep.scored")
    except W2VError as e:
        st.error(text.plain(e))
        return
    st.plotly_chart(charts.sweep_figure(rows), key="sweep.headline")
    st.caption("Each point: the mean across seeds; bars: a 95% t-interval over the seeds (with one seed, honest ΔF1 "
               "shows that run's paired bootstrap CI and the other metrics no bar). Honest ΔF1 is measured against "
               "the α = 0 run of the same seed, on the concepts RSR never saw, so α = 0 sits at 0 by definition.")
    notes = [f"α = {r['alpha']:g}, {r['label']}: {r['note']}" for r in rows if r["note"] and r["alpha"] > 0]
    for note in notes:
        st.caption(text.plain(note))


def run_scores() -> pd.DataFrame:
    """One row per run: α, seed, the loss's own last logged metrics and the benchmark scores of its vectors."""
    rows = []
    for info in finished:
        m = cached.metrics(info.id)
        row = {"run": info.name, "α": weights[info.id], "seed": configs[info.id].train.seed}
        own = sorted({k for r in m for k in r if k.startswith(f"{loss}/")}, key=lambda k: ("heldout" not in k, k))
        row |= {k: analysis.latest(m, k) for k in own}
        for name, score in cached.benchmark_scores(info.id, data_dir, with_analogies).items():
            row[f"{name} accuracy" if name == "analogies" else f"{name} ρ"] = (
                score.accuracy if name == "analogies" else score.spearman)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["α", "seed"])


if loss == "rsr":
    st.subheader("Headline metrics per α")
    headline_metrics()
    st.subheader("Every run")
with_analogies = st.toggle("include Google analogies (slower)", key="sweep.analogies")
try:
    frame = run_scores()
except W2VError as e:
    st.error(text.plain(e))
    st.stop()
metrics = [c for c in frame.columns if c not in ("run", "α", "seed")]
if loss != "rsr":
    shown = st.multiselect("Scores", metrics, default=metrics, key="sweep.metrics")
    st.plotly_chart(charts.sweep_figure(analysis.sweep_rows(frame, shown)), key="sweep.plot")
    st.caption("Each score on its own axes; each point the mean across seeds, bars a 95% t-interval over them.")
st.dataframe(frame, hide_index=True, column_config={c: st.column_config.NumberColumn(format="%.3f") for c in metrics})
if (frame["α"] == 0).any() and any(c.startswith(f"{loss}/") for c in metrics):
    st.caption(f"At α = 0 the {text.plain(loss)} loss is switched off, so its own metrics are not logged for that "
               "run" + (" (the headline held-out ρ above is computed on the same split instead)." if loss == "rsr"
                        else "."))
st.caption(f"Each value is the last logged value of a run ({text.plain(loss)}/… metrics) or its final vectors "
           "scored on the benchmarks; " + (f"benchmarks from {text.plain(data_dir)}." if data_dir else
                                          "gensim's bundled benchmarks."))
