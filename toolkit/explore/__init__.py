"""Exploring the corpus, the labels and the models in Jupyter: tidy pandas tables and figures for
papers (matplotlib), no torch.

    from toolkit import explore
    sentences = explore.sentence_frame(runs=["runs/tfidf-loo-…"])
    explore.plot_share_over_time(sentences, "stance", "critical", where={"topic": "russia"})

:mod:`.frames` builds the tables (sentences, letters, runs, per-letter scores), :mod:`.plots` the
figures, :mod:`.letters` errors in context and letters rendered as HTML.
"""

from .frames import letter_frame, letter_scores, prediction_columns, run_frame, run_names, sentence_frame, training_history
from .letters import MarkedLetter, errors, letter_html, new_letter_frame
from .plots import (
    plot_class_shares_over_time,
    plot_confusion,
    plot_crosstab,
    plot_forest,
    plot_learning_curves,
    plot_letter_scores,
    plot_letters_per_year,
    plot_procedure_share,
    plot_sentence_lengths,
    plot_share_over_time,
    plot_top_features,
)

__all__ = [
    "MarkedLetter",
    "errors",
    "letter_frame",
    "letter_html",
    "letter_scores",
    "new_letter_frame",
    "plot_class_shares_over_time",
    "plot_confusion",
    "plot_crosstab",
    "plot_forest",
    "plot_learning_curves",
    "plot_letter_scores",
    "plot_letters_per_year",
    "plot_procedure_share",
    "plot_sentence_lengths",
    "plot_share_over_time",
    "plot_top_features",
    "prediction_columns",
    "run_frame",
    "run_names",
    "sentence_frame",
    "training_history",
]
