from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_tiny_labels_dir
from toolkit.cli import main
from toolkit.config import load_config
from toolkit.dataset import load_labelled_table
from toolkit.dataset_export import build_export, write_export
from toolkit.errors import DatasetError
from toolkit.experiment import make_splits

SPLITS = {
    "grouped_kfold": {"kind": "grouped_kfold", "n_splits": 3},
    "time_ordered": {"kind": "time_ordered", "test_fraction": 0.34},
    "leave_one_letter_out": {"kind": "leave_one_letter_out"},
    "holdout": {"kind": "holdout", "test_letters": ["rec-2011-01-tiny-1"]},
}


@pytest.fixture(scope="module")
def labels_dir(tmp_path_factory) -> Path:
    """The tiny corpus with the default corpus's kinds of provenance: one original letter, the rest
    reconstructed, with genres and forums."""
    labels = write_tiny_labels_dir(tmp_path_factory.mktemp("export"))
    manifest_path = labels / "letters" / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    for number, entry in enumerate(manifest["letters"]):
        entry["provenance"] = ({"kind": "original"} if number == 0 else
                               {"kind": "reconstructed", "genre": "agenda" if number % 2 else "report", "forum": "nato_foreign"})
    manifest_path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return labels


def _config(tmp_path: Path, labels_dir: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump({"data": {"labels_dir": str(labels_dir), "split": SPLITS[kind]}}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kfold_export(labels_dir, tmp_path_factory):
    return build_export(_config(tmp_path_factory.mktemp("config"), labels_dir, "grouped_kfold"))


def _stored_rows(labels_dir: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted((labels_dir / "annotations").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows[row["id"]] = row
    return rows


def _reload_options(tmp_path: Path) -> dict:
    return {"cache_dir": str(tmp_path / "hf-cache")}


# ------------------------------------------------------------------ content


@pytest.mark.parametrize("kind", sorted(SPLITS))
def test_splits_hold_out_the_letters_the_runner_holds_out(kind, labels_dir, tmp_path):
    config_path = _config(tmp_path, labels_dir, kind)
    export = build_export(config_path)
    table = load_labelled_table(labels_dir)
    runner = make_splits(table, load_config(config_path))
    ids = {name: split["id"] for name, split in export.dataset.items()}
    if kind == "grouped_kfold":
        expected = {split.name.replace("-", "_"): [table.ids[i] for i in split.test] for split in runner}
    elif kind == "leave_one_letter_out":
        expected = {"train": list(table.ids)}
    else:
        (split,) = runner
        expected = {"train": [table.ids[i] for i in split.train], "test": [table.ids[i] for i in split.test]}
    assert ids == expected
    held_out_in = {table.ids[i]: split.name for split in runner for i in split.test}
    for split in export.dataset.values():
        assert split["fold"] == [held_out_in.get(sentence_id) for sentence_id in split["id"]]


def test_rows_carry_letter_metadata_labels_and_their_trace(kfold_export, labels_dir):
    stored = _stored_rows(labels_dir)
    manifest = {entry["id"]: entry for entry in yaml.safe_load((labels_dir / "letters" / "manifest.yaml").read_text())["letters"]}
    schema_tasks = yaml.safe_load((labels_dir / "schema.yaml").read_text())["tasks"]
    rows = [row for split in kfold_export.dataset.values() for row in split]
    assert sorted(row["id"] for row in rows) == sorted(stored)
    features = next(iter(kfold_export.dataset.values())).features
    for task, spec in schema_tasks.items():
        assert features[task].names == list(spec["classes"])
    for row in rows:
        label_row, letter = stored[row["id"]], manifest[row["letter_id"]]
        assert row["provenance"] == letter["provenance"]["kind"]
        assert row["genre"] == letter["provenance"].get("genre")
        assert row["date"] == f"20{10 + int(row['letter_id'].rsplit('-', 1)[1])}-01-15"
        assert row["text"] == label_row["text"]
        assert row["annotator"] == label_row["annotator"]
        for task in schema_tasks:
            assert features[task].int2str(row[task]) == label_row[task]
            assert row[f"{task}_origin"] == label_row["origin"][task]
        assert row["codebook"] == label_row.get("codebook")


# ------------------------------------------------------------------ writers


def test_parquet_export_reloads_identically(kfold_export, tmp_path):
    from datasets import load_dataset

    out = write_export(kfold_export, tmp_path / "parquet", "parquet")
    files = {name: str(out / "data" / f"{name}-00000-of-00001.parquet") for name in kfold_export.dataset}
    by_files = load_dataset("parquet", data_files=files, **_reload_options(tmp_path))
    by_card = load_dataset(str(out), **_reload_options(tmp_path))
    for reloaded in (by_files, by_card):
        assert list(reloaded) == list(kfold_export.dataset)
        for name, split in kfold_export.dataset.items():
            assert reloaded[name].features == split.features
            assert reloaded[name].to_list() == split.to_list()


def test_csv_export_writes_label_names_and_reloads_through_the_card(kfold_export, tmp_path):
    from datasets import load_dataset

    out = write_export(kfold_export, tmp_path / "csv", "csv")
    for name, split in kfold_export.dataset.items():
        with open(out / f"{name}.csv", encoding="utf-8", newline="") as stream:
            written = list(csv.DictReader(stream))
        assert [row["id"] for row in written] == split["id"]
        for task in kfold_export.tasks:
            assert [row[task] for row in written] == [split.features[task].int2str(i) for i in split[task]]
    reloaded = load_dataset(str(out), **_reload_options(tmp_path))
    for name, split in kfold_export.dataset.items():
        assert reloaded[name].features == split.features
        assert reloaded[name].to_list() == split.to_list()


def test_hf_export_loads_from_disk_identically(kfold_export, tmp_path):
    from datasets import load_from_disk

    out = write_export(kfold_export, tmp_path / "hf", "hf")
    reloaded = load_from_disk(str(out))
    assert (out / "README.md").is_file()
    for name, split in kfold_export.dataset.items():
        assert reloaded[name].features == split.features
        assert reloaded[name].to_list() == split.to_list()


def _card(path: Path) -> tuple[dict, str]:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def test_card_lists_provenance_counts_of_the_data(kfold_export, labels_dir, tmp_path):
    out = write_export(kfold_export, tmp_path / "parquet", "parquet")
    metadata, body = _card(out / "README.md")
    manifest = yaml.safe_load((labels_dir / "letters" / "manifest.yaml").read_text())["letters"]
    kind_of = {entry["id"]: entry["provenance"]["kind"] for entry in manifest}
    sentences = Counter(kind_of[row["letter_id"]] for row in _stored_rows(labels_dir).values())
    letters = Counter(kind_of.values())
    assert set(sentences) == {"original", "reconstructed"}
    for kind in sentences:
        assert f"| {kind} | {letters[kind]} | {sentences[kind]} |" in body
    assert f"**{letters['reconstructed']} of {len(manifest)} letters are `reconstructed`**" in body
    assert f"`{kfold_export.config_path}` (split kind `grouped_kfold`" in body
    assert metadata["language"] == ["nl"] and metadata["task_categories"] == ["text-classification"]
    assert [item["split"] for item in metadata["configs"][0]["data_files"]] == list(kfold_export.dataset)
    features = {item["name"]: item["dtype"] for item in metadata["dataset_info"]["features"]}
    names = kfold_export.dataset["fold_0"].features["stance"].names
    assert list(features["stance"]["class_label"]["names"].values()) == names


def test_a_non_empty_out_is_refused_unless_forced(kfold_export, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DatasetError, match="not empty.*--force"):
        write_export(kfold_export, out, "parquet")
    assert [path.name for path in out.iterdir()] == ["notes.txt"]
    write_export(kfold_export, out, "parquet", force=True)
    assert sorted(path.name for path in out.iterdir()) == ["README.md", "data"]


def test_a_failed_write_leaves_no_directory(kfold_export, tmp_path, monkeypatch):
    import toolkit.dataset_card

    def broken_card(export, fmt):
        raise OSError("disk full")

    monkeypatch.setattr(toolkit.dataset_card, "dataset_card", broken_card)
    with pytest.raises(OSError, match="disk full"):
        write_export(kfold_export, tmp_path / "dataset", "parquet")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- CLI


def test_cli_writes_the_dataset_and_pushes_it(labels_dir, tmp_path, monkeypatch, capsys):
    import toolkit.hub

    pushed = []
    monkeypatch.setattr(toolkit.hub, "push_folder",
                        lambda folder, repo_id, **options: pushed.append((folder, repo_id, options)) or f"https://hf.co/datasets/{repo_id}")
    config = _config(tmp_path, labels_dir, "time_ordered")
    out = tmp_path / "dataset"
    code = main(["labels", "export", "--format", "parquet", "--out", str(out), "--split-config", str(config),
                 "--push-to-hub", "someone/kamerbrieven"])
    printed = capsys.readouterr().out
    assert code == 0
    assert (out / "data" / "train-00000-of-00001.parquet").is_file() and (out / "data" / "test-00000-of-00001.parquet").is_file()
    assert pushed == [(out, "someone/kamerbrieven", {"repo_type": "dataset", "private": False})]
    assert "pushed to https://hf.co/datasets/someone/kamerbrieven" in printed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--split-config", "{tmp}/missing.yaml"], "missing.yaml: config file not found"),
        (["--labels-dir", "{tmp}/no-labels"], "no-labels: no such labels directory"),
        (["--out", "{tmp}"], "exists and is not empty"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(arguments, message, tmp_path, capsys):
    (tmp_path / "something").write_text("x", encoding="utf-8")
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    if "--out" not in arguments:
        arguments += ["--out", str(tmp_path / "dataset")]
    code = main(["labels", "export", "--format", "csv", *arguments])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and message in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "dataset").exists()


def test_cli_unknown_format_exits_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["labels", "export", "--format", "xlsx", "--out", "somewhere"])
    assert stopped.value.code == 2
    assert "invalid choice: 'xlsx'" in capsys.readouterr().err
