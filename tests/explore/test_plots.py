"""Every figure: labelled axes and a caption, drawn from the tables."""

from __future__ import annotations

import json

import pytest
from matplotlib.figure import Figure

from toolkit import explore
from toolkit.errors import ToolkitError


def _check(figure: Figure, *labels: str) -> None:
    assert isinstance(figure, Figure) and figure.caption and figure.caption in [text.get_text() for text in figure.texts] + [
        figure._supxlabel.get_text() if figure._supxlabel else ""
    ]
    axes = [axis for axis in figure.axes if axis.get_visible()]
    assert axes and all(axis.get_xlabel() or axis.get_ylabel() for axis in axes if axis.get_label() != "<colorbar>")
    shown = " ".join(axis.get_xlabel() + " " + axis.get_ylabel() for axis in axes)
    for label in labels:
        assert label in shown
    figure.savefig(__import__("io").BytesIO(), format="png")  # it draws


@pytest.fixture(scope="module")
def frame(explored):
    labels_dir, runs = explored
    return explore.sentence_frame(labels_dir, runs=list(runs.values()))


def test_corpus_figures(frame):
    _check(explore.plot_letters_per_year(explore.letter_frame(frame)), "letters", "year")
    _check(explore.plot_sentence_lengths(frame), "words per sentence")


def test_label_figures(frame):
    figure = explore.plot_class_shares_over_time(frame, "stance")
    _check(figure, "share of sentences (stance)")
    _check(explore.plot_class_shares_over_time(frame, "stance", column="tfidf-loo:stance"), "share")
    figure = explore.plot_share_over_time(frame, "stance", "critical", where={"topic": "arms_control"}, min_sentences=1)
    _check(figure, "share stance = critical")
    assert "topic = arms_control" in figure.caption
    with pytest.raises(ToolkitError, match="no year"):
        explore.plot_share_over_time(frame, "stance", "critical", where={"topic": "arms_control"}, min_sentences=99)
    _check(explore.plot_crosstab(frame, "topic", "stance"), "topic", "stance")
    _check(explore.plot_crosstab(frame, "actor", "stance"), "actor")
    figure = explore.plot_procedure_share(frame)
    _check(figure, "procedure")
    assert "mean share by genre" in figure.caption


def test_model_figures(frame, explored):
    _, runs = explored
    scores = explore.letter_scores(frame, "tfidf-loo", "topic", samples=30)
    _check(explore.plot_letter_scores(scores), "macro-F1")
    _check(explore.plot_forest(explore.run_frame(list(runs.values()))), "macro-F1")
    figure = explore.plot_confusion(frame, "tfidf-loo", "actor")
    _check(figure, "gold actor")
    assert "gold → predicted" in figure.caption
    top = json.loads((runs["stance"] / "top_features.json").read_text())
    _check(explore.plot_top_features(top, n=5), "weight")


def test_learning_curves_from_a_simulation_and_from_a_training_history():
    simulated = {"task": "stance", "sizes": [10, 20], "seeds": [0, 1], "test_letters": ["a"], "pool_sentences": 40,
                 "full_pool_macro_f1": 0.7, "curves": {"random": {"mean": [0.5, 0.6], "sd": [0.05, 0.04], "labels_to_reach_95%": None},
                                                       "uncertainty": {"mean": [0.55, 0.68], "sd": [0.03, 0.02], "labels_to_reach_95%": 20}}}
    figure = explore.plot_learning_curves(simulated)
    _check(figure, "labelled sentences")
    assert "95% at 20" in " ".join(text.get_text() for text in figure.axes[0].get_legend().get_texts())
    history = {"history": [{"epoch": 1, "train_loss": 1.0, "validation_macro_f1": 0.4}, {"epoch": 2, "train_loss": 0.6, "validation_macro_f1": 0.5}]}
    _check(explore.plot_learning_curves(history), "epoch")
    with pytest.raises(ToolkitError, match="no learning curve"):
        explore.plot_learning_curves({})
