"""TF-IDF baselines as scikit-learn pipelines, plus majority and stratified-random baselines.

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

__all__ = ["ProbabilisticLinearSVC", "TextColumn", "build_baseline", "build_tfidf_pipeline", "top_features"]


class TextColumn(BaseEstimator, TransformerMixin):
    """Take the ``text`` field of sentence records (strings pass through)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [row["text"] if isinstance(row, dict) else row for row in X]


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
    *, features: str, classifier: str, C: float, class_weight: str | None, word_ngrams, char_ngrams, min_df: int, seed: int
) -> Pipeline:
    """Word and/or character n-gram TF-IDF (sublinear TF) into logistic regression or a linear SVM."""
    parts = []
    if features in ("word", "word+char"):
        parts.append(("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(word_ngrams), sublinear_tf=True, min_df=min_df, lowercase=True)))
    if features in ("char", "word+char"):
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams), sublinear_tf=True, min_df=min_df, lowercase=True)))
    if classifier == "logreg":
        model = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, random_state=seed)
    else:
        model = ProbabilisticLinearSVC(C=C, class_weight=class_weight, random_state=seed)
    return Pipeline([("text", TextColumn()), ("features", FeatureUnion(parts)), ("classifier", model)])


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
