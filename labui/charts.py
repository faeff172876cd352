"""Plotly figure builders: data in, figure out, no streamlit inside."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .analysis import curve, smooth

PALETTE = qualitative.Plotly
LABEL_LIMIT = 150  # projections with at most this many words draw them larger (their labels are sparse: see sparse_labels)
X_TITLES = {"epoch": "epoch", "step": "optimiser step", "time": "seconds"}
WEBGL_FROM = 1500  # points; below this SVG draws faster (WebGL start-up is slow without a GPU) and uses no GL context


def _points(n: int):
    """The scatter trace type for n points."""
    return go.Scattergl if n >= WEBGL_FROM else go.Scatter


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def zipf_figure(counts: np.ndarray, kept: int | None = None, min_count: int | None = None,
                points: int = 400) -> go.Figure:
    """Log-log rank/frequency plot of word counts (non-increasing), with the vocabulary cut marked."""
    counts = np.asarray(counts, dtype=np.float64)
    ranks = np.unique(np.geomspace(1, len(counts), num=min(points, len(counts))).astype(int))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ranks, y=counts[ranks - 1], mode="lines+markers", marker=dict(size=3),
                             name="corpus", hovertemplate="rank %{x}<br>count %{y}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[1, len(counts)], y=[counts[0], counts[0] / len(counts)], mode="lines",
                             line=dict(dash="dot", color="grey"), name="Zipf: count ∝ 1/rank", hoverinfo="skip"))
    # annotations on log axes take log10 coordinates (plotly's vline/hline annotations get this wrong)
    if kept:
        fig.add_vline(x=kept, line=dict(dash="dash", color="#d62728"))
        fig.add_annotation(x=math.log10(kept), y=1, yref="paper", text=f"vocabulary: {kept:,} words",
                           showarrow=False, xanchor="right", yanchor="top", font=dict(color="#d62728"))
    if min_count:
        fig.add_hline(y=min_count, line=dict(dash="dash", color="#ff7f0e"))
        fig.add_annotation(x=0, xref="paper", y=math.log10(min_count), text=f"min_count = {min_count}",
                           showarrow=False, xanchor="left", yanchor="bottom", font=dict(color="#ff7f0e"))
    fig.update_xaxes(type="log", title="rank", dtick=1)
    fig.update_yaxes(type="log", title="count", dtick=1)
    return _layout(fig, 380)


def curves_figure(frames: dict[str, pd.DataFrame], keys: Sequence[str], x: str = "epoch",
                  smoothing: float = 0.0, columns: int = 2) -> go.Figure:
    """One panel per metric, one colour per run; smoothed lines over faint raw ones when smoothing > 0."""
    keys = list(keys)
    rows = max(1, math.ceil(len(keys) / columns))
    cols = min(columns, max(1, len(keys)))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=keys or ["no metrics yet"],
                        horizontal_spacing=0.08, vertical_spacing=0.5 / rows)
    for r, (label, frame) in enumerate(frames.items()):
        colour = PALETTE[r % len(PALETTE)]
        for i, key in enumerate(keys):
            xs, ys = curve(frame, key, x)
            if not len(xs):
                continue
            pos = dict(row=i // cols + 1, col=i % cols + 1)
            show = dict(legendgroup=label, name=label, showlegend=False)
            if smoothing > 0 and len(xs) > 1:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=1), opacity=0.25,
                                         hoverinfo="skip", **show), **pos)
                ys = smooth(ys, smoothing)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 3 else "lines",
                                     line=dict(color=colour, width=2), **show,
                                     hovertemplate=f"{label}<br>{key} %{{y:.4f}}<br>{x} %{{x:.3g}}<extra></extra>"),
                          **pos)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=colour, width=2), name=label,
                                 legendgroup=label, showlegend=True))
    fig.update_xaxes(title_text=X_TITLES.get(x, x), title_standoff=2)
    _layout(fig, 260 * rows + 80)
    fig.update_layout(margin=dict(t=70), legend=dict(yref="container", y=1.0, yanchor="top"))  # above the titles
    return fig


def sparse_labels(frame: pd.DataFrame, width_px: int = 800, height_px: int = 520,
                  reserved: Sequence[str] = ()) -> list[str]:
    """frame's words as point labels, blank where a label would overlap one already placed.

    Greedy in frame order (put the words that matter most first, e.g. the most frequent): each label
    is a box about 6 px per character wide and 12 px high above its point, plus a 2 px margin. The maps keep x and y on
    one scale, so the data fills the plot area's tighter side. Hovering still shows every word.
    `reserved` words (searched, highlighted, pasted: labelled elsewhere, always) take their boxes first
    and come back blank here.
    """
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    if not len(x):
        return []
    scale = min(width_px / max(np.ptp(x), 1e-12), height_px / max(np.ptp(y), 1e-12))
    px, py = (x - x.min()) * scale, (y - y.min()) * scale
    boxes = np.empty((len(frame), 4))  # x0, x1, y0, y1 of the labels placed so far
    placed, out = 0, {}
    keep = set(reserved)
    words = frame["word"].astype(str).tolist()
    order = [i for i, w in enumerate(words) if w in keep] + [i for i, w in enumerate(words) if w not in keep]
    for i in order:
        word, cx, cy = words[i], px[i], py[i]
        half = 3.0 * len(word) + 2.0  # with a 2 px margin
        x0, x1, y0, y1 = cx - half, cx + half, cy, cy + 14.0
        b = boxes[:placed]
        if word in keep or not (placed and np.any((x0 < b[:, 1]) & (b[:, 0] < x1) & (y0 < b[:, 3]) & (b[:, 2] < y1))):
            boxes[placed] = (x0, x1, y0, y1)
            placed += 1
            out[i] = "" if word in keep else word
        else:
            out[i] = ""
    return [out[i] for i in range(len(words))]


MARK_SYMBOLS = {"RSR trained on": "x", "held out": "circle"}  # RSR's split on the THINGS map; others: circle
# Categories: Tableau 10 (plotly's T10) without its grey (grey means "no category" here): nine hues chosen
# to be told apart, unlike Dark24 + Light24's look-alikes; beyond nine, the hues repeat with the next marker
# shape, so THINGS' 27 categories are 9 hues × 3 shapes, each pair distinct.
CATEGORY_COLOURS = [c for c in qualitative.T10 if c.upper() != "#BAB0AC"]
CATEGORY_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x")
GREY, DIM = "#c8c8c8", "#dcdcdc"  # words without a category / the rest when something is highlighted
MUTED = {"none": "#c8c8c8", "several": "#8c8c8c", "no value": "#c8c8c8"}  # drawn first, in grey
FOCUS_COLOUR, NEIGHBOUR_COLOUR = "#d62728", "#1f3b73"


def category_style(i: int) -> tuple[str, str]:
    """(colour, marker symbol) of the i-th category: the nine hues, then again with the next shape."""
    return CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)], CATEGORY_SYMBOLS[i // len(CATEGORY_COLOURS)
                                                                        % len(CATEGORY_SYMBOLS)]


def projection_figure(frame: pd.DataFrame, colour: str | None = None, title: str = "",
                      symbol: str | None = None, *, focus: str | None = None,
                      neighbours: dict[str, float] | None = None, show: str = "dim",
                      labelled: Sequence[str] = (), category: str | None = None,
                      axis_titles: tuple[str, str] | None = None) -> go.Figure:
    """Scatter of `frame`'s x, y columns; hovering shows `word`.

    colour: a column (numeric: a colour scale; text, e.g. a THINGS category: one legend entry per value,
    see `category_style`; empty values grey), `category`: that value alone in colour, the rest grey.
    symbol: with a text colour, a column whose values `MARK_SYMBOLS` draws as shapes (RSR's split).
    focus, neighbours ({word: cosine}): a searched word (a red star) and its neighbours (dark rings),
    on top and always labelled; show = "dim" (the rest in light grey) or "isolate" (only them).
    labelled: words labelled whatever the crowding (a pasted list); other labels thin out (`sparse_labels`)
    and only maps under `WEBGL_FROM` points have them. axis_titles: shown with ticks (the word axes).
    """
    neighbours = dict(neighbours or {})
    marked = ([focus] if focus else []) + [w for w in neighbours if w != focus]
    if show == "isolate" and marked:
        frame = frame[frame["word"].isin(marked)]
    dim = bool(marked)  # isolated: the highlights cover every point left, so no colour scale either
    always = list(dict.fromkeys(marked + [w for w in labelled if w in set(frame["word"])]))
    n = len(frame)
    fig = go.Figure()
    labels = n < WEBGL_FROM
    text = pd.Series(sparse_labels(frame, reserved=always), index=frame.index) if labels else None
    if colour is not None and not pd.api.types.is_numeric_dtype(frame[colour]):
        _categories(fig, frame, colour, symbol, text, dim, category)
    else:
        _continuous(fig, frame, colour, text, dim)
    plain = [w for w in always if w not in marked]
    if plain:
        part = frame[frame["word"].isin(plain)]
        fig.add_trace(_points(n)(x=part["x"], y=part["y"], mode="text", text=part["word"], textposition="top center",
                                 textfont=dict(size=11, color="#222"), hoverinfo="skip", showlegend=False,
                                 name="labels"))
    if marked:
        _highlight(fig, frame, focus, neighbours, n)
        if show == "dim":
            _zoom(fig, frame, marked)
    if axis_titles:
        fig.update_xaxes(title=axis_titles[0], zeroline=True, zerolinecolor="#999")
        fig.update_yaxes(title=axis_titles[1], zeroline=True, zerolinecolor="#999")
    else:
        fig.update_xaxes(showticklabels=False, title=None)
        fig.update_yaxes(showticklabels=False, title=None, scaleanchor="x", scaleratio=1)
    fig.update_layout(title=title)
    _layout(fig, 640)
    if colour is not None and not pd.api.types.is_numeric_dtype(frame[colour]):
        fig.update_layout(legend=dict(orientation="v", x=1.01, y=1, yanchor="top", font=dict(size=11)))
    return fig


def _continuous(fig: go.Figure, frame: pd.DataFrame, colour: str | None, text, dim: bool) -> None:
    """One trace of every word coloured on a scale (words without a value: a grey "no value" trace)."""
    n, small = len(frame), len(frame) <= LABEL_LIMIT
    has = frame[colour].notna() if colour is not None else pd.Series(True, index=frame.index)
    part = frame[has]
    marker = dict(size=6 if small else 4, opacity=0.85)
    if dim:
        marker.update(color=DIM, opacity=0.6)
    elif colour is not None:
        marker.update(color=part[colour], colorscale="Viridis", showscale=True, colorbar=dict(title=colour))
    fig.add_trace(_points(n)(
        x=part["x"], y=part["y"], mode="markers+text" if text is not None else "markers",
        text=text[part.index] if text is not None else None, hovertext=part["word"],
        textposition="top center", textfont=dict(size=10), marker=marker, showlegend=False,
        customdata=part[[colour]] if colour is not None else None,
        hovertemplate="<b>%{hovertext}</b>" + (f"<br>{colour} %{{customdata[0]:.3g}}" if colour else "")
                      + "<extra></extra>"))
    rest = frame[~has]
    if len(rest):
        fig.add_trace(_points(n)(
            x=rest["x"], y=rest["y"], mode="markers+text" if text is not None else "markers",
            text=text[rest.index] if text is not None else None, hovertext=rest["word"], name=f"no value ({len(rest)})",
            textposition="top center", textfont=dict(size=10), marker=dict(size=4, color=GREY, opacity=0.6),
            hovertemplate="<b>%{hovertext}</b><br>no value<extra></extra>"))


def _categories(fig: go.Figure, frame: pd.DataFrame, colour: str, symbol: str | None, text, dim: bool,
                category: str | None) -> None:
    """One trace per value of `colour`, biggest first; with `category`, only that one in colour."""
    n, small = len(frame), len(frame) <= LABEL_LIMIT
    values = frame[colour].fillna("no value").astype(str)
    order = values.value_counts().index
    named = [v for v in order if v not in MUTED]
    grey = 0  # points drawn in the dimmed grey
    for value in [v for v in order if v in MUTED] + named:
        part = frame[values == value]
        tint, shape = (MUTED[value], "circle") if value in MUTED else category_style(named.index(value))
        if dim or (category is not None and value != category):
            tint = DIM
        hover = part["concept"] if "concept" in part.columns else part["word"]
        if symbol is not None:
            hover = hover.astype(str) + ", " + part[symbol].fillna("").astype(str)
        shapes = [MARK_SYMBOLS.get(m, "circle") for m in part[symbol]] if symbol is not None else shape
        grey += len(part) if tint == DIM else 0
        fig.add_trace(_points(n)(
            x=part["x"], y=part["y"], mode="markers+text" if text is not None else "markers",
            text=text[part.index] if text is not None else None, hovertext=part["word"],
            name=f"{value} ({len(part)})", textposition="top center", textfont=dict(size=10),
            marker=dict(size=(9 if value == category else 6) if small else (7 if value == category else 5),
                        opacity=0.9, color=tint, symbol=shapes),
            legendgroup=value, showlegend=symbol is None and tint != DIM,  # greyed values: one entry below
            customdata=hover, hovertemplate=f"<b>%{{hovertext}}</b> (%{{customdata}})<br>{value}<extra></extra>"))
        if symbol is not None and tint != DIM:  # the legend shows the category's colour as a plain dot
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{value} ({len(part)})",
                                     marker=dict(color=tint, size=8, symbol="circle"), legendgroup=value))
    if grey:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{'the rest' if dim else 'other'} ({grey})",
                                 marker=dict(color=DIM, size=8), legendgroup="greyed"))
    if category is not None and category in set(values):  # the chosen category on top of the grey rest
        fig.data = tuple(t for t in fig.data if t.legendgroup != category) + tuple(
            t for t in fig.data if t.legendgroup == category)
    if symbol is not None:  # a grey legend entry per marker shape
        for mark, shape in MARK_SYMBOLS.items():
            count = int((frame[symbol] == mark).sum())
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{mark} ({count})",
                                     marker=dict(symbol=shape, color="#444", size=8), legendgroup="rsr-split"))


ZOOM_BELOW = 0.4  # highlighted words spanning less than this share of the map: the view zooms to them


def _zoom(fig: go.Figure, frame: pd.DataFrame, words: Sequence[str]) -> None:
    """Start the view on the highlighted words (and some of their surroundings) when they crowd a corner of
    the map, as the Embedding Projector does; plotly's autoscale button shows the whole map again."""
    part = frame[frame["word"].isin(words)]
    if len(part) < 2:
        return
    full = np.ptp(frame[["x", "y"]].to_numpy(float), axis=0)
    lo, hi = part[["x", "y"]].min().to_numpy(float), part[["x", "y"]].max().to_numpy(float)
    if np.all(full > 0) and np.max((hi - lo) / full) < ZOOM_BELOW:
        pad = np.maximum(0.35 * (hi - lo), 0.05 * full)
        fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]])
        fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]])


