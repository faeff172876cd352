"""Train: every hyperparameter, one control group per registered loss, a single run, a twin or an
α sweep launched in the background, and the live curves of the runs picked in the sidebar."""
import os

import streamlit as st
import torch

from labui import cached, panels, runs, settings, state, text
from labui.state import bind, bind_choice
from w2vcore import losses, presets
from w2vcore.config import ENGINES, SYNC_MODES, SYNC_ROWS
from w2vcore.distributed.torchrun import MAX_PROCESSES
from w2vcore.errors import W2VError

PAGE = "train"
BATCH_SIZES = [2 ** k for k in range(6, 17)]
SAMPLE_OPTIONS = [0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
MODES = {"single": "single run", "twin": "twin: vanilla + loss", "sweep": "α sweep"}

s = state.settings()
registered = sorted(losses.available(), key=lambda info: info.name != "rsr")  # REG_STRENGTH first
st.title("Train")
try:
    corpus = settings.corpus_source(s).label
except W2VError as e:
    corpus = None
    st.warning(text.plain(f"Corpus: {e}."))
if corpus:
    reference = f"reference data {text.plain(s['data_dir'])}" if s["data_dir"].strip() else "no reference data folder"
    st.caption(f"Corpus: **{text.plain(corpus)}**, min_count {s['min_count']}; {reference}. Change them on the Data page.")


def model_tab() -> None:
    bind(st.slider, "dimensions", "dim", PAGE, min_value=2, max_value=512,
         help="length of each word vector; 100-300 is usual, small values train faster")
    bind(st.slider, "window", "window", PAGE, min_value=1, max_value=20,
         help="max distance between centre and context word (word2vec samples a reduced window per word); the default 10 helps relatedness on small corpora, see docs/HYPERPARAMETERS.md")
    bind(st.slider, "negatives", "negative", PAGE, min_value=1, max_value=30,
         help="noise words per positive pair; more than 5 changed nothing measurable on 0.5-1.5M-token corpora (docs/HYPERPARAMETERS.md)")


def optimiser_tab() -> None:
    optimizer = bind_choice(st.radio, "optimiser", ["sgd", "adam"], "optimizer", PAGE, horizontal=True,
                            help="sgd: word2vec's linearly decaying learning rate; adam: as in the notebooks")
    bind(st.number_input, f"learning rate ({optimizer})", f"lr_{optimizer}", PAGE, min_value=1e-5,
         max_value=1.0, format="%g", step=0.001 if optimizer == "sgd" else 0.0001,
         help="SGD: 0.025 as word2vec; on the CPU, 0.05 scored better on every benchmark here (docs/HYPERPARAMETERS.md). Adam works around 0.001")
    bind(st.slider, "epochs", "epochs", PAGE, min_value=1, max_value=50, help="passes over the training documents; more for small corpora when relatedness matters (docs/HYPERPARAMETERS.md)")
    bind(st.select_slider, "batch size", "batch_size", PAGE, options=BATCH_SIZES,
         help="positive (centre, context) pairs per optimiser step; larger is faster per word, "
              "but too large for a small corpus fails with a message")


def vocabulary_tab() -> None:
    bind(st.number_input, "min_count", "min_count", PAGE, min_value=1, max_value=10_000,
         help="drop words seen fewer times")
    bind(st.number_input, "max vocabulary size (0 = no limit)", "max_vocab_size", PAGE, min_value=0,
         max_value=10_000_000, step=1000)
    if s["sample"] not in SAMPLE_OPTIONS:
        s["sample"] = 1e-3
    bind(st.select_slider, "subsampling threshold", "sample", PAGE, options=SAMPLE_OPTIONS,
         format_func=lambda v: "off" if v == 0 else f"{v:g}",
         help="frequent words are dropped with word2vec's formula; lower drops more (default 1e-3; 1e-4 or 1e-5 only with lr 0.05 and at least 20 epochs, docs/HYPERPARAMETERS.md)")
    bind(st.slider, "noise exponent", "ns_exponent", PAGE, min_value=0.0, max_value=1.0, step=0.05,
         help="negatives are drawn from unigram^exponent; 0.75 is word2vec's choice")
    val = bind(st.slider, "validation share", "val_fraction", PAGE, min_value=0.0, max_value=0.5, step=0.01,
               help="share of documents held out to draw the validation loss curve (0 = none)")
    bind(st.slider, "early stopping patience", "early_stopping_patience", PAGE, min_value=0, max_value=10,
         disabled=val == 0, help="stop after this many epochs without validation-loss improvement "
                                 "(0 = off; needs a validation share)")


def machine_tab() -> None:
    bind(st.number_input, "seed", "seed", PAGE, min_value=0, max_value=2 ** 31 - 1,
         help="fixes initialisation, subsampling, windows, negatives and batch order")
    devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) + \
              (["mps"] if torch.backends.mps.is_available() else [])
    device = bind_choice(st.selectbox, "device", devices, "device", PAGE,
                         help="auto picks cuda, then mps, then cpu")
    bind_choice(st.selectbox, "engine", list(ENGINES), "engine", PAGE,
                help="how the SGNS update runs: auto picks the fastest available; torch works on every device")
    bind(st.slider, "CPU threads", "threads", PAGE, min_value=0, max_value=os.cpu_count() or 1,
         disabled=s["optimizer"] == "adam" or device in ("cuda", "mps"),
         help="Hogwild SGD threads on the CPU: 0 = one per core (shared among the processes); 1 = bit-for-bit "
              "reproducible (SGD on the CPU only: Adam and GPUs use one)")
    processes_controls(device)


