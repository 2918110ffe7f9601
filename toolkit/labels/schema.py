"""The label scheme: takes ``labels/schema.yaml``, gives the tasks, their classes and the
proposers' cues, checked (data, not code: a task or class is added there, not in Python).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LabelError

__all__ = ["PROPOSERS", "LabelSchema", "TaskSchema", "load_schema"]

PROPOSERS = ("section_then_sentence", "earliest_cue", "cue_priority")


@dataclass(frozen=True)
class TaskSchema:
    name: str
    classes: tuple[str, ...]
    default: str
    proposer: str
    descriptions: Mapping[str, str] = field(default_factory=dict)
    cues: Mapping[str, tuple[re.Pattern, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelSchema:
    tasks: Mapping[str, TaskSchema]
    #: The codebook version labels are made under (``labels/CODEBOOK.md``).
    codebook: int = 1

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    def check_label(self, task: str, value: Any, where: str) -> None:
        if task not in self.tasks:
            raise LabelError(f"{where}: unknown task {task!r}; the schema has {', '.join(self.tasks)}")
        if value not in self.tasks[task].classes:
            raise LabelError(
                f"{where}: {task}={value!r} is not in the schema; allowed: {', '.join(self.tasks[task].classes)}"
            )


def load_schema(labels_dir: Path) -> LabelSchema:
    """Read and validate ``labels/schema.yaml``."""
    import yaml

    path = Path(labels_dir) / "schema.yaml"
    if not path.exists():
        raise LabelError(f"{path}: label schema not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tasks: dict[str, TaskSchema] = {}
    for name, spec in (data.get("tasks") or {}).items():
        classes = spec.get("classes") or {}
        if len(classes) < 2:
            raise LabelError(f"{path}: task {name!r} needs at least two classes")
        proposer = spec.get("proposer", "cue_priority")
        if proposer not in PROPOSERS:
            raise LabelError(f"{path}: task {name!r} has proposer {proposer!r}; allowed: {', '.join(PROPOSERS)}")
        default = spec.get("default")
        if default not in classes:
            raise LabelError(f"{path}: task {name!r} default {default!r} is not one of its classes")
        cues = {}
        for label, class_spec in classes.items():
            try:
                cues[label] = tuple(re.compile(cue, re.IGNORECASE) for cue in (class_spec or {}).get("cues", []))
            except re.error as exc:
                raise LabelError(f"{path}: bad cue for {name}/{label}: {exc}") from None
        tasks[name] = TaskSchema(
            name=name,
            classes=tuple(classes),
            default=default,
            proposer=proposer,
            descriptions={label: (spec or {}).get("description", "") for label, spec in classes.items()},
            cues=cues,
        )
    if not tasks:
        raise LabelError(f"{path}: no tasks defined")
    codebook = data.get("codebook", 1)
    if not isinstance(codebook, int) or isinstance(codebook, bool) or codebook < 1:
        raise LabelError(f"{path}: codebook must be a version number, got {codebook!r}")
    return LabelSchema(tasks, codebook)
