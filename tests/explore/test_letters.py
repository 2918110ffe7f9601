"""Errors in context, new letters with predictions, letters as HTML."""

from __future__ import annotations

import pytest

from toolkit import explore
from toolkit.errors import ToolkitError


def test_errors_come_with_their_context_most_confident_first(explored):
    labels_dir, runs = explored
    frame = explore.sentence_frame(labels_dir, runs=list(runs.values()))
    task = "stance"  # the tiny corpus is too regular for errors: make three, with their probabilities
    for row, probability in ((0, 0.9), (9, 0.5), (20, 0.7)):
        gold = frame.loc[row, task]
        frame.loc[row, "tfidf-loo:stance"] = "neutral" if gold != "neutral" else "critical"
        frame.loc[row, "tfidf-loo:stance:p"] = probability
    wrong = explore.errors(frame, "tfidf-loo", task)
    assert list(wrong["probability"]) == [0.9, 0.7, 0.5]
    assert len(wrong) and (wrong["gold"] != wrong["predicted"]).all() and wrong["probability"].is_monotonic_decreasing
    for some in wrong.itertuples():
        row = frame[frame["text"] == some.text].iloc[0]
        neighbours = frame[frame["letter_id"] == row["letter_id"]].set_index("position")["text"]
        assert some.previous == neighbours.get(row["position"] - 1, None) or (row["position"] == 0 and some.previous != some.previous)
        assert some.next == neighbours.get(row["position"] + 1) or (row["position"] == len(neighbours) - 1 and some.next != some.next)
    only = explore.errors(frame, "tfidf-loo", task, gold=wrong["gold"].iloc[0])
    assert set(only["gold"]) == {wrong["gold"].iloc[0]}


def test_a_new_letter_predicted_and_rendered(explored, tmp_path):
    labels_dir, runs = explored
    letter = sorted((labels_dir / "letters").glob("*.xml"))[0]
    frame = explore.new_letter_frame(list(runs.values()), [letter])
    assert len(frame) == 8 and {"topic", "actor", "stance", "stance:p"} <= set(frame.columns)
    letter_id = frame["letter_id"].iloc[0]
    marked = explore.letter_html(frame, letter_id, uncertain_below=1.01)
    assert marked._repr_html_().count("dotted") == 8 and "<h4" in marked.html and "topic=" in marked.html
    assert frame["text"].iloc[0].split()[0] in marked.html
    assert marked.save(tmp_path / "letter.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    with pytest.raises(ToolkitError, match="no sentences of letter"):
        explore.letter_html(frame, "nope")
