"""Real browser: a user opens a GloVe file (written by the test) through the Runs page's form, sees the
entry appear as imported and selected, and opens it on Explore and Export (headless Chromium, as in
test_browser.py, whose server and browser helpers this reuses)."""
from __future__ import annotations

import numpy as np
import pytest

from test_browser import browser, goto, settle, streamlit_app  # noqa: F401  (browser is a fixture)


@pytest.fixture
def glove(tmp_path):
    words = ["king", "queen", "man", "woman", "café"] + [f"w{i}" for i in range(495)]
    rows = np.random.default_rng(0).standard_normal((len(words), 20))
    path = tmp_path / "glove.test.20d.txt"
    path.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in r) + "\n" for w, r in zip(words, rows)),
                    encoding="utf-8")
    return path


def test_import_a_glove_file_through_the_form_and_explore_it(tmp_path, browser, glove):  # noqa: F811
    with streamlit_app(tmp_path / "runs") as (url, store):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        settle(page)
        page.get_by_text("Open pretrained vectors (GloVe").click()
        page.get_by_role("textbox", name="Path of the embedding file").fill(str(glove))
        page.get_by_role("textbox", name="Path of the embedding file").press("Enter")
        settle(page)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("added it to the sidebar selection").wait_for(timeout=60_000)
        (entry,) = store.list()
        assert entry.kind == "imported" and store.source(entry.id)["words"] == 500
        assert page.locator('[data-testid="stSidebar"]').get_by_text("glove.test.20d").is_visible()
        goto(page, "Explore")
        page.get_by_text("500 words × 20 dimensions").first.wait_for(timeout=30_000)
        goto(page, "Export")
        page.get_by_text("An imported embedding has no training").wait_for(timeout=30_000)
        assert not page.locator('[data-testid="stException"]').count()
