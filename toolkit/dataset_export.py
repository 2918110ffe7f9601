"""Dataset export: takes the labelled corpus and an experiment config, gives a Hugging Face
``DatasetDict`` (labels as ``ClassLabel``; letter date, genre, forum and provenance; annotator and
per-task label origin; codebook version; context; the runner's held-out fold) and writes it as
parquet, CSV or ``save_to_disk`` files with a dataset card, atomically.

Splits follow the experiment runner (:func:`toolkit.experiment.make_splits` on the same table):

``grouped_kfold``         one split per fold (``fold_0`` …) holding the letters that fold holds
                          out; training data for fold k is every other split.
``time_ordered``/``holdout``  ``train`` and ``test`` (the runner's one split).
``leave_one_letter_out``  everything in ``train``; each letter is its own fold.

The ``fold`` column names the runner split (its name in a run's ``predictions.jsonl``, e.g.
``fold-2``, ``time-ordered``, ``held-out:<letter>``) that holds the row's letter out, or is null
where no split does (the training letters of a time-ordered or holdout split).

Every stored label row has a label for every task (the store refuses partial rows), so no task
column has missing values today; were one missing it would be null, which is how ``datasets``
stores a missing ``ClassLabel`` value (it does not use -1), in parquet, on disk and in CSV.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ExperimentConfig, load_configs
from .dataset import LabelledTable, Split, build_table, to_dataset_dict
from .errors import ConfigError, DatasetError
from .records import Letter

__all__ = [
    "DEFAULT_SPLIT_CONFIG",
    "EXPORT_FORMATS",
    "DatasetExport",
    "build_export",
    "check_output_dir",
    "dataset_splits",
    "held_out_fold",
    "load_split_config",
    "write_export",
]

EXPORT_FORMATS = ("parquet", "hf", "csv")
#: Grouped 5-fold over whole letters: every letter is held out exactly once, as in the k-fold
#: results of the README (tfidf-kfold-tuned, bert, bert-small-kfold share these folds: seed 0).
DEFAULT_SPLIT_CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "tfidf-kfold-tuned.yaml"

#: Column order of the export: who and where first, then the input, the labels and their trace.
_LEADING = ("id", "letter_id", "date", "provenance", "genre", "forum", "part", "annex", "section", "opening",
            "previous", "text", "next")


@dataclass(frozen=True)
class DatasetExport:
    """The exported dataset and what its card describes."""

    dataset: Any  # datasets.DatasetDict
    table: LabelledTable
    letters: dict[str, Letter]  # the letters with exported rows, by id
    config_path: Path
    config: ExperimentConfig
    runner_splits: tuple[Split, ...]

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.table.schema.task_names


def load_split_config(path: Path) -> ExperimentConfig:
    """The experiment whose splits the export follows; a sweep must not vary the data."""
    configs = load_configs(path)
    first = configs[0]
    if any(c.data != first.data or c.training.seed != first.training.seed for c in configs[1:]):
        raise ConfigError(f"{path}: its sweep varies the data or the seed, so its experiments split differently; "
                          "give a config with one split")
    return first


def _split_name(runner_name: str) -> str:
    """A ``datasets`` split name (word characters) for a runner split name such as ``fold-0``."""
    return re.sub(r"\W+", "_", runner_name)


def dataset_splits(table: LabelledTable, config: ExperimentConfig, runner_splits: Sequence[Split]) -> dict[str, list[int]]:
    """The export's splits (name → table rows) for the runner's splits of ``config``."""
    kind = config.data.split.kind
    if kind == "grouped_kfold":
        return {_split_name(split.name): list(split.test) for split in runner_splits}
    if kind == "leave_one_letter_out":
        return {"train": list(range(len(table)))}
    (split,) = runner_splits
    return {"train": list(split.train), "test": list(split.test)}


def held_out_fold(table: LabelledTable, runner_splits: Sequence[Split]) -> list[str | None]:
    """Per row, the name of the runner split whose test letters include the row's letter."""
    fold: list[str | None] = [None] * len(table)
    for split in runner_splits:
        for row in split.test:
            fold[row] = split.name
    return fold


