"""Data: choose the corpus (its encoding), tokenizer (a–z or letters of any script) and vocabulary; preview
a file's first lines as tokens; see what they give (statistics, Zipf plot, benchmark coverage). The
choices are the session's settings, which the Train page uses. Pretrained vectors open on the Runs page."""
from pathlib import Path

import pandas as pd
import streamlit as st

from labui import analysis, charts, panels, runs, settings, state, text
from labui.state import bind, bind_choice
from w2vcore import charset, things
from w2vcore.corpus import build_vocab, encode_corpus, keep_probs
from w2vcore.errors import W2VError
from w2vcore.evaldata import load_benchmarks
from w2vcore.sources import save_upload
from w2vcore.tokenize import Tokenizer

PAGE = "data"
SAMPLE_OPTIONS = [0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
ENCODINGS = {"auto": "auto (detect)", "utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "Latin-1",
             "cp1252": "Windows-1252 (cp1252)"}
LETTERS = {"ascii": "a–z only (the notebook's; default, THINGS)", "unicode": "letters of any script (Unicode, NFC)"}
PREVIEW_BYTES = 1 << 16  # the preview decodes this much of the file's start

st.title("Data")
s = state.settings()
run_store = runs.store()

st.subheader("Corpus")
kind = bind_choice(st.radio, "Source", list(settings.SOURCE_CHOICES), "source", PAGE, horizontal=True,
                   format_func=settings.SOURCE_CHOICES.get)
st.caption("Pretrained vectors (GloVe, word2vec, fastText) need no corpus: open them on the Runs page.")
st.page_link("pages/home.py", label="Open pretrained vectors", icon=":material/upload_file:")
if kind != "default":
    left, right = st.columns([1, 2], vertical_alignment="center")
    bind_choice(left.selectbox, "Encoding", list(ENCODINGS), "encoding", PAGE, format_func=ENCODINGS.get,
                help="how the file's bytes become text")
    right.caption("Encoding: how the file's bytes become characters. UTF-8 is today's usual; UTF-16 comes from some "
               "Windows tools; Latin-1 and Windows-1252 (cp1252) from older Western-European editors; auto "
               "detects a byte-order mark, UTF-16 and UTF-8, else reads Windows-1252 and says so.")
if kind == "path":
    bind(st.text_input, "Path", "path", PAGE, placeholder="/data/corpus.txt, or a folder: every *.txt inside is read",
         help="Plain text in the encoding above. Paragraphs separated by blank lines are documents (no context "
              "crosses them); without blank lines each line is one.")
elif kind == "upload":
    upload = st.file_uploader("A plain-text file", key="data.upload",
                              help="saved once into the corpus cache folder; large files are better given as a path")
    if upload is not None:
        try:
            warnings: list[str] = []
            source = save_upload(upload.getvalue(), upload.name, run_store.cache_dir / "uploads", warnings,
                                 encoding=s["encoding"])
            state.update_setting("upload_name", source.name)
            state.update_setting("upload_path", source.path)
            for note in warnings:
                st.warning(text.plain(note))
        except W2VError as e:
            st.error(text.plain(e))
    if s["upload_name"]:
        st.caption(f"Using the upload **{text.plain(s['upload_name'])}**.")
elif kind == "brown":
    bind(st.text_input, "Brown corpus folder", "brown_path", PAGE, placeholder="~/nltk_data/corpora/brown",
         help="NLTK's tagged Brown corpus: files ca01 … cr09 (500 texts in 15 genres) and cats.txt; tags are removed")

with st.expander("Tokenizer", expanded=s["letters"] != "ascii"):
    bind_choice(st.radio, "Letters", list(LETTERS), "letters", PAGE, horizontal=True, format_func=LETTERS.get)
    st.caption("a–z only: the notebook's tokenizer, which turns every other character into a space (café → caf), "
               "as the THINGS words expect. Letters of any script: keeps letters and accents of every language "
               "(café, straße, ελληνικά, 日本) after Unicode NFC normalisation, so one word has one spelling.")
    a, b, c, d = st.columns(4)
    bind(a.checkbox, "lower-case", "lowercase", PAGE, help="fold case before filtering")
    bind(b.checkbox, "keep digits", "keep_digits", PAGE, help="keep 0-9 (the RSR notebook keeps only a-z)")
    bind(c.number_input, "min token length", "min_token_len", PAGE, min_value=1, max_value=20,
         help="drop shorter tokens")
    bind_choice(d.radio, "sentences", ["line", "punct"], "sentences", PAGE, horizontal=True,
                help="line: each line is a sentence; punct: also split at . ! ?")
    bind(st.text_area, "Multi-word expressions, one per line", "phrases", PAGE, height=90,
         placeholder="air conditioner\nice cream",
         help="joined into one token (air_conditioner), so multi-word concepts get their own vector")

st.subheader("Vocabulary")
a, b, c = st.columns(3)
min_count = bind(a.number_input, "min_count", "min_count", PAGE, min_value=1, max_value=10_000,
                 help="drop words seen fewer times")
max_vocab = bind(b.number_input, "max vocabulary size (0 = no limit)", "max_vocab_size", PAGE, min_value=0,
                 max_value=10_000_000, step=1000, help="keep only the most frequent words")
if s["sample"] not in SAMPLE_OPTIONS:
    s["sample"] = 1e-3
sample = bind(c.select_slider, "subsampling threshold", "sample", PAGE, options=SAMPLE_OPTIONS,
              format_func=lambda v: "off" if v == 0 else f"{v:g}",
              help="word2vec's frequent-word subsampling: lower keeps fewer frequent words (default 1e-3)")

try:
    source, tokenizer = settings.corpus_source(s), settings.tokenizer_config(s)
except W2VError as e:
    st.info(text.plain(e))
    st.stop()



def preview(source, tokenizer) -> None:
    """The first lines of a corpus file as decoded in its encoding, and the tokens the tokenizer makes of them."""
    path = Path(source.path)
    if not path.is_file():
        return
    try:
        with open(path, "rb") as f:
            head = f.read(PREVIEW_BYTES)
    except OSError as e:
        st.error(text.plain(f"Cannot read {path}: {e.strerror or e}"))
        return
    name, _ = charset.codec(source.encoding, head)
    lines = [line.strip() for line in head.decode(name, errors="replace").splitlines() if line.strip()][:5]
    cut = Tokenizer(tokenizer)
    shown = "\n".join(f"{line[:160]}\n  → {' '.join(cut.words(line)[:25])}" for line in lines)
    with st.expander(f"Preview: the first lines of {text.plain(source.label)}", expanded=True):
        st.code(shown or "(no text in the first 64 KB)", language=None, wrap_lines=True)
        read_as = ENCODINGS[source.encoding] if source.encoding != "auto" else f"auto: {name}"
        st.caption(f"Each line as decoded ({text.plain(read_as)}), then → the tokens the tokenizer above makes "
                   "of it.")


if source.kind == "text":
    preview(source, tokenizer)
if source.kind != "default" and not panels.computed_or_clicked(
        (source, tokenizer), "data.read", "Read the corpus",
        "Reading tokenizes the corpus once and caches it, so runs on it start fast.",
        help="tokenize once; later reads come from the cache"):
    st.stop()
bar = st.progress(0.0, text="reading the corpus")
try:
    encoded = encode_corpus(source, tokenizer, run_store.cache_dir,
                            progress=lambda stage, f: bar.progress(min(1.0, f), text=stage))
    vocab = build_vocab(encoded, min_count, max_vocab or None)
except W2VError as e:
    bar.empty()
    st.error(text.plain(e))
    st.stop()
bar.empty()
panels.computed((source, tokenizer), "data.read")

for note in encoded.stats.get("warnings", []):
    st.warning(text.plain(note))
kept = len(vocab)
covered = int(vocab.counts.sum())
after_sampling = float((vocab.counts * keep_probs(vocab.counts, sample)).sum())
cols = st.columns(6)
cols[0].metric("tokens", f"{encoded.n_tokens:,}")
cols[1].metric("documents", f"{encoded.n_docs:,}", help=f"{encoded.n_sentences:,} sentences")
cols[2].metric("distinct words", f"{len(encoded.words):,}")
cols[3].metric("vocabulary", f"{kept:,}", help="words kept by min_count and the size limit")
cols[4].metric("tokens covered", f"{covered / encoded.n_tokens:.1%}", help="share of tokens that are in the vocabulary")
cols[5].metric("kept by subsampling", f"{after_sampling / max(covered, 1):.0%}",
               help="expected share of in-vocabulary tokens that survive subsampling in one epoch")


def vocabulary_tab() -> None:
    """The Zipf plot and the most frequent words."""
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(charts.zipf_figure(encoded.counts, kept, min_count), key="data.zipf")
    with right:
        top = pd.DataFrame({"word": vocab.index_to_key[:200], "count": vocab.counts[:200],
                            "kept by subsampling": keep_probs(vocab.counts, sample)[:200]})
        st.dataframe(top, hide_index=True, height=380,
                     column_config={"kept by subsampling": st.column_config.ProgressColumn(
                         min_value=0.0, max_value=1.0, format="percent",
                         help="probability that one occurrence is kept")})


def reference_tab() -> None:
    """Coverage of the benchmarks and of THINGS by this vocabulary, with the words it lacks."""
    data_dir = bind(st.text_input, "Reference data folder", "data_dir", PAGE, placeholder="e.g. ../shared/data",
                    help="a folder with wordsim/ (SimLex-999, WordSim-353, MEN, analogies) and things/ (THINGS); "
                         "defaults to $W2V_DATA_DIR. Without it, gensim's bundled SimLex-999 and WordSim-353 are used.")
    has_things = things.available(data_dir)
    if has_things:
        try:
            where = things.describe(data_dir)
        except W2VError as e:
            st.error(text.plain(e))
            has_things = False
        else:
            st.caption(f"THINGS: {text.plain(where)}. A `things/` folder in the reference data folder overrides "
                       "the packaged copy.")
            with st.expander("THINGS licences and attribution"):
                st.text(things.ATTRIBUTION)
    else:
        st.caption("THINGS: not found (a `things/` folder with the SPoSE embedding and unique_id.txt).")
    try:
        bench = load_benchmarks(data_dir.strip() or None)
    except W2VError as e:
        st.error(text.plain(e))
        return
    fold = str.lower if s["lowercase"] else str
    rows, missing = [], {}
    for name, pairs in bench.pairs.items():
        absent = sorted({fold(w) for p in pairs for w in p[:2] if fold(w) not in vocab})
        usable = sum(1 for p in pairs if fold(p[0]) in vocab and fold(p[1]) in vocab)
        rows.append({"benchmark": name, "pairs": len(pairs), "covered": usable, "coverage": usable / len(pairs),
                     "missing words": len(absent), "source": bench.sources[name]})
        missing[name] = absent
    st.dataframe(pd.DataFrame(rows), hide_index=True,
                 column_config={"coverage": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                             format="percent")})
    for name, absent in missing.items():
        if absent:
            with st.expander(f"{name}: {len(absent)} words not in the vocabulary"):
                st.text(", ".join(absent))
    if has_things:
        st.markdown("**THINGS concepts in this vocabulary** (the RSR target and the category-prediction labels)")
        try:
            frame, alignment = analysis.concept_table(vocab.key_to_index, data_dir.strip())
            coverage = analysis.category_coverage(vocab.key_to_index, data_dir.strip())
        except W2VError as e:
            st.error(text.plain(e))
        else:
            st.caption(text.plain(alignment.summary()) + ". Multi-word concepts (air conditioner) match only when the tokenizer "
                       "joins THINGS phrases (Train page, tokenizer options).")
            left, right = st.columns([3, 2])
            left.dataframe(coverage, hide_index=True, height=300,
                           column_config={"coverage": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                       format="percent")})
            right.dataframe(pd.DataFrame(sorted(alignment.counts.items()), columns=["how matched", "concepts"]),
                            hide_index=True)
            if alignment.missing:
                with st.expander(f"{len(alignment.missing)} THINGS concepts not in the vocabulary"):
                    st.text(", ".join(alignment.missing))
            if alignment.collisions:
                with st.expander(f"{len(alignment.collisions)} words matched by several concepts"):
                    st.markdown("; ".join(f"**{text.plain(w)}**: {text.plain(', '.join(c))}"
                                          for w, c in alignment.collisions.items()))


panels.lazy_tabs({"Vocabulary": vocabulary_tab, "Reference data": reference_tab}, key="data.tab")
st.page_link("pages/train.py", label="Train on this corpus", icon=":material/model_training:")
