"""Sweeps as separate jobs: `toolkit sweep --list`, `toolkit run --shard i/n`, `toolkit merge`.

The shards of an experiment, merged, must give the run directory a one-process run gives: the
same files, the same metrics and the same predictions.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import EXPERIMENTS_DIR, write_tiny_labels_dir
from toolkit.cli import build_parser, main
from toolkit.config import config_to_dict, load_configs
from toolkit.sweep import Shard, parse_shard, shard_area

GRID = EXPERIMENTS_DIR / "tfidf-grid-seed.yaml"


def _cli(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(part) for part in argv])
    return code, stdout.getvalue(), stderr.getvalue()


def _kfold_args(labels: Path, out: Path, *extra: str) -> list[str]:
    """A TF-IDF experiment with two seeds and three grouped folds: 2 × 3 fits and a final model."""
    return ["run", str(EXPERIMENTS_DIR / "tfidf-loo.yaml"), "--quiet", "--set", "task=stance", "--set", f"data.labels_dir={labels}",
            "--set", "data.split.kind=grouped_kfold", "--set", "data.split.n_splits=3", "--set", "training.seeds=[0, 1]",
            "--set", "evaluation.bootstrap_samples=30", "--output-dir", str(out), *extra]


def _run(*argv: str) -> Path:
    code, stdout, stderr = _cli(*argv)
    assert code == 0, stderr
    return Path(stdout.strip().splitlines()[-1])


def _files(run: Path) -> set[str]:
    return {path.relative_to(run).as_posix() for path in run.rglob("*") if path.is_file()}


def _predictions(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def kfold(tmp_path_factory):
    """The labels, a one-process run, and the same experiment as shards 1/2 and 2/2 (not merged)."""
    root = tmp_path_factory.mktemp("sweep")
    labels = write_tiny_labels_dir(root)
    single = _run(*_kfold_args(labels, root / "single"))
    torch_before = "torch" in sys.modules
    first = _run(*_kfold_args(labels, root / "sharded", "--shard", "1/2"))
    second = _run(*_kfold_args(labels, root / "sharded", "--shard", "2/2"))
    assert torch_before or "torch" not in sys.modules  # the TF-IDF path never imports torch
    assert first == second and first.name == single.name and not first.exists()
    return labels, single, first


@pytest.fixture
def shards(kfold, tmp_path):
    """A fresh copy of the finished shards, for a test to merge or break."""
    labels, single, run = kfold
    copy = tmp_path / "runs" / run.name
    shutil.copytree(shard_area(run), shard_area(copy))
    return labels, single, copy


# ---------------------------------------------------------------- listing


def test_sweep_list_prints_one_command_per_experiment_that_reproduces_it():
    code, stdout, stderr = _cli("sweep", GRID, "--list")
    assert code == 0 and stderr.startswith("#")
    lines = stdout.splitlines()
    expected = load_configs(GRID)
    assert len(lines) == len(expected) == 18
    for line, config in zip(lines, expected):
        argv = shlex.split(line)
        assert argv[:3] == ["toolkit", "run", str(GRID)]
        args = build_parser().parse_args(argv[1:])
        (reproduced,) = load_configs(args.config, args.set)
        assert config_to_dict(reproduced) == config_to_dict(config)


def test_sweep_list_keeps_the_given_overrides_and_quotes_values(tmp_path):
    code, stdout, _ = _cli("sweep", GRID, "--list", "--shards", "2", "--set", "task=actor", "--set", "name=my sweep",
                           "--output-dir", tmp_path / "out dir")
    assert code == 0
    lines = stdout.splitlines()
    assert len(lines) == 2 * 6  # the task is chosen: 3 features × 2 classifiers, two shards each
    assert [shlex.split(line)[-1] for line in lines[:2]] == ["1/2", "2/2"]
    argv = shlex.split(lines[0])
    assert argv[argv.index("--output-dir") + 1] == str(tmp_path / "out dir")
    args = build_parser().parse_args(argv[1:])
    assert args.set[:2] == ["task=actor", "name=my sweep"] and args.set.count("task=actor") == 1
    (config,) = load_configs(args.config, args.set)
    assert config_to_dict(config) == config_to_dict(load_configs(GRID, ["task=actor", "name=my sweep"])[0])
    assert config.task == "actor" and config.name.endswith("-actor-word-logreg")


def test_a_listed_command_runs_as_that_experiment(tiny_labels_dir, tmp_path):
    code, stdout, _ = _cli("sweep", GRID, "--list", "--set", "task=stance", "--set", "model.features=word",
                           "--set", f"data.labels_dir={tiny_labels_dir}", "--set", "data.split.test_letters=[rec-2010-01-tiny-0]",
                           "--set", "evaluation.bootstrap_samples=20", "--output-dir", tmp_path / "runs")
    lines = stdout.splitlines()
    assert code == 0 and len(lines) == 2
    expected = load_configs(GRID, ["task=stance", "model.features=word", f"data.labels_dir={tiny_labels_dir}",
                                   "data.split.test_letters=[rec-2010-01-tiny-0]", "evaluation.bootstrap_samples=20"])[1]
    run = _run(*shlex.split(lines[1])[1:])
    written = json.loads(json.dumps(config_to_dict(expected)))
    import yaml

    assert yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) == {**written, "output_dir": str(tmp_path / "runs")}


def test_sweep_refuses_bad_input():
    assert _cli("sweep", GRID, "--list", "--shards", "0")[0] == 2
    code, _, stderr = _cli("sweep", GRID, "--list", "--set", "task=colour")
    assert code == 2 and "not one of the values this file sweeps" in stderr


# ---------------------------------------------------------------- shards


@pytest.mark.parametrize("text, message", [("3/2", "between 1 and 2"), ("0/2", "between 1 and 2"), ("x", "expected i/n"),
                                           ("1/0", "at least 1"), ("1/2/3", "expected i/n")])
def test_bad_shards_are_refused_before_anything_is_written(tiny_labels_dir, tmp_path, text, message):
    code, stdout, stderr = _cli(*_kfold_args(tiny_labels_dir, tmp_path / "runs", "--shard", text))
    assert code == 2 and message in stderr and "Traceback" not in stderr and stdout == ""
    assert not (tmp_path / "runs").exists()


def test_the_shards_split_the_work_units_between_them():
    units = range(7)
    owners = [[unit for unit in units if Shard(i, 3).owns(unit)] for i in (1, 2, 3)]
    assert owners == [[0, 3, 6], [1, 4], [2, 5]]
    assert parse_shard(" 2 / 3 ") == Shard(2, 3)


def test_each_shard_holds_its_own_units(kfold):
    _, _, run = kfold
    records = [json.loads((shard_area(run) / f"shard-{i}-of-2" / "shard.json").read_text()) for i in (1, 2)]
    indices = [[unit["index"] for unit in record["units"]] for record in records]
    assert indices == [[0, 2, 4, 6], [1, 3, 5]]  # 2 seeds × 3 folds, then the final model (unit 6)
    assert (shard_area(run) / "shard-1-of-2" / "model").is_dir() and not (shard_area(run) / "shard-2-of-2" / "model").exists()


def test_shards_merged_give_the_run_a_single_process_gives(shards):
    labels, single, run = shards
    code, stdout, stderr = _cli("merge", run)
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(run)
    assert not shard_area(run).exists()
    assert _files(run) == _files(single)
    assert (run / "top_features.json").read_bytes() == (single / "top_features.json").read_bytes()
    merged = json.loads((run / "metrics.json").read_text())
    assert merged == json.loads((single / "metrics.json").read_text())
    low, high = merged["tasks"]["stance"]["baselines"]["stratified"]["macro_f1_interval"]
    assert low < high  # bootstrap intervals that a different seed or row order would change
    assert _predictions(run) == _predictions(single)
    assert len({row["seed"] for row in _predictions(run)}) == 2
    # the merged run is a finished run: `toolkit run` without --shard reuses it
    code, stdout, _ = _cli(*_kfold_args(labels, run.parent))
    assert code == 0 and "reused run" in stdout
    assert _cli("merge", run)[1].startswith(f"{run}: already merged")
    code, stdout, _ = _cli(*_kfold_args(labels, run.parent, "--shard", "2/2"))
    assert code == 0 and "already finished" in stdout and not shard_area(run).exists()


def test_merge_takes_the_shard_area_for_its_run(shards):
    _, single, run = shards
    assert _run("merge", shard_area(run)) == run
    assert json.loads((run / "metrics.json").read_text()) == json.loads((single / "metrics.json").read_text())


def test_a_finished_shard_is_reused(kfold, tmp_path, monkeypatch):
    labels, _, run = kfold
    shutil.copytree(shard_area(run), shard_area(tmp_path / run.name))
    manifest = shard_area(tmp_path / run.name) / "shard-1-of-2" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    import toolkit.sweep

    monkeypatch.setattr(toolkit.sweep, "fit_units", lambda *a, **k: pytest.fail("a finished shard was fitted again"))
    code, stdout, _ = _cli(*_kfold_args(labels, tmp_path, "--shard", "1/2"))
    assert code == 0 and "shard 1/2 reused" in stdout and manifest.stat().st_mtime_ns == before


def test_merge_with_a_missing_shard_names_it_and_writes_nothing(shards):
    _, _, run = shards
    shutil.rmtree(shard_area(run) / "shard-2-of-2")
    # a shard killed while writing leaves only its hidden staging directory: not a finished shard
    (shard_area(run) / ".shard-2-of-2.staging-elsewhere-1-x").mkdir()
    (shard_area(run) / ".shard-2-of-2.staging-elsewhere-1-x" / "probabilities.npz").write_bytes(b"half")
    before = sorted(p.name for p in run.parent.rglob("*"))
    code, stdout, stderr = _cli("merge", run)
    assert code == 2 and "shard(s) 2/2 missing" in stderr and stdout == ""
    assert sorted(p.name for p in run.parent.rglob("*")) == before and not run.exists()


def test_merge_refuses_a_shard_of_another_config(kfold, shards):
    labels, _, run = shards
    other = _run(*_kfold_args(labels, run.parent / "other", "--set", "evaluation.bootstrap_samples=31", "--shard", "2/2"))
    shutil.rmtree(shard_area(run) / "shard-2-of-2")
    shutil.move(shard_area(other) / "shard-2-of-2", shard_area(run) / "shard-2-of-2")
    code, _, stderr = _cli("merge", run)
    assert code == 2 and f"not of {run.name}" in stderr and "different --set" in stderr
    assert not run.exists() and (shard_area(run) / "shard-1-of-2").is_dir()


def test_merge_refuses_a_damaged_shard_and_a_run_without_shards(shards, tmp_path):
    _, _, run = shards
    with open(shard_area(run) / "shard-2-of-2" / "probabilities.npz", "ab") as stream:
        stream.write(b"x")
    code, _, stderr = _cli("merge", run)
    assert code == 2 and "probabilities.npz: missing or changed" in stderr and not run.exists()
    code, _, stderr = _cli("merge", tmp_path / "nothing-here")
    assert code == 2 and "no shards to merge" in stderr


# ---------------------------------------------------------------- executor


@pytest.mark.slow
def test_the_local_executor_runs_the_shards_and_merges_them(kfold, tmp_path):
    pytest.importorskip("submitit")
    labels, single, _ = kfold
    args = _kfold_args(labels, tmp_path / "runs")
    sets = [args[i + 1] for i, part in enumerate(args) if part == "--set"]
    code, stdout, stderr = _cli("sweep", EXPERIMENTS_DIR / "tfidf-loo.yaml", "--submit", "local", "--shards", "2",
                                *[part for item in sets for part in ("--set", item)], "--output-dir", tmp_path / "runs")
    assert code == 0, stderr
    (run,) = [Path(line) for line in stdout.splitlines()]
    assert run.name == single.name and not shard_area(run).exists()
    assert json.loads((run / "metrics.json").read_text()) == json.loads((single / "metrics.json").read_text())
    assert _predictions(run) == _predictions(single)
