"""Presets and run naming (`w2vcore.presets`): the flagship's three arms differ only in the RSR spec,
arms are read back from configs, the held-out split never depends on the run seed, sweeps with seeds,
the corpus rule and its reason, flagship groups, and labui.settings' flagship preset."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from labui import analysis, settings
from w2vcore import presets
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.presets import arm_of, flagship_configs, flagship_source, sweep_configs

BASE = RunConfig(name="x", corpus=CorpusConfig(min_count=3), train=TrainConfig(dim=16, epochs=1, threads=1))


def test_flagship_arms_differ_only_in_the_rsr_spec_and_name():
    configs = flagship_configs(BASE, seeds=(1, 2))
    assert [c.name for c in configs] == ["x-vanilla-s1", "x-rsr-rows-s1", "x-rsr-map-s1",
                                         "x-vanilla-s2", "x-rsr-rows-s2", "x-rsr-map-s2"]
    vanilla, rows, mapped = configs[:3]
    assert "air conditioner" in vanilla.corpus.tokenizer.phrases  # THINGS multi-word concepts get a vector
    for other in (rows, mapped):
        diff = analysis.config_diff(vanilla.to_dict(), other.to_dict())
        assert set(diff["setting"]) - {"name"} and all(
            k == "name" or k.startswith("train.losses.rsr.") for k in diff["setting"]), list(diff["setting"])
    assert vanilla.train.losses == (LossSpec("rsr", 0.0, {"target": "things", "heldout": presets.HELDOUT, "seed": 0}),)
    assert rows.train.losses[0].params["metric"] == "none" and rows.train.losses[0].weight == 0.1
    assert mapped.train.losses[0].params["metric"] == "gauge_only" and mapped.train.losses[0].params["metric_keep"] == 0.1
    across = analysis.config_diff(configs[1].to_dict(), configs[4].to_dict())
    assert set(across["setting"]) == {"name", "train.seed"}  # seeds change the run seed, never the split seed
    assert vanilla.corpus.source == BASE.corpus.source and vanilla.train.dim == 16


def test_arm_of_reads_the_config_not_the_name():
    configs = flagship_configs(BASE, seeds=(3,))
    renamed = [dataclasses.replace(c, name="whatever") for c in configs]
    assert [arm_of(c) for c in renamed] == [("vanilla", 3), ("rsr-rows", 3), ("rsr-map", 3)]
    assert arm_of(BASE) == ("vanilla", 1)  # no RSR at all: the vanilla run
    gauge = dataclasses.replace(BASE, train=dataclasses.replace(
        BASE.train, losses=(LossSpec("rsr", 0.1, {"metric": "gauge"}),)))
    with pytest.raises(W2VError, match="not one of the flagship's arms"):
        arm_of(gauge)


def test_the_heldout_split_does_not_depend_on_the_run_seed(lee_data):
    from w2vcore.compare.heldout import _rsr_on

    one, two = (flagship_configs(BASE, seeds=(s,))[1] for s in (1, 7))
    held = [_rsr_on(lee_data.vocab, c.train.losses[0], None, 16).heldout_concepts.tolist() for c in (one, two)]
    assert one.train.seed != two.train.seed and held[0] == held[1] and len(held[0]) > 10


def test_flagship_keeps_other_losses_and_checks_weights():
    with_debias = dataclasses.replace(BASE, train=dataclasses.replace(
        BASE.train, losses=(LossSpec("debias", 0.2), LossSpec("rsr", 0.3, {"pairs": 700, "metric": "gauge"}))))
    rows = flagship_configs(with_debias)[1]
    assert rows.train.losses[0] == LossSpec("debias", 0.2)
    assert rows.train.losses[1].params == {"pairs": 700, "target": "things", "heldout": presets.HELDOUT, "seed": 0,
                                           "metric": "none"}  # the base's RSR params kept, its metric replaced
    for bad, message in (({"weight": 0.0}, "above 0"), ({"seeds": ()}, "between 1"), ({"seeds": (1, 1)}, "once"),
                         ({"weight": 0.9}, "exceed 1")):
        with pytest.raises(W2VError, match=message):
            flagship_configs(with_debias, **bad)


def test_flagship_source_takes_the_largest_available(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("a b c\n")
    brown = tmp_path / "brown"
    brown.mkdir()
    assert flagship_source(str(text), str(brown)) == CorpusSource("text", str(text))
    assert flagship_source("", str(brown)) == CorpusSource("brown", str(brown))
    assert flagship_source(str(tmp_path / "gone.txt"), str(tmp_path / "gone")) == CorpusSource("default")
    assert flagship_source() == CorpusSource("default")


def test_sweep_configs_cross_weights_and_seeds():
    base = dataclasses.replace(BASE, train=dataclasses.replace(BASE.train, losses=(LossSpec("rsr", 0.1, {"pairs": 500}),)))
    configs = sweep_configs(base, [0, 0.2], seeds=(1, 2))
    assert [c.name for c in configs] == ["x-vanilla-s1", "x-vanilla-s2", "x-rsr-a0.2-s1", "x-rsr-a0.2-s2"]
    assert [(c.train.losses[0].weight, c.train.seed) for c in configs] == [(0, 1), (0, 2), (0.2, 1), (0.2, 2)]
    diff = analysis.config_diff(configs[0].to_dict(), configs[3].to_dict())
    assert set(diff["setting"]) == {"name", "train.seed", "train.losses.rsr.weight"}
    assert analysis.sweep_axis({c.name: c.to_dict() for c in configs[::2]})[0] == "rsr"
    for weights, seeds in (([0, 0], (1,)), ([1.5], (1,)), ([0.1], ())):
        with pytest.raises(W2VError):
            sweep_configs(base, weights, seeds)


def test_flagship_reason_says_which_rule_chose_the_corpus(tmp_path):
    text = tmp_path / "mine.txt"
    text.write_text("a b c\n")
    source = flagship_source(str(text))
    assert presets.flagship_reason(source, str(text)).startswith("your corpus")
    assert presets.flagship_reason(CorpusSource("brown", "b"), "", "b").startswith("the Brown corpus folder")
    assert presets.flagship_reason(flagship_source()).endswith("no corpus file or Brown folder is set on the Data page")
    assert presets.flagship_reason(flagship_source("gone.txt"), "gone.txt").endswith("does not exist")


def test_a_flagship_group_needs_vanilla_and_an_rsr_arm_once_per_seed():
    base = RunConfig(corpus=CorpusConfig(min_count=3), train=TrainConfig(dim=16))
    configs = flagship_configs(base, seeds=(1, 2))
    group = presets.flagship_group({str(i): c for i, c in enumerate(configs)})
    assert sorted(group.values()) == sorted((a, s) for a in presets.ARMS for s in (1, 2))
    assert presets.flagship_group({"a": configs[1], "b": configs[2]}) is None  # no vanilla
    assert presets.flagship_group({"a": configs[0], "b": configs[3]}) is None  # vanilla only
    assert presets.flagship_group({"a": configs[0], "b": configs[1], "c": configs[1]}) is None  # twice the same


def test_the_flagship_preset_is_three_arms_per_seed_on_the_default_corpus():
    configs = settings.flagship_preset("", seeds=(1, 2))
    assert [arm_of(c) for c in configs[:3]] == [("vanilla", 1), ("rsr-rows", 1), ("rsr-map", 1)] and len(configs) == 6
    assert configs[0].corpus.source == CorpusSource("default")  # no corpus or Brown folder set


def test_the_defaults_table_in_the_docs_matches_the_config():
    """docs/HYPERPARAMETERS.md states each default and the sweep behind it; it must say what config.py does."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "HYPERPARAMETERS.md").read_text()
    stated = dict(re.findall(r"^\| (\w+) \| ([\d.e-]+) \|", text, flags=re.M))
    actual = dataclasses.asdict(TrainConfig()) | dataclasses.asdict(CorpusConfig())
    assert set(stated) >= {"lr", "window", "epochs", "sample", "negative", "min_count", "dim", "min_lr_ratio"}
    for name, value in stated.items():
        assert float(value) == actual[name], f"docs say {name} = {value}, config.py has {actual[name]}"
