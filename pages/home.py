"""Home: what the lab does, one-click presets, and the runs on disk."""
import hashlib
import json
import time

import pandas as pd
import streamlit as st

from labui import analysis, cached, panels, pretrained, runs, settings, state, text
from w2vcore import compare, losses, presets, things
from w2vcore.corpus import build_vocab, encode_corpus
from w2vcore.errors import W2VError

st.title("Word2Vec Lab")
st.markdown(
    "Train skip-gram word2vec embeddings on a corpus of your choice and watch them learn, live. "
    "Runs train in the background and live on disk, so closing or refreshing the page never loses one. "
    "Then look inside: nearest neighbours, analogies, maps of the embedding space, and side-by-side "
    "comparisons of two runs, e.g. with and without an extra loss that aligns them with human judgements. "
    "Pretrained vectors (GloVe, word2vec, fastText) open here too, under Runs."
)


def start(configs) -> None:
    try:
        runs.launch(configs)
    except W2VError as e:
        st.error(text.plain(e))
        return
    st.switch_page("pages/train.py")


def start_flagship(configs) -> None:
    """Launch the flagship's runs, make them the sidebar selection and open Compare, which shows their
    progress and then the scorecard."""
    try:
        ids = runs.launch(configs)
    except W2VError as e:
        st.error(text.plain(e))
        return
    runs.select(ids)
    st.switch_page("pages/compare.py")


@st.cache_data(show_spinner=False, max_entries=8)
def _power(key: str, data_dir: str, _corpus) -> compare.Power:
    """What the flagship can measure on this corpus (`key`: the corpus settings as JSON, the cache key)."""
    encoded = encode_corpus(_corpus.source, _corpus.tokenizer, runs.store().cache_dir)
    vocab = build_vocab(encoded, _corpus.min_count, _corpus.max_vocab_size)
    return compare.power(vocab.key_to_index, data_dir or None, presets.HELDOUT, presets.SPLIT_SEED)


def show_power(cfg) -> None:
    """How many THINGS concepts align, are held out and are tested, how many categories can be scored."""
    try:
        with st.spinner("Counting the THINGS concepts this corpus aligns (the first time reads the corpus)…"):
            pw = _power(json.dumps(cfg.to_dict()["corpus"], sort_keys=True), cfg.data_dir or "", cfg.corpus)
    except W2VError as e:
        st.warning(text.plain(f"Cannot count the concepts before launch: {e}"))
        return
    a, b, c = st.columns(3)
    a.metric("concepts align", f"{pw.aligned:,}", help="THINGS concepts with a word in the vocabulary")
    b.metric("held out", f"{len(pw.heldout_concepts):,}",
             help=f"never seen by RSR ({presets.HELDOUT:.0%} of the aligned concepts, the same for every seed and "
                  f"arm); {len(pw.test_concepts):,} of the concepts no RSR arm trained on are tested for category F1")
    c.metric("categories scored", f"{len(pw.categories)} of {len(pw.categories) + len(pw.skipped)}",
             help=f"THINGS categories with at least {pw.folds} members and non-members among the tested concepts")
    if pw.underpowered:
        st.warning(text.plain("Underpowered: " + "; ".join(pw.reasons) + ". The verdict will say the category-F1 "
                                "result is weak evidence. A larger corpus aligns more concepts: set the Brown corpus "
                                "folder (or your own corpus) on the Data page."), icon=":material/warning:")


s = state.settings()
registered = {info.name for info in losses.available()}
has_things = things.available(s["data_dir"])
power_slot = None

