"""Model cards for exported models: takes a run's config, metrics and a description of its
training data, gives a ``README.md`` with Hugging Face YAML metadata (language, task, labels,
base model, held-out scores) and the facts a user of the model needs: the input format with
its context, what it was trained on (and how much of that was written for the project), how it
was evaluated, and what it should not be used for.

Imports neither torch nor transformers; the YAML header is built by ``huggingface_hub``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models.context import CONTEXT_SEPARATOR, context_parts

__all__ = ["TrainingData", "model_card", "multitask_index_card"]

_PART_WORDS = {
    "section": "the heading of the section the sentence is in",
    "neighbours": "the previous and the next sentence of the same letter",
    "letter": "the title of the annex the sentence is in and the letter's opening sentence (which names the meeting)",
}
_SPLIT_WORDS = {
    "leave_one_letter_out": "leave-one-letter-out: every letter is held out once and predicted by a model trained on all the others",
    "grouped_kfold": "grouped k-fold over letters: no letter has sentences on both sides of a split",
    "time": "a time split: the latest letters are held out",
    "holdout": "fixed held-out letters",
}


@dataclass(frozen=True)
class TrainingData:
    """What a model was trained on, for its card."""

    letters: int
    sentences: int | None
    letters_by_provenance: Mapping[str, int]
    sentences_by_provenance: Mapping[str, int] = field(default_factory=dict)
    label_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # task -> label -> sentences
    codebook: Any = None
    note: str | None = None


def _card_data(*, task: str, library: str, base_model: str | None, name: str, figures: Mapping[str, Any], labels: Sequence[str]):
    from huggingface_hub import EvalResult, ModelCardData

    model = figures["model"]
    low, high = model["macro_f1_interval"]
    results = [
        EvalResult(task_type="text-classification", dataset_type="kamerbrieven-sentences", dataset_name=f"Kamerbrieven sentences ({task})",
                   metric_type="f1", metric_value=round(float(model["macro_f1"]), 4), metric_name="macro-F1 on held-out letters",
                   metric_config="macro"),
        EvalResult(task_type="text-classification", dataset_type="kamerbrieven-sentences", dataset_name=f"Kamerbrieven sentences ({task})",
                   metric_type="f1", metric_value=round(float(low), 4), metric_name="macro-F1, lower bound of the 95% interval",
                   metric_config="macro-ci-low"),
        EvalResult(task_type="text-classification", dataset_type="kamerbrieven-sentences", dataset_name=f"Kamerbrieven sentences ({task})",
                   metric_type="f1", metric_value=round(float(high), 4), metric_name="macro-F1, upper bound of the 95% interval",
                   metric_config="macro-ci-high"),
    ]
    tags = ["kamerbrieven", "dutch", "political-science", "sentence-classification", task]
    if library == "sklearn":
        tags += ["skops", "tfidf"]
    data = ModelCardData(language=["nl"], library_name=library, pipeline_tag="text-classification", tags=tags,
                         model_name=name, eval_results=results)
    if base_model and not base_model.startswith((".", "/", "~", "models/")):
        data.base_model = base_model  # a hub id; local paths mean nothing on the hub
    data.labels = list(labels)
    return data


def _input_section(config: Mapping[str, Any], library: str) -> list[str]:
    mode = config["model"].get("context") or "none"
    max_length = config["model"].get("max_length")
    lines = ["## Input", ""]
    if mode == "none":
        lines.append("One Dutch sentence from the body of a letter (no context).")
    else:
        parts = "; ".join(_PART_WORDS[part] for part in context_parts(mode))
        lines += [
            f"One Dutch sentence and its context (context mode `{mode}`): {parts}. The parts are joined by "
            f"`{CONTEXT_SEPARATOR}` in that order; empty parts are left out.",
        ]
        if library == "transformers":
            lines.append(f"The sentence is the tokenizer's first segment and the context its second (a text pair, "
                         f"`longest_first` truncation to {max_length} tokens).")
        else:
            lines.append("The TF-IDF model reads the sentence and each context part as separate bags of words.")
    lines.append("")
    return lines


def _usage_section(config: Mapping[str, Any], library: str, subfolder: str | None) -> list[str]:
    mode = config["model"].get("context") or "none"
    max_length = config["model"].get("max_length")
    where = "DIR" if subfolder is None else f"DIR/{subfolder}"
    lines = ["## How to use", ""]
    if library == "transformers":
        call = ('classify({"text": sentence, "text_pair": context}, truncation="longest_first", max_length=%s)' % max_length
                if mode != "none" else f'classify(sentence, truncation=True, max_length={max_length})')
        lines += ["```python", "from transformers import pipeline", "",
                  f'classify = pipeline("text-classification", model="{where}")  # or the hub id',
                  call, "```", ""]
        if mode != "none":
            lines += ["With the toolkit, the context of a sentence record (fields `text`, `section`, `previous`, `next`, "
                      f"`annex`, `opening`) is `toolkit.models.context.context_text(record, \"{mode}\")`.", ""]
        lines += ["`TransformerClassifier.load(DIR)` from `toolkit.models.transformer` loads the same directory "
                  "with the toolkit's records as input.", ""]
    else:
        lines += ["The model is a scikit-learn pipeline saved with skops; it takes the toolkit's sentence records "
                  "(dicts with `text`, `section`, `previous`, `next`, `annex`, `opening`). skops loads only the "
                  "types it is told to trust; the toolkit's loader trusts exactly the types its own models use:", "",
                  "```python", "from toolkit.models.baselines import load_skops_model", "",
                  'model = load_skops_model("DIR/model.skops")',
                  'model.predict([{"text": "Nederland steunt het voorstel.", "section": "Oekraïne"}])', "```", ""]
    return lines


def _data_section(data: TrainingData, task: str) -> list[str]:
    lines = ["## Training data", ""]
    provenance = ", ".join(f"{count} {kind}" for kind, count in sorted(data.letters_by_provenance.items()))
    lines.append(f"- Letters: {data.letters} ({provenance}).")
    if data.sentences is not None:
        by_kind = ", ".join(f"{count} from {kind} letters" for kind, count in sorted(data.sentences_by_provenance.items()))
        lines.append(f"- Labelled sentences: {data.sentences}" + (f" ({by_kind})." if by_kind else "."))
    if data.codebook is not None:
        lines.append(f"- Codebook version: {data.codebook}.")
    if data.note:
        lines.append(f"- {data.note}")
    lines += ["", "`reconstructed` letters were written for the project from public facts about real meetings "
              "(communiqués, council conclusions, news), in the voice of the government's letters; `original` letters "
              "are real letters to parliament. The labels are the project's own.", ""]
    counts = data.label_counts.get(task)
    if counts:
        lines += ["| label | sentences |", "| --- | ---: |"] + [f"| {label} | {count} |" for label, count in sorted(counts.items())] + [""]
    return lines


def _evaluation_section(config: Mapping[str, Any], figures: Mapping[str, Any], seeds: Sequence[int]) -> list[str]:
    model = figures["model"]
    low, high = model["macro_f1_interval"]
    split = config["data"]["split"]["kind"]
    baselines = figures.get("baselines", {})
    lines = ["## Evaluation", "",
             f"Split: {_SPLIT_WORDS.get(split, split)}. {model['n']} sentences in {model['test_letters']} held-out "
             f"letter{'s' if model['test_letters'] != 1 else ''}.", "",
             "| | macro-F1 | 95% interval |", "| --- | ---: | --- |",
             f"| this model | {model['macro_f1']:.3f} | {low:.3f}–{high:.3f} |"]
    for name in ("majority", "stratified"):
        if name in baselines:
            lines.append(f"| {name} baseline | {baselines[name]['macro_f1']:.3f} | |")
    summary = figures.get("seed_summary") or {}
    lines += ["", f"The interval resamples {model.get('interval_resamples', 'held-out letters')} (bootstrap)."]
    if summary.get("n_seeds", 1) > 1:
        lines.append(f"Over {summary['n_seeds']} seeds ({', '.join(map(str, seeds))}): mean {summary['mean']:.3f} ± {summary['std']:.3f}.")
    per_class = model.get("per_class") or {}
    if per_class:
        lines += ["", "| label | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |" for label, row in per_class.items()]
    lines.append("")
    return lines


_LIMITS = [
    "## Intended use and limits", "",
    "For research on how the Dutch government positions itself in its letters to the Tweede Kamer, mainly "
    "reports and agendas of NATO and EU council meetings: labelling sentences in bulk for analysis that a person "
    "checks. Not for decisions about people, and not as a statement of government policy.", "",
    "- Most training letters are reconstructed, not real letters: expect lower scores on real letters, and "
    "much lower on other kinds of government text.",
    "- Scores are macro-F1 over labels; rare labels have few examples and wide intervals.",
    "- The labels follow the project's codebook; other codebooks define stance, actor and topic differently.", "",
]


def model_card(*, config: Mapping[str, Any], metrics: Mapping[str, Any], data: TrainingData, task: str, labels: Sequence[str],
               library: str, run_name: str, command: str | None = None, subfolder: str | None = None) -> str:
    """The README.md of one exported single-task model (``library``: ``transformers`` or ``sklearn``)."""
    from huggingface_hub import ModelCard

    figures = metrics["tasks"][task]
    base = config["model"].get("name_or_path") if config["model"]["kind"] == "transformer" else None
    card_data = _card_data(task=task, library=library, base_model=base, name=f"{run_name}-{task}", figures=figures, labels=labels)
    kind = f"fine-tuned from `{base}`" if base else f"TF-IDF ({config['model'].get('features')}) + {config['model'].get('classifier')}"
    body = [f"# Kamerbrieven {task} classifier ({run_name})", "",
            f"Classifies Dutch sentences from government letters to parliament by **{task}**; {kind}. "
            f"Exported from the toolkit's run `{run_name}`.", "",
            "## Labels", "", ", ".join(f"`{label}`" for label in labels), ""]
    body += _input_section(config, library) + _usage_section(config, library, subfolder)
    body += _data_section(data, task) + _evaluation_section(config, figures, metrics.get("seeds", []))
    training = config.get("training", {})
    settings = ["epochs", "learning_rate", "batch_size", "warmup_ratio", "weight_decay", "early_stopping_patience"] if base else ["tune"]
    body += ["## Training", "", f"- Class weight: {config['model'].get('class_weight')}; seeds: {metrics.get('seeds')}."]
    body += [f"- {name}: {training.get(name)}" for name in settings if name in training]
    if command:
        body += [f"- Trained with `toolkit {command}`; `config.yaml` beside this card is its complete experiment "
                 "config (`toolkit run config.yaml` repeats it on the same labels)."]
    body += [""] + _LIMITS
    return str(ModelCard("---\n" + card_data.to_yaml() + "\n---\n\n" + "\n".join(body)))


def multitask_index_card(*, run_name: str, tasks: Sequence[str], metrics: Mapping[str, Any], base_model: str | None) -> str:
    """The top README.md of a multi-task export: one standard model per task, in sub-folders."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(language=["nl"], library_name="transformers", pipeline_tag="text-classification",
                         tags=["kamerbrieven", "dutch", "political-science", "multi-task", *tasks])
    if base_model and not base_model.startswith((".", "/", "~", "models/")):
        data.base_model = base_model
    rows = [f"| `{task}` | {metrics['tasks'][task]['model']['macro_f1']:.3f} | `{task}/` |" for task in tasks]
    body = [f"# Kamerbrieven multi-task classifier ({run_name})", "",
            "One encoder was fine-tuned on every task at once; each task is exported here as its own standard "
            "classifier (the shared encoder plus that task's head), in its own folder with its own card. This folder "
            "itself is not a model: loading it as one raises an error.", "",
            "| task | macro-F1 (held-out letters) | folder |", "| --- | ---: | --- |", *rows, "",
            "```python", "from transformers import pipeline", "",
            f'classify = pipeline("text-classification", model="DIR/{tasks[0]}")',
            f'# from the hub: AutoModelForSequenceClassification.from_pretrained(REPO, subfolder="{tasks[0]}")', "```", ""]
    return str(ModelCard("---\n" + data.to_yaml() + "\n---\n\n" + "\n".join(body)))
