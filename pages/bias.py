"""Bias: gender-bias metrics of a finished run before and after Bolukbasi's hard debias, and the
debias loss's own live terms. Metrics: direct bias on professions, WEAT d and p, Gonen & Goldberg's
clustering and classifier recovery (bias is only gone when these approach 0.5), and the word-pair
scores that show what information was kept. Train with the debias loss on the Train page."""
from pathlib import Path

import pandas as pd
import streamlit as st

from labui import cached, panels, runs, state, text
from w2vcore.losses.debias.bias import bias_report, biased_words, gender_direction, weat
from w2vcore.losses.debias.biaslists import builtin_weat_tests, gender_tests, load_gender_lists, load_weat_tests
from w2vcore.losses.debias.loss import hard_debias
from w2vcore.errors import W2VError
from w2vcore.evaldata import load_benchmarks

st.title("Bias")
chosen = [i for i in runs.readable(runs.infos(runs.selected())) if runs.has_vectors(i)]
if not chosen:
    st.info("Pick a finished run in the sidebar: its gender-bias metrics are measured here. To train with the "
            "debias loss, set its weight on the Train page (Losses tab).")
    st.stop()
names = {i.id: runs.run_label(i) for i in chosen}
run_id = st.selectbox("Run", list(names), format_func=names.get, key="bias.run")
data_dir = state.settings()["data_dir"].strip()
published = Path(data_dir, "bias", "bolukbasi.json") if data_dir else None
have_published = published is not None and published.is_file()
a, b, c = st.columns([2, 2, 1])
lists_choice = a.radio("Gender lists", ["builtin", "bolukbasi"] if have_published else ["builtin"], horizontal=True,
                       key="bias.lists", format_func={"builtin": "built-in", "bolukbasi": "Bolukbasi et al."}.get,
                       help="definitional pairs (she-he, ...) give the direction; professions are the neutral words. "
                            "Bolukbasi's published lists appear when the reference data folder has bias/")
weat_file = Path(data_dir, "bias", "weat.json") if data_dir else None
tests_choice = b.radio("WEAT tests", ["builtin", "file"] if weat_file and weat_file.is_file() else ["builtin"],
                       horizontal=True, key="bias.tests",
                       format_func={"builtin": "Caliskan's gender tests", "file": "bias/weat.json (gender)"}.get)
permutations = c.select_slider("permutations", [1_000, 10_000, 100_000], 10_000, key="bias.perm",
                               help="for the WEAT p-value (exact when the partitions are fewer)")


@st.cache_data(show_spinner=False, max_entries=8)
def reports(root: str, run_id: str, stamp: tuple, lists_choice: str, tests_choice: str, data_dir: str,
            permutations: int) -> tuple[pd.DataFrame, list[str]]:
    vectors = cached.vectors(run_id)
    lists = load_gender_lists(str(published) if lists_choice == "bolukbasi" else "builtin", data_dir=data_dir or None)
    tests = builtin_weat_tests() if tests_choice == "builtin" else gender_tests(load_weat_tests(weat_file))
    usable, skipped = [], []
    for test in tests:  # a test whose word sets the vocabulary lacks is left out, with the reason
        try:
            weat(vectors, test, permutations=10)
            usable.append(test)
        except W2VError as e:
            skipped.append(str(e))
    tests = usable
    direction = gender_direction(vectors, lists.definitional)
    biased = biased_words(vectors, direction, 500, exclude=lists.gendered_words())  # chosen before debiasing
    pairs = load_benchmarks(data_dir or None).pairs
    rows = {}
    variants = (("run", vectors), ("hard debias", hard_debias(vectors, lists)),  # the paper: one direction
                ("hard debias, all pairs", hard_debias(vectors, lists, k=0, pair_set="all")))  # their whole span
    for label, vecs in variants:
        report = bias_report(vecs, lists, tests, biased, permutations=permutations)
        rows[label] = report | {f"{k} Spearman": vecs.evaluate_word_pairs(p).spearman for k, p in pairs.items()}
    return pd.DataFrame(rows).rename(index=lambda k: k.removeprefix("bias/")), skipped


args = (str(runs.store().root), run_id, cached.vectors_stamp(run_id), lists_choice, tests_choice, data_dir,
        permutations)
if not panels.computed_or_clicked(
        args, "bias.measured", "Measure bias",
        "Waits for the button, so that opening the page never blocks on the measurements.", key="bias.measure",
        help="WEAT permutations, k-means and an SVM on the run and two hard-debiased copies: a few seconds; the "
             "result is cached"):
    st.stop()
try:
    with st.spinner("Measuring bias (WEAT permutations, k-means, SVM)…"):
        table, skipped = reports(*args)
    panels.computed(args, "bias.measured")
except W2VError as e:
    st.error(text.plain(e))
    st.stop()
for reason in skipped:
    st.warning(f"WEAT test left out: {text.plain(reason)}")
for variant in ("hard debias", "hard debias, all pairs"):
    table[f"{variant} − run"] = table[variant] - table["run"]
st.dataframe(table, column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns})
st.caption("direct_bias: mean |cos(profession, g)| (Bolukbasi, c = 1). weat_d: WEAT effect size (0 = no association), "
           "weat_p: one-sided permutation p, weat_chance: the mean |d| of random re-splits of the same target words, "
           "i.e. what a space with no association scores (|d| cannot be expected to go below it). cluster/classifier accuracy: Gonen & Goldberg's recovery of gender from "
           "the 500 most male- and female-leaning words chosen in the run's space (0.5 = gone; hard debias usually "
           "leaves them near 1, i.e. the bias is hidden, not removed). Hard debias neutralises Bolukbasi's one "
           "direction; \"all pairs\" removes the span of every definitional and equalize pair. The Spearman rows "
           "show the information kept.")
try:
    debiased = cached.kind(run_id) == "trained" and any(
        s.name == "debias" and s.weight > 0 for s in cached.config(run_id).train.losses)
except W2VError:
    debiased = False  # the run's settings are unreadable: nothing to point at
if debiased:
    st.info("This run trained with the debias loss: its live terms (loss/debias, debias/…) are on the Train page; "
            "compare it with its vanilla twin on the Compare page.")
