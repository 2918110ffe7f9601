"""Exporting a run's model: TF-IDF here (fast); transformers in tests/test_export_bert.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.config import load_config
from toolkit.errors import RunError
from toolkit.experiment import run_experiment
from toolkit.export import export_run

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


@pytest.fixture
def tfidf_run(tiny_labels_dir, tmp_path) -> Path:
    config = load_config(EXPERIMENTS / "tfidf-seed.yaml", ["task=stance", "evaluation.bootstrap_samples=20", "training.tune={}",
                                                            "data.split.test_letters=[rec-2015-01-tiny-5]"])
    config = replace(config, data=replace(config.data, labels_dir=str(tiny_labels_dir)), output_dir=str(tmp_path / "runs"))
    return run_experiment(config, progress=False).path


def _card(path: Path):
    from huggingface_hub import ModelCard

    return ModelCard.load(path)


def test_tfidf_export_is_a_skops_model_with_a_card(tfidf_run, tmp_path):
    from toolkit.models.baselines import load_skops_model
    from toolkit.run_dir import RunDirectory

    result = export_run(tfidf_run, tmp_path / "export")
    assert result.kind == "tfidf" and result.tasks == ("stance",)
    assert {p.name for p in result.path.iterdir()} == {"model.skops", "README.md", "config.yaml"}
    rows = [{"text": "Nederland steunt het voorstel van de Commissie."}, {"text": "De ministers spraken over Oekraïne."}]
    exported = load_skops_model(result.path / "model.skops")
    assert exported.predict(rows).tolist() == RunDirectory(tfidf_run).model().predict(rows).tolist()
    card = _card(result.path / "README.md")
    assert card.data.language == ["nl"] and card.data.library_name == "sklearn"
    assert card.data.pipeline_tag == "text-classification"
    assert sorted(card.data.labels) == sorted(str(c) for c in exported.classes_)
    macro_f1 = RunDirectory(tfidf_run).metrics()["tasks"]["stance"]["model"]["macro_f1"]
    assert card.data.eval_results[0].metric_value == round(macro_f1, 4)
    # the tiny corpus: 6 letters of provenance "test", 8 sentences each
    assert "- Letters: 6 (6 test)." in card.text and "- Labelled sentences: 48 (48 from test letters)." in card.text
    assert "context mode `section+neighbours+letter`" in card.text or "no context" in card.text


def test_export_without_the_labels_gives_what_the_run_recorded(tfidf_run, tiny_labels_dir, tmp_path):
    import shutil

    shutil.rmtree(tiny_labels_dir / "annotations")  # the labels the run was trained on are gone
    card = (export_run(tfidf_run, tmp_path / "export").path / "README.md").read_text(encoding="utf-8")
    assert "- Letters: 6" in card and "could not be read at export time" in card


def test_export_refuses_a_non_empty_directory_unless_forced(tfidf_run, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty"):
        export_run(tfidf_run, out)
    assert (out / "notes.txt").read_text() == "mine"
    export_run(tfidf_run, out, force=True)
    assert not (out / "notes.txt").exists() and (out / "model.skops").is_file()
    with pytest.raises(RunError, match="outside the run directory"):
        export_run(tfidf_run, tfidf_run / "export")


def test_a_failed_export_leaves_nothing(tfidf_run, tmp_path, monkeypatch):
    import toolkit.export as export

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "model_card", broken)
    with pytest.raises(RuntimeError):
        export_run(tfidf_run, tmp_path / "export")
    assert not (tmp_path / "export").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".export")]


def test_export_of_a_damaged_run_is_refused(tfidf_run, tmp_path):
    model = tfidf_run / "model" / "model.skops"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(RunError, match="model.skops"):
        export_run(tfidf_run, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_export_command(tfidf_run, tmp_path, capsys):
    assert main(["export", str(tfidf_run), "--out", str(tmp_path / "export")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "export")
    assert main(["export", str(tmp_path / "no-such-run"), "--out", str(tmp_path / "other")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_push_to_hub_uploads_the_export(tfidf_run, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **options):
            calls.append(("create", repo_id, options["repo_type"]))
            return f"https://hub.example/{repo_id}"

        def upload_folder(self, **options):
            calls.append(("upload", options["repo_id"], sorted(p.name for p in Path(options["folder_path"]).iterdir())))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    result = export_run(tfidf_run, tmp_path / "export", push_to_hub="group/stance-tfidf")
    assert result.url == "https://hub.example/group/stance-tfidf"
    assert calls == [("create", "group/stance-tfidf", "model"), ("upload", "group/stance-tfidf", ["README.md", "config.yaml", "model.skops"])]


def test_push_to_hub_failures_are_one_line_errors(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalTokenNotFoundError

    from toolkit.errors import HubError
    from toolkit.hub import push_folder

    class NoToken:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **options):
            raise LocalTokenNotFoundError("no token")

    monkeypatch.setattr(huggingface_hub, "HfApi", NoToken)
    with pytest.raises(HubError, match="no Hugging Face token"):
        push_folder(tmp_path, "group/name", repo_type="model")