def _highlight(fig: go.Figure, frame: pd.DataFrame, focus: str | None, neighbours: dict[str, float],
               n: int) -> None:
    """The searched word (a red star) and its neighbours (dark-ringed points), labelled, on top."""
    near = frame[frame["word"].isin([w for w in neighbours if w != focus])]
    if len(near):
        fig.add_trace(_points(n)(
            x=near["x"], y=near["y"], mode="markers+text", text=near["word"], textposition="top center",
            textfont=dict(size=12, color=NEIGHBOUR_COLOUR), name=f"neighbours ({len(near)})",
            marker=dict(size=10, color="rgba(255,255,255,0.9)", line=dict(color=NEIGHBOUR_COLOUR, width=2.5)),
            customdata=[neighbours[w] for w in near["word"]],
            hovertemplate="<b>%{text}</b><br>cosine to " + str(focus) + " %{customdata:.3f}<extra></extra>"))
    hit = frame[frame["word"] == focus] if focus else frame.iloc[:0]
    if len(hit):
        fig.add_trace(_points(n)(
            x=hit["x"], y=hit["y"], mode="markers+text", text=hit["word"], textposition="top center",
            textfont=dict(size=15, color=FOCUS_COLOUR), name=str(focus),
            marker=dict(size=18, color=FOCUS_COLOUR, symbol="star", line=dict(color="white", width=1)),
            hovertemplate="<b>%{text}</b> (searched)<extra></extra>"))


