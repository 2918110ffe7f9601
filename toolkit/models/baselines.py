"""TF-IDF baselines as scikit-learn pipelines, plus majority and stratified-random baselines:
take sentence records, give fitted scikit-learn pipelines.

Inputs are sentence records (dicts with at least ``text``) or plain strings, so the
runner can hand TF-IDF and transformer models the same rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from .context import context_parts, part_text
from .counts import CountOnceTfidfVectorizer, count_once_enabled

__all__ = [
    "ProbabilisticLinearSVC",
    "RecordField",
    "SKOPS_TYPES",
    "TextColumn",
    "build_baseline",
    "build_tfidf_pipeline",
    "load_skops_model",
    "save_skops_model",
    "top_features",
]


class RecordField(BaseEstimator, TransformerMixin):
    """One field of sentence records as text: ``text`` or a context part (``section``,
    ``neighbours``: the previous and next sentence of the same letter, ``letter``: its annex title
    and opening sentence). A missing field is empty text; a plain string counts as
    ``{"text": string}``."""

    def __init__(self, field: str = "text") -> None:
        self.field = field

    def fit(self, X, y=None):
        return self

    def _value(self, row) -> str:
        if not isinstance(row, dict):
            return row if self.field == "text" else ""
        if self.field == "text":
            return row.get("text") or ""
        return part_text(row, self.field) or ""

    def transform(self, X):
        return [self._value(row) for row in X]

    def get_feature_names_out(self, input_features=None):
        return np.array([self.field], dtype=object)


class TextColumn(RecordField):
    """``RecordField("text")``: the sentence itself, under the name saved plain pipelines use."""

    field = "text"  # a class attribute too, so models saved before RecordField existed still load

    def __init__(self) -> None:
        pass


class ProbabilisticLinearSVC(LinearSVC):
    """LinearSVC with ``predict_proba`` as the softmax of its decision scores.

    These scores are not calibrated probabilities; they rank the classes and give the
    runner one interface for every model. (Calibration by cross-validation would cost
    several extra fits per fold.)
    """

    def predict_proba(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:  # binary: one score for classes_[1]
            scores = np.column_stack([-scores, scores])
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def build_tfidf_pipeline(
    *,
    features: str,
    classifier: str,
    C: float,
    class_weight: str | None,
    word_ngrams,
    char_ngrams,
    min_df: int,
    seed: int,
    context: str = "none",
    count_once: bool | None = None,
) -> Pipeline:
    """Word and/or character n-gram TF-IDF (sublinear TF) into logistic regression or a linear SVM.

    ``context`` adds the section heading, the neighbouring sentences and/or the letter's annex
    title and opening sentence as separate bags of words (features ``section__…``,
    ``neighbours__…``, ``letter__…``), so a word in the heading does not count as the same
    evidence as that word in the sentence.

    ``count_once`` (default: on, unless the environment sets ``TOOLKIT_TFIDF_COUNT_ONCE=0``) takes
    each sentence's n-gram counts from a per-process cache (:mod:`toolkit.models.counts`): the
    same features, weights and predictions, without re-counting every sentence in every fold.
    """
    vectoriser_type = CountOnceTfidfVectorizer if (count_once_enabled() if count_once is None else count_once) else TfidfVectorizer

    def tfidf(**options) -> TfidfVectorizer:
        return vectoriser_type(sublinear_tf=True, min_df=min_df, lowercase=True, **options)

    sentence = []
    if features in ("word", "word+char"):
        sentence.append(("word", tfidf(analyzer="word", ngram_range=tuple(word_ngrams))))
    if features in ("char", "word+char"):
        sentence.append(("char", tfidf(analyzer="char_wb", ngram_range=tuple(char_ngrams))))
    if context == "none":
        steps = [("text", TextColumn()), ("features", FeatureUnion(sentence))]
    else:
        parts = [(name, Pipeline([("field", RecordField("text")), ("tfidf", vectoriser)])) for name, vectoriser in sentence]
        for field in context_parts(context):
            # min_df=1: a heading occurs in one letter only, and that is what it is for
            vectoriser = vectoriser_type(analyzer="word", ngram_range=(1, 1), sublinear_tf=True, lowercase=True)
            parts.append((field, Pipeline([("field", RecordField(field)), ("tfidf", vectoriser)])))
        steps = [("features", FeatureUnion(parts))]
    if classifier == "logreg":
        model = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, random_state=seed)
    else:
        model = ProbabilisticLinearSVC(C=C, class_weight=class_weight, random_state=seed)
    return Pipeline([*steps, ("classifier", model)])


def build_baseline(strategy: str, seed: int) -> Pipeline:
    """Majority-class (``most_frequent``) or stratified-random (``stratified``) baseline."""
    return Pipeline([("text", TextColumn()), ("classifier", DummyClassifier(strategy=strategy, random_state=seed))])


def top_features(pipeline: Pipeline, n: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The ``n`` features with the largest weights for each class of a fitted linear pipeline."""
    model = pipeline.named_steps["classifier"]
    names = pipeline.named_steps["features"].get_feature_names_out()
    coefficients = np.atleast_2d(model.coef_)
    classes = list(model.classes_)
    if coefficients.shape[0] == 1 and len(classes) == 2:
        coefficients = np.vstack([-coefficients[0], coefficients[0]])
    result = {}
    for label, weights in zip(classes, coefficients):
        order = np.argsort(weights)[::-1][:n]
        result[str(label)] = [(str(names[i]), float(weights[i])) for i in order]
    return result


def save_skops_model(model, path) -> None:
    """A fitted pipeline (the best one of a tuned search) as a skops file: no pickle; compressed,
    because the n-gram vocabulary is most of it and compresses about tenfold."""
    import zipfile

    import skops.io

    estimator = model.best_estimator_ if hasattr(model, "best_estimator_") else model
    skops.io.dump(estimator, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)


#: Every type a fitted TF-IDF pipeline holds beyond the types skops trusts by itself (derived by
#: fitting every variant; ``tests/models/test_baselines.py`` checks it). Nothing else is loaded.
SKOPS_TYPES = frozenset(
    {
        "toolkit.models.baselines.ProbabilisticLinearSVC",
        "toolkit.models.baselines.RecordField",
        "toolkit.models.baselines.TextColumn",
        "toolkit.models.counts.CountOnceTfidfVectorizer",
    }
)


def load_skops_model(path):
    """A pipeline saved by :func:`save_skops_model`; a file holding any other type is refused,
    naming the type, before anything in it is loaded."""
    import skops.io

    from ..errors import RunError

    try:
        untrusted = set(skops.io.get_untrusted_types(file=path))
    except Exception as error:  # noqa: BLE001 - any failure to read the file is a damaged file
        raise RunError(f"{path}: damaged model file ({type(error).__name__}); run the experiment again with --force") from None
    unexpected = sorted(untrusted - SKOPS_TYPES)
    if unexpected:
        raise RunError(
            f"{path}: refusing to load a model file with types a toolkit run never writes: {', '.join(unexpected)}"
        )
    try:
        return skops.io.load(path, trusted=sorted(untrusted))
    except Exception as error:  # noqa: BLE001 - a file that passed the type check but does not load
        raise RunError(f"{path}: damaged model file ({type(error).__name__}); run the experiment again with --force") from None
