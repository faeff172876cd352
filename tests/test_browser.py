"""Real-browser tests: `streamlit run app.py` on a free port, headless Chromium (Debian's chromium driven
by Python Playwright; never `playwright install`). One opens every page, launches a tiny run from the
Train page and waits until its loss curve has points; the other walks the flagship path of a fresh
install with no data folder: the Runs page's preset launches vanilla / RSR per-row / RSR learned map, they
finish, and Compare shows the scorecard's verdict and its chart. That one sets W2V_TINY_PRESETS=1
(`labui.settings.TINY_PRESET`: Lee, 16 dimensions, 1 epoch) so it takes seconds, not the preset's
minutes; everything else is the path a user takes. Screenshots go to $W2V_SCREENSHOT_DIR (default:
the test's tmp folder)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from w2vcore.runs import RunStore, default_cache_dir

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = [("Data", "Data"), ("Train", "Train"), ("Explore", "Explore"), ("Compare", "Compare"),
         ("α sweep", "α sweep"), ("Bias", "Bias"), ("Values", "Values"), ("Export", "Export"),
         ("Runs", "Word2Vec Lab")]  # (sidebar link, heading)

playwright_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


HAS_CURVE_POINTS = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace')].some(t =>
    t.querySelectorAll('.point').length > 0 || /L/.test(t.querySelector('path.js-line')?.getAttribute('d') || ''))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(runs_dir: Path, **env_extra: str):
    """The app on a free port, against `runs_dir` and the user's corpus cache (content-keyed, so sharing it
    is safe and spares re-encoding the built-in corpus), with no data folder; stopped, with its runs, after."""
    port = free_port()
    env = dict(os.environ, W2V_RUNS_DIR=str(runs_dir), W2V_CACHE_DIR=str(default_cache_dir()), W2V_STANDBY="1",
               **env_extra)
    env.pop("W2V_DATA_DIR", None)
    log_path = Path(runs_dir).parent / f"streamlit-{port}.log"  # a file, not a pipe nobody reads: a full pipe
    log = open(log_path, "wb")  # blocks the server (and the workers that inherit it) mid-write, stopping included
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.terminate()
        proc.wait(timeout=10)
        pytest.fail(f"streamlit did not start: {log_path.read_text(errors='replace')[-2000:]}")
    store = RunStore(runs_dir, default_cache_dir())
    try:
        yield url, store
    finally:
        for run in store.list():
            if run.active:
                store.stop(run.id)
                store.wait(run.id, timeout=30)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"streamlit did not stop within 20 s of SIGTERM: {log_path.read_text(errors='replace')[-2000:]}")
        finally:
            log.close()


@pytest.fixture
def server(tmp_path):
    from gensim.test.utils import datapath

    with streamlit_app(tmp_path / "runs") as (url, store):
        yield url, store, datapath("lee_background.cor")


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for_standby(folder: Path, timeout: float) -> None:
    """Until the app's warm spare worker has compiled its kernels (it writes <pid>.ready)."""
    deadline = time.monotonic() + timeout
    while not any(folder.glob("*.ready")):
        if time.monotonic() > deadline:
            pytest.fail(f"the standby worker was not ready within {timeout:.0f} s")
        time.sleep(0.5)


def settle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)


def goto(page, link: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=link).click()
    settle(page)


def test_every_page_and_a_live_run_in_chromium(server, browser, tmp_path):
    url, store, lee = server
    shots = Path(os.environ.get("W2V_SCREENSHOT_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    timings = {}
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    settle(page)
    assert page.get_by_role("heading", name="Word2Vec Lab").is_visible()
    assert page.get_by_text("No runs yet").is_visible()
    page.screenshot(path=shots / "home.png")

    for link, heading in PAGES:  # switching pages through the sidebar, in one session
        started = time.perf_counter()
        goto(page, link)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=30_000)
        timings[heading] = time.perf_counter() - started  # includes settle()'s 0.3 s pause
        settle(page)
        assert not page.locator('[data-testid="stException"]').count(), heading
        page.screenshot(path=shots / f"{link.lower().replace('α ', 'alpha-')}.png", full_page=True)

    goto(page, "Data")
    page.get_by_text("a file or folder on this machine").click()
    settle(page)
    page.get_by_role("textbox", name="Path").fill(lee)
    page.keyboard.press("Enter")
    settle(page)

    goto(page, "Train")
    for tab, label in (("Model", "dimensions"), ("Optimiser", "epochs")):  # both to their minimum: a tiny run
        page.get_by_role("tab", name=tab).click()
        page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider").press("Home")
        settle(page)
    page.get_by_role("textbox", name="Run name").fill("from-chromium")
    page.keyboard.press("Enter")
    settle(page)
    started = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.wait_for_function(HAS_CURVE_POINTS, timeout=90_000)
    timings["first curve point"] = time.perf_counter() - started
    page.get_by_text("from-chromium: done").wait_for(timeout=90_000)
    settle(page)
    page.screenshot(path=shots / "trained.png", full_page=True)
    assert not page.locator('[data-testid="stException"]').count()
    assert not errors, errors
    runs = store.list()
    assert [(r.name, r.status) for r in runs] == [("from-chromium", "done")]
    assert store.config(runs[0].id).train.dim == 2 and store.config(runs[0].id).train.epochs == 1
    print("timings (s):", {k: round(v, 2) for k, v in timings.items()}, "screenshots:", shots)


HAS_ERROR_BARS = """() => [...document.querySelectorAll('.js-plotly-plot .errorbar')].length > 0"""


def test_the_flagship_preset_from_a_fresh_install_to_the_verdict(tmp_path, browser):
    """No data folder, no settings: the Runs page counts the concepts, launches the three runs, and Compare
    scores them (tiny presets: W2V_TINY_PRESETS=1)."""
    shots = Path(os.environ.get("W2V_SCREENSHOT_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    timings = {}
    with streamlit_app(tmp_path / "runs", W2V_TINY_PRESETS="1") as (url, store):
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        settle(page)
        page.get_by_text("Does RSR transfer?").wait_for(timeout=30_000)
        page.get_by_text("concepts align").wait_for(timeout=60_000)  # the power, before launch
        page.screenshot(path=shots / "flagship-card.png", full_page=True)
        # the app compiles the kernels ahead in its standby worker (about 30-60 s on a fresh machine's cold
        # numba cache); a user reading the card meanwhile then starts runs that load them, as this test does
        wait_for_standby(store.root / ".standby", timeout=300)
        started = time.perf_counter()
        page.get_by_role("button", name="Start the 3 runs").click()
        page.get_by_role("heading", name="Compare").wait_for(timeout=60_000)
        page.get_by_text("Flagship group").wait_for(timeout=30_000)
        page.screenshot(path=shots / "flagship-training.png", full_page=True)
        page.get_by_role("button", name="Compute the scorecard").wait_for(timeout=180_000)
        timings["three runs"] = time.perf_counter() - started
        settle(page)
        started = time.perf_counter()
        page.get_by_role("button", name="Compute the scorecard").click()
        page.get_by_role("heading", name="Verdict").wait_for(timeout=90_000)
        page.wait_for_function(HAS_ERROR_BARS, timeout=30_000)
        timings["scorecard"] = time.perf_counter() - started
        settle(page)
        assert page.get_by_text("on concepts it never saw").first.is_visible()
        assert page.get_by_text("Underpowered").first.is_visible()  # Lee is tiny, and the verdict says so first
        page.screenshot(path=shots / "flagship-verdict.png")
        page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
        page.screenshot(path=shots / "flagship-chart.png")
        page.locator('[data-testid="stDataFrame"]').last.scroll_into_view_if_needed()
        page.screenshot(path=shots / "flagship-table.png")
        assert not page.locator('[data-testid="stException"]').count()
        assert not errors, errors
        runs = store.list()
    assert sorted(r.status for r in runs) == ["done"] * 3
    arms = sorted(r.name for r in runs)
    assert arms == ["things-rsr-map-s1", "things-rsr-rows-s1", "things-vanilla-s1"]
    assert all(store.config(r.id).train.dim == 16 and store.config(r.id).data_dir is None for r in runs)
    print("timings (s):", {k: round(v, 2) for k, v in timings.items()}, "screenshots:", shots)
