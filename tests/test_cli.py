"""The command line, run as a user would: train, list, eval, export, and bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def cli(tmp_path, *args, ok=True):
    cmd = [sys.executable, "-m", "w2vcore", "--runs-dir", str(tmp_path / "runs"), "--cache-dir",
           str(tmp_path / "cache"), *args]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from gensim.test.utils import datapath

    tmp = tmp_path_factory.mktemp("cli")
    proc = cli(tmp, "train", "--corpus", datapath("lee_background.cor"), "--name", "lee", "--epochs", "2",
               "--dim", "20", "--min-count", "3", "--val-fraction", "0.1", "--device", "cpu")
    run_id = next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("run "))
    return tmp, run_id, proc


def test_train_prints_progress_and_finishes(trained):
    tmp, run_id, proc = trained
    assert "done: vectors in" in proc.stdout
    assert "epoch 2 done" in proc.stdout and "val loss" in proc.stdout
    listing = cli(tmp, "list").stdout
    assert run_id in listing and "done" in listing


def test_eval_prints_every_benchmark(trained):
    tmp, run_id, _ = trained
    out = cli(tmp, "eval", run_id).stdout
    for name in ("simlex999", "wordsim353", "analogies 3cosadd", "analogies 3cosmul"):
        assert name in out


@pytest.mark.parametrize("fmt, binary", [("word2vec", False), ("word2vec-bin", True)])
def test_export_word2vec_formats_load_in_gensim(trained, fmt, binary):
    from gensim.models import KeyedVectors

    tmp, run_id, _ = trained
    out = Path(cli(tmp, "export", run_id, "--format", fmt, "--out", str(tmp / f"v.{fmt}")).stdout.strip())
    kv = KeyedVectors.load_word2vec_format(str(out), binary=binary)
    assert kv.vector_size == 20 and "government" in kv.key_to_index


def test_export_homework_checkpoint_and_projector(trained):
    tmp, run_id, _ = trained
    ckpt = Path(cli(tmp, "export", run_id, "--format", "ckpt").stdout.strip())
    assert ckpt.name == "model_dim-20_radius-5_ratio-5-batch-4096-epoch-2.ckpt"
    state = torch.load(ckpt, weights_only=True)
    assert state["target_embeddings"].shape == state["context_embeddings"].shape
    assert len(state["index_to_key"]) == state["target_embeddings"].shape[0]
    tsv = Path(cli(tmp, "export", run_id, "--format", "tsv").stdout.strip())
    assert (tsv / "vectors.tsv").exists() and (tsv / "metadata.tsv").exists()


@pytest.mark.parametrize("args, message", [
    (["--window", "0"], "window must be at least 1"),
    (["--dim", "0"], "dim must be at least 1"),
    (["--lr", "-0.1"], "lr must be above 0"),
    (["--negative", "-5"], "negative must be at least 1"),
    (["--min-count", "100000"], "is above every word count"),
    (["--batch-size", "100000000"], "larger than"),
    (["--loss", "nope", "0.1"], "unknown loss 'nope'"),
])
def test_bad_settings_give_a_clear_error_not_a_traceback(tmp_path, args, message):
    from gensim.test.utils import datapath

    proc = cli(tmp_path, "train", "--corpus", datapath("lee_background.cor"), "--epochs", "1", *args, ok=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "does not look like text"),
    (b"only only only", "too few distinct words"),
])
def test_bad_corpus_files(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    proc = cli(tmp_path, "train", "--corpus", str(path), "--min-count", "1", ok=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_latin1_corpus_is_decoded_with_replacement(tmp_path):
    path = tmp_path / "latin.txt"
    text = "le caf\xe9 est tr\xe8s bon et le th\xe9 aussi\n" * 300 + "un deux trois quatre cinq six\n" * 300
    path.write_bytes(text.encode("latin-1"))
    proc = cli(tmp_path, "train", "--corpus", str(path), "--min-count", "1", "--epochs", "1", "--dim", "8",
               "--batch-size", "256")
    assert "done" in proc.stdout


def test_unknown_run_and_missing_corpus(tmp_path):
    proc = cli(tmp_path, "eval", "no-such-run", ok=False)
    assert proc.returncode == 2 and "no run 'no-such-run'" in proc.stderr
    proc = cli(tmp_path, "train", "--corpus", str(tmp_path / "missing.txt"), ok=False)
    assert proc.returncode == 2 and "not found" in proc.stderr
