"""The Streamlit helpers the pages in pages/ share (the pages themselves hold no shared code).

- `text`: user text shown literally in Markdown and plotly (pure).
- `settings`: the settings dict's defaults and the run configs it turns into (pure).
- `state`: this session's settings, saved beside the runs, and widgets bound to them.
- `runs`: the run store, the sidebar run picker and selection, launching and resuming runs.
- `cached`: a run's metrics, config, vectors and scores, re-read only when its files change.
- `panels`: reusable pieces of pages (a run's progress, the curves panel, one loss's controls, lazy tabs).
- `analysis`: pure computations behind the pages (tables, smoothing, projections); no streamlit.
- `charts`: plotly figure builders, data in and figure out; no streamlit.
"""
