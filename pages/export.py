"""Export: a run's vectors (word2vec text/binary, TensorBoard projector TSV, native .npz), its last
checkpoint, its metrics as CSV and its config; an imported embedding's vectors and its source.json (it
has no training to export). Files are built only when a button is clicked."""
import io
import json
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from labui import cached, runs, text
from w2vcore.errors import W2VError

st.title("Export")
chosen = runs.readable(runs.infos(runs.selected()))
if not chosen:
    st.info("Pick a run in the sidebar to download its files.")
    st.stop()
info = chosen[0]
if len(chosen) > 1:
    pick = st.selectbox("Run", [i.id for i in chosen], format_func=lambda i: runs.run_label(
        next(c for c in chosen if c.id == i)), key="export.run")
    info = next(c for c in chosen if c.id == pick)
run_store = runs.store()
st.caption(f"**{text.plain(info.name)}** ({info.status}) in {text.plain(info.path)}")


def word2vec_bytes(binary: bool) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors"
        cached.vectors(info.id).save_word2vec_format(path, binary=binary)
        return path.read_bytes()


def projector_zip() -> bytes:
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in cached.vectors(info.id).save_projector(tmp):
            z.write(path, path.name)
    return buf.getvalue()


def metrics_csv() -> str:
    return pd.DataFrame(cached.metrics(info.id)).to_csv(index=False)


stem = info.id
vectors_file = info.path / "vectors.npz"
st.subheader("Vectors")
try:
    readable = vectors_file.exists() and cached.vectors(info.id) is not None  # a damaged file: say so now, not on click
except W2VError as e:
    readable = False
    st.error(text.plain(e))
if readable:
    a, b, c, d = st.columns(4)
    a.download_button("word2vec text (.txt)", lambda: word2vec_bytes(False), f"{stem}.txt", "text/plain",
                      help="the C word2vec text format; gensim: KeyedVectors.load_word2vec_format(path)")
    b.download_button("word2vec binary (.bin)", lambda: word2vec_bytes(True), f"{stem}.bin",
                      "application/octet-stream", help="load_word2vec_format(path, binary=True)")
    c.download_button("TensorBoard projector (.zip)", projector_zip, f"{stem}-projector.zip", "application/zip",
                      help="vectors.tsv and metadata.tsv for projector.tensorflow.org")
    d.download_button("native (.npz)", vectors_file.read_bytes, f"{stem}.npz", "application/octet-stream",
                      help="w2vcore.vectors.Vectors.load(path): words, vectors and counts")
elif not vectors_file.exists():
    st.info(f"No vectors yet ({info.status}): they are written when the run ends or is stopped.")
if runs.imported(info):
    st.subheader("Source")
    st.caption("An imported embedding has no training: no checkpoint, no metrics and no config. Its source.json "
               "says where it came from.")
    try:
        source_json = json.dumps(cached.source(info.id), indent=1, ensure_ascii=False)
    except W2VError as e:
        st.error(text.plain(e))
    else:
        st.download_button("source (.json)", source_json, f"{stem}-source.json", "application/json",
                           help="origin path, format, encoding, words kept and in the file, dimensions")
    st.stop()
checkpoint = run_store.checkpoint_path(info.id)
st.subheader("Training")
a, b, c = st.columns(3)
if checkpoint.exists():
    a.download_button("last checkpoint (.pt)", checkpoint.read_bytes, f"{stem}-checkpoint.pt",
                      "application/octet-stream", help="both tables, optimiser state, RNG and position (torch.load)")
else:
    a.caption("No checkpoint yet.")
b.download_button("metrics (.csv)", metrics_csv, f"{stem}-metrics.csv", "text/csv",
                  help="every logged step and epoch: losses, lr, words/s, progress")
try:
    config_json = json.dumps(cached.config(info.id).to_dict(), indent=1)
except W2VError as e:
    c.error(text.plain(e))
else:
    c.download_button("config (.json)", config_json, f"{stem}-config.json", "application/json",
                      help="rebuild it with RunConfig.from_dict(json.load(f))")
