"""Compare runs. A flagship group (vanilla and RSR arms, one or more seeds: `presets.arm_of`) gets its
scorecard: the verdict, one chart of every RSR arm's Δ against vanilla with its CI, the table, and the
arms' neighbours with RSR's trained and held-out concepts marked. Two runs (e.g. a twin) get the A/B view:
curves overlaid, config diff, the honest scorecard (THINGS category F1 with CIs, held-out human ρ,
benchmarks, each B − A with a paired CI; w2vcore.compare), neighbours side by side with their overlap,
word-similarity benchmarks, and Procrustes-aligned maps.
"""
import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from labui import analysis, cached, charts, mapcharts, panels, runs, settings, state, text
from w2vcore import mapfit, presets
from w2vcore.compare import SCORE_METRICS, Comparison, Scorecard
from w2vcore.errors import W2VError
from w2vcore.neighbours import jaccard, neighbour_overlap
from w2vcore.evaldata import load_benchmarks

WAITS = "Waits for the button, so that opening the page never blocks on the cross-validation."

st.title("Compare")
chosen = runs.readable(runs.infos(runs.selected()))


def show_comparison(cmp: Comparison, label_a: str, label_b: str) -> None:
    """A `Comparison`'s table (B − A with CIs), its per-category F1 and its notes."""
    rows = cmp.table()
    frame = pd.DataFrame(rows).rename(columns={"a": f"A: {label_a}", "b": f"B: {label_b}",
                                               "delta": "B − A", "ci_low": "CI low", "ci_high": "CI high"})
    st.dataframe(frame, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in (f"A: {label_a}", f"B: {label_b}", "B − A", "CI low", "CI high")})
    if cmp.categories is None:
        st.info("No THINGS categories: category F1 is not scored.")
    elif cmp.category is not None:
        c = cmp.category
        per = pd.DataFrame([{"category": name, "F1 A": c.a.f1[name][0], "F1 B": c.b.f1[name][0],
                             "B − A": c.delta_per_category[name][0], "CI low": c.delta_per_category[name][1],
                             "CI high": c.delta_per_category[name][2]} for name in c.a.names])
        st.markdown(f"**Per category** ({c.a.n_test} test concepts, {c.a.n_train_only} used for training only)")
        st.dataframe(per, hide_index=True, column_config={
            col: st.column_config.NumberColumn(format="%.3f") for col in per.columns if col != "category"})
        if c.a.skipped:
            with st.expander(f"{len(c.a.skipped)} categories not scored"):
                st.markdown("\n".join(f"- **{text.plain(k)}**: {text.plain(v)}" for k, v in c.a.skipped.items()))
    for note in cmp.notes:
        st.caption(text.plain(note))


@st.cache_resource(show_spinner=False, max_entries=4)
def fitted_map(root: str, run_id: str, stamp: tuple, data_dir: str, steps: int) -> tuple[mapfit.MapFit, Comparison]:
    """RSR's learned map fitted alone on the run's vectors, and its scorecard against them."""
    vectors = cached.vectors(run_id)
    fit = mapfit.fit_map(vectors, data_dir=data_dir or None, steps=steps)
    bench = dataclasses.replace(load_benchmarks(data_dir or None), analogies={})  # analogies take long
    return fit, mapfit.scorecard(vectors, fit, ("run", "run + fitted map"), data_dir or None, benchmarks=bench)


def fit_map_view(info) -> None:
    """One finished run: fit RSR's learned map on its vectors alone and score it (no corpus, no retraining)."""
    st.markdown(f"**{text.plain(info.name)}**: fit RSR's learned map on this run's vectors alone")
    st.caption("RSR's map M is shared by every word, so it can be learned on finished vectors without the corpus. "
               "Half of the THINGS concepts the run knows are held out of the fit (RSR's own split); category F1 "
               "and human ρ are tested on those only. B = the run's vectors times the fitted map.")
    if runs.imported(info):
        st.caption("An imported embedding has no RSR settings of its own: the fit uses RSR's defaults (THINGS "
                   "similarity as the target, half of the aligned concepts held out, split seed 0).")
    steps = st.select_slider("map steps", [250, 500, 1000, 2000, 4000], 1000, key="compare.fit.steps",
                             help="Adam steps on the map, each on fresh pairs of training concepts")
    data_dir = state.settings()["data_dir"].strip()
    args = (str(runs.store().root), info.id, cached.vectors_stamp(info.id), data_dir, steps)
    if not panels.computed_or_clicked(args, "compare.fitted", "Fit the map and score it",
                                      "Pick a second run in the sidebar to compare two runs instead.",
                                      key="compare.fit"):
        return
    try:
        with st.spinner("Fitting the map (the first fit also compiles RSR's kernels), then scoring…"):
            fit, cmp = fitted_map(*args)
            cmp.table()
        panels.computed(args, "compare.fitted")
    except W2VError as e:
        st.error(text.plain(e))
        return
    st.caption(text.plain(f"{fit.rsr.summary}. Fitted {steps} steps in {fit.seconds:.1f} s."))
    show_comparison(cmp, info.name, f"{info.name} + fitted map")


