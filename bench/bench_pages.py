"""The dashboard's timing targets, measured in a real browser (headless Debian Chromium).

Starts `streamlit run app.py` on a free port against a fresh runs folder holding one finished
run on the built-in corpus, then times, `--repeats` times each:
  - switching pages through the sidebar (until the page's script run has finished),
  - clicking Train on the default data until the live curve has a point (the app keeps a warm
    standby worker, so this excludes Python/torch start-up),
  - the Explore page's UMAP of the 2,000 most frequent words: computed the first time, and cached (from the
    PCA tab back to the computed UMAP tab, until its plot is visible).

    python bench/bench_pages.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, RunConfig, TrainConfig  # noqa: E402
from w2vcore.runs import RunStore, default_cache_dir  # noqa: E402

NEW_CURVE = """name => [...document.querySelectorAll('.js-plotly-plot .legendtext')].some(t => t.textContent === name)"""
PAGES = ["Data", "Train", "Explore", "Compare", "α sweep", "Bias", "Values", "Export", "Runs"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(page) -> None:
    page.wait_for_timeout(100)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=300_000)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def server_side_umap(store: RunStore, repeats: int) -> dict[str, list[float]]:
    """A rerun of Explore's Map tab with the UMAP cached, without a browser (AppTest, in this process)."""
    from streamlit.testing.v1 import AppTest

    os.environ.update(W2V_RUNS_DIR=str(store.root), W2V_CACHE_DIR=str(store.cache_dir), W2V_STANDBY="0")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/explore.py").run()
    at.session_state["explore.tab"] = "Map"
    at.run()
    at.slider(key="explore.n").set_value(2000).run()
    at.button(key="explore.umap").click().run()  # computed once, then cached
    times = [timed(at.run) for _ in range(repeats)]
    assert not at.exception and len(at.get("plotly_chart")) >= 2, at.exception  # PCA and UMAP (and the axes map)
    return {"UMAP of 2,000 words, cached (server script only)": times}


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--explore-wait", type=float, default=0.0,
                    help="seconds on Explore before asking for the UMAP (its compile warms up in the background)")
    args = ap.parse_args()
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs", default_cache_dir())
        seed_run = store.create(RunConfig(name="seed", corpus=CorpusConfig(), train=TrainConfig(dim=50, epochs=1)))
        store.start(seed_run, mode="thread")
        assert store.wait(seed_run, 600).status == "done"
        port = free_port()
        env = dict(os.environ, W2V_RUNS_DIR=str(store.root), W2V_CACHE_DIR=str(store.cache_dir), W2V_STANDBY="1")
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                page.goto(url)
                settle(page)
                for name in PAGES:  # once, unmeasured: imports and caches warm up as a user's first visit does
                    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name).click()
                    settle(page)
                time.sleep(15)  # the standby worker finishes warming up
                for _ in range(args.repeats):
                    for name in PAGES:
                        link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name)
                        rows.setdefault(f"switch to {name}", []).append(timed(lambda: (link.click(), settle(page))))
                    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Train").click()
                    settle(page)
                    name = f"timed-{len(rows.get('Train click -> first curve point', []))}"
                    page.get_by_role("textbox", name="Run name").fill(name)
                    page.keyboard.press("Enter")
                    settle(page)
                    rows.setdefault("Train click -> first curve point", []).append(timed(lambda: (
                        page.get_by_role("button", name="Train", exact=True).click(),
                        page.wait_for_function(NEW_CURVE, arg=name, timeout=120_000))))
                    for run in store.list():
                        if run.active:
                            store.stop(run.id)
                            store.wait(run.id, 60)
                    time.sleep(10)  # the next standby warms up
                page.goto(url)  # a fresh session: only the seed run is picked
                settle(page)
                page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Explore").click()
                settle(page)
                time.sleep(args.explore_wait)  # a user reading the neighbours while UMAP compiles in the background
                page.get_by_role("tab", name="Map").click()
                settle(page)
                page.get_by_role("tab", name="UMAP").click()  # PCA and UMAP are tabs the browser switches alone
                page.locator('[data-testid="stSlider"]').filter(has_text="how many").first.get_by_role("slider").focus()
                for _ in range(20):  # 1,000 -> 2,000 words in steps of 50
                    page.keyboard.press("ArrowRight")
                settle(page)
                button = page.get_by_role("button", name="Compute the UMAP of 2,000 words")
                umap_plot = page.get_by_role("tabpanel", name="UMAP").locator(".js-plotly-plot")
                rows["UMAP of 2,000 words, first time"] = [timed(lambda: (button.click(), settle(page),
                                                                          umap_plot.wait_for(state="visible")))]
                for _ in range(args.repeats):
                    page.get_by_role("tab", name="PCA").click()
                    page.get_by_role("tabpanel", name="PCA").locator(".js-plotly-plot").wait_for(state="visible")
                    rows.setdefault("UMAP of 2,000 words, cached", []).append(timed(lambda: (
                        page.get_by_role("tab", name="UMAP").click(), settle(page),
                        umap_plot.wait_for(state="visible"))))
                browser.close()
        finally:
            for run in store.list():
                if run.active:
                    store.stop(run.id)
            server.terminate()
            server.wait(30)
        rows.update(server_side_umap(store, args.repeats))
    print("| what | median s | min-max s | target |")
    print("|---|---|---|---|")
    targets = {"switch": "≤ 1", "Train": "≤ 3", "first time": "≤ 15", "cached": "≤ 0.5"}
    for what, xs in rows.items():
        target = next(t for k, t in targets.items() if k in what)
        print(f"| {what} | {statistics.median(xs):.2f} | {min(xs):.2f}-{max(xs):.2f} | {target} |")
    print("\nTimes include the browser's round trip until Streamlit reports the script run finished (and the "
          "browser, busy drawing, notices); 'server script only' is the same rerun in AppTest, without a browser.")


if __name__ == "__main__":
    main()
