"""The command line, run as a user would: train, list, eval, export, and bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from w2vcore.config import TrainConfig

from clikit import cli

REPO = Path(__file__).resolve().parents[1]


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


def test_fit_map_prints_the_scorecard_of_the_run_against_its_fitted_map(trained):
    tmp, run_id, _ = trained
    out = cli(tmp, "fit-map", run_id, "--steps", "50").stdout
    assert "fitted 50 map steps" in out and "held-out concepts" in out
    assert "| human rho, held-out pairs |" in out and "+ fitted map" in out


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
    t = TrainConfig()  # window and negatives at their defaults
    assert ckpt.name == f"model_dim-20_radius-{t.window}_ratio-{t.negative}-batch-4096-epoch-2.ckpt"
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
    (["--seed", "-1"], "seed must be between 0 and"),
    (["--seed", str(2**70)], "seed must be between 0 and"),
    (["--chunk-tokens", "1"], "chunk_tokens must be at least"),
    (["--dim", "1000000000"], "of memory"),
    (["--dim", "100000"], "GB of memory"),
    (["--lr", "nan"], "lr must be a finite number"),
    (["--early-stopping-patience", "2"], "validation split"),
    (["--phrases", "/nonexistent/phrases.txt"], "phrases file /nonexistent/phrases.txt not found"),
])
def test_bad_settings_give_a_clear_error_not_a_traceback(tmp_path, args, message):
    from gensim.test.utils import datapath

    proc = cli(tmp_path, "train", "--corpus", datapath("lee_background.cor"), "--epochs", "1", *args, ok=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    runs = tmp_path / "runs"
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")], \
        "a refused run must not leave a run folder"


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00", "caf\xe9 cr\xe8me".encode("latin-1")])
def test_binary_or_non_utf8_phrases_file(tmp_path, content):
    from gensim.test.utils import datapath

    (tmp_path / "phrases.txt").write_bytes(content)
    proc = cli(tmp_path, "train", "--corpus", datapath("lee_background.cor"), "--phrases",
               str(tmp_path / "phrases.txt"), ok=False)
    assert proc.returncode == 2 and "phrases file" in proc.stderr and "Traceback" not in proc.stderr


def test_cache_dir_that_is_a_file(tmp_path):
    from gensim.test.utils import datapath

    (tmp_path / "cache").write_text("a file")
    proc = cli(tmp_path, "train", "--corpus", datapath("lee_background.cor"), ok=False)
    assert proc.returncode == 2 and "is a file, not a folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("fmt", ["word2vec", "npz", "ckpt"])
def test_export_out_checks(trained, tmp_path, fmt):
    tmp, run_id, _ = trained
    missing = cli(tmp, "export", run_id, "--format", fmt, "--out", str(tmp_path / "no" / "v"), ok=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    folder = cli(tmp, "export", run_id, "--format", fmt, "--out", str(tmp_path), ok=False)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    mine = tmp_path / "mine.txt"
    mine.write_text("keep me")
    existing = cli(tmp, "export", run_id, "--format", fmt, "--out", str(mine), ok=False)
    assert existing.returncode == 2 and "--force" in existing.stderr and mine.read_text() == "keep me"
    cli(tmp, "export", run_id, "--format", fmt, "--out", str(mine), "--force")
    assert mine.stat().st_size > 100
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"


def test_export_tsv_refuses_a_file_and_existing_output(trained, tmp_path):
    tmp, run_id, _ = trained
    (tmp_path / "f").write_text("x")
    proc = cli(tmp, "export", run_id, "--format", "tsv", "--out", str(tmp_path / "f"), ok=False)
    assert proc.returncode == 2 and "is a file" in proc.stderr
    cli(tmp, "export", run_id, "--format", "tsv", "--out", str(tmp_path / "proj"))
    again = cli(tmp, "export", run_id, "--format", "tsv", "--out", str(tmp_path / "proj"), ok=False)
    assert again.returncode == 2 and "--force" in again.stderr
    cli(tmp, "export", run_id, "--format", "tsv", "--out", str(tmp_path / "proj"), "--force")


def test_export_of_a_truncated_checkpoint(trained, tmp_path):
    import shutil

    tmp, run_id, _ = trained
    copy = tmp_path / "runs"
    shutil.copytree(tmp / "runs" / run_id, copy / run_id)
    ck = copy / run_id / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:1000])
    proc = subprocess.run([sys.executable, "-m", "w2vcore", "--runs-dir", str(copy), "--cache-dir", str(tmp / "cache"),
                           "export", run_id, "--format", "ckpt", "--out", str(tmp_path / "x.ckpt")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "truncated or unreadable" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.ckpt").exists()


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


def test_train_takes_the_letters_and_the_encoding():
    from w2vcore.__main__ import build_parser, run_config

    cfg = run_config(build_parser().parse_args(["train", "--corpus", "notes.txt", "--letters", "unicode",
                                                "--encoding", "cp1252"]))
    assert cfg.corpus.tokenizer.letters == "unicode" and cfg.corpus.source.encoding == "cp1252"
    default = run_config(build_parser().parse_args(["train"]))
    assert default.corpus.tokenizer.letters == "ascii" and default.corpus.source.encoding == "utf-8"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--encoding", "ebcdic"])
