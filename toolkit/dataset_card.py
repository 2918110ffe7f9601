"""The exported dataset's card: takes a :class:`~toolkit.dataset_export.DatasetExport`, gives
``README.md`` text, YAML front matter (language, task, license, ``configs`` so that
``datasets.load_dataset(DIR)`` finds the files, the features with their class names) and a
markdown body: what the data is, its provenance (letters and sentences by kind), tasks and label
counts, annotators and label origins, codebook version, how the splits were made, use and limits.

The counts come from the exported rows themselves, through the functions ``toolkit labels card``
uses for the corpus card, so the card describes exactly what was written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .labels.card import genre_markdown, label_statistics_markdown
from .report import markdown_table

__all__ = ["DATA_LICENSE", "PRETTY_NAME", "card_metadata", "dataset_card", "provenance_counts"]

PRETTY_NAME = "Kamerbrieven sentences: stance, actor and topic"
#: The project's license (pyproject.toml); the labels and the reconstructed letters are the project's own work.
DATA_LICENSE = "mit"
_REPOSITORY = Path(__file__).resolve().parents[1]
#: How the text of a letter of each provenance kind came about (labels/README.md), as Hub metadata.
_LANGUAGE_CREATORS = {"original": "found", "reconstructed": "machine-generated"}

_COLUMNS = (
    ("id", "sentence id (`<letter_id>:<hash>`), as in `labels/annotations/`"),
    ("letter_id", "the letter; every split keeps a letter's sentences together"),
    ("date", "the letter's date (ISO 8601, YYYY-MM-DD)"),
    ("provenance", "`original` (a real Kamerstuk) or `reconstructed` (written for the project, see below)"),
    ("genre", "report, agenda or letter (from the corpus manifest; null where it does not say)"),
    ("forum", "the meeting type, e.g. nato_summit, eu_fac (null for the original letter)"),
    ("part", "`letter` (the covering letter) or `annex`"),
    ("annex", "the title of the annex the sentence is in (null in the covering letter)"),
    ("section", "the section heading the sentence falls under (null before the first heading)"),
    ("opening", "the letter's first body sentence (context naming the meeting)"),
    ("previous", "the previous body sentence of the same letter (null at its start)"),
    ("text", "the sentence"),
    ("next", "the next body sentence of the same letter (null at its end)"),
)


def provenance_counts(export) -> dict[str, dict[str, int]]:
    """Per provenance kind, the exported letters and sentences."""
    counts: dict[str, dict[str, int]] = {}
    for name, split in export.dataset.items():
        for letter_id, kind in zip(split["letter_id"], split["provenance"]):
            entry = counts.setdefault(kind or "unknown", {"letters": set(), "sentences": 0})
            entry["letters"].add(letter_id)
            entry["sentences"] += 1
    return {kind: {"letters": len(entry["letters"]), "sentences": entry["sentences"]} for kind, entry in sorted(counts.items())}


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def card_metadata(export, fmt: str):
    """The card's YAML data (``huggingface_hub.DatasetCardData``) for a format's file layout."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    kinds = provenance_counts(export)
    data = DatasetCardData(
        language=["nl"], license=DATA_LICENSE, pretty_name=PRETTY_NAME, task_categories=["text-classification"],
        task_ids=["multi-class-classification"], multilinguality="monolingual",
        size_categories=[_size_category(sum(split.num_rows for split in export.dataset.values()))],
        language_creators=sorted({_LANGUAGE_CREATORS[kind] for kind in kinds if kind in _LANGUAGE_CREATORS}) or None,
        source_datasets=["original"],
    )
    paths = {"parquet": "data/{split}-*.parquet", "csv": "{split}.csv"}
    if fmt in paths:  # save_to_disk's folder is read with load_from_disk, not through configs
        files = [{"split": name, "path": paths[fmt].format(split=name)} for name in export.dataset]
        MetadataConfigs({"default": {"data_files": files}}).to_dataset_card_data(data)
    splits = SplitDict()
    for name, split in export.dataset.items():
        splits.add(SplitInfo(name=name, num_examples=split.num_rows))
    features = next(iter(export.dataset.values())).features
    DatasetInfosDict({"default": DatasetInfo(features=features, splits=splits)}).to_dataset_card_data(data)
    return data


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(_REPOSITORY)) if path.is_relative_to(_REPOSITORY) else str(path)


def _provenance_section(export) -> list[str]:
    counts = provenance_counts(export)
    reconstructed = counts.get("reconstructed", {"letters": 0, "sentences": 0})
    total_letters = sum(entry["letters"] for entry in counts.values())
    return [
        "## Provenance",
        f"**{reconstructed['letters']} of {total_letters} letters are `reconstructed`**: written for this project by AI "
        "writing assistants briefed on the public facts of a real meeting. They are not official documents and no "
        "government wrote them; Kamerstuk numbers, motions and members' questions in them are illustrative. "
        "`original` letters are real Kamerstukken, text unchanged. Filter on the `provenance` column to keep one kind.",
        markdown_table(["provenance", "letters", "sentences"],
                       [[kind, entry["letters"], entry["sentences"]] for kind, entry in counts.items()]),
        "Letters by forum and genre:",
        genre_markdown(list(export.letters.values())),
    ]


def _annotation_rows(export) -> list[dict]:
    """The exported labels as the corpus card reads stored rows (labels as names, origin per task)."""
    rows = []
    for split in export.dataset.values():
        names = {task: split.features[task] for task in export.tasks}
        for row in split:
            rows.append({"letter_id": row["letter_id"],
                         **{task: None if row[task] is None else names[task].int2str(row[task]) for task in export.tasks},
                         "origin": {task: row[f"{task}_origin"] for task in export.tasks}})
    return rows