with st.container(border=True):
    st.markdown("**Does RSR transfer? Vanilla vs RSR on THINGS**  \nThree runs from one seed, identical but for "
                f"RSR (REG_STRENGTH {presets.RSR_DEFAULT_WEIGHT}): vanilla, RSR per-row (the notebook's method) and "
                "RSR with a learned map. RSR aligns cosine similarities with THINGS human similarity on half of the "
                "concepts; the other half is held out, and the scorecard asks whether the runs improved there.")
    missing = []
    if "rsr" not in registered:
        missing.append("the RSR loss is not in this version of w2vcore yet")
    if not has_things:
        missing.append("THINGS is neither packaged with this copy of w2vcore nor in the reference data folder "
                       "(Data page, Reference data tab)")
    if missing:
        st.caption("Not available: " + "; ".join(missing) + ".")
    else:
        st.caption("Per-row RSR moves only the training concepts' rows, so by construction it cannot change the "
                   "held-out ones; the learned map is one matrix shared by all words, so what it learns can reach "
                   "them.")
        corpus_path, brown_path = settings.flagship_paths(s)
        corpus_line, power_slot = st.empty(), st.container()
        seeds, launch = st.columns([1, 3], vertical_alignment="bottom")
        n_seeds = seeds.number_input("seeds", min_value=1, max_value=5, value=1, key="preset.seeds",
                                     help="three runs per seed (seeds 1, 2, …); with 2 or more the scorecard's "
                                          "intervals cover training noise too")
        flagship = settings.flagship_preset(s["data_dir"], corpus_path, brown_path, tuple(range(1, n_seeds + 1)))
        source = flagship[0].corpus.source
        reason = ("gensim's Lee corpus: tiny test settings (W2V_TINY_PRESETS is set)" if settings.tiny_presets()
                  else presets.flagship_reason(source, corpus_path, brown_path))
        corpus_line.markdown(f"Corpus: **{text.plain(source.label)}**, {text.plain(reason)}.")
        if launch.button(f"Start the {len(flagship)} runs", type="primary", key="preset.things",
                         icon=":material/rocket_launch:"):
            start_flagship(flagship)

st.subheader("More presets")
demo, notebook = st.columns(2)
with demo.container(border=True):
    st.markdown("**Quick demo**  \nThe built-in offline corpus (gensim's Wikipedia sample + Lee, ~0.5M tokens), "
                "50 dimensions, 5 epochs, 5% held out for a validation curve. About 5–10 s on a 2-core CPU.")
    if st.button("Start the quick demo", key="preset.demo"):
        start([settings.preset_config("quick-demo", presets.QUICK_DEMO)])
with notebook.container(border=True):
    st.markdown("**Reproduce the notebook**  \nAdam (lr 0.001), 100 dimensions, window 5, 5 negatives, "
                "min_count 5, 5 epochs, batch 4,096, a–z tokens, on the built-in corpus. The notebook's exact "
                "epochs and batch size are not recorded here: these two are our choice. Adam trains much "
                "slower than SGD here: expect minutes.")
    if st.button("Train with the notebook's settings", key="preset.notebook"):
        start([settings.preset_config("notebook", presets.NOTEBOOK)])

st.subheader("Runs")
any_active = any(r.active for r in runs.runs())
importing = pretrained.job() is not None and not pretrained.job().finished
with st.expander("Open pretrained vectors (GloVe, word2vec, fastText, gensim)", icon=":material/upload_file:",
                 expanded=importing or pretrained.job() is not None):
    st.caption("A pretrained embedding becomes a read-only entry in the list below: Explore, Compare (against a "
               "trained run), Bias, Values, the RSR map fit and Export take it like a finished run. It has no "
               "training, so no curves, checkpoint or resume. From the command line: "
               "`python -m w2vcore import FILE --limit N`.")
    pretrained.form()
pretrained.progress()


def table_key(ids: list[str]) -> str:
    """The table's widget key, new whenever the listed runs change (a delete, a new run): ticks then start
    empty instead of staying on row positions that now hold other runs."""
    return "home.table." + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]


def table_rows(infos) -> list[dict]:
    """One row per run; a broken run's numbers are blank and its reason is in `error`."""
    now = time.time()
    rows = []
    for r in infos:
        created = r.created if isinstance(r.created, (int, float)) else now
        if runs.imported(r):  # vectors only: no progress, losses or speed
            rows.append({"name": r.name, "kind": "imported", "status": r.status, "progress": None,
                         "processes": None, "loss/sgns": None, "loss/val": None, "words/s": None, "trained": None,
                         "age": analysis.age(now - created), "error": str(r.error or ""), "id": r.id})
            continue
        m = cached.metrics(r.id)
        progress = analysis.fraction(r.progress)
        rows.append({"name": r.name, "kind": "trained", "status": r.status, "progress": progress,
                     "processes": r.processes, "loss/sgns": analysis.latest(m, "loss/sgns"), "loss/val": analysis.latest(m, "loss/val"),
                     "words/s": round(analysis.progress_summary(progress, m)["words_per_s"] or 0) or None,
                     "trained": analysis.duration(analysis.latest(m, "time")), "age": analysis.age(now - created),
                     "error": str(r.error or ""), "id": r.id})
    return rows


