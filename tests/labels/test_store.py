from __future__ import annotations

import datetime
import json
import shutil

import pytest

from toolkit.corpus import read_default_letters
from toolkit.errors import LabelError
from toolkit.labels import (
    agreement,
    load_annotations,
    load_schema,
    propose,
    store_decisions,
    validate_annotations,
)
from toolkit.labels.quality import near_duplicate_rate
from toolkit.segment import body_sentences

from tests.conftest import LABELS_DIR

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def corpus():
    schema = load_schema(LABELS_DIR)
    letters = read_default_letters(LABELS_DIR)
    return schema, letters, body_sentences(letters)


def test_the_stored_labels_cover_every_body_sentence_within_the_schema(corpus):
    schema, letters, sentences = corpus
    annotations = load_annotations(LABELS_DIR)
    validate_annotations(schema, annotations, sentences, complete=True)
    assert {row["id"] for row in annotations} == {s.id for s in sentences}
    assert len(annotations) >= 4000 and len(letters) >= 55  # corpus v2
    seed = [row for row in annotations if row["letter_id"] == "kst-28676-307"]
    assert len(seed) == 96


def test_every_class_of_every_task_has_examples_enough_to_learn_from(corpus):
    """At least 25 per class, except actor `parliament`: real letters rarely name a member of
    parliament (1 sentence in 96 in the seed letter), and corpus v2 follows them (at least 10)."""
    schema, _, _ = corpus
    annotations = load_annotations(LABELS_DIR)
    for task, spec in schema.tasks.items():
        for label in spec.classes:
            count = sum(row[task] == label for row in annotations)
            assert count >= (10 if (task, label) == ("actor", "parliament") else 25), f"{task}={label}: only {count}"


def test_every_label_records_its_codebook_version(corpus):
    schema, _, _ = corpus
    assert schema.codebook == 2
    assert {row.get("codebook") for row in load_annotations(LABELS_DIR)} == {2}


def test_every_label_records_annotator_time_and_origin(corpus):
    for row in load_annotations(LABELS_DIR):
        assert row["annotator"] and datetime.datetime.fromisoformat(row["time"])
        assert set(row["origin"].values()) <= {"accepted", "manual"}


def test_near_duplicate_rate_across_letters_stays_below_two_percent(corpus):
    _, _, sentences = corpus
    rate, _ = near_duplicate_rate(sentences)
    assert rate <= 0.02


def test_near_duplicates_are_detected_when_names_are_swapped(corpus):
    from toolkit.records import Sentence

    def s(letter, text):
        return Sentence(id=f"{letter}:{text[:5]}", letter_id=letter, index=0, kind="body", section=None, text=text, start=0, end=len(text))

    rate, pairs = near_duplicate_rate([
        s("a", "De ministers spraken in Brussel over de situatie in Oekraïne en de steun van Nederland."),
        s("b", "De ministers spraken in Washington over de situatie in Georgië en de steun van Duitsland."),
        s("c", "Het kabinet zal uw Kamer voor de zomer informeren over de uitkomst."),
    ])
    assert len(pairs) == 1 and rate == pytest.approx(2 / 3)


def test_data_card_counts_are_up_to_date(tmp_path):
    """labels/README.md's generated section equals a fresh `toolkit labels card`."""
    from toolkit.cli import main

    copy = tmp_path / "labels"
    shutil.copytree(LABELS_DIR, copy)
    assert main(["labels", "card", "--labels-dir", str(copy)]) == 0
    assert (copy / "README.md").read_text() == (LABELS_DIR / "README.md").read_text()


# ----------------------------------------------------------- workflow on tiny data


@pytest.fixture
def tiny(tiny_labels_dir):
    schema = load_schema(tiny_labels_dir)
    sentences = body_sentences(read_default_letters(tiny_labels_dir))
    return tiny_labels_dir, schema, sentences


def _decisions(schema, sentences, letter_id):
    return [{"id": row["id"], **{t: row[t] for t in schema.task_names}} for row in propose(schema, sentences) if row["letter_id"] == letter_id]


def test_store_decisions_records_accepted_and_manual(tiny):
    labels_dir, schema, sentences = tiny
    letter_id = sentences[0].letter_id
    (labels_dir / "annotations" / f"{letter_id}.jsonl").unlink()  # a letter not labelled yet
    decisions = _decisions(schema, sentences, letter_id)
    flipped = "critical" if decisions[0]["stance"] != "critical" else "support"
    decisions[0]["stance"] = flipped
    store_decisions(labels_dir, schema, sentences, decisions, annotator="tester", now=NOW)
    rows = [json.loads(l) for l in (labels_dir / "annotations" / f"{letter_id}.jsonl").read_text().splitlines()]
    assert rows[0]["origin"]["stance"] == "manual" and rows[0]["stance"] == flipped
    assert rows[1]["origin"] == {"topic": "accepted", "actor": "accepted", "stance": "accepted"}
    assert rows[0]["annotator"] == "tester" and rows[0]["time"] == "2026-01-01T00:00:00+00:00"