def trajectory_figure(coords: Sequence[np.ndarray], words: Sequence[str], progress: Sequence[float],
                      groups: Sequence[str] | None = None) -> go.Figure:
    """The same words at each snapshot (coords[k]: (n, 2)), with a slider and a play button."""
    labels = len(words) <= LABEL_LIMIT
    palette = qualitative.Dark24 + qualitative.Light24
    colour = ([palette[sorted(set(groups)).index(g) % len(palette)] for g in groups] if groups is not None
              else PALETTE[0])
    every = np.concatenate(coords)
    pad = 0.05 * (every.max(axis=0) - every.min(axis=0) + 1e-9)
    lo, hi = every.min(axis=0) - pad, every.max(axis=0) + pad

    def trace(xy):
        return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text" if labels else "markers", text=list(words),
                          textposition="top center", textfont=dict(size=10),
                          marker=dict(size=7 if labels else 5, color=colour, opacity=0.85),
                          customdata=list(groups) if groups is not None else None,
                          hovertemplate="<b>%{text}</b>" + ("<br>%{customdata}" if groups is not None else "")
                                        + "<extra></extra>")

    names = [f"{p:.0%}" for p in progress]
    fig = go.Figure(trace(coords[-1]), frames=[go.Frame(data=[trace(xy)], name=n) for xy, n in zip(coords, names)])
    fig.update_layout(
        xaxis=dict(range=[lo[0], hi[0]], showticklabels=False), yaxis=dict(range=[lo[1], hi[1]], showticklabels=False),
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", buttons=[
            dict(label="▶ play", method="animate",
                 args=[None, dict(frame=dict(duration=700, redraw=True), transition=dict(duration=400),
                                  fromcurrent=False, mode="immediate")]),
            dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=len(names) - 1, x=0.15, len=0.85, y=-0.02, currentvalue=dict(prefix="training: "),
                      steps=[dict(label=n, method="animate",
                                  args=[[n], dict(frame=dict(duration=300, redraw=True), mode="immediate")])
                             for n in names])])
    return _layout(fig, 640)