if len(chosen) < 2:
    if len(chosen) == 1 and runs.has_vectors(chosen[0]):
        fit_map_view(chosen[0])
    else:
        st.info("Pick two runs in the sidebar to compare them (a twin launched from the Train page is picked for "
                "you), or one finished run to fit RSR's learned map on its vectors.")
    st.stop()


def group_of(infos) -> dict[str, tuple[str, int]] | None:
    """run id -> (arm, seed) when the picked runs form a flagship group (else None; an imported embedding
    is never part of one)."""
    if any(runs.imported(i) for i in infos):
        return None
    try:
        return presets.flagship_group({i.id: cached.config(i.id) for i in infos})
    except W2VError:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def group_scorecard(root: str, ids: tuple, stamps: tuple, data_dir: str, repeats: int) -> Scorecard:
    """The backend's scorecard of a flagship group; its parts are computed on first use and kept with it."""
    bench = load_benchmarks(data_dir or None)
    bench = dataclasses.replace(bench, analogies={})
    return Scorecard.from_runs(runs.store(), list(ids), data_dir or None, benchmarks=bench, repeats=repeats)


def arm_rank(row: dict) -> int:
    """Where a scorecard row's arm comes in `presets.ARMS` (vanilla, per-row, learned map)."""
    return presets.ARMS.index(row["arm"]) if row["arm"] in presets.ARMS else len(presets.ARMS)


def flagship_view(infos, group: dict[str, tuple[str, int]]) -> None:
    """Progress of the group's runs, then its scorecard, the arms' neighbours and curves."""
    order = sorted(infos, key=lambda i: (group[i.id][1], presets.ARMS.index(group[i.id][0])))
    ids = [i.id for i in order]
    seeds = sorted({seed for _, seed in group.values()})
    st.markdown(f"**Flagship group**: {len(ids)} runs, {len(seeds)} seed(s) ({', '.join(map(str, seeds))}), arms "
                + ", ".join(presets.ARM_LABELS[a] for a in presets.ARMS if a in {x for x, _ in group.values()}))
    live = any(i.active for i in order)

    @st.fragment(run_every=1.0 if live else None)
    def progress() -> None:
        now = runs.infos(ids)
        for info in now:
            panels.run_progress(info, cached.metrics(info.id), key="compare.fl")
        if not all(runs.has_vectors(i) for i in now):
            panels.curves_panel(now, key="compare.fl.live")
        if live and not any(i.active for i in now):
            st.rerun()  # all finished: draw the scorecard button

    progress()
    for info in order:
        if info.status == "failed":
            st.error(f"**{text.plain(info.name)}** failed: {text.plain(info.error)}")
    if not all(runs.has_vectors(i) for i in order):
        st.info("The scorecard is ready when every run of the group has finished (or been stopped).")
        return
    panels.lazy_tabs({"Scorecard": lambda: scorecard_tab(order, group),
                      "Neighbours": lambda: flagship_neighbours(order, group),
                      "Curves": lambda: panels.curves_panel(order, key="compare.fl")}, key="compare.fl.tab")


