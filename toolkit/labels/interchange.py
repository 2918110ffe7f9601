"""Labelling in the browser tools research groups run: takes sentences with proposals, gives
Label Studio tasks or Argilla records (and a labelling set-up for the three tasks); takes those
tools' exports, gives decisions for ``labels import``.

Formats, as the tools document them:

* **Label Studio** (JSON import/export): a list of tasks ``{"data": {...}, "predictions":
  [{"model_version", "score", "result": [...]}]}``; a choice is a result ``{"from_name": TASK,
  "to_name": "text", "type": "choices", "value": {"choices": [LABEL]}}``. An export adds
  ``"annotations": [{"completed_by", "created_at", "updated_at", "was_cancelled", "result"}]``.
  The labelling config is the XML of ``<View>``, ``<Text>`` and one ``<Choices>`` per task.
* **Argilla** (2.x, ``Record.to_dict`` / ``Record.from_dict``): ``{"id", "fields", "metadata",
  "suggestions": {TASK: {"value", "score", "agent"}}, "responses": {TASK: [{"value",
  "user_id"}]}}``; the dataset has one ``LabelQuestion`` per task.

Proposals travel as the tools' predictions or suggestions, never as annotations or responses:
only what a person submitted comes back as a decision. A sentence on which the tool's annotators
disagree is refused until someone decides (the error names the sentences).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from ..errors import LabelError
from .schema import LabelSchema

__all__ = [
    "INTERCHANGE_FORMATS",
    "argilla_records",
    "argilla_settings",
    "decisions_from_argilla",
    "decisions_from_label_studio",
    "label_studio_config",
    "label_studio_tasks",
]

INTERCHANGE_FORMATS = ("label-studio", "argilla")
_CONTEXT_FIELDS = ("section", "previous", "next")


def _proposal(row: Mapping[str, Any], task: str) -> tuple[str | None, float | None, str | None]:
    """The proposed label of ``task`` with its confidence and source, if the row has one."""
    proposal = (row.get("proposal") or {}).get(task)
    confidence = (row.get("confidence") or {}).get(task)
    source = (row.get("source") or {}).get(task)
    return proposal, confidence, source


# ---------------------------------------------------------------- Label Studio


def label_studio_tasks(rows: Sequence[Mapping[str, Any]], schema: LabelSchema) -> list[dict[str, Any]]:
    """One Label Studio task per sentence row, with its proposals as a prediction per source."""
    tasks = []
    for row in rows:
        data = {"id": row["id"], "letter_id": row["letter_id"], "text": row["text"]}
        data.update({name: row.get(name) or "" for name in _CONTEXT_FIELDS})
        by_source: dict[str, list[tuple[str, str, float | None]]] = {}
        for task in schema.task_names:
            label, confidence, source = _proposal(row, task)
            if label is not None:
                schema.check_label(task, label, f"proposal for {row['id']}")
                by_source.setdefault(source or "proposal", []).append((task, label, confidence))
        predictions = []
        for source, choices in by_source.items():
            scores = [confidence for _, _, confidence in choices if confidence is not None]
            prediction: dict[str, Any] = {
                "model_version": source,
                "result": [{"from_name": task, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
                           for task, label, _ in choices],
            }
            if scores:
                prediction["score"] = round(sum(scores) / len(scores), 6)
            predictions.append(prediction)
        tasks.append({"data": data, "predictions": predictions})
    return tasks


def label_studio_config(schema: LabelSchema) -> str:
    """The labelling interface: heading and neighbours around the sentence, one single choice per
    task, each class with its codebook description as the hint."""
    lines = [
        "<View>",
        '  <Header value="$section"/>',
        '  <Text name="previous" value="$previous"/>',
        '  <Text name="text" value="$text"/>',
        '  <Text name="next" value="$next"/>',
    ]
    for task, spec in schema.tasks.items():
        lines.append(f'  <Header value={quoteattr(task)}/>')
        lines.append(f'  <Choices name={quoteattr(task)} toName="text" choice="single" showInline="true" required="true">')
        for label in spec.classes:
            hint = spec.descriptions.get(label) or label
            lines.append(f"    <Choice value={quoteattr(label)} hint={quoteattr(hint)}/>")
        lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def _label_studio_user(completed_by: Any) -> str:
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or f"label-studio:{completed_by.get('id')}")
    return f"label-studio:{completed_by}"


def decisions_from_label_studio(tasks: Sequence[Mapping[str, Any]], schema: LabelSchema) -> list[dict[str, Any]]:
    """The submitted annotations of a Label Studio export as decisions (``id``, one label per
    task, ``annotator``, ``time``); tasks without a submitted annotation are left out."""
    decisions = []
    for number, task in enumerate(tasks, 1):
        data = task.get("data") or {}
        if "id" not in data:
            raise LabelError(f"task {number}: no sentence id in its data (was it exported by `toolkit labels export`?)")
        submitted = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        answers = []
        for annotation in submitted:
            labels = {}
            for result in annotation.get("result") or []:
                choices = (result.get("value") or {}).get("choices") or []
                if result.get("from_name") in schema.task_names and len(choices) == 1:
                    labels[result["from_name"]] = choices[0]
            if labels:
                time = annotation.get("updated_at") or annotation.get("created_at")
                answers.append({"annotator": _label_studio_user(annotation.get("completed_by")), "time": time, **labels})
        decision = _one_decision(data["id"], answers, schema, f"task {number}")
        if decision:
            decisions.append(decision)
    return decisions


# --------------------------------------------------------------------- Argilla


def argilla_records(rows: Sequence[Mapping[str, Any]], schema: LabelSchema) -> list[dict[str, Any]]:
    """One Argilla record per sentence row (``Record.from_dict`` reads it), proposals as suggestions."""
    records = []
    for row in rows:
        suggestions = {}
        for task in schema.task_names:
            label, confidence, source = _proposal(row, task)
            if label is not None:
                schema.check_label(task, label, f"proposal for {row['id']}")
                suggestions[task] = {"value": label, "score": confidence, "agent": source or "proposal"}
        records.append({
            "id": row["id"],
            "fields": {"text": row["text"], **{name: row.get(name) or "" for name in _CONTEXT_FIELDS}},
            "metadata": {"letter_id": row["letter_id"]},
            "suggestions": suggestions,
            "responses": {},
        })
    return records


def argilla_settings(schema: LabelSchema) -> dict[str, Any]:
    """The dataset's fields and questions, as plain data (one ``LabelQuestion`` per task)."""
    return {
        "fields": [{"name": "text", "required": True}] + [{"name": name, "required": False} for name in _CONTEXT_FIELDS],
        "questions": [
            {"name": task, "type": "label_selection", "required": True,
             "labels": {label: spec.descriptions.get(label) or label for label in spec.classes}}
            for task, spec in schema.tasks.items()
        ],
        "metadata": [{"name": "letter_id", "type": "terms"}],
    }