def processes_controls(device: str) -> None:
    """Data-parallel training: how many processes, and how they keep their tables in step."""
    cores = os.cpu_count() or 1
    gpus = torch.cuda.device_count() if torch.cuda.is_available() and device in ("auto", "cuda") else 0
    most = min(MAX_PROCESSES, max(cores, gpus))
    n = bind(st.number_input, "processes", "processes", PAGE, min_value=1, max_value=most,
             help="train on this many processes through torchrun (gloo on the CPU; NCCL with a GPU for each): each "
                  "trains its share of the documents and they combine their updates every 'sync every' words. "
                  "On one machine a single process with threads is usually as fast; see docs/DISTRIBUTED.md")
    if n > 1 and gpus and n > gpus:
        st.caption(f"{n} processes but {gpus} GPU(s): the processes train on the CPU (gloo).")
    left, mid, right = st.columns(3)
    bind(left.number_input, "sync every (words)", "sync_every", PAGE, min_value=1_000, max_value=100_000_000,
         step=50_000, disabled=n == 1,
         help="words each process trains between table syncs; rarer syncs cost less time but, summed, "
              "learn worse (docs/DISTRIBUTED.md has the measurements and a cost model)")
    bind_choice(mid.selectbox, "sync mode", list(SYNC_MODES), "sync_mode", PAGE, disabled=n == 1,
                help="sum: every process's updates land in full, as in one process (the default); mean: the "
                     "updates are averaged, gentler when syncs are rare")
    bind_choice(right.selectbox, "rows sent", list(SYNC_ROWS), "sync_rows", PAGE, disabled=n == 1,
                help="touched: only rows some process changed since the last sync; all: whole tables; "
                     "auto: touched when they are at most half of a table (the measured break-even)")


def losses_tab() -> None:
    for info in registered:
        with st.container(border=True):
            st.markdown(f"**{info.name}**: {info.description}")
            panels.loss_controls(info, PAGE)
    if not registered:
        st.caption("No extra losses are registered in this version of w2vcore. RSR, debias and ValueVec "
                   "add their controls here when they land; until then runs are plain skip-gram.")


