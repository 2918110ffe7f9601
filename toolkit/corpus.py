"""The corpus: takes the manifest (or letter files, or a corpus directory), gives the letters of the
default data and reads and writes the on-disk corpus format.

Default letters
    ``labels/letters/manifest.yaml`` lists every letter of the default corpus with
    the file it is ingested from and its provenance (``original`` for the seed,
    ``reconstructed`` for letters written for the project). Metadata given there
    (dossier, date, …) fills what the file itself does not say.

On-disk corpus (written by ``toolkit ingest --out DIR``)
    ``DIR/letters.jsonl``   one letter per line: metadata, provenance, footnotes
    ``DIR/sentences.jsonl`` one sentence record per line (see :class:`Sentence`)
    ``DIR/corpus.json``     format version, counts and the source files
    The directory is written to a temporary sibling and renamed into place, so an
    interrupted write never leaves a directory that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IngestError
from .files import as_umask_allows
from .ingest import read_letter
from .records import Footnote, Letter, Sentence, record_to_dict
from .segment import segment_letter

__all__ = [
    "CORPUS_FORMAT_VERSION",
    "CorpusEntry",
    "add_letters",
    "default_labels_dir",
    "iter_letters",
    "load_corpus",
    "load_manifest",
    "pretraining_texts",
    "read_body_sentences",
    "read_letters",
    "read_default_letters",
    "write_corpus",
]

#: 2: sentence records carry ``part`` and ``annex``; version-1 corpora still load (as letter parts).
CORPUS_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_METADATA_FIELDS = ("dossier", "number", "date", "type", "sender", "title")


def default_labels_dir() -> Path:
    """The ``labels/`` directory of the checkout (or ``$TOOLKIT_LABELS_DIR``)."""
    configured = os.environ.get("TOOLKIT_LABELS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "labels"


@dataclass(frozen=True)
class CorpusEntry:
    """One letter of the default corpus as listed in the manifest."""

    id: str
    file: str
    provenance: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


def load_manifest(labels_dir: Path | None = None) -> list[CorpusEntry]:
    import yaml

    labels_dir = labels_dir or default_labels_dir()
    path = labels_dir / "letters" / "manifest.yaml"
    if not path.exists():
        raise IngestError(f"{path}: corpus manifest not found (set TOOLKIT_LABELS_DIR to the labels/ directory)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for item in data.get("letters", []):
        try:
            entries.append(
                CorpusEntry(
                    id=item["id"],
                    file=item["file"],
                    provenance=dict(item["provenance"]),
                    metadata={key: item[key] for key in _METADATA_FIELDS if item.get(key) is not None},
                )
            )
        except KeyError as exc:
            raise IngestError(f"{path}: letter entry {item!r} lacks {exc}") from None
    return entries


def _apply_entry(letter: Letter, entry: CorpusEntry) -> Letter:
    from dataclasses import replace

    if letter.id != entry.id:
        letter = replace(letter, id=entry.id)
    filled = {key: value for key, value in entry.metadata.items() if getattr(letter, key) in (None, "")}
    return replace(letter, provenance=dict(entry.provenance), **{key: str(value) for key, value in filled.items()})


def read_default_letters(labels_dir: Path | None = None, *, ids: Iterable[str] | None = None) -> list[Letter]:
    """Ingest the letters of the default corpus, in manifest order."""
    labels_dir = labels_dir or default_labels_dir()
    wanted = set(ids) if ids is not None else None
    letters = []
    for entry in load_manifest(labels_dir):
        if wanted is not None and entry.id not in wanted:
            continue
        letter = read_letter(labels_dir / "letters" / entry.file)
        letters.append(_apply_entry(letter, entry))
    return letters


def iter_letters(paths: Iterable[str | Path], *, encoding: str = "utf-8", require_letter: bool = True) -> Iterator[Letter]:
    """The letters in ``paths``; annex files listed beside a letter are read with it, not alone."""
    from .ingest.annexes import listed_annex_paths

    paths = [Path(path) for path in paths]
    annexes = listed_annex_paths(paths)
    for path in paths:
        if path.resolve() in annexes or path.name.endswith(".annexes.json"):
            continue
        yield read_letter(path, encoding=encoding, require_letter=require_letter)


def read_letters(paths: Iterable[str | Path], *, encoding: str = "utf-8", require_letter: bool = True) -> list[Letter]:
    """Every file read before anything is written: one bad file fails the whole command cleanly."""
    return list(iter_letters(paths, encoding=encoding, require_letter=require_letter))


def _letter_record(letter: Letter) -> dict[str, Any]:
    record = letter.metadata()
    record["footnotes"] = [record_to_dict(note) for note in letter.footnotes]
    return record


def write_corpus(letters: list[Letter], out_dir: Path) -> dict[str, Any]:
    """Segment ``letters`` and write the corpus directory atomically; returns the summary."""
    out_dir = Path(out_dir)
    ids = [letter.id for letter in letters]
    duplicates = sorted({letter_id for letter_id in ids if ids.count(letter_id) > 1})
    if duplicates:
        raise IngestError(f"two input files give the same letter id: {', '.join(duplicates)}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    as_umask_allows(staging)
    try:
        counts: dict[str, int] = {}
        with open(staging / "letters.jsonl", "w", encoding="utf-8") as letters_file, open(
            staging / "sentences.jsonl", "w", encoding="utf-8"
        ) as sentences_file:
            for letter in letters:
                letters_file.write(json.dumps(_letter_record(letter), ensure_ascii=False) + "\n")
                for sentence in segment_letter(letter):
                    counts[sentence.kind] = counts.get(sentence.kind, 0) + 1
                    sentences_file.write(json.dumps(record_to_dict(sentence), ensure_ascii=False) + "\n")
        summary = {
            "format_version": CORPUS_FORMAT_VERSION,
            "letters": len(letters),
            "sentences": counts,
            "sources": [letter.source for letter in letters],
        }
        (staging / "corpus.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if out_dir.exists():
            backup = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(out_dir, backup)
            os.replace(staging, out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def load_corpus(corpus_dir: Path) -> tuple[list[dict[str, Any]], list[Sentence]]:
    """Read a corpus directory written by :func:`write_corpus`."""
    corpus_dir = Path(corpus_dir)
    summary_path = corpus_dir / "corpus.json"
    if not summary_path.exists():
        raise IngestError(f"{corpus_dir}: not a corpus directory (no corpus.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if summary.get("format_version") not in _READABLE_VERSIONS:
        raise IngestError(f"{corpus_dir}: corpus format {summary.get('format_version')} is not supported")
    with open(corpus_dir / "letters.jsonl", encoding="utf-8") as handle:
        letters = [json.loads(line) for line in handle if line.strip()]
    for letter in letters:
        letter["footnotes"] = [Footnote(**note) for note in letter.get("footnotes", [])]
    with open(corpus_dir / "sentences.jsonl", encoding="utf-8") as handle:
        sentences = [Sentence(**json.loads(line)) for line in handle if line.strip()]
    return letters, sentences



def pretraining_texts(labels_dir: Path | None = None, *, exclude_letters=(), extra_files=()) -> list[str]:
    """Texts for masked-LM pretraining: body sentences, headings and footnotes of the default
    corpus (without ``exclude_letters``), plus one text per non-empty line of ``extra_files``."""
    excluded = set(exclude_letters)
    texts = [
        record.text
        for letter in read_default_letters(labels_dir)
        if letter.id not in excluded
        for record in segment_letter(letter)
        if record.kind in ("body", "heading", "footnote")
    ]
    for path in map(Path, extra_files):
        if not path.exists():
            raise IngestError(f"{path}: no such file")
        texts += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def read_body_sentences(
    paths: Iterable[str | Path], *, encoding: str = "utf-8", require_letter: bool = True
) -> list[Sentence]:
    """The body sentences of letter files and of corpus directories written by ``toolkit ingest``.

    A corpus directory is read back as it was written (no re-segmentation), so predictions
    on it refer to the same sentence ids as the corpus.
    """
    sentences: list[Sentence] = []
    for path in map(Path, paths):
        if path.is_dir() and (path / "corpus.json").exists():
            sentences += [s for s in load_corpus(path)[1] if s.kind == "body"]
        else:
            letter = read_letter(path, encoding=encoding, require_letter=require_letter)
            sentences += [s for s in segment_letter(letter) if s.kind == "body"]
    return sentences


def add_letters(labels_dir: Path, paths: Iterable[str | Path], *, encoding: str = "utf-8") -> list[str]:
    """Add letter files (fetched or ingested: text, XML, HTML, PDF) to the labelled corpus of
    ``labels_dir``: copy each, with the annexes listed beside it, into ``letters/`` and list it in
    the manifest as an ``original`` letter, so that its sentences can be queued, reviewed and
    imported. A letter already listed, or a file name already taken, is an error and nothing is
    written. Returns the ids added."""
    import yaml

    from .files import write_atomically
    from .ingest.annexes import annex_files, listed_annex_paths

    letters_dir = Path(labels_dir) / "letters"
    manifest_path = letters_dir / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    if not isinstance(manifest, dict):
        raise IngestError(f"{manifest_path}: no corpus manifest to add letters to")
    known = {entry["id"] for entry in manifest.get("letters", [])}
    paths = [Path(path) for path in paths]
    annexes = listed_annex_paths(paths)
    copies: list[tuple[Path, Path]] = []
    added: list[dict[str, Any]] = []
    for path in paths:
        if path.resolve() in annexes or path.name.endswith(".annexes.json"):
            continue
        letter = read_letter(path, encoding=encoding)
        if letter.id in known:
            raise IngestError(f"{path}: letter {letter.id} is already in the corpus")
        known.add(letter.id)
        files = [path] + ([path.with_name(f"{path.stem}.annexes.json")] + [a for _, a in annex_files(path)]
                          if annex_files(path) else [])
        for source in files:
            target = letters_dir / source.name
            if target.exists():
                raise IngestError(f"{target}: a file of that name is already in the corpus; rename {source.name}")
            copies.append((source, target))
        entry: dict[str, Any] = {"id": letter.id, "file": path.name}
        entry.update({key: getattr(letter, key) for key in _METADATA_FIELDS if getattr(letter, key, None)})
        entry["provenance"] = {"kind": "original", "how": f"added with `toolkit labels add-letters` from {path.name}"}
        added.append(entry)
    for source, target in copies:
        write_atomically(target, source.read_bytes())
    manifest["letters"] = list(manifest.get("letters", [])) + added
    write_atomically(manifest_path, yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False))
    return [entry["id"] for entry in added]
