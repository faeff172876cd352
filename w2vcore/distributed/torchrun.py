"""Starting torchrun on this machine and turning how it ends into the run's status.

Both `python -m w2vcore train --nproc N` and a run the app starts with N processes
(`RunStore.start(..., processes=N)`: its worker runs `supervise` on `python -m w2vcore.distributed
RUN_DIR`) come here: torchrun starts N copies of a w2vcore module on one run folder
(`--standalone`: its own rendezvous on a free port, so several runs can train side by side). When torchrun fails (a process died: torchrun then stops
the others), a run whose status does not already say how it ended is marked failed with
torchrun's exit code, and keeps its last checkpoint.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .. import runfolder as rf

ENDED = ("done", "stopped", "early_stopped", "failed")
MAX_PROCESSES = 64  # per machine; more processes than that is a typing slip, not a plan


def under_torchrun() -> bool:
    """True in a process torchrun (or another env:// launcher) started."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def command(nproc: int, module_args: list[str]) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc-per-node N -m MODULE ARGS...` for this Python."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            *module_args]


def supervise(cmd: list[str], run_dir: Path) -> str:
    """Run torchrun's `cmd` to its end; the run's final status (failed, with the reason, when torchrun failed)."""
    attempt = {"queued": rf.read_status(run_dir).get("queued")}  # a later start of the run is not ours to fail
    code = subprocess.call(cmd, stdin=subprocess.DEVNULL)
    status = rf.read_status(run_dir)
    if code != 0 and status.get("status") not in ENDED:
        status = rf.update_status(run_dir, expect=attempt, status="failed", phase="",
                                  error=f"a training process died (torchrun exit code {code}); the last checkpoint "
                                        "is kept: resume the run") or status
    return str(status.get("status", "failed"))
