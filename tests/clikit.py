"""Run the command line (`python -m w2vcore`) against a test's own runs and cache folders."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli(tmp_path, *args, ok=True):
    cmd = [sys.executable, "-m", "w2vcore", "--runs-dir", str(tmp_path / "runs"), "--cache-dir",
           str(tmp_path / "cache"), *args]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc
