"""Fault and bad-input probes against the CLI and the run store; prints an outcome table.

    python bench/probe_faults.py [--only SUBSTRING] [--verbose]

Each probe does one thing a user or a fault could do (a bad flag, a broken run file, a
killed worker, a full disk) and is classified by what the lab did:

    clear      refused with a message for the user (`error: ...`, exit 2, or a W2VError)
    correct    did the right thing (the probe's check passed)
    traceback  a raw traceback or an "internal error" reached the user
    wrong      finished without complaint but with a wrong result or status
    lost       a file that was complete before the probe is gone or unreadable

Probes run in a scratch folder with their own W2V_RUNS_DIR / W2V_CACHE_DIR, on tiny corpora
(a few seconds each). The disk-full probes mount a 3 MB tmpfs (root only; skipped otherwise).
This is a benchmark-style script, not a test: it prints a table to compare versions.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTCOMES = ("clear", "correct", "traceback", "wrong", "lost")
TINY = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--batch-size", "64", "--snapshots", "2"]


@dataclass
class Result:
    name: str
    outcome: str
    detail: str


class Scratch:
    """A scratch folder with a tiny corpus, its own runs and cache folders."""

    def __init__(self, root: Path):
        self.root = root
        self.runs = root / "runs"
        self.cache = root / "cache"
        self.corpus = root / "corpus.txt"
        words = ("the cat sat on the mat and the dog ran to the park while birds sang in the tall trees "
                 "a king and a queen ruled the land with a man and a woman at their side").split()
        rng = __import__("random").Random(0)
        lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(600)]
        self.corpus.write_text("\n".join(lines) + "\n")

    def env(self, **extra) -> dict:
        env = dict(os.environ, W2V_RUNS_DIR=str(self.runs), W2V_CACHE_DIR=str(self.cache), W2V_STANDBY="0",
                   PYTHONPATH=str(REPO))
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def cli(self, *args, env=None, cwd=None, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "w2vcore", *map(str, args)], capture_output=True, text=True,
                              env=env or self.env(), cwd=cwd or self.root, timeout=timeout)

    def py(self, code: str, env=None, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              env=env or self.env(), cwd=self.root, timeout=timeout)

    def run_ids(self) -> list[str]:
        return sorted(p.name for p in self.runs.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if self.runs.is_dir() else []

    def trained_run(self, name="base", extra=()) -> str:
        """A finished tiny run (trained once per scratch and copied)."""
        before = set(self.run_ids())
        out = self.cli("train", "--corpus", self.corpus, "--name", name, *TINY, *extra)
        if out.returncode != 0:
            raise RuntimeError(f"could not train a base run: {out.stderr[-500:]}")
        (new,) = set(self.run_ids()) - before
        return new


def classify_cli(out: subprocess.CompletedProcess, ok_check=None) -> tuple[str, str]:
    """clear / traceback / correct / wrong for a CLI call expected to refuse (ok_check None) or succeed."""
    text = (out.stdout + out.stderr).strip()
    if "Traceback (most recent call last)" in text or "internal error" in out.stderr:
        return "traceback", text.splitlines()[-1][:160] if text else ""
    if ok_check is None:
        if out.returncode != 0 and "error:" in text:
            return "clear", _last_error(text)
        return "wrong", f"exit {out.returncode}, no refusal: {text[-160:]}"
    ok, why = ok_check(out)
    return ("correct" if ok else "wrong"), why


def _last_error(text: str) -> str:
    lines = [line for line in text.splitlines() if "error" in line]
    return (lines[-1] if lines else text.splitlines()[-1])[:160]


# ---------------------------------------------------------------------------------------- probes
def bad_cli_inputs(s: Scratch) -> list[Result]:
    """Settings and flags that must be refused with a message (no traceback, no stray run folder)."""
    binary = s.root / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    empty = s.root / "empty.txt"
    empty.write_text("")
    cases = {
        "train --phrases /nonexistent": ["--phrases", "/nonexistent/phrases.txt"],
        "train --phrases binary file": ["--phrases", binary],
        "train --corpus /nonexistent": ["--corpus", "/nonexistent/c.txt"],
        "train --corpus empty file": ["--corpus", empty],
        "train --corpus binary file": ["--corpus", binary],
        "train --seed -1": ["--seed", "-1"],
        "train --seed 2**70": ["--seed", str(2 ** 70)],
        "train --dim 1000000000": ["--dim", "1000000000"],
        "train --chunk-tokens 1": ["--chunk-tokens", "1"],
        "train --epochs 0": ["--epochs", "0"],
        "train --lr nan": ["--lr", "nan"],
        "train --lr -1": ["--lr", "-1"],
        "train --window 0": ["--window", "0"],
        "train --threads -2": ["--threads", "-2"],
        "train --val-fraction 1.5": ["--val-fraction", "1.5"],
        "train --sample -1": ["--sample", "-1"],
        "train --loss rsr abc": ["--loss", "rsr", "abc"],
        "train --loss nosuchloss 0.1": ["--loss", "nosuchloss", "0.1"],
        "train --loss rsr 1.5": ["--loss", "rsr", "1.5"],
        "train --batch-size larger than the corpus": ["--batch-size", "10000000"],
        "train --min-count larger than any count": ["--min-count", "100000"],
    }
    results = []
    for name, flags in cases.items():
        args = ["--corpus", s.corpus, *TINY]
        args = _override(args, flags)
        before = set(s.run_ids())
        out = s.cli("train", *args)
        outcome, detail = classify_cli(out)
        stray = set(s.run_ids()) - before
        if outcome == "clear" and stray:
            detail += f"  [left {len(stray)} failed run folder(s)]"
        if outcome == "wrong" and out.returncode == 0:
            detail = "trained without refusing"
        results.append(Result(name, outcome, detail))
        for run_id in stray:
            shutil.rmtree(s.runs / run_id, ignore_errors=True)
    return results


def _override(args: list, flags: list) -> list:
    """TINY with flags replacing any flag of the same name."""
    args = list(args)
    i = 0
    while i < len(flags):
        flag = flags[i]
        n = 2 if flag != "--loss" else 3
        if flag in args and flag != "--loss":
            j = args.index(flag)
            args[j:j + 2] = flags[i:i + n]
        else:
            args += flags[i:i + n]
        i += n
    return args


def bad_config_objects(s: Scratch) -> list[Result]:
    """Config objects built from Python with wrong types must raise W2VError at once."""
    cases = {
        "TrainConfig(seed='x')": "TrainConfig(seed='x')",
        "TrainConfig(threads=2.5)": "TrainConfig(threads=2.5)",
        "TrainConfig(lr='0.1')": "TrainConfig(lr='0.1')",
        "TrainConfig(dim=True)": "TrainConfig(dim=True)",
        "TrainConfig(log_every_s=float('nan'))": "TrainConfig(log_every_s=float('nan'))",
        "CorpusConfig(max_vocab_size=2.5)": "CorpusConfig(max_vocab_size=2.5)",
        "CorpusConfig(min_count='5')": "CorpusConfig(min_count='5')",
        "CorpusConfig(sample=float('nan'))": "CorpusConfig(sample=float('nan'))",
        "TokenizerConfig(lowercase='no')": "TokenizerConfig(lowercase='no')",
        "RunConfig.from_dict([])": "RunConfig.from_dict([])",
        "RunConfig.from_dict({'train': {'dim': 'x'}})": "RunConfig.from_dict({'train': {'dim': 'x'}})",
    }
    results = []
    for name, expr in cases.items():
        out = s.py(f"""
            from w2vcore.config import *
            from w2vcore.errors import W2VError
            try:
                {expr}
            except W2VError as e:
                print('W2VError:', e)
            else:
                print('ACCEPTED')
            """)
        if "W2VError:" in out.stdout:
            results.append(Result(name, "clear", out.stdout.strip()[:160]))
        elif "ACCEPTED" in out.stdout:
            results.append(Result(name, "wrong", "accepted (fails later)"))
        else:
            results.append(Result(name, "traceback", (out.stderr.strip().splitlines() or [""])[-1][:160]))
    return results


def export_and_eval(s: Scratch, run_id: str) -> list[Result]:
    results = []
    existing = s.root / "exists.txt"
    existing.write_text("precious\n")
    folder = s.root / "a-folder"
    folder.mkdir(exist_ok=True)
    cases = {
        "export --out at a missing folder": ["export", run_id, "--out", s.root / "missing" / "v.txt"],
        "export --out at a directory": ["export", run_id, "--out", folder],
        "export unknown run": ["export", "no-such-run"],
        "eval unknown run": ["eval", "no-such-run"],
        "eval --data-dir /nonexistent": ["eval", run_id, "--data-dir", "/nonexistent"],
        "stop unknown run": ["stop", "no-such-run"],
        "delete ../ (path escape)": ["delete", "../x"],
    }
    for name, args in cases.items():
        outcome, detail = classify_cli(s.cli(*args))
        results.append(Result(name, outcome, detail))
    # an existing file must not be overwritten silently
    out = s.cli("export", run_id, "--out", existing)
    kept = existing.read_text() == "precious\n"
    if "Traceback" in out.stderr:
        results.append(Result("export --out at an existing file", "traceback", out.stderr.splitlines()[-1][:160]))
    elif out.returncode != 0 and kept:
        results.append(Result("export --out at an existing file", "clear", _last_error(out.stderr)))
    else:
        results.append(Result("export --out at an existing file", "lost" if not kept else "wrong",
                              "overwrote the user's file without asking" if not kept else "no refusal"))
    # a good export and eval still work
    out = s.cli("export", run_id, "--format", "word2vec", "--out", s.root / "good.txt")
    results.append(Result("export word2vec (good input)", *classify_cli(
        out, lambda o: (o.returncode == 0 and (s.root / "good.txt").read_text().split()[0].isdigit(), "written"))))
    return results


def broken_runs(s: Scratch, base: str) -> list[Result]:
    """One broken run folder next to a good one: list, eval and export must stay usable."""
    results = []

    def variant(name: str, breaker) -> str:
        target = s.runs / f"{base}-{name}"
        shutil.copytree(s.runs / base, target, symlinks=True)
        breaker(target)
        return target.name

    def list_ok(o):
        return (o.returncode == 0 and base in o.stdout, "lists the good run")

    breakers = {
        "status.json is []": lambda p: (p / "status.json").write_text("[]"),
        "status.json progress 'abc'": lambda p: (p / "status.json").write_text(
            json.dumps({**json.loads((p / "status.json").read_text()), "progress": "abc"})),
        "status.json truncated": lambda p: (p / "status.json").write_text('{"status": "do'),
        "config.json truncated": lambda p: (p / "config.json").write_text((p / "config.json").read_text()[:40]),
        "metrics.jsonl non-UTF-8 line": lambda p: (p / "metrics.jsonl").open("ab").write(b"\xff\xfe\x00garbage\n"),
        "metrics.jsonl non-object line": lambda p: (p / "metrics.jsonl").open("a").write("[1, 2]\n3\n"),
        "vectors.npz truncated (0 bytes)": lambda p: (p / "vectors.npz").write_bytes(b""),
        "vectors.npz truncated (half)": lambda p: (p / "vectors.npz").write_bytes(
            (p / "vectors.npz").read_bytes()[: (p / "vectors.npz").stat().st_size // 2]),
        "checkpoint.pt truncated": lambda p: (p / "checkpoint.pt").write_bytes(
            (p / "checkpoint.pt").read_bytes()[:100]),
    }
    for what, breaker in breakers.items():
        bad = variant(what.split()[0].replace(".", "") + str(abs(hash(what)) % 1000), breaker)
        results.append(Result(f"list with {what}", *classify_cli(s.cli("list"), list_ok)))
        for cmd in (["eval", bad], ["export", bad, "--out", s.root / f"x{abs(hash(what)) % 1000}.txt"],
                    ["export", bad, "--format", "ckpt", "--out", s.root / f"y{abs(hash(what)) % 1000}.ckpt"]):
            out = s.cli(*cmd)
            outcome, detail = classify_cli(out, lambda o: (o.returncode == 0, "worked (file not needed)"))
            if outcome == "wrong" and out.returncode != 0 and "error:" in out.stderr:
                outcome, detail = "clear", _last_error(out.stderr)
            results.append(Result(f"{cmd[0]}{' ckpt' if 'ckpt' in cmd else ''} with {what}", outcome, detail))
        shutil.rmtree(s.runs / bad, ignore_errors=True)
    # a symlinked run folder: shown or skipped, never followed by delete
    outside = s.root / "outside-run"
    shutil.copytree(s.runs / base, outside)
    (s.runs / "linked-run").symlink_to(outside, target_is_directory=True)
    results.append(Result("list with a symlinked run folder", *classify_cli(s.cli("list"), list_ok)))
    out = s.cli("delete", "linked-run")
    if not (outside / "config.json").exists():
        results.append(Result("delete a symlinked run folder", "lost", "deleted the folder the link points to"))
    else:
        results.append(Result("delete a symlinked run folder", *classify_cli(out, lambda o: (True, "target kept"))))
    (s.runs / "linked-run").unlink(missing_ok=True)
    return results


def env_paths(s: Scratch) -> list[Result]:
    a_file = s.root / "a-file"
    a_file.write_text("x")
    results = []
    out = s.cli("list", env=s.env(W2V_RUNS_DIR=a_file))
    results.append(Result("W2V_RUNS_DIR is a file: list", *classify_cli(out)))
    before = set(s.run_ids())
    out = s.cli("train", "--corpus", s.corpus, *TINY, env=s.env(W2V_CACHE_DIR=a_file))
    results.append(Result("W2V_CACHE_DIR is a file: train", *classify_cli(out)))
    for run_id in set(s.run_ids()) - before:
        shutil.rmtree(s.runs / run_id, ignore_errors=True)
    return results


def lifecycle(s: Scratch) -> list[Result]:
    """Status, resume and stop through the Python API, as the app uses it."""
    results = []
    code_prefix = """
        import json, os, sys, time, threading
        from pathlib import Path
        from w2vcore.config import *
        from w2vcore.errors import W2VError
        from w2vcore.runs import RunStore
        store = RunStore()
        def cfg(name='p', path='corpus.txt', **kw):
            t = dict(dim=8, epochs=1, batch_size=64, log_every_s=0.01, checkpoint_every_s=0.05, snapshots=2,
                     device='cpu', threads=1)
            t.update(kw)
            return RunConfig(name=name, corpus=CorpusConfig(source=CorpusSource('text', path), min_count=1),
                             train=TrainConfig(**t))
    """
    # 1. the status race: many finishes polled by 4 threads
    out = s.py(code_prefix + """
        wrong = 0
        ids = []
        for i in range(12):
            rid = store.create(cfg(f'race{i}', epochs=1))
            ids.append(rid)
        stop_polling = threading.Event()
        def poll():
            while not stop_polling.is_set():
                for rid in ids:
                    try:
                        store.info(rid)
                    except Exception:
                        pass
        pollers = [threading.Thread(target=poll, daemon=True) for _ in range(4)]
        for t in pollers: t.start()
        for rid in ids:
            store.start(rid, mode='thread')
            store.wait(rid, timeout=120, poll=0.001)
        time.sleep(0.5)
        stop_polling.set()
        finals = [store.info(rid).status for rid in ids]
        print('FINALS', json.dumps(finals))
    """)
    finals = json.loads(out.stdout.split("FINALS", 1)[1]) if "FINALS" in out.stdout else None
    if finals is None:
        results.append(Result("12 finished runs polled by 4 threads", "traceback", out.stderr[-160:]))
    else:
        bad = sum(f != "done" for f in finals)
        results.append(Result("12 finished runs polled by 4 threads", "wrong" if bad else "correct",
                              f"{bad} of {len(finals)} ended other than done: {sorted(set(finals))}"))
    # 2. relative corpus path, stop, resume from another folder
    out = s.py(code_prefix + """
        rid = store.create(cfg('relative', path='corpus.txt', epochs=40))
        store.start(rid)
        deadline = time.time() + 60
        while store.info(rid).active and not store.metrics(rid) and time.time() < deadline:
            time.sleep(0.05)
        store.stop(rid)
        store.wait(rid, 60)
        os.chdir('/')
        try:
            store.start(rid, resume=True)
        except W2VError as e:
            print('REFUSED', e)
        info = store.wait(rid, 120)
        print('STATUS', info.status, '|', info.error)
    """)
    if "Traceback" in out.stderr:
        results.append(Result("resume a run made with a relative corpus path", "traceback", out.stderr[-160:]))
    else:
        ok = "STATUS done" in out.stdout
        results.append(Result("resume a run made with a relative corpus path", "correct" if ok else "wrong",
                              out.stdout.strip().splitlines()[-1][:160] if out.stdout.strip() else ""))
    # 3. resume keeps history: steps never go back, time continues
    out = s.py(code_prefix + """
        rid = store.create(cfg('history', path=str(Path('corpus.txt').resolve()), epochs=1000))
        store.start(rid)
        deadline = time.time() + 60
        while store.info(rid).active and not [r for r in store.metrics(rid) if r.get('time', 0) > 1.0] \
                and time.time() < deadline:
            time.sleep(0.05)
        store.stop(rid); store.wait(rid, 60)
        store.start(rid, resume=True); info = store.wait(rid, 180)
        rows = [r for r in store.metrics(rid) if r['kind'] == 'step']
        steps = [r['step'] for r in rows]; times = [r['time'] for r in rows]
        epochs = [r for r in store.metrics(rid) if r['kind'] == 'epoch']
        print('CHECK', json.dumps([info.status, steps == sorted(steps), times == sorted(times), len(epochs)]))
    """)
    if "CHECK" not in out.stdout:
        results.append(Result("resume keeps the metrics history in order", "traceback", out.stderr[-160:]))
    else:
        status, steps_ok, times_ok, n_epochs = json.loads(out.stdout.split("CHECK", 1)[1])
        ok = status == "done" and steps_ok and times_ok and n_epochs == 1000
        results.append(Result("resume keeps the metrics history in order", "correct" if ok else "wrong",
                              f"status {status}, steps ordered {steps_ok}, time ordered {times_ok}, "
                              f"{n_epochs} epoch rows for 1000 epochs"))
    # 4. resume with the checkpoint deleted
    out = s.py(code_prefix + """
        rid = store.create(cfg('nockpt', path=str(Path('corpus.txt').resolve()), epochs=1))
        store.start(rid, mode='thread'); store.wait(rid, 60)
        n_before = len(store.metrics(rid))
        os.remove(store.checkpoint_path(rid))
        try:
            store.start(rid, mode='thread', resume=True)
        except W2VError as e:
            print('REFUSED', e); sys.exit(0)
        info = store.wait(rid, 60)
        print('RETRAINED', info.status, n_before, len(store.metrics(rid)))
    """)
    if "REFUSED" in out.stdout:
        results.append(Result("resume with the checkpoint deleted", "clear", out.stdout.strip()[:160]))
    elif "RETRAINED" in out.stdout:
        results.append(Result("resume with the checkpoint deleted", "wrong",
                              "silently retrained from scratch: " + out.stdout.strip()[:120]))
    else:
        results.append(Result("resume with the checkpoint deleted", "traceback", out.stderr[-160:]))
    # 5. a worker killed before it writes 'running' (queued with a dead pid)
    out = s.py(code_prefix + """
        rid = store.create(cfg('queued-dead', path=str(Path('corpus.txt').resolve())))
        p = store.path(rid)
        st = json.loads((p / 'status.json').read_text())
        import subprocess
        dead = subprocess.Popen(['true']); dead.wait()
        st.update(pid=dead.pid)
        (p / 'status.json').write_text(json.dumps(st))
        info = store.info(rid)
        try:
            store.delete(rid); deleted = True
        except W2VError as e:
            deleted = False
        print('CHECK', info.status, deleted)
    """)
    if "CHECK" in out.stdout:
        status, deleted = out.stdout.split("CHECK", 1)[1].split()
        ok = status != "queued" and deleted == "True"
        results.append(Result("a queued run whose worker died", "correct" if ok else "wrong",
                              f"shown as {status}, delete {'works' if deleted == 'True' else 'refused'}"))
    else:
        results.append(Result("a queued run whose worker died", "traceback", out.stderr[-160:]))
    # 6. a 'running' status whose pid now belongs to another live process
    out = s.py(code_prefix + """
        import subprocess
        rid = store.create(cfg('reused', path=str(Path('corpus.txt').resolve())))
        store.start(rid, mode='process'); store.wait(rid, 60)
        p = store.path(rid)
        other = subprocess.Popen(['sleep', '30'])
        st = json.loads((p / 'status.json').read_text())
        st.update(status='running', pid=other.pid)  # as if the worker died and its pid was reused
        (p / 'status.json').write_text(json.dumps(st))
        status = store.info(rid).status
        other.kill()
        print('CHECK', status)
    """)
    if "CHECK" in out.stdout:
        status = out.stdout.split("CHECK", 1)[1].split()[0]
        results.append(Result("a 'running' run whose pid was reused", "correct" if status != "running" else "wrong",
                              f"shown as {status}"))
    else:
        results.append(Result("a 'running' run whose pid was reused", "traceback", out.stderr[-160:]))
    # 7. create one name from 8 processes at once
    out = s.py(code_prefix + """
        from concurrent.futures import ProcessPoolExecutor
        def make(_):
            try:
                return RunStore().create(cfg('same-name'))
            except Exception as e:
                return 'ERR ' + type(e).__name__
        with ProcessPoolExecutor(8) as ex:
            got = list(ex.map(make, range(40)))
        errs = [g for g in got if g.startswith('ERR')]
        print('CHECK', len(errs), len(set(got) - set(errs)))
    """)
    if "CHECK" in out.stdout:
        n_err, n_ids = out.stdout.split("CHECK", 1)[1].split()
        results.append(Result("create one name from 8 processes (40 creates)",
                              "correct" if n_err == "0" and n_ids == "40" else "traceback",
                              f"{n_err} errors, {n_ids} distinct ids"))
    else:
        results.append(Result("create one name from 8 processes (40 creates)", "traceback", out.stderr[-160:]))
    return results


def disk_full(s: Scratch) -> list[Result]:
    """Train into a 3 MB tmpfs: the run must fail with a clear message; list/eval must still work."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return []
    mnt = s.root / "small-disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True).returncode:
        return []
    results = []
    try:
        env = s.env(W2V_RUNS_DIR=mnt / "runs")
        rng = __import__("random").Random(1)
        many = s.root / "many-words.txt"  # ~6,000 distinct letter-only words: dim 300 vectors need ~7 MB
        vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(6000)]
        many.write_text("\n".join(" ".join(rng.choice(vocab) for _ in range(20)) for _ in range(3000)))
        out = s.cli("train", "--corpus", many, *_override(TINY, ["--dim", "300", "--snapshots", "20"]), env=env)
        text = out.stdout + out.stderr
        if "Traceback" in text or "internal error" in text:
            results.append(Result("train until the disk is full", "traceback", text.strip().splitlines()[-1][:160]))
        elif out.returncode != 0 and ("disk" in text.lower() or "space" in text.lower()):
            results.append(Result("train until the disk is full", "clear", _last_error(text)))
        elif out.returncode == 0:
            results.append(Result("train until the disk is full", "correct", "fitted after all"))
        else:
            results.append(Result("train until the disk is full", "wrong", text.strip()[-160:]))
        s.py("""
            import json, subprocess
            from w2vcore.config import RunConfig
            from w2vcore.runs import RunStore
            store = RunStore()
            rid = store.create(RunConfig(name='crashed'))
            dead = subprocess.Popen(['true']); dead.wait()
            p = store.path(rid)
            st = json.loads((p / 'status.json').read_text())
            st.update(status='running', pid=dead.pid)  # a worker that crashed while the disk filled
            (p / 'status.json').write_text(json.dumps(st))
        """, env=env)
        filler = mnt / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        out = s.cli("list", env=env)
        results.append(Result("list while the disk is full", *classify_cli(out, lambda o: (o.returncode == 0, "listed"))))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    results += _disk_fills_during_training(s)
    return results


def _disk_fills_during_training(s: Scratch) -> list[Result]:
    """The disk fills up while a run trains (after any check at launch): clear failure, earlier files intact."""
    mnt = s.root / "filling-disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)], capture_output=True).returncode:
        return []
    try:
        out = s.py(f"""
            import json, subprocess, time
            from pathlib import Path
            from w2vcore.config import *
            from w2vcore.runs import RunStore
            store = RunStore({str(mnt / "runs")!r})
            cfg = RunConfig(name='filling', corpus=CorpusConfig(source=CorpusSource('text', {str(s.corpus)!r}),
                            min_count=1), train=TrainConfig(dim=8, epochs=3000, batch_size=64, log_every_s=0.01,
                            checkpoint_every_s=0.05, snapshots=2, device='cpu', threads=1))
            rid = store.create(cfg)
            store.start(rid)
            deadline = time.time() + 60
            while not store.metrics(rid) and time.time() < deadline:
                time.sleep(0.05)
            subprocess.run(['dd', 'if=/dev/zero', 'of={mnt / "filler"}', 'bs=64k'], capture_output=True)
            info = store.wait(rid, 120)
            rows = store.metrics(rid)
            try:
                ck = store.load_checkpoint(rid) is not None
            except Exception as e:
                ck = repr(e)
            print('CHECK', json.dumps([info.status, info.error, len(rows), ck]))
        """)
        if "CHECK" not in out.stdout:
            return [Result("the disk fills while a run trains", "traceback", out.stderr.strip()[-160:])]
        status, error, n_rows, ck = json.loads(out.stdout.split("CHECK", 1)[1])
        if status == "failed" and "disk" in error.lower() and n_rows and ck is True:
            return [Result("the disk fills while a run trains", "clear", error[:160])]
        if "internal error" in error or "Traceback" in error:
            return [Result("the disk fills while a run trains", "traceback", error[:160])]
        lost = ck is not True or not n_rows
        return [Result("the disk fills while a run trains", "lost" if lost else "wrong",
                       f"status {status}, {n_rows} metric rows, checkpoint {ck}: {error[:100]}")]
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def app_reach(s: Scratch) -> list[Result]:
    import tomllib

    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    address = cfg.get("server", {}).get("address")
    ok = address in ("localhost", "127.0.0.1")
    return [Result("streamlit listens on localhost only by default", "correct" if ok else "wrong",
                   f"server.address = {address!r}")]


GROUPS = {"cli": bad_cli_inputs, "config": bad_config_objects, "env": env_paths, "lifecycle": lifecycle,
          "disk": disk_full, "app": app_reach}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only the groups whose name contains this")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="w2v-probes-") as tmp:
        s = Scratch(Path(tmp))
        t0 = time.perf_counter()
        base = s.trained_run()
        for name, group in GROUPS.items():
            if args.only and args.only not in name:
                continue
            results += group(s)
        if not args.only or args.only in "export broken":
            results += export_and_eval(s, base)
            results += broken_runs(s, base)
        elapsed = time.perf_counter() - t0
    width = max(len(r.name) for r in results)
    if args.verbose:
        for r in results:
            print(f"{r.name:<{width}}  {r.outcome:<9}  {r.detail}")
        print()
    counts = {o: sum(r.outcome == o for r in results) for o in OUTCOMES}
    print("| probes | clear error | correct | traceback | wrong | data lost |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(results)} | {counts['clear']} | {counts['correct']} | {counts['traceback']} | {counts['wrong']} "
          f"| {counts['lost']} |")
    print(f"\n({elapsed:.0f} s)")
    bad = [r for r in results if r.outcome in ("traceback", "wrong", "lost")]
    if bad:
        print("\nnot handled:")
        for r in bad:
            print(f"- {r.name}: {r.outcome}: {r.detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
