"""Figures for papers and notebooks: take the tables of :mod:`toolkit.explore.frames`, give
matplotlib figures with labelled axes and a caption (the figure's ``caption`` attribute, also drawn
under the axes).

Figures are made with :class:`matplotlib.figure.Figure`, not pyplot, so nothing is kept in a
global state and nothing is shown twice; a notebook shows a returned figure (``%matplotlib inline``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import ToolkitError
from ..simulate import TARGET_SHARE
from .frames import prediction_columns

__all__ = [
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
]


def _figure(width: float = 8, height: float = 4.5, **subplots) -> tuple[Figure, object]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(**subplots)


def _caption(figure: Figure, text: str) -> Figure:
    figure.caption = text
    figure.supxlabel(text, fontsize=8, ha="center", wrap=True, color="dimgray")
    return figure


def _check_columns(frame: pd.DataFrame, *columns: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ToolkitError(f"the table has no column {', '.join(map(repr, missing))}")


# ------------------------------------------------------------------------------------ the corpus


def plot_letters_per_year(letters: pd.DataFrame) -> Figure:
    """Letters per year, stacked by genre (from :func:`letter_frame`)."""
    _check_columns(letters, "year", "genre")
    counts = pd.crosstab(letters["year"], letters["genre"].fillna("unknown"))
    figure, axes = _figure()
    counts.plot.bar(stacked=True, ax=axes, width=0.85)
    axes.set_xlabel("year of the letter")
    axes.set_ylabel("letters")
    axes.legend(title="genre", fontsize=8)
    return _caption(figure, f"{len(letters)} letters, {int(counts.index.min())}–{int(counts.index.max())}, by genre.")


def plot_sentence_lengths(sentences: pd.DataFrame, by: str = "provenance") -> Figure:
    """Distribution of words per body sentence, one histogram per value of ``by``."""
    _check_columns(sentences, "words", by)
    figure, axes = _figure()
    bins = np.arange(0, min(int(sentences["words"].max()) + 5, 100), 2)
    for value, group in sentences.groupby(sentences[by].fillna("unknown")):
        axes.hist(group["words"], bins=bins, density=True, alpha=0.55, label=f"{value} (n={len(group)}, median {group['words'].median():.0f})")
    axes.set_xlabel("words per sentence")
    axes.set_ylabel("share of sentences")
    axes.legend(title=by, fontsize=8)
    return _caption(figure, f"Sentence length of {len(sentences)} body sentences by {by}.")


# ------------------------------------------------------------------------------------ the labels


def plot_class_shares_over_time(sentences: pd.DataFrame, task: str, *, by: str = "year", column: str | None = None) -> Figure:
    """Share of each class of ``task`` (gold labels, or a run's predictions in ``column``) per
    year (or per letter with ``by="letter_id"``), with the number of sentences on top."""
    column = column or task
    _check_columns(sentences, column, by)
    data = sentences[sentences[column].notna()]
    shares = pd.crosstab(data[by], data[column].astype(str), normalize="index")
    order = [c for c in getattr(sentences[task].dtype, "categories", shares.columns) if c in shares.columns]
    shares = shares[order]
    figure, axes = _figure(9, 4.8)
    shares.plot.bar(stacked=True, ax=axes, width=0.9, colormap="tab20")
    for x, n in enumerate(data.groupby(by).size().reindex(shares.index)):
        axes.text(x, 1.01, str(n), ha="center", fontsize=6, rotation=90 if by == "letter_id" else 0)
    axes.set_ylim(0, 1.08)
    axes.set_xlabel(by.replace("_", " "))
    axes.set_ylabel(f"share of sentences ({task})")
    axes.legend(title=task, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    source = "gold labels" if column == task else f"predictions of {column}"
    return _caption(figure, f"Classes of {task} per {by.replace('_', ' ')} ({source}); numbers: sentences.")


def plot_share_over_time(sentences: pd.DataFrame, task: str, label: str, *, where: dict[str, str] | None = None,
                         by: str = "year", min_sentences: int = 5) -> Figure:
    """Share of sentences labelled ``label`` for ``task`` per year among those matching ``where``
    (e.g. the share of critical sentences among those about Russia), with a 95% Wilson interval;
    years with fewer than ``min_sentences`` matching sentences are left out."""
    data = sentences
    for column, value in (where or {}).items():
        _check_columns(data, column)
        data = data[data[column] == value]
    _check_columns(data, task, by)
    grouped = data.groupby(by)[task].agg(n="size", k=lambda labels: int((labels == label).sum()))
    grouped = grouped[grouped["n"] >= min_sentences]
    if grouped.empty:
        raise ToolkitError(f"no {by} has {min_sentences} or more sentences matching {where or 'everything'}")
    share = grouped["k"] / grouped["n"]
    low, high = _wilson(grouped["k"].to_numpy(), grouped["n"].to_numpy())
    figure, axes = _figure()
    axes.errorbar(grouped.index.astype(float), share, yerr=[share - low, high - share], fmt="o-", capsize=3)
    axes.set_ylim(0, 1)
    axes.set_xlabel(by)
    subset = ", ".join(f"{column} = {value}" for column, value in (where or {}).items()) or "all sentences"
    axes.set_ylabel(f"share {task} = {label}")
    return _caption(figure, f"Share of {label} ({task}) among {subset}, per {by}, with 95% Wilson intervals; "
                            f"{int(grouped['n'].sum())} sentences.")


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def plot_crosstab(sentences: pd.DataFrame, rows: str, columns: str, *, normalise: str = "index") -> Figure:
    """Heatmap of ``rows`` × ``columns`` (e.g. topic × stance): row shares in colour, counts in the cells."""
    _check_columns(sentences, rows, columns)
    counts = pd.crosstab(sentences[rows], sentences[columns])
    shares = pd.crosstab(sentences[rows], sentences[columns], normalize=normalise)
    figure, axes = _figure(1.2 + 1.1 * len(counts.columns), 1.2 + 0.45 * len(counts.index))
    image = axes.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(counts.columns)), [str(c) for c in counts.columns], rotation=30, ha="right")
    axes.set_yticks(range(len(counts.index)), [str(i) for i in counts.index])
    for (i, j), value in np.ndenumerate(counts.to_numpy()):
        axes.text(j, i, str(value), ha="center", va="center", fontsize=7,
                  color="white" if shares.to_numpy()[i, j] > 0.6 else "black")
    axes.set_xlabel(columns)
    axes.set_ylabel(rows)
    figure.colorbar(image, ax=axes, label="share of the row" if normalise == "index" else "share")
    return _caption(figure, f"{rows} × {columns}: sentences per cell; colour: share of the {'row' if normalise == 'index' else 'total'}.")


def plot_procedure_share(sentences: pd.DataFrame, *, label: str = "procedure", task: str = "topic") -> Figure:
    """Share of each letter's sentences about procedure (topic ``procedure``), letters by date,
    coloured by genre."""
    _check_columns(sentences, task, "letter_id", "date", "genre")
    per_letter = sentences.groupby("letter_id").agg(
        date=("date", "first"), genre=("genre", "first"), share=(task, lambda labels: float((labels == label).mean()))
    ).sort_values("date")
    figure, axes = _figure(10, 4.2)
    genres = sorted(per_letter["genre"].fillna("unknown").unique())
    colours = {genre: f"C{i}" for i, genre in enumerate(genres)}
    axes.bar(range(len(per_letter)), per_letter["share"], color=[colours[g] for g in per_letter["genre"].fillna("unknown")])
    axes.set_xticks(range(len(per_letter)), [d.strftime("%Y-%m") if pd.notna(d) else "?" for d in per_letter["date"]],
                    rotation=90, fontsize=6)
    axes.legend(handles=[Patch(color=colour, label=genre) for genre, colour in colours.items()], title="genre", fontsize=7)
    axes.set_xlabel("letter (date)")
    axes.set_ylabel(f"share of sentences with {task} = {label}")
    mean = per_letter.groupby(per_letter["genre"].fillna("unknown"))["share"].mean()
    return _caption(figure, "Procedure per letter; mean share by genre: " + ", ".join(f"{g} {v:.0%}" for g, v in mean.items()) + ".")


# ------------------------------------------------------------------------------------ the models


def plot_letter_scores(scores: pd.DataFrame, *, title: str = "") -> Figure:
    """Per-letter macro-F1 with intervals (from :func:`letter_scores`), letters by date."""
    _check_columns(scores, "macro_f1", "low", "high", "letter_id")
    figure, axes = _figure(10, 4.2)
    x = np.arange(len(scores))
    axes.errorbar(x, scores["macro_f1"], yerr=[scores["macro_f1"] - scores["low"], scores["high"] - scores["macro_f1"]],
                  fmt="o", markersize=3, capsize=2)
    axes.set_xticks(x, scores["letter_id"], rotation=90, fontsize=5)
    axes.set_ylim(0, 1)
    axes.set_xlabel("held-out letter (by date)")
    axes.set_ylabel("macro-F1")
    if title:
        axes.set_title(title)
    worst = scores.nsmallest(3, "macro_f1")
    return _caption(figure, f"Macro-F1 per held-out letter with 95% intervals over its sentences; median {scores['macro_f1'].median():.2f}; "
                            "lowest: " + ", ".join(f"{row.letter_id} {row.macro_f1:.2f}" for row in worst.itertuples()) + ".")


def plot_forest(runs: pd.DataFrame, *, task: str | None = None) -> Figure:
    """Forest plot: each run's macro-F1 with its interval (from :func:`run_frame`), majority baseline marked."""
    _check_columns(runs, "run", "task", "macro_f1", "low", "high")
    data = runs if task is None else runs[runs["task"] == task]
    data = data.sort_values("macro_f1")
    figure, axes = _figure(8, 1 + 0.35 * len(data))
    y = np.arange(len(data))
    axes.errorbar(data["macro_f1"], y, xerr=[data["macro_f1"] - data["low"], data["high"] - data["macro_f1"]], fmt="o", capsize=3)
    if "majority_macro_f1" in data:
        axes.scatter(data["majority_macro_f1"], y, marker="|", color="gray", label="majority baseline")
        axes.legend(fontsize=7, loc="lower right")
    axes.set_yticks(y, [f"{row.run} · {row.task}" for row in data.itertuples()], fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_xlabel("macro-F1 (95% interval)")
    return _caption(figure, f"{len(data)} runs{' for ' + task if task else ''}, intervals as each run computed them.")


def plot_confusion(sentences: pd.DataFrame, run: str, task: str, *, normalise: bool = True) -> Figure:
    """Confusion matrix of a run's predictions against the gold labels (rows: gold)."""
    predicted_column, _ = prediction_columns(sentences, run, task)
    data = sentences[sentences[predicted_column].notna()]
    classes = list(getattr(sentences[task].dtype, "categories", sorted(data[task].unique())))
    counts = pd.crosstab(data[task].astype(str), data[predicted_column].astype(str)).reindex(index=classes, columns=classes, fill_value=0)
    shown = counts.div(counts.sum(axis=1).replace(0, 1), axis=0) if normalise else counts
    figure, axes = _figure(1.5 + 0.7 * len(classes), 1.2 + 0.6 * len(classes))
    image = axes.imshow(shown.to_numpy(), cmap="Blues", vmin=0, vmax=1 if normalise else None)
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    for (i, j), value in np.ndenumerate(counts.to_numpy()):
        axes.text(j, i, str(value), ha="center", va="center", fontsize=7, color="white" if shown.to_numpy()[i, j] > 0.6 else "black")
    axes.set_xlabel(f"predicted by {run}")
    axes.set_ylabel(f"gold {task}")
    figure.colorbar(image, ax=axes, label="share of the gold class" if normalise else "sentences")
    pairs = counts.where(~np.eye(len(classes), dtype=bool), 0).stack().nlargest(3)
    return _caption(figure, f"{task}: {len(data)} sentences; most frequent errors (gold → predicted): "
                            + ", ".join(f"{g} → {p} ({n})" for (g, p), n in pairs.items() if n) + ".")


def plot_top_features(top_features: dict[str, list], *, classes: Sequence[str] | None = None, n: int = 10) -> Figure:
    """The ``n`` heaviest features of each class (a run's ``top_features.json``), one panel per class."""
    classes = list(classes or top_features)
    columns = min(3, len(classes))
    rows = int(np.ceil(len(classes) / columns))
    figure, axes = _figure(4 * columns, 2.6 * rows, nrows=rows, ncols=columns, squeeze=False)
    for axis, label in zip(axes.flat, classes):
        features = top_features[label][:n][::-1]
        axis.barh([name.replace("__", ": ") for name, _ in features], [weight for _, weight in features])
        axis.set_title(label, fontsize=9)
        axis.tick_params(axis="y", labelsize=6)
        axis.set_xlabel("weight")
    for axis in list(axes.flat)[len(classes):]:
        axis.set_visible(False)
    return _caption(figure, f"The {n} features with the largest weight for each class (word: word n-grams, char: character n-grams, "
                            "section/neighbours/letter: context).")


def plot_learning_curves(curves: dict) -> Figure:
    """Learning curves: a ``labels simulate`` result (macro-F1 against labelled sentences per
    strategy, mean ± sd) or a transformer run's training history (loss and validation macro-F1
    per epoch)."""
    figure, axes = _figure()
    if "curves" in curves and "sizes" in curves:
        sizes = np.array(curves["sizes"])
        for name, curve in curves["curves"].items():
            mean, spread = np.array(curve["mean"]), np.array(curve["sd"])
            reached = curve.get("labels_to_reach_95%")
            axes.plot(sizes, mean, marker="o", markersize=3, label=f"{name} ({TARGET_SHARE:.0%} at {reached or '—'})")
            axes.fill_between(sizes, mean - spread, mean + spread, alpha=0.15)
        full = curves.get("full_pool_macro_f1")
        if full is not None:
            axes.axhline(full, color="black", linewidth=0.8, linestyle="--", label=f"whole pool ({curves.get('pool_sentences', '')})")
            axes.axhline(TARGET_SHARE * full, color="gray", linewidth=0.8, linestyle=":", label=f"{TARGET_SHARE:.0%} of it")
        axes.set_xlabel("labelled sentences")
        axes.set_ylabel(f"macro-F1 on {len(curves.get('test_letters', []))} held-out letters ({curves.get('task', '')})")
        axes.legend(fontsize=8)
        return _caption(figure, f"Active learning, simulated: mean ± sd over {len(curves.get('seeds', []))} seeds on "
                                f"{len(curves.get('test_letters', []))} held-out letters.")
    history = curves.get("history")
    if not history:
        raise ToolkitError("no learning curve here: pass a `labels simulate` result or a training history ({'history': [...]})")
    epochs = [record["epoch"] for record in history]
    axes.plot(epochs, [record["train_loss"] for record in history], marker="o", label="training loss")
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    scored = [record for record in history if record.get("validation_macro_f1") is not None]
    if scored:
        right = axes.twinx()
        right.plot([r["epoch"] for r in scored], [r["validation_macro_f1"] for r in scored], marker="s", color="C1", label="validation macro-F1")
        right.set_ylabel("validation macro-F1")
    return _caption(figure, f"Training history over {len(history)} epochs.")
