"""Plotly figures of word maps: projections with search highlights, categories and marks, and the map
over training. Data in, figure out, no streamlit inside."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .charts import PALETTE, layout

LABEL_LIMIT = 150  # projections with at most this many words draw them larger (their labels are sparse: see sparse_labels)
WEBGL_FROM = 1500  # points; below this SVG draws faster (WebGL start-up is slow without a GPU) and uses no GL context


def _points(n: int):
    """The scatter trace type for n points."""
    return go.Scattergl if n >= WEBGL_FROM else go.Scatter


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
    layout(fig, 640)
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
    styles = {g: category_style(i) for i, g in enumerate(sorted(set(groups)))} if groups is not None else {}
    colour = [styles[g][0] for g in groups] if groups is not None else PALETTE[0]
    symbols = [styles[g][1] for g in groups] if groups is not None else "circle"
    every = np.concatenate(coords)
    pad = 0.05 * (every.max(axis=0) - every.min(axis=0) + 1e-9)
    lo, hi = every.min(axis=0) - pad, every.max(axis=0) + pad

    def trace(xy):
        return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text" if labels else "markers", text=list(words),
                          textposition="top center", textfont=dict(size=10),
                          marker=dict(size=7 if labels else 5, color=colour, symbol=symbols, opacity=0.85),
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
    return layout(fig, 640)


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
    return layout(fig, 520)