def aligned_figure(xy_a: np.ndarray, xy_b: np.ndarray, words: Sequence[str], moved: np.ndarray,
                   names: tuple[str, str]) -> go.Figure:
    """A and Procrustes-aligned B in A's PCA plane, side by side on the same axes; colour = cosine(A, B)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(names), shared_xaxes=True, shared_yaxes=True,
                        horizontal_spacing=0.04)
    labels = len(words) <= LABEL_LIMIT
    for col, xy in ((1, xy_a), (2, xy_b)):
        fig.add_trace(_points(len(words))(
            x=xy[:, 0], y=xy[:, 1], mode="markers+text" if labels else "markers", text=list(words),
            textposition="top center", textfont=dict(size=9), customdata=moved, showlegend=False,
            marker=dict(size=6 if labels else 4, color=moved, colorscale="RdYlGn", cmin=-0.2, cmax=1,
                        showscale=col == 2, colorbar=dict(title="cos(A, B)")),
            hovertemplate="<b>%{text}</b><br>cos(A, aligned B) %{customdata:.2f}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return _layout(fig, 520)


def overlap_figure(values: np.ndarray, k: int) -> go.Figure:
    """Histogram of Jaccard@k over many words."""
    fig = go.Figure(go.Histogram(x=values, xbins=dict(start=0, end=1.0001, size=0.05), marker_color=PALETTE[0]))
    fig.update_xaxes(title=f"Jaccard@{k} of the two runs' neighbour lists", range=[0, 1])
    fig.update_yaxes(title="words")
    return _layout(fig, 280)


def tradeoff_figure(frame: pd.DataFrame, x: str, metrics: Sequence[str]) -> go.Figure:
    """One line per metric against the swept weight: where one loss's gain costs another score."""
    frame = frame.sort_values(x)
    fig = go.Figure()
    for i, metric in enumerate(metrics):
        fig.add_trace(go.Scatter(x=frame[x], y=frame[metric], mode="lines+markers", name=metric,
                                 line=dict(color=PALETTE[i % len(PALETTE)]), connectgaps=False,
                                 hovertemplate=f"{metric}<br>{x} %{{x:g}}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title=x)
    fig.update_yaxes(title="score (Spearman ρ or accuracy)")
    return _layout(fig, 420)


SCORE_SHORT = {"f1_unseen": "ΔF1, concepts RSR never saw", "f1_notebook": "ΔF1, notebook's split",
               "rho_heldout": "Δρ human, held-out concepts", "simlex999": "Δρ SimLex-999",
               "wordsim353": "Δρ WordSim-353", "men": "Δρ MEN"}
ARM_COLOURS = {"rsr-rows": "#1f77b4", "rsr-map": "#d62728"}


def _whiskers(rows: Sequence[dict], low: str, high: str, value: str) -> dict:
    """error_x/error_y arguments for the rows' CIs (a row without a CI gets no whisker)."""
    plus = [r[high] - r[value] if r[high] is not None and r[value] is not None else None for r in rows]
    minus = [r[value] - r[low] if r[low] is not None and r[value] is not None else None for r in rows]
    return dict(type="data", symmetric=False, array=plus, arrayminus=minus, thickness=1.5, width=6)


def scorecard_figure(rows: Sequence[dict], arm_labels: dict[str, str]) -> go.Figure:
    """Dot and whisker: each RSR arm's Δ against vanilla per metric (mean over seeds, its CI), metrics
    top to bottom in the scorecard's order, one colour per arm, a zero line. `rows`: Scorecard.chart_rows()."""
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    offset = {arm: (i - (len(arms) - 1) / 2) * 0.22 for i, arm in enumerate(arms)}
    fig = go.Figure()
    for i, arm in enumerate(arms):
        part = [r for r in rows if r["arm"] == arm]
        ci = [f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if r["ci_low"] is not None else "no interval"
              for r in part]
        fig.add_trace(go.Scatter(
            x=[r["delta"] for r in part], y=[metrics.index(r["metric"]) + offset[arm] for r in part],
            mode="markers", name=arm_labels.get(arm, arm), error_x=_whiskers(part, "ci_low", "ci_high", "delta"),
            marker=dict(size=10, color=ARM_COLOURS.get(arm, PALETTE[i % len(PALETTE)])),
            customdata=[[SCORE_SHORT.get(r["metric"], r["metric"]), c, r["n_seeds"]] for r, c in zip(part, ci)],
            hovertemplate="<b>%{customdata[0]}</b><br>" + arm_labels.get(arm, arm)
                          + ": %{x:+.3f} %{customdata[1]}<br>seeds: %{customdata[2]}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#555", width=1, dash="dash"))
    fig.update_yaxes(tickvals=list(range(len(metrics))), ticktext=[SCORE_SHORT.get(m, m) for m in metrics],
                     range=[len(metrics) - 0.5, -0.5], showgrid=False, zeroline=False, title=None)
    fig.update_xaxes(title="Δ against vanilla (RSR − vanilla), with its CI", zeroline=False)
    _layout(fig, 90 + 62 * max(len(metrics), 1))
    fig.update_layout(margin=dict(l=10, r=20, t=40, b=10))
    return fig


def sweep_figure(rows: Sequence[dict], columns: int = 2) -> go.Figure:
    """Small multiples: one panel per metric (its own y axis), α on x, each point the mean across seeds
    with its CI bar. `rows`: {alpha, metric, label, mean, ci_low, ci_high, n_seeds} (compare.sweep_table)."""
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    labels = {r["metric"]: r["label"] for r in rows}
    n_rows = max(1, math.ceil(len(metrics) / columns))
    fig = make_subplots(rows=n_rows, cols=min(columns, max(1, len(metrics))),
                        subplot_titles=[labels[m] for m in metrics] or ["no scores"],
                        horizontal_spacing=0.1, vertical_spacing=0.45 / n_rows)
    for i, metric in enumerate(metrics):
        part = sorted((r for r in rows if r["metric"] == metric and r["mean"] is not None), key=lambda r: r["alpha"])
        fig.add_trace(go.Scatter(
            x=[r["alpha"] for r in part], y=[r["mean"] for r in part], mode="lines+markers", showlegend=False,
            name=labels[metric], line=dict(color=PALETTE[i % len(PALETTE)]), marker=dict(size=8),
            error_y=_whiskers(part, "ci_low", "ci_high", "mean"), customdata=[r["n_seeds"] for r in part],
            hovertemplate=f"{labels[metric]}<br>α %{{x:g}}: %{{y:.3f}} "
                          "(mean of %{customdata} seeds)<extra></extra>"),
            row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(title_text="α (REG_STRENGTH)", title_standoff=2)
    return _layout(fig, 300 * n_rows + 60)
