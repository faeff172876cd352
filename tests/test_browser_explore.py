"""Real browser: an imported embedding (a small GloVe-format file this test writes) on Explore's map; a
searched word appears highlighted (its own trace) with its neighbours labelled, and the search survives a
refresh. Same set-up as test_browser.py."""
from __future__ import annotations

import numpy as np

from test_browser import browser, goto, settle, streamlit_app  # noqa: F401 (browser is a fixture)
from w2vcore.embeddings import import_embedding

TRACE_NAMES = "() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(p => (p.data || []).map(t => t.name))"
LABELS = """() => [...document.querySelectorAll('.js-plotly-plot')].some(p => (p.data || []).some(t =>
    t.name && t.name.startsWith('neighbours') && Array.isArray(t.text) && t.text.length > 0))"""


def test_search_highlights_a_word_of_an_imported_embedding(tmp_path, browser):  # noqa: F811
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman"] + [f"w{i}" for i in range(2000)]
    path = tmp_path / "glove.txt"
    path.write_text("".join(f"{w} " + " ".join(f"{v:.3f}" for v in rng.normal(size=8)) + "\n" for w in words))
    with streamlit_app(tmp_path / "runs") as (url, store):
        import_embedding(store, path, name="tiny glove")
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        settle(page)
        goto(page, "Explore")
        page.get_by_role("tab", name="Map").click()
        settle(page)
        box = page.get_by_role("textbox", name="Find a word")
        box.fill("queen")
        box.press("Enter")
        settle(page)
        page.wait_for_function(f"() => ({TRACE_NAMES})().includes('queen')", timeout=30_000)
        assert page.evaluate(LABELS)
        assert not page.locator('[data-testid="stException"]').count()
        page.reload()  # a refresh keeps the search
        settle(page)
        page.get_by_role("tab", name="Map").click()
        settle(page)
        assert page.get_by_role("textbox", name="Find a word").input_value() == "queen"
        page.wait_for_function(f"() => ({TRACE_NAMES})().includes('queen')", timeout=30_000)
        assert not errors, errors