def scorecard_tab(order, group) -> None:
    data_dir = state.settings()["data_dir"].strip()
    st.caption("Each RSR arm against the vanilla run of the same seed. Category F1 (repeated stratified 5-fold CV "
               "on THINGS categories) is tested only on concepts RSR never saw; the notebook's single split, which "
               "tests concepts RSR trained on too, is shown for contrast. Held-out ρ: the runs' similarities "
               "against human similarity on the held-out concepts. SimLex/WordSim: general word similarity.")
    repeats = st.select_slider("CV repeats", [1, 2, 3, 5, 10], 5, key="compare.fl.repeats",
                               help="5 folds × this many seeded repeats; more repeats = steadier estimate, slower")
    ids = tuple(i.id for i in order)
    args = (str(runs.store().root), ids, tuple(cached.vectors_stamp(i) for i in ids), data_dir, repeats)
    if not panels.computed_or_clicked(
            args, "compare.scored", "Compute the scorecard", WAITS, key="compare.fl.score",
            icon=":material/fact_check:",
            help="cross-validates category prediction for every RSR arm and seed: some seconds per run"):
        return
    try:
        with st.spinner(f"Scoring {len(ids) - sum(a == 'vanilla' for a, _ in group.values())} RSR run(s) against "
                        "vanilla on the same folds…"):
            card = group_scorecard(*args)
            verdict, rows = card.verdict(), card.chart_rows()
        panels.computed(args, "compare.scored")
    except W2VError as e:
        st.error(text.plain(e))
        return
    st.markdown("#### Verdict")
    for sentence in verdict[:-1]:
        if sentence.startswith("Underpowered"):
            st.warning(text.plain(sentence), icon=":material/warning:")
    arms = [a for a in presets.ARMS if a != "vanilla" and any(r["arm"] == a for r in rows)]
    for arm, column in zip(arms, st.columns(max(1, len(arms)))):  # one column per RSR arm, side by side
        label = presets.ARM_LABELS[arm]
        column.markdown(f"**{text.plain(label)}** against vanilla")
        column.markdown("\n".join("- " + text.plain(s[len(label) + 2:][:1].upper() + s[len(label) + 3:])
                                   for s in verdict[:-1] if s.startswith(label + ", ")))
    st.caption(text.plain(verdict[-1]))
    rows = sorted(rows, key=arm_rank)  # stable: each arm's metrics keep the scorecard's order
    if rows:
        st.plotly_chart(charts.scorecard_figure(rows, presets.ARM_LABELS), key="compare.fl.chart")
        st.caption("Dots: the mean Δ over seeds; whiskers: its CI. Right of the dashed line = RSR scored higher than "
                   "vanilla. A whisker crossing the line is no detectable change.")
    full = sorted(card.rows, key=arm_rank)
    table = pd.DataFrame([{"arm": presets.ARM_LABELS.get(r["arm"], r["arm"]),
                           "metric": charts.SCORE_SHORT.get(r["metric"], r["label"]),
                           "Δ mean": r["delta"], "CI low": r["ci_low"], "CI high": r["ci_high"],
                           "seeds": r["n_seeds"], "per-seed Δ": ", ".join(f"{d:+.3f}" for d in r["per_seed"]),
                           "interval": r["interval"]} for r in full])
    for column in ("CI low", "CI high"):
        table[column] = pd.to_numeric(table[column])  # no interval: a blank cell, not "None"
    st.dataframe(table, hide_index=True, column_config={
        "metric": st.column_config.TextColumn(help="; ".join(f"{charts.SCORE_SHORT.get(m, m)}: {label}"
                                                             for m, label in SCORE_METRICS.items())),
        **{c: st.column_config.NumberColumn(format="%+.3f") for c in ("Δ mean", "CI low", "CI high")},
        "interval": st.column_config.TextColumn(width="medium")})
    if card.power is not None:
        st.caption("Power: " + text.plain(card.power.summary()))
    for note in card.notes + [f"{presets.ARM_LABELS.get(a, a)}, {m}: not measured ({why})"
                              for (a, m), why in card.unmeasured.items()]:
        st.caption(text.plain(note))
    st.download_button("Download the scorecard (Markdown)", card.markdown(), file_name="scorecard.md",
                       mime="text/markdown", key="compare.fl.download")