def advanced_tab() -> None:
    bind(st.number_input, "final learning-rate ratio", "min_lr_ratio", PAGE, min_value=0.0, max_value=1.0,
         format="%g", disabled=s["optimizer"] == "adam",
         help="SGD decays lr linearly down to lr × this ratio (Adam keeps lr constant)")
    bind(st.number_input, "log every (s)", "log_every_s", PAGE, min_value=0.1, max_value=60.0,
         help="seconds between curve points")
    bind(st.number_input, "evaluate every (s)", "eval_every_s", PAGE, min_value=0.5, max_value=600.0,
         help="seconds between validation-loss (and extra-loss evaluation) points")
    bind(st.number_input, "checkpoint every (s)", "checkpoint_every_s", PAGE, min_value=5.0, max_value=3600.0,
         help="seconds between checkpoints, besides one per epoch; a stopped run resumes from the last")


setup, live = st.columns([1, 1], gap="large")
with setup:
    panels.lazy_tabs({"Model": model_tab, f"Losses ({len(registered)})": losses_tab, "Optimiser": optimiser_tab,
                      "Vocab": vocabulary_tab, "Machine": machine_tab, "Advanced": advanced_tab}, key="train.tab")
    s["lr"] = s[f"lr_{s['optimizer']}"]
    if s["val_fraction"] == 0:
        s["early_stopping_patience"] = 0
    specs = [panels.loss_spec(info) for info in registered]

    st.divider()
    bind(st.text_input, "Run name", "name", PAGE, help="shown in the run lists; the id adds a time stamp")
    modes = ["single"] + (["twin", "sweep"] if registered else [])
    mode = st.segmented_control("Launch", modes, default="single", format_func=MODES.get, key="train.mode",
                                required=True)
    active_specs = tuple(spec for spec in specs if spec.weight > 0)
    try:
        if mode == "single":
            configs = [settings.run_config(s, active_specs)]
        else:
            names = [info.name for info in registered]
            target = st.selectbox("loss", names, key="train.target") if len(names) > 1 else names[0]
            spec = next(x for x in specs if x.name == target)
            base = tuple(x for x in specs if x.weight > 0 or x.name == target)
            n_seeds = st.number_input("seeds", min_value=1, max_value=presets.MAX_SEEDS,
                                      value=1 if mode == "twin" else 3, key=f"train.seeds.{mode}",
                                      help=f"each α is trained with seeds {s['seed']}, {s['seed'] + 1}, … (the "
                                           "Machine tab's seed first); the scorecard and the sweep plot show the "
                                           "mean and a CI across seeds")
            if mode == "twin":
                if spec.weight == 0:
                    raise W2VError(f"set the weight of '{target}' above 0 on the Losses tab: the twin "
                                   "trains one run at that weight and one at 0")
                weights = [0.0, spec.weight]
            else:
                weights = presets.parse_weights(bind(st.text_input, "α values", "sweep", PAGE,
                                                      help="one run per value and seed, all else identical"))
            base_cfg = settings.run_config(s, base)
            configs = presets.sweep_configs(base_cfg, weights, tuple(range(s["seed"], s["seed"] + n_seeds)),
                                             loss=target)
        problem = None
    except W2VError as e:
        configs, problem = [], str(e)
        st.error(text.plain(problem))
    label = {"single": "Train", "twin": "Train the twin" if len(configs) <= 2 else f"Train the {len(configs)} runs",
             "sweep": f"Train {len(configs) or 'the'} runs"}[mode]
    if len(configs) > 4:
        st.caption(f"{len(configs)} runs train at the same time and share the machine's cores.")
    if st.button(label, type="primary", icon=":material/rocket_launch:", disabled=problem is not None,
                 key="train.launch"):
        try:
            runs.launch(configs, processes=s["processes"])
            st.rerun()
        except W2VError as e:
            st.error(text.plain(e))

with live:
    watched = runs.selected()
    active_now = any(i.active for i in runs.infos(watched))

    @st.fragment(run_every=0.5 if active_now else None)  # curves redraw twice a second while a run trains
    def monitor() -> None:
        infos = runs.infos(runs.selected())
        if not infos:
            st.info("Launch a run, or pick runs in the sidebar, to watch their curves here.")
            return
        for info in infos:
            panels.run_progress(info, cached.metrics(info.id), key=PAGE)
        panels.curves_panel(infos, key=PAGE)
        if active_now and not any(i.active for i in infos):
            st.rerun()  # all finished: redraw the page once, which stops this polling

    monitor()
