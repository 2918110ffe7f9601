"""Sentence labels: takes segmented letters, gives labels per task with their trace.

One module per concern: :mod:`.schema` (tasks and classes from ``labels/schema.yaml``),
:mod:`.proposals` (rule-based proposals), :mod:`.store` (decisions, revisions, validation),
:mod:`.agreement` (kappa and alpha), :mod:`.quality` (likely label errors, near-duplicates),
:mod:`.review` (the notebook review session) and :mod:`.card` (the data card's figures).
"""

from .agreement import agreement, agreement_with_reliability
from .proposals import propose, propose_label
from .schema import LabelSchema, TaskSchema, load_schema
from .store import (
    apply_revisions,
    check_labels,
    export_rows,
    load_annotations,
    load_first_pass_snapshot,
    load_reliability,
    store_decisions,
    store_reliability,
    validate_annotations,
)

__all__ = [
    "LabelSchema",
    "TaskSchema",
    "agreement",
    "agreement_with_reliability",
    "apply_revisions",
    "check_labels",
    "export_rows",
    "load_annotations",
    "load_first_pass_snapshot",
    "load_reliability",
    "load_schema",
    "propose",
    "propose_label",
    "store_decisions",
    "store_reliability",
    "validate_annotations",
]
