"""Agreement between annotators: takes two labellings of the same sentences, gives Cohen's kappa
and Krippendorff's alpha per task (and the stored-vs-blind comparison the data card reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import LabelError
from .schema import LabelSchema
from .store import load_annotations, load_first_pass_snapshot, load_reliability

__all__ = ["agreement", "agreement_with_reliability", "disagreements"]


def agreement(first: Mapping[str, Mapping[str, Any]], second: Mapping[str, Mapping[str, Any]], tasks: Iterable[str]) -> dict[str, dict[str, float]]:
    """Cohen's kappa and Krippendorff's alpha (nominal) per task on the sentences both labelled.

    ``first`` and ``second`` map sentence id to a record with one label per task.
    """
    import krippendorff
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    shared = sorted(set(first) & set(second))
    if len(shared) < 2:
        raise LabelError(f"agreement needs at least two sentences labelled by both; found {len(shared)}")
    results = {}
    for task in tasks:
        a = [first[i][task] for i in shared]
        b = [second[i][task] for i in shared]
        categories = sorted(set(a) | set(b))
        code = {label: index for index, label in enumerate(categories)}
        matrix = np.array([[code[x] for x in a], [code[x] for x in b]], dtype=float)
        alpha = (
            krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
            if len(categories) > 1
            else 1.0
        )
        results[task] = {
            "n": len(shared),
            "observed_agreement": float(np.mean([x == y for x, y in zip(a, b)])),
            "cohen_kappa": float(cohen_kappa_score(a, b)) if len(categories) > 1 else 1.0,
            "krippendorff_alpha": float(alpha),
        }
    return results


def agreement_with_reliability(
    labels_dir: Path, schema: LabelSchema, exclude_letters: Sequence[str] = (), against: str = "stored"
) -> dict[str, dict[str, dict[str, float]]]:
    """Per blind annotator under ``reliability/``: agreement with the stored labels (or the first-pass snapshot)."""
    reference = load_first_pass_snapshot(labels_dir) if against == "first-pass" else load_annotations(labels_dir)
    first = {row["id"]: row for row in reference if row["letter_id"] not in set(exclude_letters)}
    second = load_reliability(labels_dir)
    if not second:
        raise LabelError(f"no blind re-labels under {Path(labels_dir) / 'reliability'}")
    return {name: agreement(first, {row["id"]: row for row in rows}, schema.task_names) for name, rows in second.items()}


def disagreements(
    stored: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]], tasks: Iterable[str], other_name: str
) -> list[dict[str, Any]]:
    """Every (sentence, task) where ``other`` (a second annotator's labels, or a run's
    predictions as ``{"id", task: label}``) differs from the stored label, as lines for an
    adjudicator: ``labels revise`` format with ``new`` and ``rule`` left empty, and the other
    label beside it. The adjudicator fills in ``new`` (either label, or a third) with the rule or
    reason; ``labels revise --annotator NAME`` then records who decided, what and why. A kept
    stored label is recorded too (``new`` equal to ``old``)."""
    by_id = {row["id"]: row for row in stored}
    rows = []
    for row in other:
        mine = by_id.get(row["id"])
        if mine is None:
            continue
        for task in tasks:
            if task in row and row[task] != mine[task]:
                rows.append({"id": row["id"], "task": task, "old": mine[task], "new": None, "rule": None,
                             "other": {"by": other_name, "label": row[task]}, "letter_id": mine["letter_id"],
                             "text": mine["text"]})
    return rows
