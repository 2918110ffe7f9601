"""Exported transformer models open in plain ``transformers`` and give the toolkit's predictions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.bert

from toolkit.config import load_config  # noqa: E402
from toolkit.experiment import run_experiment  # noqa: E402
from toolkit.export import export_run  # noqa: E402
from toolkit.models.context import context_text  # noqa: E402
from toolkit.run_dir import RunDirectory  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
TINY = ["training.seeds=[0]", "training.epochs=2", "training.early_stopping_patience=null", "training.num_threads=1",
        "training.batch_size=8", "training.learning_rate=0.005", "model.max_length=48", "evaluation.bootstrap_samples=20",
        "data.split.test_letters=[rec-2015-01-tiny-5]"]
RECORDS = [
    {"text": "Nederland steunt het voorstel van de Commissie.", "section": "Oekraïne", "previous": "De Raad sprak over steun.",
     "next": None, "annex": None, "opening": "Hierbij bied ik u het verslag aan."},
    {"text": "Het kabinet is kritisch over de uitbreiding.", "section": None, "previous": None, "next": "Dat blijft zo.",
     "annex": "Verslag", "opening": "Hierbij bied ik u het verslag aan."},
    {"text": "De ministers spraken over Rusland.", "section": "Rusland", "previous": None, "next": None, "annex": None, "opening": None},
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _run(name, labels_dir, tmp_path, tiny_bert, *extra) -> Path:
    config = load_config(EXPERIMENTS / name, [*TINY, f"model.name_or_path={tiny_bert}", *extra])
    config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))
    return run_experiment(config, progress=False).path


def _pipeline_scores(directory: Path, mode: str, labels: list[str]) -> np.ndarray:
    """Probabilities from transformers.pipeline, in ``labels`` order, for RECORDS."""
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(directory), device="cpu")
    inputs = [{"text": r["text"], "text_pair": context_text(r, mode)} if mode != "none" and context_text(r, mode) else r["text"]
              for r in RECORDS]
    outputs = classify(inputs, top_k=None, truncation="longest_first", max_length=48)
    return np.array([[next(o["score"] for o in output if o["label"] == label) for label in labels] for output in outputs])


def test_single_task_export_runs_in_a_plain_pipeline(tiny_labels_dir, tmp_path, tiny_bert):
    run = _run("bert-small-seed.yaml", tiny_labels_dir, tmp_path, tiny_bert, "task=stance", "model.context=section+neighbours")
    result = export_run(run, tmp_path / "export")
    assert result.kind == "transformer"
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "toolkit.json"} <= {p.name for p in result.path.iterdir()}
    toolkit_model = RunDirectory(run).model()
    labels = [str(c) for c in toolkit_model.classes_]
    expected = toolkit_model.predict_proba(RECORDS)
    actual = _pipeline_scores(result.path, "section+neighbours", labels)
    assert np.allclose(actual, expected, atol=1e-4)
    assert (actual.argmax(axis=1) == expected.argmax(axis=1)).all()
    from huggingface_hub import ModelCard

    card = ModelCard.load(result.path / "README.md")
    assert card.data.library_name == "transformers" and sorted(card.data.labels) == sorted(labels)
    assert "text_pair" in card.text and "section+neighbours" in card.text


def test_multitask_export_gives_one_standard_model_per_task(tiny_labels_dir, tmp_path, tiny_bert):
    from transformers import AutoModelForSequenceClassification

    from toolkit.models.transformer import TransformerClassifier

    run = _run("bert-small-multitask-seed.yaml", tiny_labels_dir, tmp_path, tiny_bert, "model.context=none")
    with pytest.raises(ValueError, match="kamerbrieven-multitask"):  # the run's own model directory
        AutoModelForSequenceClassification.from_pretrained(run / "model")
    result = export_run(run, tmp_path / "export")
    assert result.kind == "multitask" and set(result.tasks) == {"stance", "actor", "topic"}
    with pytest.raises(ValueError, match="kamerbrieven-multitask"):  # the export's top folder
        AutoModelForSequenceClassification.from_pretrained(result.path)
    multitask = RunDirectory(run).model()
    expected = multitask.predict_proba(RECORDS)
    for task in result.tasks:
        labels = [str(c) for c in multitask.classes_[task]]
        actual = _pipeline_scores(result.path / task, "none", labels)
        assert np.allclose(actual, expected[task], atol=1e-4), task
        reloaded = TransformerClassifier.load(result.path / task, progress=False)  # and the toolkit opens it as a single-task model
        assert np.allclose(reloaded.predict_proba(RECORDS), expected[task], atol=1e-5)


def test_a_run_directory_is_a_model_path(tiny_labels_dir, tmp_path, tiny_bert):
    """A finished run continues training like its model directory (same labels)."""
    run = _run("bert-small-seed.yaml", tiny_labels_dir, tmp_path, tiny_bert, "task=stance")
    again = _run("bert-small-seed.yaml", tiny_labels_dir, tmp_path / "again", tiny_bert, "task=stance", f"model.name_or_path={run}",
                 "training.epochs=1")
    assert RunDirectory(again).config()["model"]["name_or_path"] == str(run)
    assert RunDirectory(again).model().classes_.tolist() == RunDirectory(run).model().classes_.tolist()
