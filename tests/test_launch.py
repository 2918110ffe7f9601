"""Data-parallel training under torchrun and accelerate launch (Gloo on CPU: two processes here).

The launch tests start real process groups with ``python -m torch.distributed.run`` and
Accelerate's launcher;
the rest check the sharding and the launch environment without starting any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit.errors import ModelError
from toolkit import launch as distributed

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
LAUNCH_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def one_process(monkeypatch):
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------ sharding


@pytest.mark.parametrize("size", [8, 9, 13, 50])
@pytest.mark.parametrize("processes", [1, 2, 3, 4])
def test_shards_cover_a_batch_once_in_near_equal_contiguous_parts(size, processes):
    rows = np.arange(100, 100 + size)
    shares = [distributed.shard(rows, process, processes) for process in range(processes)]
    assert np.array_equal(np.concatenate(shares), rows)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_a_batch_smaller_than_the_number_of_processes_still_gives_every_process_rows():
    shares = [distributed.shard(np.array([7, 8]), process, 4) for process in range(4)]
    assert all(len(share) == 1 for share in shares)
    assert {int(share[0]) for share in shares} == {7, 8}


def test_shard_rejects_an_impossible_request():
    with pytest.raises(ValueError, match="not one of"):
        distributed.shard(np.arange(4), 2, 2)
    with pytest.raises(ValueError, match="empty"):
        distributed.shard(np.arange(0), 0, 2)


# ------------------------------------------------------------------ environment


def test_without_a_launcher_everything_is_one_process(one_process):
    assert (distributed.world_size(), distributed.rank(), distributed.is_launched(), distributed.is_main_process()) == (1, 0, False, True)
    assert distributed.ensure_process_group() is False
    assert distributed.broadcast_float(0.25) == 0.25
    assert distributed.all_sum([1, 2.5]) == [1.0, 2.5]
    assert distributed.broadcast_flag(True) is True
    assert distributed.describe() == {"world_size": 1}


@pytest.mark.parametrize(
    ("variables", "message"),
    [({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not an integer"), ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2 must be smaller")],
)
def test_a_malformed_launch_environment_is_named(one_process, monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ModelError, match=message):
        distributed.rank()


def test_world_size_set_by_hand_asks_for_a_launcher(one_process, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ModelError, match="MASTER_ADDR, MASTER_PORT not set; start the processes with torchrun"):
        distributed.ensure_process_group()


# ------------------------------------------------------------------ real launches


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in LAUNCH_VARIABLES}
    environment.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return environment


def _launch(arguments: list[str], processes: int, cwd: Path, launcher: str = "torchrun") -> subprocess.CompletedProcess:
    if launcher == "torchrun":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *arguments]
    else:  # Accelerate's launcher; --multi_gpu hands over to torchrun, which works on CPU-only machines too
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={processes}",
                   "--num_machines=1", "--mixed_precision=no", "--dynamo_backend=no", "--main_process_port=0", *arguments]
    result = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _python(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *arguments], cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny BERT pretrained here, with BERT's dropout (0.1) left on."""
    pytest.importorskip("torch")
    from toolkit.models.pretrain import PretrainConfig, pretrain_mlm

    from tests.ddp_worker import sentences

    texts = [row["text"] for row in sentences()[0]] * 3
    config = PretrainConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            max_position_embeddings=64, vocab_size=300, epochs=1, batch_size=8, max_length=32, num_threads=1)
    directory = pretrain_mlm(texts, tmp_path_factory.mktemp("ddp") / "tiny-bert", config=config, progress=False)
    assert json.loads((directory / "config.json").read_text())["hidden_dropout_prob"] > 0
    return directory


def _largest_difference(first: Path, second: Path) -> float:
    one, other = np.load(first), np.load(second)
    assert set(one.files) == set(other.files)
    return max(float(np.abs(one[name] - other[name]).max()) for name in one.files)


