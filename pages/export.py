"""Export: a run's vectors (word2vec text/binary, TensorBoard projector TSV, native .npz), its last
checkpoint, its metrics as CSV and its config. Files are built only when a button is clicked."""
import io
import json
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from pages import common
from w2vcore.errors import W2VError

st.title("Export")
chosen = common.readable(common.infos(common.selected()))
if not chosen:
    st.info("Pick a run in the sidebar to download its files.")
    st.stop()
info = chosen[0]
if len(chosen) > 1:
    pick = st.selectbox("Run", [i.id for i in chosen], format_func=lambda i: common.run_label(
        next(c for c in chosen if c.id == i)), key="export.run")
    info = next(c for c in chosen if c.id == pick)
runs = common.store()
st.caption(f"**{common.plain(info.name)}** ({info.status}) in {common.plain(info.path)}")


def word2vec_bytes(binary: bool) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors"
        common.vectors(info.id).save_word2vec_format(path, binary=binary)
        return path.read_bytes()


def projector_zip() -> bytes:
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in common.vectors(info.id).save_projector(tmp):
            z.write(path, path.name)
    return buf.getvalue()


def metrics_csv() -> str:
    return pd.DataFrame(common.metrics(info.id)).to_csv(index=False)


stem = info.id
vectors_file = info.path / "vectors.npz"
checkpoint = runs.checkpoint_path(info.id)
st.subheader("Vectors")
try:
    readable = vectors_file.exists() and common.vectors(info.id) is not None  # a damaged file: say so now, not on click
except W2VError as e:
    readable = False
    st.error(common.plain(e))
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
    config_json = json.dumps(common.config(info.id).to_dict(), indent=1)
except W2VError as e:
    c.error(common.plain(e))
else:
    c.download_button("config (.json)", config_json, f"{stem}-config.json", "application/json",
                      help="rebuild it with RunConfig.from_dict(json.load(f))")
