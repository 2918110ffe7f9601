"""The multi-task transformer: one shared encoder with a linear head per task; takes sentence
records and ``{task: labels}``, gives a fitted estimator whose ``predict_proba`` returns one matrix per task.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from sklearn.utils.validation import check_is_fitted

try:
    import torch
    from transformers import AutoModel, AutoTokenizer, DataCollatorWithPadding
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("toolkit.models.multitask needs torch and transformers: pip install -e '.[bert]'") from error

from ..errors import ModelError
from .engine import IGNORE_INDEX, atomic_directory, hf_progress_bars, pad_batch, predict_probabilities
from .training import cross_entropy_sum, label_weight
from .loading import (
    MULTITASK_ENCODER_DIR,
    MULTITASK_MODEL_TYPE,
    TOOLKIT_FILE,
    check_compatible,
    encoder_directory,
    load_pretrained,
    model_directory,
    read_toolkit_file,
    resolve_model_source,
)
from .transformer import TransformerEstimator, as_records, balanced_class_weights, is_missing, normalise_rows

__all__ = ["HEADS_FILE", "MultiTaskModule", "MultiTaskTransformerClassifier"]

#: The task heads, saved beside the encoder's standard checkpoint.
HEADS_FILE = "heads.safetensors"


class MultiTaskModule(torch.nn.Module):
    """One shared encoder, one linear head per task on the pooled sentence vector."""

    def __init__(self, encoder: torch.nn.Module, task_sizes: Mapping[str, int]) -> None:
        super().__init__()
        config = encoder.config
        self.encoder = encoder
        dropout = getattr(config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(config, "hidden_dropout_prob", 0.1)
        self.dropout = torch.nn.Dropout(dropout)
        self.heads = torch.nn.ModuleDict({task: torch.nn.Linear(config.hidden_size, size) for task, size in task_sizes.items()})
        std = getattr(config, "initializer_range", 0.02)
        for head in self.heads.values():  # as HF initialises its classifier heads
            torch.nn.init.normal_(head.weight, std=std)
            torch.nn.init.zeros_(head.bias)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        output = self.encoder(**inputs)
        pooled = getattr(output, "pooler_output", None)
        if pooled is None:
            pooled = output.last_hidden_state[:, 0]
        pooled = self.dropout(pooled)
        return {task: head(pooled) for task, head in self.heads.items()}


class MultiTaskTransformerClassifier(TransformerEstimator):
    """One shared encoder with a linear head per task, trained on the sum of the task losses.

    ``fit(X, Y)`` takes ``Y = {task: labels}``; a label of ``None`` means "not
    annotated for this task" and is left out of that task's loss (so partially
    labelled sentences still train the other heads). ``class_weight`` is None,
    "balanced", or ``{task: None | "balanced"}``. Early stopping uses the mean of
    the per-task macro-F1 on the held-out letters.

    ``save`` writes the encoder and tokenizer as a standard HF checkpoint in ``encoder/``
    (``AutoModel`` loads it, so it can also seed a single-task classifier), and
    ``heads.safetensors`` and ``toolkit.json`` beside it. The directory's own ``config.json``
    names a model type no ``Auto*`` class knows, so ``AutoModelForSequenceClassification``
    refuses it instead of adding a random head (``toolkit export`` writes one standard
    classifier per task). Fitted attributes: ``classes_``
    (``{task: sorted array}``), ``tasks_``, ``model_``, ``tokenizer_`` and the
    same run records as :class:`TransformerClassifier`.
    """

    def _task_class_weight(self, task: str) -> str | None:
        option = self.class_weight.get(task) if isinstance(self.class_weight, Mapping) else self.class_weight
        if option not in (None, "balanced"):
            raise ModelError(f"class_weight[{task!r}]: must be None or 'balanced', got {option!r}")
        return option

    def fit(self, X, Y, eval_set=None) -> "MultiTaskTransformerClassifier":
        """Fine-tune the shared encoder and all heads jointly; returns self.

        ``eval_set=(X_eval, Y_eval)``: held-out rows scored after every epoch (per task and
        their mean, in ``history_``); they do not influence training.
        """
        self._check_params()
        records = as_records(X)
        if not hasattr(Y, "items") or not len(Y):
            raise ModelError("Y: expected a non-empty dict {task: labels}")
        tasks = [str(task) for task in Y.keys()]
        for task in tasks:
            if not task or "." in task:
                raise ModelError(f"Y: task name {task!r} must be non-empty and contain no '.'")
        if isinstance(self.class_weight, Mapping) and set(self.class_weight) - set(tasks):
            raise ModelError(f"class_weight: unknown task(s) {', '.join(sorted(set(self.class_weight) - set(tasks)))}")
        columns: dict[str, list[Any]] = {}
        classes: dict[str, np.ndarray] = {}
        for task, values in Y.items():
            values = [None if is_missing(v) else v for v in values]
            if len(values) != len(records):
                raise ModelError(f"Y[{task!r}]: expected one label per input ({len(records)}), got {len(values)}")
            columns[str(task)] = values
            present = np.unique(np.asarray([v for v in values if v is not None]))
            if len(present) < 2:
                raise ModelError(f"Y[{task!r}]: need at least two classes, got {present.tolist()}")
            classes[str(task)] = present
        started = time.perf_counter()
        self._start()
        device = torch.device(self.device_)
        with self._runtime():
            self.model_, self.tokenizer_ = self._load_for_training(classes)
            self.model_.to(device)
            self.classes_, self.tasks_ = classes, tasks
            targets = {}
            for task in tasks:
                index = {label: i for i, label in enumerate(classes[task].tolist())}
                targets[task] = np.array([IGNORE_INDEX if v is None else index[v] for v in columns[task]], dtype=np.int64)
            features = self._features(records)
            train, validation = self._split(records)
            weights = {}
            for task in tasks:
                if self._task_class_weight(task) == "balanced":
                    values = balanced_class_weights(targets[task][train], len(classes[task]))
                    weights[task] = torch.tensor(values, dtype=torch.float32, device=device)
            label_record = {task: classes[task].tolist() for task in tasks}
            target_record = {task: [None if v is None else str(v) for v in columns[task]] for task in tasks}
            monitor = self._monitor(eval_set)
            self._run(features, targets, train, validation, weights, self._fingerprint(records, target_record), label_record, monitor)
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _load_for_training(self, classes: Mapping[str, np.ndarray]) -> tuple[MultiTaskModule, Any]:
        source, options = resolve_model_source(self.model_name_or_path)
        encoder = load_pretrained(AutoModel, source, options, "encoder")
        tokenizer = load_pretrained(AutoTokenizer, source, options, "tokenizer")
        check_compatible(tokenizer, encoder, int(self.max_length), source)
        module = MultiTaskModule(encoder, {task: len(values) for task, values in classes.items()})
        saved_dir = model_directory(self.model_name_or_path) if Path(source).is_dir() else None
        saved = read_toolkit_file(saved_dir) if saved_dir is not None else None
        if saved is not None and saved.get("estimator") == type(self).__name__:
            saved_classes = {task: [str(c) for c in values] for task, values in saved["classes"].items()}
            wanted = {task: [str(c) for c in values.tolist()] for task, values in classes.items()}
            if saved_classes != wanted:
                raise ModelError(
                    f"label-set mismatch: {source} was trained for {saved_classes}, but Y has {wanted}; "
                    "fine-tune from a pretrained encoder instead, or use the same tasks and labels"
                )
            self._load_heads(module, saved_dir)
        return module, tokenizer

    @staticmethod
    def _load_heads(module: MultiTaskModule, directory: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(directory / HEADS_FILE))
        missing, unexpected = module.heads.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelError(f"{directory / HEADS_FILE}: heads do not match the tasks (missing {missing}, unexpected {unexpected})")

    def _monitor(self, eval_set):
        """Held-out macro-F1 per task and their mean after each epoch (None without ``eval_set``)."""
        if eval_set is None:
            return None
        records, labels = as_records(eval_set[0]), eval_set[1]
        gold: dict[str, np.ndarray] = {}
        for task in self.tasks_:
            index = {str(label): i for i, label in enumerate(self.classes_[task].tolist())}
            values = [None if is_missing(v) else str(v) for v in labels.get(task, [None] * len(records))]
            unknown = sorted({v for v in values if v is not None} - set(index))
            if len(values) != len(records) or unknown:
                raise ModelError(f"eval_set[{task!r}]: expected one known label (or None) per input (unknown: {unknown})")
            gold[task] = np.array([IGNORE_INDEX if v is None else index[v] for v in values])
        features = self._features(records)

        def monitor(model) -> dict[str, float]:
            proba = self._proba(model, features, progress=False)
            scores = {}
            for task in self.tasks_:
                labelled = gold[task] != IGNORE_INDEX
                if labelled.any():
                    truth = gold[task][labelled]
                    scores[f"heldout_macro_f1.{task}"] = float(f1_score(truth, proba[task][labelled].argmax(axis=1), average="macro",
                                                                        labels=np.unique(truth)))
            if scores:
                scores["heldout_macro_f1"] = float(np.mean(list(scores.values())))
            return scores

        return monitor

    def _run(self, features, targets, train, validation, weights, fingerprint, label_record, monitor=None) -> None:
        device = torch.device(self.device_)
        collator = DataCollatorWithPadding(self.tokenizer_)
        train_features = [features[i] for i in train]
        train_targets = {task: torch.as_tensor(values[train]) for task, values in targets.items()}
        lengths = np.array([len(f["input_ids"]) for f in train_features], dtype=np.int64)

        def make_batch(rows: np.ndarray) -> dict[str, torch.Tensor]:
            batch = pad_batch(collator, train_features, rows)
            for task in self.tasks_:
                batch[f"target.{task}"] = train_targets[task][torch.as_tensor(rows)]
            return {key: value.to(device) for key, value in batch.items()}

        def compute_loss(model, batch):
            inputs = {key: value for key, value in batch.items() if not key.startswith("target.")}
            logits = model(**inputs)
            # A task with no label in a batch sums to 0 and still reaches its head, which
            # data-parallel training requires of every parameter.
            return {task: cross_entropy_sum(logits[task], batch[f"target.{task}"], weights.get(task)) for task in self.tasks_}

        def weigh(batch) -> dict[str, float]:
            return {task: label_weight(batch[f"target.{task}"], weights.get(task)) for task in self.tasks_}

        evaluate = None
        if validation is not None:
            validation_features = [features[i] for i in validation]

            def evaluate(model) -> float:
                proba = self._proba(model, validation_features, progress=False)
                scores = []
                for task in self.tasks_:
                    gold = targets[task][validation]
                    labelled = gold != IGNORE_INDEX
                    if labelled.any():
                        predicted = proba[task][labelled].argmax(axis=1)
                        scores.append(f1_score(gold[labelled], predicted, average="macro", labels=np.unique(gold[labelled])))
                return float(np.mean(scores)) if scores else 0.0

        self._train(len(train), lengths, (make_batch, compute_loss, weigh), evaluate, fingerprint, label_record, "multi-task fine-tuning",
                    monitor)

    def _proba(self, model, features, *, progress: bool) -> dict[str, np.ndarray]:
        if not features:
            return {task: np.zeros((0, len(self.classes_[task]))) for task in self.tasks_}
        return predict_probabilities(
            model,
            features,
            DataCollatorWithPadding(self.tokenizer_),
            lambda m, batch: m(**batch),
            batch_size=int(self.batch_size),
            max_length=int(self.max_length),
            device=torch.device(self.device_),
            dtype=self._autocast_dtype(),
            progress=progress,
        )

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        """``{task: (n, n_classes) probabilities}``, columns in ``classes_[task]`` order."""
        check_is_fitted(self, "model_")
        records = as_records(X)
        with self._runtime():
            proba = self._proba(self.model_, self._features(records), progress=bool(self.progress))
        return {task: normalise_rows(values) if len(values) else values for task, values in proba.items()}

    def predict(self, X) -> dict[str, np.ndarray]:
        """``{task: labels}``: the most probable label per input and task."""
        return {task: self.classes_[task][values.argmax(axis=1)] for task, values in self.predict_proba(X).items()}

    def save(self, path: str | os.PathLike) -> Path:
        """``encoder/`` (standard HF checkpoint + tokenizer), ``heads.safetensors`` and ``toolkit.json``."""
        from safetensors.torch import save_file

        check_is_fitted(self, "model_")
        with hf_progress_bars(bool(self.progress)), atomic_directory(path) as directory:
            self.model_.encoder.save_pretrained(directory / MULTITASK_ENCODER_DIR)
            self.tokenizer_.save_pretrained(directory / MULTITASK_ENCODER_DIR)
            heads = {key: value.detach().cpu().contiguous() for key, value in self.model_.heads.state_dict().items()}
            save_file(heads, str(directory / HEADS_FILE))
            marker = {"model_type": MULTITASK_MODEL_TYPE, "encoder": MULTITASK_ENCODER_DIR, "tasks": list(self.tasks_),
                      "note": "a multi-task model: load it with toolkit, or export one standard classifier per task "
                              "with `toolkit export`"}
            (directory / "config.json").write_text(json.dumps(marker, indent=2), encoding="utf-8")
            metadata = self._toolkit_metadata()
            metadata["tasks"] = list(self.tasks_)
            metadata["classes"] = {task: self.classes_[task].tolist() for task in self.tasks_}
            (directory / TOOLKIT_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> "MultiTaskTransformerClassifier":
        """A fitted estimator from :meth:`save`'s directory; ``overrides`` replace saved params."""
        path = model_directory(path)  # a run directory stands for its model
        estimator, metadata = cls._read_saved(path, overrides)
        if not Path(path, HEADS_FILE).is_file():
            raise ModelError(f"{path}: no {HEADS_FILE}; the multi-task model was not saved completely")
        estimator.tasks_ = list(metadata["tasks"])
        estimator.classes_ = {task: np.array(metadata["classes"][task]) for task in estimator.tasks_}
        encoder_dir = str(encoder_directory(path))  # runs saved before encoder/ kept it at the top
        with estimator._runtime():
            encoder = load_pretrained(AutoModel, encoder_dir, {"use_safetensors": True}, "encoder")
            estimator.tokenizer_ = load_pretrained(AutoTokenizer, encoder_dir, {}, "tokenizer")
            module = MultiTaskModule(encoder, {task: len(values) for task, values in estimator.classes_.items()})
            cls._load_heads(module, Path(path))
        estimator.model_ = module.to(torch.device(estimator.device_)).eval()
        return estimator
