"""Reusable pieces of pages: a run's progress line, the curves panel, one loss's controls, lazy tabs,
a word error."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from w2vcore.config import LossSpec
from w2vcore.errors import W2VError
from w2vcore.losses import LossInfo
from w2vcore.runs import RunInfo

from . import analysis, cached, charts, runs, settings, state
from .text import plain, plain_chart

STATUS_ICONS = {"queued": ":grey[:material/schedule:]", "running": ":blue[:material/directions_run:]",
                "done": ":green[:material/check_circle:]", "stopped": ":orange[:material/stop_circle:]",
                "early_stopped": ":orange[:material/stop_circle:]", "failed": ":red[:material/error:]",
                "broken": ":red[:material/broken_image:]"}


def lazy_tabs(tabs: dict[str, Callable[[], None]], key: str) -> None:
    """Tabs of which only the open one runs its function (st.tabs with on_change="rerun").

    A page switch then computes and draws one tab, not all; opening another tab is one rerun.
    Settings a closed tab would show live in `state.settings()`, so they still reach the backend.
    """
    for tab, draw in zip(st.tabs(list(tabs), key=key, on_change="rerun"), tabs.values()):
        if tab.open:
            with tab:
                draw()


def computed_or_clicked(args: tuple, memo: str, label: str, note: str, **button) -> bool:
    """Whether a slow computation on `args` may run now: this session ran it before (its result is cached,
    so it shows at once) or its primary button `label` is clicked now. Otherwise the button waits, with
    `note` under it, so that opening a page or moving a slider never blocks on it. `memo`: the session
    key of what ran (see `computed`); `button`: st.button's other arguments (key, icon, help)."""
    if hash(args) in st.session_state.setdefault(memo, set()) or st.button(label, type="primary", **button):
        return True
    st.caption(note)
    return False


def computed(args: tuple, memo: str) -> None:
    """Remember that the computation on `args` succeeded, so `computed_or_clicked` no longer waits for it."""
    st.session_state.setdefault(memo, set()).add(hash(args))


def run_progress(info: RunInfo, rows: list[dict], key: str) -> None:
    """Status, progress bar with ETA and words/s, a stop button while running, the error if failed or
    broken, and a Resume button for a stopped or failed run that left a checkpoint."""
    icon = STATUS_ICONS.get(info.status, "")
    name = f"**{plain(info.name)}**"
    if info.kind == "imported":
        st.markdown(f":violet-badge[imported] {name}: {plain(source_line(info.id))}")
        return
    if info.active:
        p = analysis.progress_summary(analysis.fraction(info.progress), rows)
        if not rows:
            text = f"{icon} {name}: starting (loading the corpus and torch)…"
        else:
            speed = analysis.rate(p["words_per_s"]) if p["words_per_s"] else "measuring speed"
            text = (f"{icon} {name}: {analysis.fraction(info.progress):.0%} · elapsed {analysis.duration(p['elapsed'])} · "
                    f"ETA {analysis.duration(p['eta'])} · {speed}")
        if info.processes > 1:
            text += f" · {info.processes} processes"
        bar, stop = st.columns([4, 1], vertical_alignment="bottom")
        bar.progress(min(1.0, analysis.fraction(info.progress)), text=text)
        if stop.button("Stop", key=f"{key}.stop.{info.id}", icon=":material/stop_circle:",
                       help="saves a checkpoint and the vectors, then ends as 'stopped'"):
            runs.store().stop(info.id)
            st.toast(f"asked {plain(info.name)} to stop")
        return
    line, button = st.columns([4, 1], vertical_alignment="center")
    if info.status in ("failed", "broken"):
        line.error(f"{icon} {name} {info.status}: {plain(info.error)}")
    else:
        seconds = analysis.latest(rows, "time")
        line.markdown(f"{icon} {name}: {info.status.replace('_', ' ')} after "
                      f"{analysis.duration(seconds)} ({analysis.fraction(info.progress):.0%} of the planned epochs)")
    if runs.resumable(info) and button.button("Resume", key=f"{key}.resume.{info.id}",
                                                icon=":material/play_arrow:",
                                                help="continue from the last checkpoint, in the background"):
        try:
            runs.resume(info.id)
        except W2VError as e:
            line.error(plain(e))
        else:
            st.rerun(scope="app")  # the page starts polling the run again


def source_line(run_id: str) -> str:
    """An imported embedding in one line: words kept (of those in the file) × dimensions, format, origin."""
    try:
        src = cached.source(run_id)
    except W2VError as e:
        return str(e)
    of = f" of {src['words_in_file']:,}" if src.get("words_in_file") not in (None, src["words"]) else ""
    return (f"{src['words']:,}{of} words × {src['dim']} dimensions, {src['format']} ({src['encoding']}), "
            f"from {src['origin']}")


