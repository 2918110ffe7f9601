"""Exporting a finished run's model so it opens without the toolkit: takes a run directory, gives a
directory (and optionally a hub repository) with the model in its library's standard format and
a model card.

* **TF-IDF runs** → ``model.skops`` (a scikit-learn pipeline; skops loads only trusted types),
  ``config.yaml`` and ``README.md``.
* **Single-task transformer runs** → a standard ``save_pretrained`` directory (``config.json``
  with ``id2label``, ``model.safetensors``, the tokenizer) that
  ``transformers.pipeline("text-classification")`` opens, plus ``README.md`` and the toolkit's
  ``toolkit.json`` (so ``TransformerClassifier.load`` opens it too).
* **Multi-task runs** → one such standard directory per task (``DIR/<task>/``), each checked to
  reproduce the multi-task model's logits, and a top ``README.md``; the top folder's
  ``config.json`` names a model type no ``Auto*`` class knows, so loading it as one model fails.

The export is written to a staging directory and renamed into place: a failed export leaves
nothing behind, and an existing export is replaced only with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RunError, ToolkitError
from .model_card import TrainingData, model_card, multitask_index_card
from .run_dir import RunDirectory, staged_run

__all__ = ["ExportResult", "describe_training_data", "export_run"]

#: Files of a run's model directory that an export does not need.
_SKIPPED = {"training_args.bin"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    kind: str  # tfidf, transformer or multitask
    tasks: tuple[str, ...]
    url: str | None = None


def describe_training_data(config: dict[str, Any], provenance: dict[str, Any]) -> TrainingData:
    """Letters and sentences by provenance, and label counts, of the data a run was trained on.

    Read from the labels directory the run names; when the labels have changed since the run
    (another data fingerprint), only the run's own record (its letters) is used, and the card says so.
    """
    from .corpus import default_labels_dir, read_default_letters
    from .dataset import build_table
    from .labels import load_annotations, load_schema

    labels_dir = Path(config["data"]["labels_dir"]) if config["data"].get("labels_dir") else default_labels_dir()
    run_letters = list(provenance.get("letters") or [])
    try:
        letters = read_default_letters(labels_dir)
        kinds = {letter.id: letter.provenance.get("kind", "unknown") for letter in letters}
        table = build_table(letters, load_annotations(labels_dir), load_schema(labels_dir),
                            tuple(config["data"].get("parts") or ("letter", "annex")))
    except (OSError, ValueError, ToolkitError) as error:  # the labels are gone or changed: the card gives what the run recorded
        kinds, table, note = {}, None, f"The labels directory could not be read at export time ({error})."
    else:
        note = None
    letters_by_kind = Counter(kinds.get(letter, "unknown") for letter in run_letters)
    if table is None or table.fingerprint() != provenance.get("data_fingerprint"):
        note = note or "The labels have changed since the run; sentence and label counts are left out."
        return TrainingData(len(run_letters), provenance.get("sentences"), dict(letters_by_kind), codebook=provenance.get("codebook"), note=note)
    sentences_by_kind = Counter(kinds.get(letter, "unknown") for letter in table.letter_ids)
    label_counts = {task: dict(Counter(values)) for task, values in table.labels.items()}
    return TrainingData(len(run_letters), len(table), dict(letters_by_kind), dict(sentences_by_kind), label_counts,
                        codebook=provenance.get("codebook"))


def _check_out(out: Path, run: RunDirectory, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RunError(f"--out {out}: exists and is not empty; choose another directory or replace it with --force")
    resolved, run_path = out.resolve(), run.path.resolve()
    if resolved == run_path or run_path in resolved.parents or resolved in run_path.parents:
        raise RunError(f"--out {out}: must be outside the run directory {run.path} (and not contain it)")


def _copy_model_files(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name not in _SKIPPED:
            shutil.copy2(path, target / path.name)


def _card(run: RunDirectory, config, metrics, data, task, labels, library, subfolder=None) -> str:
    words = str(run.provenance().get("command") or "").split()
    command = " ".join(words[words.index("run"):]) if "run" in words else None  # drop the interpreter / script path
    return model_card(config=config, metrics=metrics, data=data, task=task, labels=labels, library=library,
                      run_name=run.name, command=command, subfolder=subfolder)


def _write_yaml(path: Path, config: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _export_tfidf(run: RunDirectory, staging: Path, config, metrics, data) -> tuple[str, ...]:
    task = config["task"]
    model = run.model()  # verified against the manifest and loaded through the skops allow-list
    shutil.copy2(run.path / "model" / "model.skops", staging / "model.skops")
    _write_yaml(staging / "config.yaml", config)
    labels = [str(label) for label in model.classes_]
    (staging / "README.md").write_text(_card(run, config, metrics, data, task, labels, "sklearn"), encoding="utf-8")
    return (task,)


def _export_single(run: RunDirectory, staging: Path, config, metrics, data) -> tuple[str, ...]:
    task = config["task"]
    model = run.model()  # verifies every file of the model against the manifest
    _copy_model_files(run.path / "model", staging)
    _write_yaml(staging / "config.yaml", config)
    labels = [str(model.model_.config.id2label[i]) for i in range(model.model_.config.num_labels)]
    (staging / "README.md").write_text(_card(run, config, metrics, data, task, labels, "transformers"), encoding="utf-8")
    return (task,)


def _export_multitask(run: RunDirectory, staging: Path, config, metrics, data) -> tuple[str, ...]:
    from .models.loading import MULTITASK_MODEL_TYPE, TOOLKIT_FILE, read_toolkit_file
    from .models.per_task import single_task_classifier

    estimator = run.model()
    saved = read_toolkit_file(run.path / "model") or {}
    for task in estimator.tasks_:
        directory = staging / task
        classifier = single_task_classifier(estimator, task)
        classifier.save_pretrained(directory)
        estimator.tokenizer_.save_pretrained(directory)
        params = dict(saved.get("params", {}))
        weight = params.get("class_weight")
        params["class_weight"] = weight.get(task) if isinstance(weight, dict) else weight
        metadata = {**saved, "estimator": "TransformerClassifier", "params": params, "classes": estimator.classes_[task].tolist(),
                    "exported_from": {"run": run.name, "multitask_estimator": saved.get("estimator"), "task": task}}
        metadata.pop("tasks", None)
        (directory / TOOLKIT_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        labels = [str(label) for label in estimator.classes_[task].tolist()]
        (directory / "README.md").write_text(_card(run, config, metrics, data, task, labels, "transformers", subfolder=task), encoding="utf-8")
    marker = {"model_type": MULTITASK_MODEL_TYPE, "tasks": list(estimator.tasks_),
              "note": "one standard classifier per task is in the sub-folder named after it; this folder is not a model"}
    (staging / "config.json").write_text(json.dumps(marker, indent=2), encoding="utf-8")
    _write_yaml(staging / "config.yaml", config)
    (staging / "README.md").write_text(
        multitask_index_card(run_name=run.name, tasks=list(estimator.tasks_), metrics=metrics, base_model=config["model"].get("name_or_path")),
        encoding="utf-8")
    return tuple(estimator.tasks_)


def export_run(run: str | os.PathLike | RunDirectory, out: str | os.PathLike, *, force: bool = False,
               push_to_hub: str | None = None, private: bool = False) -> ExportResult:
    """Export ``run``'s model to ``out`` (see the module docstring); with ``push_to_hub``, upload it there too."""
    run = RunDirectory.of(run)
    run.verify_all()
    out = Path(out)
    _check_out(out, run, force)
    config, metrics, provenance = run.config(), run.metrics(), run.provenance()
    data = describe_training_data(config, provenance)
    if provenance.get("model_format") == "skops" or (run.path / "model" / "model.skops").is_file():
        kind, writer = "tfidf", _export_tfidf
    elif config.get("task") == "all":
        kind, writer = "multitask", _export_multitask
    else:
        kind, writer = "transformer", _export_single
    with staged_run(out) as staging:
        tasks = writer(run, staging, config, metrics, data)
    url = None
    if push_to_hub:
        from .hub import push_folder

        url = push_folder(out, push_to_hub, repo_type="model", private=private)
    return ExportResult(out, kind, tasks, url)