def decisions_from_argilla(records: Sequence[Mapping[str, Any]], schema: LabelSchema) -> list[dict[str, Any]]:
    """The responses of exported Argilla records as decisions; records without one are left out."""
    decisions = []
    for number, record in enumerate(records, 1):
        if not record.get("id"):
            raise LabelError(f"record {number}: no sentence id (was it exported by `toolkit labels export`?)")
        by_user: dict[str, dict[str, Any]] = {}
        for task, answers in (record.get("responses") or {}).items():
            if task not in schema.task_names:
                continue
            for answer in answers:
                user = f"argilla:{answer.get('user_id')}"
                by_user.setdefault(user, {"annotator": user, "time": None})[task] = answer.get("value")
        decision = _one_decision(record["id"], list(by_user.values()), schema, f"record {number}")
        if decision:
            decisions.append(decision)
    return decisions


# ----------------------------------------------------------------------- shared


def _one_decision(sentence_id: str, answers: list[dict[str, Any]], schema: LabelSchema, where: str) -> dict[str, Any] | None:
    """One decision from the answers of one or more annotators; disagreement is an error."""
    if not answers:
        return None
    for answer in answers:
        missing = [task for task in schema.task_names if task not in answer]
        if missing:
            raise LabelError(f"{where} ({sentence_id}): {answer['annotator']} gave no label for {', '.join(missing)}")
    complete = answers
    for answer in complete:
        for task in schema.task_names:
            schema.check_label(task, answer[task], f"{where} ({sentence_id})")
    labels = {tuple(answer[task] for task in schema.task_names) for answer in complete}
    if len(labels) > 1:
        who = ", ".join(sorted(answer["annotator"] for answer in complete))
        raise LabelError(f"{where} ({sentence_id}): the annotators disagree ({who}); decide in the tool first")
    first = min(complete, key=lambda answer: answer.get("time") or "")
    decision = {"id": sentence_id, **{task: first[task] for task in schema.task_names}, "annotator": first["annotator"]}
    if first.get("time"):
        decision["time"] = first["time"]
    return decision
