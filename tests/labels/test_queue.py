"""What to label next: the active-learning scores, the diverse order, and the labelling loop
(queue → review → partial import → run again → compare) on letters written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from toolkit.errors import LabelError
from toolkit.labels.queue import queue_scores, select_queue

from tests.test_cli import run_cli

SURE, TORN, FLAT = [0.9, 0.05, 0.05], [0.45, 0.45, 0.1], [1 / 3, 1 / 3, 1 / 3]


def test_each_strategy_puts_the_doubtful_sentence_first():
    matrix = np.array([SURE, TORN, FLAT])
    assert list(np.argsort(-queue_scores(matrix, "uncertainty"))) == [2, 1, 0]
    assert list(np.argsort(-queue_scores(matrix, "margin"))[:2]) in ([1, 2], [2, 1])  # both have no gap
    assert queue_scores(matrix, "margin")[0] < queue_scores(matrix, "margin")[1]
    entropy = queue_scores(matrix, "entropy")
    assert entropy[2] == pytest.approx(1.0) and entropy[0] < entropy[1] < entropy[2]
    assert list(queue_scores(matrix, "random", seed=3)) == list(queue_scores(matrix, "random", seed=3))
    with pytest.raises(LabelError, match="strategy must be one of"):
        queue_scores(matrix, "loudest")


def _records(n_letters: int = 3, per_letter: int = 4):
    rows = []
    for letter in range(n_letters):
        for number in range(per_letter):
            doubt = 0.55 + 0.02 * number + 0.1 * letter  # letter l0 is the hardest, later sentences are surer
            stance = [doubt, 1 - doubt]
            rows.append({"id": f"l{letter}:{number}", "letter_id": f"l{letter}", "text": f"Zin {number}.",
                         "probabilities": {"stance": dict(zip(["support", "critical"], stance)),
                                           "actor": {"nato": 0.2, "eu": 0.8}}})
    return rows


def test_the_queue_ranks_excludes_labelled_sentences_and_says_where_proposals_come_from():
    queue = select_queue(_records(), tasks=["stance"], k=3, strategy="uncertainty", source="model:run-1",
                         exclude={"l0:0"})
    assert [row["rank"] for row in queue] == [1, 2, 3]
    assert "l0:0" not in {row["id"] for row in queue}
    assert [row["score"] for row in queue] == sorted((row["score"] for row in queue), reverse=True)
    first = queue[0]
    assert first["proposal"] == {"stance": "support"} and first["source"] == {"stance": "model:run-1"}
    assert 0.5 <= first["confidence"]["stance"] <= 1 and "probabilities" not in first
    both = select_queue(_records(), tasks=["stance", "actor"], k=1, strategy="entropy", source="model:x")
    assert set(both[0]["proposal"]) == {"stance", "actor"}


def test_the_diverse_queue_takes_turns_over_letters():
    plain = select_queue(_records(), tasks=["stance"], k=3, strategy="uncertainty", source="m")
    diverse = select_queue(_records(), tasks=["stance"], k=3, strategy="uncertainty", source="m", diverse=True)
    assert len({row["letter_id"] for row in diverse}) == 3
    assert len({row["letter_id"] for row in plain}) < 3  # the plain queue stays in the hardest letter
    assert diverse[0]["id"] == plain[0]["id"] and diverse[0]["strategy"] == "uncertainty+diverse"


@pytest.mark.slow
def test_the_labelling_loop_from_queue_to_a_second_run(tiny_labels_dir, tmp_path):
    """Two letters new to the corpus (layout fixtures written for the tests) are added, queued with
    the proposals of two runs, reviewed (the proposals accepted, as a reviewer might), imported
    (partial), and the model is trained again and compared with the first."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "layouts"
    added = run_cli("labels", "add-letters", str(fixtures / "report-xml.xml"), str(fixtures / "agenda-pdf.txt"),
                    "--labels-dir", str(tiny_labels_dir))
    assert added.returncode == 0 and "added 2 letters" in added.stdout, added.stderr
    again = run_cli("labels", "add-letters", str(fixtures / "report-xml.xml"), "--labels-dir", str(tiny_labels_dir))
    assert again.returncode != 0 and "already in the corpus" in again.stderr
    new_letters = [tiny_labels_dir / "letters" / "report-xml.xml", tiny_labels_dir / "letters" / "agenda-pdf.txt"]
    common = ["--set", f"data.labels_dir={tiny_labels_dir}", "--set", "evaluation.bootstrap_samples=20",
              "--set", "task=stance", "--output-dir", str(tmp_path / "runs"), "--quiet"]
    first = run_cli("run", "experiments/tfidf-loo.yaml", *common)
    assert first.returncode == 0, first.stderr
    run = first.stdout.strip().splitlines()[-1]
    actor = run_cli("run", "experiments/tfidf-loo.yaml", *[arg.replace("task=stance", "task=actor") for arg in common])
    actor_run = actor.stdout.strip().splitlines()[-1]

    queued = run_cli("labels", "queue", *map(str, new_letters), "--run", run, "--run", actor_run, "--k", "4",
                     "--strategy", "margin", "--diverse", "--labels-dir", str(tiny_labels_dir))
    assert queued.returncode == 0, queued.stderr
    queue = [json.loads(line) for line in queued.stdout.splitlines()]
    assert len(queue) == 4 and len({row["letter_id"] for row in queue}) == 2
    assert all(row["source"]["stance"] == f"model:{Path(run).name}" for row in queue)
    assert all(row["source"]["actor"] == f"model:{Path(actor_run).name}" and "actor" in row["proposal"] for row in queue)

    # The reviewer accepts the stance proposals and sets the other tasks.
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(json.dumps({"id": row["id"], **row["proposal"], "topic": "other"}) + "\n"
                                 for row in queue), encoding="utf-8")
    whole = run_cli("labels", "import", str(decisions), "--annotator", "reviewer", "--labels-dir", str(tiny_labels_dir))
    assert whole.returncode != 0 and "--partial" in whole.stderr
    imported = run_cli("labels", "import", str(decisions), "--annotator", "reviewer", "--partial",
                       "--labels-dir", str(tiny_labels_dir))
    assert imported.returncode == 0, imported.stderr
    assert sum(int(line.split(": ")[1].split(" added")[0]) for line in imported.stdout.splitlines()) == 4
    again = run_cli("labels", "queue", *map(str, new_letters), "--run", run, "--k", "100", "--labels-dir", str(tiny_labels_dir))
    assert not {row["id"] for row in queue} & {json.loads(line)["id"] for line in again.stdout.splitlines()}

    second = run_cli("run", "experiments/tfidf-loo.yaml", *common)
    assert second.returncode == 0, second.stderr
    compared = run_cli("compare", run, second.stdout.strip().splitlines()[-1])
    assert compared.returncode == 0 and compared.stdout.count("tfidf-loo") == 2