def source_facts(run_id: str) -> dict[str, str]:
    """An imported embedding's source.json as rows a table shows (what a trained run's config would say)."""
    src = cached.source(run_id)
    in_file = src.get("words_in_file")
    return {"origin": str(src["origin"]), "format": str(src["format"]), "encoding of the words": str(src["encoding"]),
            "words kept": f"{src['words']:,}",
            "words in the file": f"{in_file:,}" if in_file is not None else "not counted (read up to the limit)",
            "limit": f"{src['limit']:,} most frequent" if src.get("limit") else "none",
            "dimensions": str(src["dim"]), "file size": f"{src.get('bytes', 0) / 1e6:,.1f} MB",
            "import took": f"{src.get('seconds', 0):.1f} s",
            **({"notes": "; ".join(map(str, src["notes"]))} if src.get("notes") else {})}


def curves_panel(infos: list[RunInfo], key: str) -> None:
    """Curves of every metric the runs logged, overlaid by run, with metric/x-axis/smoothing controls.
    Imported embeddings have no training curves and are left out (with a caption)."""
    infos = runs.trained_only(infos, "the training curves")
    if not infos:
        return
    frames = {plain_chart(f"{i.name} ({i.id[-6:]})" if _duplicate(i, infos) else i.name):
              analysis.metrics_frame(cached.metrics(i.id)) for i in infos}
    keys = analysis.curve_keys(list(frames.values()))
    if not keys:
        st.info("No metric points yet: the first ones appear about a second after training starts.")
        return
    left, mid, right = st.columns([5, 3, 3])
    hide_key = f"{key}.hide"
    if hide_key in st.session_state:  # metrics of runs no longer shown cannot stay selected
        st.session_state[hide_key] = [k for k in st.session_state[hide_key] if k in keys]
    hidden = left.multiselect("Hide metrics", keys, key=hide_key, placeholder="all metrics shown",
                              help="new metrics (the validation loss, a loss's own curves) appear as they are logged")
    shown = [k for k in keys if k not in hidden]
    x = mid.selectbox("x axis", ["epoch", "step", "time"], key=f"{key}.x",
                      help="epoch = fraction of the planned passes done; time = seconds of training")
    smoothing = right.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key=f"{key}.smooth",
                             help="exponential moving average as in TensorBoard; 0 = raw points")
    if shown:
        st.plotly_chart(charts.curves_figure(frames, shown, x, smoothing), key=f"{key}.chart")


def _duplicate(info: RunInfo, infos: list[RunInfo]) -> bool:
    return sum(1 for i in infos if i.name == info.name) > 1


def loss_spec(info: LossInfo) -> LossSpec:
    """The loss as the settings hold it (the Losses tab's controls write them), defaults filled in."""
    s = state.settings()
    prefix = f"loss.{info.name}."
    _default_unless_fits(s, prefix + "weight", 0.0)
    for name, p in info.params.items():
        _default_unless_fits(s, prefix + name, p.default, p.choices)
    return LossSpec(info.name, s[prefix + "weight"], {name: s[prefix + name] for name in info.params})


def _default_unless_fits(s: dict, key: str, default, choices=None) -> None:
    """Keep a (saved) loss setting only when it has the parameter's type and is one of its choices."""
    if key not in s or not settings.same_kind(s[key], default) or (choices and s[key] not in choices):
        s[key] = default
    elif isinstance(default, float):
        s[key] = float(s[key])


def loss_controls(info: LossInfo, page: str) -> LossSpec:
    """One registered loss: its weight first (REG_STRENGTH for RSR), then each of its parameters."""
    loss_spec(info)  # fills in the defaults
    prefix = f"loss.{info.name}."
    label = "REG_STRENGTH (α)" if info.name == "rsr" else f"{info.name} weight (α)"
    weight = state.bind(st.slider, label, prefix + "weight", page, min_value=0.0, max_value=1.0, step=0.01,
                         help=f"{info.description}. Training minimises (1 − α)·L_w2v + α·L_{info.name}; "
                              "α = 0 turns the loss off (the run is then exactly the vanilla run).")
    params = {}
    with st.expander(f"{info.name} parameters ({len(info.params)})"):  # the weight is the knob; these have defaults
        cols = st.columns(2)
        for i, (name, p) in enumerate(info.params.items()):
            with cols[i % 2]:
                params[name] = _param_widget(prefix + name, name, p, page)
    return LossSpec(info.name, weight, params)


def _param_widget(setting: str, label: str, p, page: str):
    if isinstance(p.default, bool):
        return state.bind(st.checkbox, label, setting, page, help=p.help)
    if isinstance(p.default, str) and p.choices:
        return state.bind_choice(st.selectbox, label, list(p.choices), setting, page, help=p.help)
    if isinstance(p.default, str):
        return state.bind(st.text_input, label, setting, page, help=p.help)
    if isinstance(p.default, int):
        low = int(p.low) if p.low is not None else None
        high = int(p.high) if p.high is not None else None
        return state.bind(st.number_input, label, setting, page, min_value=low, max_value=high, step=1, help=p.help)
    low = float(p.low) if p.low is not None else None
    high = float(p.high) if p.high is not None else None
    return state.bind(st.number_input, label, setting, page, min_value=low, max_value=high, format="%g",
                       help=p.help)


def word_error(e: W2VError) -> None:
    """An unknown word or a bad query, as a warning (the message carries the suggestion)."""
    st.warning(plain(e), icon=":material/search_off:")