def flagship_neighbours(order, group) -> None:
    data_dir = state.settings()["data_dir"].strip()
    seeds = sorted({seed for _, seed in group.values()})
    left, mid, right = st.columns([4, 1, 1])
    seed = mid.selectbox("seed", seeds, key="compare.fl.seed") if len(seeds) > 1 else seeds[0]
    seed_runs = [i for i in order if group[i.id][1] == seed]
    k = right.slider("k", 3, 30, 10, key="compare.fl.k")
    try:
        vecs = {i.id: cached.vectors(i.id) for i in seed_runs}
    except W2VError as e:
        st.error(text.plain(e))
        return
    treated = next(i.id for i in seed_runs if group[i.id][0] != "vanilla") if any(
        group[i.id][0] != "vanilla" for i in seed_runs) else seed_runs[0].id
    marks = cached.rsr_marks(treated, data_dir)
    first = vecs[seed_runs[0].id]
    known = [w for w in settings.NOTEBOOK_WORDS if all(w in v for v in vecs.values())] or first.index_to_key[100:103]
    words = analysis.parse_words(cached.fold(seed_runs[0].id)(left.text_input("Words", ", ".join(known),
                                                                         key="compare.fl.words")))
    for word in words:
        columns, counts = {}, []
        try:
            for info in seed_runs:
                found = vecs[info.id].most_similar(word, topn=k)
                label = presets.ARM_LABELS.get(group[info.id][0], info.name)
                columns[label] = [analysis.marked(w, marks) for w, _ in found]
                columns[f"cos ({label})"] = [c for _, c in found]
                counts.append(f"{label}: {sum(marks.get(w) == analysis.TRAINED for w, _ in found)}")
        except W2VError as e:
            panels.word_error(e)
            continue
        status = analysis.mark(word, marks) if marks else ""
        st.markdown(f"**{text.plain(word)}**" + (f" ({text.plain(status)})" if status else "")
                    + (f" · neighbours RSR trained on: {text.plain(', '.join(counts))}" if marks else ""))
        frame = pd.DataFrame(columns)
        cosines = [c for c in frame.columns if c.startswith("cos")]
        st.dataframe(frame, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.3f", width="small") for c in cosines})
    if marks:
        st.caption("▲ = a THINGS concept RSR trained on; △ = a THINGS concept held out (no RSR arm ever saw it); "
                   "no mark = not a THINGS concept. RSR pulls the concepts it trained on towards human similarity, "
                   "so neighbour lists full of ▲ show the fit, not transfer.")
    else:
        st.caption("These runs' RSR split cannot be rebuilt here, so concepts are not marked.")


group = group_of(chosen) if len(chosen) >= 3 else None
if group is not None:
    view = st.segmented_control("View", ["flagship", "ab"], default="flagship", required=True, key="compare.view",
                                format_func={"flagship": "scorecard of the group", "ab": "two runs, A/B"}.get)
    if view == "flagship":
        flagship_view(chosen, group)
        st.stop()
if len(chosen) > 2:
    left, right = st.columns(2)
    ids = [i.id for i in chosen]
    names = {i.id: runs.run_label(i) for i in chosen}
    a_id = left.selectbox("Run A", ids, index=0, format_func=names.get, key="compare.a")
    b_id = right.selectbox("Run B", [i for i in ids if i != a_id], index=0, format_func=names.get, key="compare.b")
    run_a, run_b = (next(i for i in chosen if i.id == x) for x in (a_id, b_id))
else:
    run_a, run_b = chosen
st.markdown(f"**A** = {text.plain(run_a.name)} ({run_a.status}) · **B** = {text.plain(run_b.name)} "
            f"({run_b.status})")
for info in (run_a, run_b):
    if info.status == "failed":
        st.error(f"**{text.plain(info.name)}** failed: {text.plain(info.error)}")

curves, config, scorecard, neighbours, benchmarks, projection = st.tabs(
    ["Curves", "Settings", "Scorecard", "Neighbours", "Benchmarks", "Aligned map"])
live = run_a.active or run_b.active


@st.fragment(run_every=1.0 if live else None)
def overlaid() -> None:
    panels.curves_panel(runs.infos([run_a.id, run_b.id]), key="compare")


with curves:
    overlaid()

def settings_of(info) -> dict:
    """A trained run's config, or an imported embedding's source (it has no training settings)."""
    if runs.imported(info):
        return {"kind": "imported", "source": panels.source_facts(info.id)}
    return {"kind": "trained", **cached.config(info.id).to_dict()}


def settings_diff() -> None:
    """The two runs' settings side by side (only those that differ, unless asked)."""
    everything = st.toggle("show every setting", key="compare.all")
    try:
        ca, cb = (settings_of(i) for i in (run_a, run_b))
    except W2VError as e:
        st.error(text.plain(e))
        return
    if runs.imported(run_a) or runs.imported(run_b):
        st.caption("An imported embedding has no training settings: its rows say where it came from, and a "
                   "trained run's settings show as — on its side.")
    diff = analysis.config_diff(ca, cb, only_different=not everything)
    if diff.empty:
        st.success("The two runs have identical settings.")
    else:  # dataframe headers and cells are plain text
        st.dataframe(diff.rename(columns={"A": f"A: {run_a.name}", "B": f"B: {run_b.name}"}), hide_index=True)


with config:
    settings_diff()

if not (runs.has_vectors(run_a) and runs.has_vectors(run_b)):
    for tab in (scorecard, neighbours, benchmarks, projection):
        tab.info("Neighbours, benchmarks and maps need both runs to have finished (or been stopped).")
    st.stop()
try:
    va, vb = cached.vectors(run_a.id), cached.vectors(run_b.id)
except W2VError as e:
    for tab in (scorecard, neighbours, benchmarks, projection):
        tab.error(text.plain(e))
    st.stop()
shared = [w for w in va.index_to_key if w in vb.key_to_index]  # in A's frequency order



@st.cache_resource(show_spinner=False, max_entries=4)
def comparison(root: str, a_id: str, b_id: str, stamps: tuple, data_dir: str, repeats: int) -> Comparison:
    """The backend's twin comparison; parts are computed on first use and kept with this object."""
    bench = load_benchmarks(data_dir or None)
    bench = dataclasses.replace(bench, analogies={})  # analogies: the Benchmarks tab (they take long)
    return Comparison.from_runs(runs.store(), a_id, b_id, data_dir or None, benchmarks=bench, repeats=repeats)


@st.cache_data(show_spinner=False, max_entries=16)
def overlap_of(root: str, a_id: str, b_id: str, stamps: tuple, words: tuple[str, ...], k: int) -> np.ndarray:
    """(n,) Jaccard@k of each word's neighbours in A and B: computed once per view (about 0.4 s for
    1,000 words), not on every rerun and page switch."""
    return neighbour_overlap(cached.vectors(a_id), cached.vectors(b_id), list(words), k).jaccard


@st.cache_data(show_spinner=False, max_entries=16)
def aligned_map(root: str, a_id: str, b_id: str, stamps: tuple, words: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """`analysis.aligned_pca` of these shared words (A's plane, B rotated onto A, per-word cosine), cached:
    the Procrustes and PCA SVDs took 0.3-0.4 s of every rerun on 2 busy cores."""
    va, vb = cached.vectors(a_id), cached.vectors(b_id)
    rows_a = np.array([va.key_to_index[w] for w in words])
    rows_b = np.array([vb.key_to_index[w] for w in words])
    return analysis.aligned_pca(va.vectors[rows_a], vb.vectors[rows_b])


stamps = (cached.vectors_stamp(run_a.id), cached.vectors_stamp(run_b.id))  # the vectors' versions: cache keys
with scorecard:
    data_dir = state.settings()["data_dir"].strip()
    st.caption("B − A for every score, with a 95% paired bootstrap CI. Category F1 uses repeated stratified "
               "k-fold on THINGS concepts; when B trained with RSR, only concepts RSR never saw are tested, and "
               "human ρ is measured on RSR's held-out concepts. The notebook's single split is shown for reference.")
    repeats = st.select_slider("CV repeats", [1, 2, 3, 5, 10], 5, key="compare.repeats",
                               help="5 folds × this many seeded repeats; more repeats = steadier estimate, slower")
    args = (str(runs.store().root), run_a.id, run_b.id, stamps, data_dir, repeats)
    if panels.computed_or_clicked(
            args, "compare.scored", "Compute the scorecard", WAITS, key="compare.score",
            help="category prediction over 27 THINGS categories takes some seconds (about 20 s for 1,000 concepts)"):
        try:
            with st.spinner("Scoring both runs on the same folds…"):
                cmp = comparison(*args)
                cmp.table()  # every part is computed inside the spinner
            panels.computed(args, "compare.scored")
        except W2VError as e:
            st.error(text.plain(e))
        else:
            show_comparison(cmp, run_a.name, run_b.name)

with neighbours:
    left, right = st.columns([4, 1])
    known = [w for w in settings.NOTEBOOK_WORDS if w in va and w in vb] or shared[100:103]
    words = analysis.parse_words(cached.fold(run_a.id)(left.text_input("Words", ", ".join(known),
                                                                       key="compare.words")))
    k = right.slider("k", 3, 30, 10, key="compare.k")
    data_dir = state.settings()["data_dir"].strip()
    marks = cached.rsr_marks(run_b.id, data_dir) or cached.rsr_marks(run_a.id, data_dir)
    grid = st.columns(2)
    for i, word in enumerate(words):
        cell = grid[i % 2]
        try:
            na, nb = va.most_similar(word, topn=k), vb.most_similar(word, topn=k)
        except W2VError as e:
            with cell:
                panels.word_error(e)
            continue
        overlap = jaccard([w for w, _ in na], [w for w, _ in nb])
        cell.markdown(f"**{text.plain(word)}**: Jaccard@{k} = {overlap:.2f}")
        both = set(w for w, _ in na) & set(w for w, _ in nb)
        table = pd.DataFrame({"A": [analysis.marked(w, marks) + (" ●" if w in both else "") for w, _ in na],
                              "cos A": [c for _, c in na],
                              "B": [analysis.marked(w, marks) + (" ●" if w in both else "") for w, _ in nb],
                              "cos B": [c for _, c in nb]})
        cell.dataframe(table, hide_index=True, column_config={c: st.column_config.NumberColumn(format="%.3f")
                                                              for c in ("cos A", "cos B")})
    st.caption("● = in both lists." + (" ▲ = a THINGS concept RSR trained on; △ = held out (RSR never saw it)."
                                       if marks else ""))
    st.markdown("**Overlap over many words**")
    top = min(5000, len(shared))
    many = top if top <= 100 else st.slider("most frequent shared words", 100, top, min(1000, top), step=100,
                                            key="compare.many")  # a tiny vocabulary: all its words, no slider
    if len(shared) <= k:
        st.info("Too few shared words for an overlap over many words.")
    else:
        values = overlap_of(str(runs.store().root), run_a.id, run_b.id, stamps, tuple(shared[:many]), k)
        st.metric(f"mean Jaccard@{k}", f"{np.nanmean(values):.3f}",
                  help="1 = both runs give every word the same neighbours; 0 = no neighbour in common")
        st.plotly_chart(charts.overlap_figure(values, k), key="compare.overlap")


with benchmarks:
    data_dir = state.settings()["data_dir"].strip()
    with_analogies = st.toggle("include Google analogies (3CosAdd, ~20k questions: slower)", key="compare.analogies")
    try:
        sa, sb = (cached.benchmark_scores(i.id, data_dir, with_analogies) for i in (run_a, run_b))
    except W2VError as e:
        st.error(text.plain(e))
    else:
        rows = []
        for name in sa:
            ra, rb = sa[name], sb[name]
            if name == "analogies":
                rows.append({"benchmark": "analogies (accuracy)", "A": ra.accuracy, "B": rb.accuracy,
                             "B − A": rb.accuracy - ra.accuracy, "OOV A": ra.oov_ratio, "OOV B": rb.oov_ratio})
            else:
                rows.append({"benchmark": f"{name} (Spearman)", "A": ra.spearman, "B": rb.spearman,
                             "B − A": rb.spearman - ra.spearman, "OOV A": ra.oov_ratio, "OOV B": rb.oov_ratio})
        fmt = {c: st.column_config.NumberColumn(format="%.3f") for c in ("A", "B", "B − A")}
        fmt |= {c: st.column_config.NumberColumn(format="percent") for c in ("OOV A", "OOV B")}
        st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=fmt)
        st.caption("Word pairs with a word outside a run's vocabulary are skipped (OOV). "
                   + (f"Benchmarks from {text.plain(data_dir)}." if data_dir else
                      "Benchmarks: gensim's bundled SimLex-999 and WordSim-353; set the reference data folder on "
                      "the Data page (Reference data tab) for MEN and your own copies."))

with projection:
    top = min(3000, len(shared))
    n = top if top <= 20 else st.slider("most frequent shared words", 20, top, min(300, top), step=10,
                                        key="compare.mapn")
    if len(shared) < 3:
        st.info("The runs share fewer than 3 words.")
    else:
        words = shared[:n]
        xy_a, xy_b, moved = aligned_map(str(runs.store().root), run_a.id, run_b.id, stamps, tuple(words))
        left, right = st.columns([4, 1])
        labels = (text.plain_chart(f"A: {run_a.name}"), text.plain_chart(f"B: {run_b.name}"))
        left.plotly_chart(mapcharts.aligned_figure(xy_a, xy_b, words, moved, labels),
                          key="compare.map")
        left.caption("B is rotated onto A (orthogonal Procrustes over these words) and both are drawn in A's PCA "
                     "plane, so a word sits in comparable places. Colour: cosine between A's and aligned B's vector.")
        right.markdown("**Words that moved most**")
        order = np.argsort(moved)[:15]
        right.dataframe(pd.DataFrame({"word": [words[i] for i in order], "cos": moved[order]}), hide_index=True,
                        column_config={"cos": st.column_config.NumberColumn(format="%.3f", help="cos(A, aligned B)")})
