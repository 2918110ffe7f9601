"""Run directories are shared between researchers: nothing read from one is trusted.

A crafted model file is refused by the types it holds; every damaged or edited file of a run is
a clear error (exit status 2, the file named) for every command that reads it.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import EXPERIMENTS_DIR, SEED_LETTER
from tests.test_cli import run_cli
from toolkit.config import load_config
from toolkit.errors import RunError
from toolkit.experiment import run_experiment
from toolkit.models.baselines import SKOPS_TYPES, build_tfidf_pipeline, load_skops_model, save_skops_model
from toolkit.run_dir import RunDirectory


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    from tests.conftest import write_tiny_labels_dir

    root = tmp_path_factory.mktemp("run")
    labels = write_tiny_labels_dir(root)
    config = load_config(EXPERIMENTS_DIR / "tfidf-loo.yaml", ["task=stance", "evaluation.bootstrap_samples=20", "training.num_threads=1"])
    config = replace(config, data=replace(config.data, labels_dir=str(labels)), output_dir=str(root / "runs"))
    return run_experiment(config, progress=False).path


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target


def test_the_allow_list_is_exactly_what_fitting_writes(tmp_path):
    import skops.io

    rows = [{"text": f"De ministers spraken over Rusland {i}.", "section": "Rusland", "previous": "Ervoor.", "next": None}
            for i in range(6)] + [{"text": f"Nederland steunt de missie {i}.", "section": None} for i in range(6)]
    labels = ["a"] * 6 + ["b"] * 6
    written: set[str] = set()
    for features, classifier, context in itertools.product(
        ("word", "char", "word+char"), ("svm", "logreg"), ("none", "section", "neighbours", "section+neighbours")
    ):
        pipeline = build_tfidf_pipeline(features=features, classifier=classifier, C=1.0, class_weight="balanced",
                                        word_ngrams=[1, 2], char_ngrams=[2, 4], min_df=1, seed=0, context=context)
        path = tmp_path / f"{features}-{classifier}-{context}.skops"
        save_skops_model(pipeline.fit(rows, labels), path)
        written |= set(skops.io.get_untrusted_types(file=path))
        assert load_skops_model(path).predict(rows[:2]).tolist() == ["a", "a"]
    assert written == SKOPS_TYPES


@pytest.mark.parametrize("payload", ["numpy-function", "sklearn-tree"])
def test_a_crafted_model_file_is_refused_naming_its_type(tmp_path, payload):
    import numpy as np
    import skops.io
    from sklearn.tree import DecisionTreeClassifier

    path = tmp_path / "model.skops"
    obj = {"loader": np.load} if payload == "numpy-function" else DecisionTreeClassifier().fit([[0], [1]], [0, 1])
    skops.io.dump(obj, path)
    expected = "numpy.load" if payload == "numpy-function" else "sklearn.tree._tree.Tree"
    with pytest.raises(RunError, match=f"refusing to load .*{expected}"):
        load_skops_model(path)


def test_a_crafted_model_in_a_run_is_refused_by_predict(finished_run, tmp_path):
    import numpy as np
    import skops.io

    from toolkit.run_dir import write_manifest

    run = _copy(finished_run, tmp_path)
    skops.io.dump({"loader": np.load}, run / "model" / "model.skops")
    write_manifest(run)  # an attacker can write a matching manifest too: the type check still holds
    result = run_cli("predict", str(run), str(SEED_LETTER))
    assert result.returncode == 2 and "numpy.load" in result.stderr and "Traceback" not in result.stderr


def test_a_real_run_still_loads_and_predicts(finished_run):
    result = run_cli("predict", str(finished_run), str(SEED_LETTER))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 96


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for position in range(0, len(data), max(1, len(data) // 50)):
        data[position] = (data[position] + 97) % 256
    path.write_bytes(bytes(data))


FILES = ["config.yaml", "metrics.json", "predictions.jsonl", "provenance.json", "model/model.skops", "manifest.json"]
COMMANDS = {
    "predict": lambda run: ("predict", str(run), str(SEED_LETTER)),
    "compare": lambda run: ("compare", str(run), "--markdown"),
    "labels issues": lambda run: ("labels", "issues", str(run)),
}
READS = {  # which files each command reads
    "predict": {"config.yaml", "model/model.skops", "manifest.json"},
    "compare": {"config.yaml", "metrics.json", "manifest.json"},
    "labels issues": {"predictions.jsonl", "manifest.json"},
}
CASES = [(f, d, c) for f in FILES for d in ("truncated", "garbled") for c in COMMANDS if f in READS[c]]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "damage", "command"), CASES, ids=[f"{c}-{d}-{f}" for f, d, c in CASES])
def test_every_damaged_file_is_a_clear_error_for_every_command_that_reads_it(finished_run, tmp_path, name, damage, command):
    run = _copy(finished_run, tmp_path)
    (_truncate if damage == "truncated" else _garble)(run / name)
    result = run_cli(*COMMANDS[command](run))
    assert result.returncode == 2, result.stdout[-500:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:") and Path(name).name in result.stderr
    assert "--force" in result.stderr  # what to do


def test_a_missing_file_and_an_edited_one_are_named(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    (run / "predictions.jsonl").unlink()
    with pytest.raises(RunError, match="predictions.jsonl: missing"):
        RunDirectory(run).predictions()
    edited = _copy(finished_run, tmp_path / "b")
    (edited / "metrics.json").write_text((edited / "metrics.json").read_text().replace("0.", "1.", 1))
    with pytest.raises(RunError, match="metrics.json: damaged or edited"):
        RunDirectory(edited).metrics()
