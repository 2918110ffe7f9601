"""Applying a finished run's model to new letters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from .corpus import iter_letters
from .dataset import sentence_inputs
from .errors import ModelError
from .labels import body_sentences

__all__ = ["load_run_model", "predict_letters"]


def load_run_model(run: Path):
    """The fitted model of a run directory, and the run's config as a dict."""
    config_path = Path(run) / "config.yaml"
    if not config_path.exists():
        raise ModelError(f"{run}: not a run directory (no config.yaml)")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    model_dir = Path(run) / "model"
    if (model_dir / "model.skops").exists():
        import skops.io

        path = model_dir / "model.skops"
        untrusted = skops.io.get_untrusted_types(file=path)
        allowed = [name for name in untrusted if name.startswith(("toolkit.models.baselines.", "sklearn.", "numpy."))]
        unexpected = sorted(set(untrusted) - set(allowed))
        if unexpected:
            raise ModelError(f"{path}: refusing to load unexpected types {', '.join(unexpected)}")
        return skops.io.load(path, trusted=allowed), config
    if (model_dir / "config.json").exists():
        if config.get("task") == "all" or config["model"].get("multitask"):  # older runs also say model.multitask
            from .models.multitask import MultiTaskTransformerClassifier as loader
        else:
            from .models.transformer import TransformerClassifier as loader
        return loader.load(model_dir), config
    raise ModelError(f"{run}: the run has no saved model")


def predict_letters(run: Path, paths: Sequence[Path], *, encoding: str = "utf-8") -> Iterator[dict]:
    """One record per body sentence: id, letter_id, text, and per task the label and its probability."""
    model, config = load_run_model(run)
    sentences = body_sentences(iter_letters(paths, encoding=encoding))
    if not sentences:
        return
    inputs = sentence_inputs(sentences)
    probabilities = model.predict_proba(inputs)
    if isinstance(probabilities, dict):
        per_task = {task: (list(model.classes_[task]), probabilities[task]) for task in probabilities}
    else:
        per_task = {config["task"]: (list(model.classes_), probabilities)}
    for position, row in enumerate(inputs):
        record = {"id": row["id"], "letter_id": row["letter_id"], "text": row["text"]}
        for task, (classes, matrix) in per_task.items():
            best = int(matrix[position].argmax())
            record[task] = classes[best]
            record[f"{task}_probability"] = round(float(matrix[position][best]), 6)
        yield record
