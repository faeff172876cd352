"""Plotly figure builders: data in, figure out, no streamlit inside (maps of words: `mapcharts`)."""
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
X_TITLES = {"epoch": "epoch", "step": "optimiser step", "time": "seconds"}


def layout(fig: go.Figure, height: int) -> go.Figure:
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
    return layout(fig, 380)


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
    layout(fig, 260 * rows + 80)
    fig.update_layout(margin=dict(t=70), legend=dict(yref="container", y=1.0, yanchor="top"))  # above the titles
    return fig


def overlap_figure(values: np.ndarray, k: int) -> go.Figure:
    """Histogram of Jaccard@k over many words."""
    fig = go.Figure(go.Histogram(x=values, xbins=dict(start=0, end=1.0001, size=0.05), marker_color=PALETTE[0]))
    fig.update_xaxes(title=f"Jaccard@{k} of the two runs' neighbour lists", range=[0, 1])
    fig.update_yaxes(title="words")
    return layout(fig, 280)


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
    return layout(fig, 420)


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
    layout(fig, 90 + 62 * max(len(metrics), 1))
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
    return layout(fig, 300 * n_rows + 60)