def _labels_section(export) -> list[str]:
    rows = _annotation_rows(export)
    provenance = {letter.id: letter.provenance.get("kind", "?") for letter in export.letters.values()}
    classes = {task: export.table.schema.tasks[task].classes for task in export.tasks}
    annotators = Counter(name for split in export.dataset.values() for name in split["annotator"])
    codebooks = Counter(version for split in export.dataset.values() for version in split["codebook"])
    return [
        "## Tasks, labels and how they were made",
        f"One label per task for every sentence; tasks: {', '.join(f'`{task}`' for task in export.tasks)}. Each task "
        "column is a `ClassLabel` (class index; `features[task].names` gives the names; the CSV export writes the "
        "names). A missing label would be null. Definitions and decision rules: the project's `labels/CODEBOOK.md`.",
        f"Codebook version of the schema: **{export.table.schema.codebook}**; sentences per codebook version their "
        "label was made under (`codebook` column): "
        + ", ".join(f"{version if version is not None else 'not recorded'}: {count}" for version, count in sorted(codebooks.items(), key=str)) + ".",
        "Annotators (`annotator` column; the `llm-*` annotators are AI annotators, LLM helper agents):",
        markdown_table(["annotator", "sentences"], [[name, count] for name, count in sorted(annotators.items(), key=str)]),
        "Label origin (`<task>_origin` columns): `accepted` when the annotator kept the rule-based proposal, "
        "`manual` when they set the label by hand; the share accepted per task is in the counts below.",
        "### Counts",
        label_statistics_markdown(rows, classes, provenance),
    ]


_SPLIT_RULES = {
    "grouped_kfold": "one split per fold, holding the letters that fold holds out; to train for fold k, concatenate "
                     "the other folds (as the runner does). Every letter is held out exactly once.",
    "leave_one_letter_out": "everything is in `train`; the runner holds out each letter in turn, so the `fold` "
                            "column (`held-out:<letter_id>`) is the group to leave out.",
    "time_ordered": "`train` holds the earlier letters, `test` the latest letters by date.",
    "holdout": "`test` holds the letters the config names, `train` all others.",
}


def _splits_section(export) -> list[str]:
    kind = export.config.data.split.kind
    rows = [[name, split.num_rows, len(set(split["letter_id"])),
             ", ".join(sorted({fold or "null" for fold in split["fold"]})[:3]) + (" …" if len(set(split["fold"])) > 3 else "")]
            for name, split in export.dataset.items()]
    return [
        "## Splits",
        f"The splits are the experiment runner's held-out letters for `{_display_path(export.config_path)}` "
        f"(split kind `{kind}`, parts {', '.join(export.config.data.parts)}, seed {export.config.training.seed}): "
        f"{_SPLIT_RULES[kind]} Every split keeps whole letters together. The `fold` column names the runner split "
        "(as in a run's `predictions.jsonl`) that holds the row's letter out, null where none does.",
        markdown_table(["split", "sentences", "letters", "fold"], rows),
    ]


def _loading_section(fmt: str, split_names: Sequence[str]) -> list[str]:
    how = {
        "parquet": "`datasets.load_dataset(\"DIR\")` (the `configs` above name the files), or "
                   f"`load_dataset(\"parquet\", data_files={{\"{split_names[0]}\": \"DIR/data/{split_names[0]}-00000-of-00001.parquet\", …}})`.",
        "csv": "`datasets.load_dataset(\"DIR\")`: the features above turn the label names back into class indices. "
               "Read with pandas, the task columns hold the names.",
        "hf": "`datasets.load_from_disk(\"DIR\")`.",
    }[fmt]
    return ["## Loading", how]


def _uses_section() -> list[str]:
    return [
        "## Intended use and limits",
        "For research on classifying sentences of Dutch government letters to parliament on NATO and EU foreign and "
        "defence meetings: training and evaluating stance, actor and topic classifiers, and studying the labelling "
        "itself. The `reconstructed` letters are not real government text: they were written for the project and "
        "imitate real letters' form and voice, so results on them need checking on real letters (the `original` "
        "rows). The labels are their annotators' reading under the codebook; agreement figures are in the project's "
        "`labels/README.md`. Nothing here states a government position.",
    ]


def dataset_card(export, fmt: str) -> str:
    """The ``README.md`` of an export in ``fmt`` (parquet, csv or hf)."""
    from huggingface_hub import DatasetCard

    total = sum(split.num_rows for split in export.dataset.values())
    dates = sorted(letter.date for letter in export.letters.values() if letter.date)
    intro = [
        f"# {PRETTY_NAME}",
        f"Sentences of Dutch government letters to parliament (Kamerbrieven) on NATO and EU foreign and defence "
        f"meetings, labelled for {', '.join(export.tasks)}: **{total}** body sentences of **{len(export.letters)}** "
        f"letters" + (f" dated {dates[0]} to {dates[-1]}" if dates else "") + ", one row per sentence with its context "
        "(section heading, neighbouring sentences of the same letter). Exported by `toolkit labels export`.",
        "## Columns",
        markdown_table(["column", "meaning"], [[f"`{name}`", meaning] for name, meaning in [
            *_COLUMNS, *((task, f"the {task} label (`ClassLabel`)") for task in export.tasks),
            ("annotator", "who labelled the sentence"), ("<task>_origin", "accepted or manual, see below"),
            ("codebook", "the codebook version the labels were made under"),
            ("fold", "the runner split that holds the letter out, see Splits")]]),
    ]
    sections = [*intro, *_provenance_section(export), *_labels_section(export), *_splits_section(export),
                *_loading_section(fmt, list(export.dataset)), *_uses_section()]
    metadata = card_metadata(export, fmt)
    return str(DatasetCard("---\n" + metadata.to_yaml() + "\n---\n\n" + "\n\n".join(sections) + "\n"))
