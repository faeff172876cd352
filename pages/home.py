"""Home: what the lab does, the runs on disk, and a one-click quick demo."""
import time

import pandas as pd
import streamlit as st

from w2vcore.config import CorpusConfig, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore


@st.cache_resource
def store() -> RunStore:
    return RunStore()


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


st.title("Word2Vec Lab")
st.markdown(
    "Train skip-gram word2vec embeddings on a corpus of your choice and inspect what they learn. "
    "Runs train in the background and survive page refreshes; their curves, vectors and checkpoints "
    "are kept on disk. Extra losses (human-similarity alignment, debiasing, value alignment) plug "
    "into the same engine."
)

runs = store()
if st.button("Quick demo: built-in corpus, 2 epochs", type="primary",
             help="gensim's bundled Wikipedia sample + Lee corpus (~0.5M tokens), works offline"):
    cfg = RunConfig(name="quick-demo", corpus=CorpusConfig(), train=TrainConfig(epochs=2))
    try:
        run_id = runs.create(cfg)
        runs.start(run_id)
        st.toast(f"started {run_id}")
    except W2VError as e:
        st.error(str(e))


@st.fragment(run_every=2.0)
def run_table() -> None:
    infos = runs.list()
    if not infos:
        st.info(f"No runs yet in {runs.root}. Start the quick demo above, or use "
                "`python -m w2vcore train --corpus default` on the command line.")
        return
    now = time.time()
    rows = [{"run": r.id, "status": r.status, "progress": r.progress,
             "loss/sgns": r.last.get("loss/sgns"), "words/s": r.last.get("words_per_s"),
             "age": age(now - r.created), "error": r.error} for r in infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True,
                 column_config={"progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
                                "loss/sgns": st.column_config.NumberColumn(format="%.3f"),
                                "words/s": st.column_config.NumberColumn(format="%.0f")})
    active = [r.id for r in infos if r.active]
    if active:
        choice = st.selectbox("Running", active)
        if st.button("Stop", help="the run saves a checkpoint and its vectors, then ends as 'stopped'"):
            runs.stop(choice)


run_table()
