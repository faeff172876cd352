"""Home: what the lab does, one-click presets, and the runs on disk."""
import hashlib
import time

import pandas as pd
import streamlit as st

from pages import analysis, common, settings
from w2vcore import losses
from w2vcore.errors import W2VError

st.title("Word2Vec Lab")
st.markdown(
    "Train skip-gram word2vec embeddings on a corpus of your choice and watch them learn, live. "
    "Runs train in the background and live on disk, so closing or refreshing the page never loses one. "
    "Then look inside: nearest neighbours, analogies, maps of the embedding space, and side-by-side "
    "comparisons of two runs, e.g. with and without an extra loss that aligns them with human judgements."
)


def start(configs) -> None:
    try:
        common.launch(configs)
    except W2VError as e:
        st.error(common.plain(e))
        return
    st.switch_page("pages/train.py")


s = common.settings()
registered = {info.name for info in losses.available()}
things = settings.things_available(s["data_dir"])

st.subheader("Start from a preset")
demo, notebook, twin = st.columns(3)
with demo.container(border=True):
    st.markdown("**Quick demo**  \nThe built-in offline corpus (gensim's Wikipedia sample + Lee, ~0.5M tokens), "
                "50 dimensions, 5 epochs, 5% held out for a validation curve. About 5–10 s on a 2-core CPU.")
    if st.button("Start the quick demo", type="primary", key="preset.demo"):
        start([settings.preset_config("quick-demo", settings.QUICK_DEMO)])
with notebook.container(border=True):
    st.markdown("**Reproduce the notebook**  \nAdam (lr 0.001), 100 dimensions, window 5, 5 negatives, "
                "min_count 5, 5 epochs, batch 4,096, a–z tokens, on the built-in corpus. The notebook's exact "
                "epochs and batch size are not recorded here: these two are our choice. Adam trains much "
                "slower than SGD here: expect minutes.")
    if st.button("Train with the notebook's settings", key="preset.notebook"):
        start([settings.preset_config("notebook", settings.NOTEBOOK)])
with twin.container(border=True):
    st.markdown("**Vanilla vs RSR on THINGS**  \nTwo runs identical except REG_STRENGTH "
                f"(0 and {settings.RSR_DEFAULT_WEIGHT}), aligning cosine similarities with THINGS human "
                "similarity; THINGS multi-word concepts become single tokens.")
    missing = []
    if "rsr" not in registered:
        missing.append("the RSR loss is not in this version of w2vcore yet")
    if not things:
        missing.append("THINGS is neither packaged with this copy of w2vcore nor in the reference data folder "
                       "(Data page, Reference data tab)")
    if missing:
        st.caption("Not available: " + "; ".join(missing) + ".")
    elif st.button("Start the twin", key="preset.things"):
        start(settings.things_twin(s["data_dir"], settings.things_phrases(s["data_dir"])))

st.subheader("Runs")
any_active = any(r.active for r in common.runs())


def table_key(ids: list[str]) -> str:
    """The table's widget key, new whenever the listed runs change (a delete, a new run): ticks then start
    empty instead of staying on row positions that now hold other runs."""
    return "home.table." + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]


def table_rows(infos) -> list[dict]:
    """One row per run; a broken run's numbers are blank and its reason is in `error`."""
    now = time.time()
    rows = []
    for r in infos:
        m = common.metrics(r.id)
        progress = analysis.fraction(r.progress)
        created = r.created if isinstance(r.created, (int, float)) else now
        rows.append({"name": r.name, "status": r.status, "progress": progress,
                     "loss/sgns": analysis.latest(m, "loss/sgns"), "loss/val": analysis.latest(m, "loss/val"),
                     "words/s": round(analysis.progress_summary(progress, m)["words_per_s"] or 0) or None,
                     "trained": analysis.duration(analysis.latest(m, "time")), "age": analysis.age(now - created),
                     "error": str(r.error or ""), "id": r.id})
    return rows


@st.fragment(run_every=2.0 if any_active else None)
def runs_table() -> None:
    infos = common.runs()
    if not infos:
        st.info(f"No runs yet in {common.plain(common.store().root)}. Start a preset above, set up a run on the "
                "Train page, or use `python -m w2vcore train --corpus default` on the command line.")
        return
    ids = [r.id for r in infos]
    table = st.dataframe(  # cells are plain text: run names need no escaping here
        pd.DataFrame(table_rows(infos)), hide_index=True, on_select="rerun", selection_mode="multi-row",
        key=table_key(ids),
        column_config={"progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
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


def actions(chosen, key: str) -> None:
    """Buttons for the ticked runs; `key` is the table's, cleared after a delete so no tick survives it."""
    runs = common.store()
    pick, stop, resume, delete = st.columns(4)
    if pick.button(f"Show {len(chosen)} in the sidebar", icon=":material/visibility:", key="home.pick"):
        common.select([r.id for r in chosen])
        st.rerun(scope="app")
    active = [r for r in chosen if r.active]
    if stop.button("Stop", icon=":material/stop_circle:", disabled=not active, key="home.stop",
                   help="running runs save a checkpoint and their vectors, then end as 'stopped'"):
        for r in active:
            runs.stop(r.id)
    resumable = [r for r in chosen if common.resumable(r)]
    if resume.button("Resume", icon=":material/play_arrow:", disabled=not resumable, key="home.resume",
                     help="continue stopped or crashed runs from their last checkpoint"):
        try:
            for r in resumable:
                common.resume(r.id)
        except W2VError as e:
            st.error(common.plain(e))
        else:
            st.rerun(scope="app")
    finished = [r for r in chosen if not r.active]
    with delete.popover("Delete", icon=":material/delete:", disabled=not finished):
        st.markdown(f"Delete these {len(finished)} run(s) and their files? This cannot be undone.\n\n"
                    + "\n".join(f"- **{common.plain(r.name)}** ({common.plain(r.id)})" for r in finished))
        if st.button("Delete for good", type="primary", key="home.delete"):
            delete_runs(finished, key)


def delete_runs(finished, key: str) -> None:
    """Delete exactly these runs, then clear the table's ticks and redraw the app."""
    problems = []
    for r in finished:
        try:
            common.store().delete(r.id)
        except (W2VError, OSError) as e:
            problems.append(f"{r.name}: {e}")
    st.session_state.pop(key, None)
    if problems:
        st.error(common.plain("Not deleted: " + "; ".join(problems)))
        return
    st.rerun(scope="app")


runs_table()