@pytest.mark.slow
@pytest.mark.bert
def test_two_processes_under_accelerate_train_the_weights_of_one_process_on_the_same_global_batch(tiny_bert, tmp_path):
    """2 processes × 4 rows = 1 process × 4 rows × 2 accumulation steps: the same shards, the same
    dropout draws (seeded per shard), the same class-weighted global loss; so the same weights."""
    worker = str(TESTS / "ddp_worker.py")
    model = str(tiny_bert)
    _launch([worker, model, str(tmp_path / "two-by-4"), "4"], 2, tmp_path, launcher="accelerate")
    _python([worker, model, str(tmp_path / "one-by-4x2"), "4", "2"], tmp_path)
    _python([worker, model, str(tmp_path / "one-by-8"), "8"], tmp_path)

    replica_0 = np.load(tmp_path / "two-by-4" / "proba-rank0.npy")
    replica_1 = np.load(tmp_path / "two-by-4" / "proba-rank1.npy")
    assert np.array_equal(replica_0, replica_1)  # the processes end with the same weights
    assert _largest_difference(tmp_path / "two-by-4" / "weights.npz", tmp_path / "one-by-4x2" / "weights.npz") < 1e-5
    # The check has teeth: one forward over all 8 rows draws other dropout masks, so another model.
    assert _largest_difference(tmp_path / "two-by-4" / "weights.npz", tmp_path / "one-by-8" / "weights.npz") > 1e-4

    two, one = (json.loads((tmp_path / name / "fit.json").read_text()) for name in ("two-by-4", "one-by-4x2"))
    assert (two["world_size"], one["world_size"]) == (2, 1)
    np.testing.assert_allclose([e["train_loss"] for e in two["history"]], [e["train_loss"] for e in one["history"]], rtol=1e-5)
    assert [e["sentences"] for e in two["history"]] == [56, 56, 56]  # each sentence once per epoch, not once per process


def test_the_loss_of_a_step_is_the_global_class_weighted_mean():
    """Summed terms over their summed weights: what one process computes over the whole batch,
    and not the mean of per-process means (which differs when the processes' classes differ)."""
    torch = pytest.importorskip("torch")
    from toolkit.models.training import cross_entropy_sum, label_weight

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, generator=generator)
    labels = torch.tensor([0, 0, 0, 1, 2, 2, 1, -100])
    weight = torch.tensor([0.5, 2.0, 1.5])
    whole = torch.nn.functional.cross_entropy(logits, labels, weight=weight, ignore_index=-100)
    halves = [(logits[:4], labels[:4]), (logits[4:], labels[4:])]
    total = sum(label_weight(part, weight) for _, part in halves)
    combined = sum(cross_entropy_sum(values, part, weight) for values, part in halves) / total
    assert torch.allclose(combined, whole)
    mean_of_means = sum(torch.nn.functional.cross_entropy(v, p, weight=weight, ignore_index=-100) for v, p in halves) / 2
    assert not torch.allclose(mean_of_means, whole)


@pytest.mark.slow
@pytest.mark.bert
def test_cli_under_accelerate_and_torchrun_pretrains_and_runs_with_one_writer(tiny_labels_dir, tmp_path):
    pytest.importorskip("accelerate")
    model = tmp_path / "small-bert"
    pretrain = _launch(
        ["-m", "toolkit.cli", "pretrain", "--labels-dir", str(tiny_labels_dir), "--out", str(model), "--epochs", "1",
         "--hidden-size", "32", "--layers", "2", "--heads", "2", "--vocab-size", "300", "--quiet"],
        2,
        tmp_path,
        launcher="accelerate",
    )
    assert pretrain.stdout.strip().splitlines() == [str(model)]  # printed by rank 0 only
    assert json.loads((model / "pretraining.json").read_text())["world_size"] == 2

    settings = ["training.processes=2", f"model.name_or_path={model}", f"data.labels_dir={tiny_labels_dir}",
                "training.seeds=[0]", "training.epochs=3", "training.early_stopping_patience=1", "training.num_threads=1",
                "training.batch_size=4", "model.max_length=48", "evaluation.bootstrap_samples=20"]
    arguments = ["-m", "toolkit.cli", "run", str(ROOT / "experiments" / "bert-multigpu.yaml"), "--quiet",
                 "--output-dir", str(tmp_path / "runs"), "--set", "task=all",
                 "--set", "data.split.kind=holdout", "--set", "data.split.test_letters=[rec-2015-01-tiny-5]"]
    for setting in settings:
        arguments += ["--set", setting]
    run = _launch(arguments, 2, tmp_path)
    runs = [path for path in (tmp_path / "runs").iterdir()]
    assert len(runs) == 1 and not runs[0].name.startswith(".")  # one run directory, no leftover staging
    assert sum("macro-F1" in line for line in run.stdout.splitlines()) == 3  # one summary line per task, not per process
    assert json.loads((runs[0] / "provenance.json").read_text())["launch"] == {"world_size": 2, "backend": "gloo"}
    fit = json.loads((runs[0] / "model" / "toolkit.json").read_text())["fit"]
    assert fit["world_size"] == 2 and fit["validation_letters"]
    assert set(json.loads((runs[0] / "metrics.json").read_text())["tasks"]) == {"stance", "actor", "topic"}

    again = _launch(arguments, 2, tmp_path)  # rank 0's cache decision holds for both processes
    assert "not recomputed" in again.stdout and len(list((tmp_path / "runs").iterdir())) == 1