def _metadata_columns(
    table: LabelledTable, letters: dict[str, Letter], annotations: dict[str, dict], fold: list[str | None]
) -> dict[str, tuple[Any, list]]:
    """Columns beyond the model inputs: name → (feature, one value per table row)."""
    from datasets import Value

    rows = [annotations[sentence_id] for sentence_id in table.ids]
    of_letter = [letters[letter_id] for letter_id in table.letter_ids]
    columns = {
        "date": (Value("string"), [letter.date for letter in of_letter]),
        "provenance": (Value("string"), [letter.provenance.get("kind") for letter in of_letter]),
        "genre": (Value("string"), [letter.provenance.get("genre") for letter in of_letter]),
        "forum": (Value("string"), [letter.provenance.get("forum") for letter in of_letter]),
        "annotator": (Value("string"), [row.get("annotator") for row in rows]),
    }
    for task in table.schema.task_names:
        columns[f"{task}_origin"] = (Value("string"), [row.get("origin", {}).get(task) for row in rows])
    columns["codebook"] = (Value("int32"), [row.get("codebook") for row in rows])
    columns["fold"] = (Value("string"), fold)
    return columns


def build_export(config_path: Path | None = None, labels_dir: Path | None = None) -> DatasetExport:
    """Build the ``DatasetDict`` of the labelled corpus split as the runner splits it for
    ``config_path`` (default :data:`DEFAULT_SPLIT_CONFIG`). ``labels_dir`` wins over the config's."""
    from datasets import DatasetDict

    from .corpus import default_labels_dir, read_default_letters
    from .experiment import make_splits
    from .labels import load_annotations, load_schema

    config_path = Path(config_path or DEFAULT_SPLIT_CONFIG)
    config = load_split_config(config_path)
    labels_dir = Path(labels_dir or config.data.labels_dir or default_labels_dir())
    if not labels_dir.is_dir():
        raise DatasetError(f"{labels_dir}: no such labels directory")
    schema = load_schema(labels_dir)
    letters = read_default_letters(labels_dir)
    annotations = load_annotations(labels_dir)
    table = build_table(letters, annotations, schema, config.data.parts)
    runner_splits = tuple(make_splits(table, config))
    by_id = {letter.id: letter for letter in letters if letter.id in set(table.letter_ids)}
    full = to_dataset_dict(table)["train"]
    columns = _metadata_columns(table, by_id, {row["id"]: row for row in annotations}, held_out_fold(table, runner_splits))
    for name, (feature, values) in columns.items():
        full = full.add_column(name, values, feature=feature)
    order = [*_LEADING, *schema.task_names, *(name for name in full.column_names if name not in _LEADING + schema.task_names)]
    full = full.select_columns(order)
    dataset = DatasetDict({name: full.select(rows) for name, rows in dataset_splits(table, config, runner_splits).items()})
    return DatasetExport(dataset, table, by_id, config_path, config, runner_splits)


# ----------------------------------------------------------------------- writing


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing non-empty ``out`` unless ``force`` (checked before the slow build, and again before writing)."""
    if force or not out.exists():
        return
    if not out.is_dir() or any(out.iterdir()):
        raise DatasetError(f"{out}: exists and is not empty; choose another --out or replace it with --force")


def _write_parquet(dataset, directory: Path) -> None:
    (directory / "data").mkdir()
    for name, split in dataset.items():
        split.to_parquet(str(directory / "data" / f"{name}-00000-of-00001.parquet"))


def _with_label_names(split, tasks: Sequence[str]):
    """The split with each task's class index replaced by its name (null stays null)."""
    from datasets import Value

    names = {task: split.features[task] for task in tasks}
    features = split.features.copy()
    for task in tasks:
        features[task] = Value("string")

    def to_names(row: dict) -> dict:
        return {task: None if row[task] is None else names[task].int2str(row[task]) for task in tasks}

    return split.map(to_names, features=features)


def _write_csv(dataset, directory: Path, tasks: Sequence[str]) -> None:
    for name, split in dataset.items():
        _with_label_names(split, tasks).to_csv(str(directory / f"{name}.csv"), index=False)


def write_export(export: DatasetExport, out: Path, fmt: str, *, force: bool = False) -> Path:
    """Write the export to ``out`` as ``parquet`` (``data/<split>-00000-of-00001.parquet``),
    ``csv`` (``<split>.csv``, labels as names) or ``hf`` (``DatasetDict.save_to_disk``), each with
    a dataset card ``README.md``. Files go to a staging directory beside ``out`` that is renamed
    into place when complete; an existing non-empty ``out`` is refused unless ``force``."""
    from .dataset_card import dataset_card
    from .run_dir import staged_run

    if fmt not in EXPORT_FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    check_output_dir(out, force)
    with staged_run(out) as staging:
        if fmt == "parquet":
            _write_parquet(export.dataset, staging)
        elif fmt == "csv":
            _write_csv(export.dataset, staging, export.tasks)
        else:
            export.dataset.save_to_disk(str(staging))
        (staging / "README.md").write_text(dataset_card(export, fmt), encoding="utf-8")
    return out
