from __future__ import annotations

import json

import pytest

from toolkit.corpus import load_corpus, load_manifest, read_body_sentences, read_default_letters, write_corpus
from toolkit.errors import IngestError
from toolkit.ingest import read_letter
from toolkit.render import gold_body_sentences, gold_records, parse_authoring
from toolkit.segment import segment_letter


@pytest.fixture(scope="module")
def default_letters():
    return read_default_letters()


def test_default_corpus_lists_the_seed_and_reconstructed_letters(default_letters):
    kinds = {letter.id: letter.provenance["kind"] for letter in default_letters}
    assert kinds["kst-28676-307"] == "original"
    assert sum(kind == "reconstructed" for kind in kinds.values()) >= 55  # corpus v2's target
    forums = [letter.provenance.get("forum") for letter in default_letters if letter.provenance["kind"] == "reconstructed"]
    assert all(forums), "every reconstructed letter names its forum"
    assert sum(forum.startswith("eu_") for forum in forums) >= len(forums) / 4  # EU council genres: a quarter at least
    formats = {letter.source_format for letter in default_letters}
    assert formats == {"text", "xml"}
    assert all(letter.date and letter.dossier for letter in default_letters)


def test_every_reconstructed_letter_segments_into_its_authored_sentences(default_letters, labels_dir):
    """Sentences, their part (covering letter or annex) and the annex title, exactly as authored."""
    by_id = {letter.id: letter for letter in default_letters}
    for source_path in sorted((labels_dir / "letters" / "src").glob("*.md")):
        source = parse_authoring(source_path.read_text(encoding="utf-8"), str(source_path))
        body = [(r.part, r.annex, r.text) for r in segment_letter(by_id[source.id]) if r.kind == "body"]
        assert body == list(gold_records(source)), source.id
        assert [text for _, _, text in body] == gold_body_sentences(source)


def test_rendered_files_are_up_to_date_with_their_sources(labels_dir, tmp_path):
    """The committed rendered letters equal a fresh rendering of the sources."""
    import shutil

    from toolkit.render import render_corpus

    copy = tmp_path / "labels"
    shutil.copytree(labels_dir / "letters", copy / "letters")
    render_corpus(copy)
    for entry in load_manifest(labels_dir):
        assert (copy / "letters" / entry.file).read_bytes() == (labels_dir / "letters" / entry.file).read_bytes(), entry.id


def test_write_and_load_corpus_round_trip(tmp_path, seed_letter_path):
    letter = read_letter(seed_letter_path)
    summary = write_corpus([letter], tmp_path / "corpus")
    assert summary["sentences"]["body"] == 96
    letters, sentences = load_corpus(tmp_path / "corpus")
    assert letters[0]["id"] == "kst-28676-307"
    assert [s.text for s in sentences] == [s.text for s in segment_letter(letter)]
    # the toolkit reads the corpus back where it takes letters (e.g. `toolkit predict RUN CORPUS_DIR`)
    assert read_body_sentences([tmp_path / "corpus"]) == read_body_sentences([seed_letter_path])


def test_corpus_write_is_atomic_and_refuses_duplicate_ids(tmp_path, seed_letter_path):
    letter = read_letter(seed_letter_path)
    out = tmp_path / "corpus"
    write_corpus([letter], out)
    before = (out / "sentences.jsonl").read_bytes()
    with pytest.raises(IngestError, match="same letter id"):
        write_corpus([letter, letter], out)
    assert (out / "sentences.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_load_corpus_refuses_other_directories(tmp_path):
    with pytest.raises(IngestError, match="not a corpus directory"):
        load_corpus(tmp_path)
    (tmp_path / "corpus.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(IngestError, match="not supported"):
        load_corpus(tmp_path)