@st.fragment(run_every=2.0 if any_active else None)
def runs_table() -> None:
    infos = runs.runs()
    if not infos:
        st.info(f"No runs yet in {text.plain(runs.store().root)}. Start a preset above, set up a run on the "
                "Train page, or use `python -m w2vcore train --corpus default` on the command line.")
        return
    ids = [r.id for r in infos]
    table = st.dataframe(  # cells are plain text: run names need no escaping here
        pd.DataFrame(table_rows(infos)), hide_index=True, on_select="rerun", selection_mode="multi-row",
        key=table_key(ids),
        column_config={"kind": st.column_config.TextColumn(help="trained here, or imported (pretrained vectors: "
                                                                 "read-only, no training)"),
                       "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
                       "processes": st.column_config.NumberColumn(help="training processes (torchrun); words/s "
                                                                       "counts all of them"),
                       "loss/sgns": st.column_config.NumberColumn(format="%.3f"),
                       "loss/val": st.column_config.NumberColumn(format="%.3f"),
                       "words/s": st.column_config.NumberColumn(format="localized"),
                       "error": st.column_config.TextColumn(width="large")})
    by_id = {r.id: r for r in infos}
    chosen = [by_id[i] for i in analysis.selected_ids(table.selection.rows, ids, set(by_id))]
    if not chosen:
        st.caption("Select rows to watch, stop, resume or delete runs. The sidebar picks the runs the other "
                   "pages show.")
        return
    actions(chosen, table_key(ids))
    for r in chosen:
        if runs.imported(r):
            imported_facts(r)


def imported_facts(info) -> None:
    """What an imported embedding's source.json says, where a trained run would show its progress."""
    try:
        facts = panels.source_facts(info.id)
    except W2VError as e:
        st.error(text.plain(e))
        return
    st.markdown(f":violet-badge[imported] **{text.plain(info.name)}**")
    st.dataframe(pd.DataFrame({"source": list(facts), "value": list(facts.values())}), hide_index=True)


def actions(chosen, key: str) -> None:
    """Buttons for the ticked runs; `key` is the table's, cleared after a delete so no tick survives it."""
    run_store = runs.store()
    pick, stop, resume, delete = st.columns(4)
    if pick.button(f"Show {len(chosen)} in the sidebar", icon=":material/visibility:", key="home.pick"):
        runs.select([r.id for r in chosen])
        st.rerun(scope="app")
    active = [r for r in chosen if r.active]
    if stop.button("Stop", icon=":material/stop_circle:", disabled=not active, key="home.stop",
                   help="running runs save a checkpoint and their vectors, then end as 'stopped'"):
        for r in active:
            run_store.stop(r.id)
    resumable = [r for r in chosen if runs.resumable(r)]
    if resume.button("Resume", icon=":material/play_arrow:", disabled=not resumable, key="home.resume",
                     help="continue stopped or crashed runs from their last checkpoint"):
        try:
            for r in resumable:
                runs.resume(r.id)
        except W2VError as e:
            st.error(text.plain(e))
        else:
            st.rerun(scope="app")
    finished = [r for r in chosen if not r.active]
    with delete.popover("Delete", icon=":material/delete:", disabled=not finished):
        st.markdown(f"Delete these {len(finished)} run(s) and their files? This cannot be undone.\n\n"
                    + "\n".join(f"- **{text.plain(r.name)}** ({text.plain(r.id)})" for r in finished))
        if st.button("Delete for good", type="primary", key="home.delete"):
            delete_runs(finished, key)


def delete_runs(finished, key: str) -> None:
    """Delete exactly these runs, then clear the table's ticks and redraw the app."""
    problems = []
    for r in finished:
        try:
            runs.store().delete(r.id)
        except (W2VError, OSError) as e:
            problems.append(f"{r.name}: {e}")
    st.session_state.pop(key, None)
    if problems:
        st.error(text.plain("Not deleted: " + "; ".join(problems)))
        return
    st.rerun(scope="app")


runs_table()
if power_slot is not None:  # last: the first count reads the corpus, and the page is usable meanwhile
    with power_slot:
        show_power(flagship[0])