def test_importing_over_stored_labels_changes_nothing_without_replace(tiny):
    labels_dir, schema, sentences = tiny
    letter_id = sentences[0].letter_id
    path = labels_dir / "annotations" / f"{letter_id}.jsonl"
    stored = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    decisions = [{"id": row["id"], **{t: row[t] for t in schema.task_names}} for row in stored]
    before = path.read_bytes()
    counts = store_decisions(labels_dir, schema, sentences, decisions, annotator="again", now=NOW)
    assert counts == {letter_id: {"added": 0, "kept": len(stored), "changed": 0}}
    assert path.read_bytes() == before  # the same labels again: rows, annotators and traces untouched

    flipped = "critical" if decisions[2]["stance"] != "critical" else "support"
    decisions[2]["stance"] = flipped
    with pytest.raises(LabelError, match=r"would change 1 stored labels; nothing was written.*--replace"):
        store_decisions(labels_dir, schema, sentences, decisions, annotator="proposals", now=NOW)
    assert path.read_bytes() == before

    counts = store_decisions(labels_dir, schema, sentences, decisions, annotator="reviewer", replace=True, now=NOW)
    assert counts[letter_id] == {"added": 0, "kept": len(stored) - 1, "changed": 1}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[2]["stance"] == flipped and rows[2]["annotator"] == "reviewer"
    assert rows[2]["revisions"][-1] == {"task": "stance", "from": stored[2]["stance"], "to": flipped,
                                        "rule": "labels import --replace", "by": "reviewer",
                                        "time": "2026-01-01T00:00:00+00:00", "codebook": schema.codebook}
    assert rows[3] == stored[3]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d[0].update(stance="angry"), "stance='angry' is not in the schema; allowed: critical, support, neutral"),
        (lambda d: d[0].update(id="nope"), "sentence id 'nope' does not exist"),
        (lambda d: d.append(dict(d[0])), "decided twice"),
        (lambda d: d.pop(), "body sentences have no decision"),
        (lambda d: d[0].pop("actor"), "no label for task 'actor'"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(tiny, mutate, message):
    labels_dir, schema, sentences = tiny
    letter_id = sentences[0].letter_id
    before = (labels_dir / "annotations" / f"{letter_id}.jsonl").read_bytes()
    decisions = _decisions(schema, sentences, letter_id)
    mutate(decisions)
    with pytest.raises(LabelError, match=message.replace("(", r"\(")):
        store_decisions(labels_dir, schema, sentences, decisions, annotator="tester")
    assert (labels_dir / "annotations" / f"{letter_id}.jsonl").read_bytes() == before


def test_validation_finds_unlabelled_and_duplicate_sentences(tiny):
    labels_dir, schema, sentences = tiny
    annotations = load_annotations(labels_dir)
    with pytest.raises(LabelError, match="unlabelled"):
        validate_annotations(schema, annotations[1:], sentences, complete=True)
    validate_annotations(schema, annotations[1:], sentences)  # partly labelled: fine until --complete
    with pytest.raises(LabelError, match="labelled twice"):
        validate_annotations(schema, annotations + annotations[:1], sentences)
    bad = [dict(annotations[0], topic="weather")] + annotations[1:]
    with pytest.raises(LabelError, match="topic='weather' is not in the schema"):
        validate_annotations(schema, bad, sentences)


def test_schema_errors_are_specific(tmp_path):
    (tmp_path / "schema.yaml").write_text("tasks:\n  stance:\n    proposer: magic\n    default: a\n    classes: {a: {}, b: {}}\n")
    with pytest.raises(LabelError, match="proposer 'magic'"):
        load_schema(tmp_path)
    (tmp_path / "schema.yaml").write_text("tasks:\n  stance:\n    default: c\n    classes: {a: {}, b: {}}\n")
    with pytest.raises(LabelError, match="default 'c'"):
        load_schema(tmp_path)


def test_a_task_added_to_the_schema_needs_no_code(tiny):
    labels_dir, _, sentences = tiny
    text = (labels_dir / "schema.yaml").read_text()
    text += "  tone:\n    proposer: cue_priority\n    default: plain\n    classes:\n      urgent: {cues: ['onverwijld']}\n      plain: {}\n"
    (labels_dir / "schema.yaml").write_text(text)
    schema = load_schema(labels_dir)
    assert "tone" in schema.task_names
    assert {row["tone"] for row in propose(schema, sentences)} <= {"urgent", "plain"}


def test_agreement_by_hand():
    first = {str(i): {"t": label} for i, label in enumerate("aabbab")}
    second = {str(i): {"t": label} for i, label in enumerate("aabbba")}
    result = agreement(first, second, ["t"])["t"]
    assert result["observed_agreement"] == pytest.approx(4 / 6)
    assert result["cohen_kappa"] == pytest.approx(1 / 3)
    assert -1 <= result["krippendorff_alpha"] <= 1


def test_cli_export_prints_every_labelled_sentence():
    from tests.test_cli import run_cli

    result = run_cli("labels", "export")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(load_annotations(LABELS_DIR))
    assert {"id", "letter_id", "text", "stance", "actor", "topic"} <= set(rows[0])


def test_cli_import_of_proposals_over_finished_labels_is_refused_and_says_so(tiny, tmp_path):
    from tests.test_cli import run_cli

    labels_dir, schema, sentences = tiny
    letter_id = sentences[0].letter_id
    before = {path.name: path.read_bytes() for path in (labels_dir / "annotations").glob("*.jsonl")}
    proposals = tmp_path / "proposals.jsonl"
    proposals.write_text("".join(json.dumps(d) + "\n" for d in _decisions(schema, sentences, letter_id)), encoding="utf-8")
    refused = run_cli("labels", "import", str(proposals), "--annotator", "rules", "--labels-dir", str(labels_dir))
    assert refused.returncode != 0 and "nothing was written" in refused.stderr and "Traceback" not in refused.stderr
    assert {path.name: path.read_bytes() for path in (labels_dir / "annotations").glob("*.jsonl")} == before
    replaced = run_cli("labels", "import", str(proposals), "--annotator", "rules", "--replace", "--labels-dir", str(labels_dir))
    assert replaced.returncode == 0 and f"{letter_id}: 0 added," in replaced.stdout
