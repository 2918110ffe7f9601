"""Fine-tuned BERT-style sentence classifiers with scikit-learn's estimator contract:
take sentence records and labels, give a fitted estimator with ``predict_proba`` and ``save``.

Why: the experiment runner treats every model alike (``fit``, ``predict``, ``predict_proba``,
``classes_``, :func:`sklearn.base.clone`), so a transformer has to look like a scikit-learn
classifier while keeping what makes fine-tuning work on a small CPU machine: dynamic padding,
length-grouped batches, bf16 autocast, gradient accumulation and early stopping on held-out
*letters*. The loop, runtime and checkpoints are in :mod:`.engine`; model sources and the
tokenisation cache in :mod:`.loading`; the multi-task model in :mod:`.multitask`.

This module, :mod:`.engine`, :mod:`.multitask` and :mod:`.pretrain` import torch and
transformers; nothing imports them at package import time.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.utils.validation import check_is_fitted

try:
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("toolkit.models.transformer needs torch and transformers: pip install -e '.[bert]'") from error

from ..errors import ModelError
from . import MIXED_PRECISION_MODES
from .context import check_context, context_text
from .engine import (
    IGNORE_INDEX,
    atomic_directory,
    hf_progress_bars,
    pad_batch,
    precision_name,
    predict_probabilities,
    resolve_device,
    resolve_precision,
    runtime,
)
from .training import Checkpoints, LoopSettings, cross_entropy_sum, label_weight, train_loop
from .loading import (
    TOOLKIT_FILE,
    check_compatible,
    encoder_directory,
    finetuned_labels,
    load_pretrained,
    model_directory,
    read_toolkit_file,
    resolve_model_source,
    stable_hash,
    tokenize,
)

__all__ = [
    "RUNTIME_PARAMS",
    "SAVE_FORMAT",
    "TransformerClassifier",
    "TransformerEstimator",
    "as_records",
    "balanced_class_weights",
    "is_missing",
    "normalise_rows",
    "split_by_letter",
]

SAVE_FORMAT = "kamerbrieven-toolkit/transformer-1"
#: Params that do not change what is learnt, left out of the resume fingerprint.
RUNTIME_PARAMS = frozenset({"progress", "resume", "output_dir", "num_threads", "device"})


# ----------------------------------------------------------------------------- inputs


def as_records(X: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Input rows as mappings; a bare string is taken as a sentence without context."""
    records = []
    for position, row in enumerate(X):
        if isinstance(row, str):
            row = {"text": row}
        if not isinstance(row, Mapping) or not isinstance(row.get("text"), str):
            raise ModelError(
                f"input {position}: expected a dict with a 'text' string (and optional section/previous/next/letter_id), "
                f"got {type(row).__name__}"
            )
        records.append(row)
    return records


def split_by_letter(letter_ids: Sequence[Any], validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation) with whole letters held out for early stopping.

    Sentences of one letter share topic, author and wording; a split by sentence
    would leak them and make early stopping pick a too-late epoch. At least one
    letter goes to each side; the choice depends only on the letter ids and seed.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ModelError(f"validation_fraction: must be between 0 and 1 (exclusive), got {validation_fraction!r}")
    if any(letter is None for letter in letter_ids):
        raise ModelError("early stopping holds out whole letters: every input needs a 'letter_id'")
    keys = [str(letter) for letter in letter_ids]
    letters = sorted(set(keys))
    if len(letters) < 2:
        raise ModelError(
            f"early stopping needs at least 2 training letters to hold one out, got {len(letters)}; "
            "set early_stopping_patience=None"
        )
    n_validation = min(len(letters) - 1, max(1, round(validation_fraction * len(letters))))
    rng = np.random.default_rng(seed)
    held_out = {letters[i] for i in rng.permutation(len(letters))[:n_validation]}
    mask = np.array([key in held_out for key in keys], dtype=bool)
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def balanced_class_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (k · count) as scikit-learn's "balanced"; 1.0 for a class absent from training."""
    labelled = targets[targets != IGNORE_INDEX]
    counts = np.bincount(labelled, minlength=n_classes).astype(np.float64)
    weights = np.ones(n_classes)
    present = counts > 0
    weights[present] = len(labelled) / (n_classes * counts[present])
    return weights


def is_missing(value: Any) -> bool:
    """None or NaN (how pandas marks a missing label)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def normalise_rows(values: np.ndarray) -> np.ndarray:
    return values / values.sum(axis=1, keepdims=True)


class TransformerEstimator(BaseEstimator):
    """Parameter checks, runtime set-up and featurisation shared by both estimators."""

    # scikit-learn reads the parameters from this signature (shared by both estimators).
    def __init__(
        self,
        model_name_or_path: str = "GroNLP/bert-base-dutch-cased",
        max_length: int = 128,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        epochs: int = 3,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        class_weight: str | dict[str, str | None] | None = None,
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.15,
        gradient_accumulation_steps: int = 1,
        mixed_precision: str = "auto",
        context: str = "none",
        group_by_length: bool = True,
        num_threads: int | None = None,
        device: str = "auto",
        seed: int = 0,
        output_dir: str | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.mixed_precision = mixed_precision
        self.context = context
        self.group_by_length = group_by_length
        self.num_threads = num_threads
        self.device = device
        self.seed = seed
        self.output_dir = output_dir
        self.resume = resume
        self.progress = progress

    def _check_params(self) -> None:
        positive = ("max_length", "batch_size", "epochs", "gradient_accumulation_steps")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ModelError(f"{name}: must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ModelError(f"learning_rate: must be > 0, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ModelError(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio!r}")
        if self.weight_decay < 0:
            raise ModelError(f"weight_decay: must be ≥ 0, got {self.weight_decay!r}")
        if self.early_stopping_patience is not None and (
            not isinstance(self.early_stopping_patience, (int, np.integer)) or self.early_stopping_patience < 1
        ):
            raise ModelError(f"early_stopping_patience: must be None or a positive integer, got {self.early_stopping_patience!r}")
        if not 0 < self.validation_fraction < 1:
            raise ModelError(f"validation_fraction: must be between 0 and 1 (exclusive), got {self.validation_fraction!r}")
        check_context(self.context)
        if self.mixed_precision not in MIXED_PRECISION_MODES:
            raise ModelError(f"mixed_precision: must be one of {', '.join(MIXED_PRECISION_MODES)}, got {self.mixed_precision!r}")
        if self.num_threads is not None and (not isinstance(self.num_threads, (int, np.integer)) or self.num_threads < 1):
            raise ModelError(f"num_threads: must be None or a positive integer, got {self.num_threads!r}")
        if self.resume and self.output_dir is None:
            raise ModelError("resume=True needs output_dir (where the checkpoints of the earlier run are)")

    def _start(self) -> None:
        """Resolve device, precision and thread count once per fit."""
        self.device_ = str(resolve_device(self.device))
        self.mixed_precision_ = precision_name(resolve_precision(self.mixed_precision, torch.device(self.device_)))
        self.num_threads_ = int(self.num_threads or torch.get_num_threads())

    def _runtime(self):
        return runtime(int(self.seed), int(self.num_threads_), torch.device(self.device_), bool(self.progress))

    def _autocast_dtype(self) -> torch.dtype | None:
        return {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}[self.mixed_precision_]

    def _cache_dir(self) -> Path | None:
        return Path(self.output_dir) / "token-cache" if self.output_dir is not None else None

    def _features(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, list[int]]]:
        return tokenize(self.tokenizer_, records, self.context, int(self.max_length), self._cache_dir())

    def _fingerprint(self, records: Sequence[Mapping[str, Any]], targets: Any) -> str:
        params = {key: value for key, value in self.get_params(deep=False).items() if key not in RUNTIME_PARAMS}
        texts = [[r["text"], context_text(r, self.context), r.get("letter_id")] for r in records]
        return stable_hash([type(self).__name__, params, stable_hash(texts), targets])

    def _split(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        if self.early_stopping_patience is None:
            return np.arange(len(records)), None
        train, validation = split_by_letter([r.get("letter_id") for r in records], self.validation_fraction, int(self.seed))
        self.train_letters_ = sorted({str(records[i]["letter_id"]) for i in train})
        self.validation_letters_ = sorted({str(records[i]["letter_id"]) for i in validation})
        return train, validation

    def _loop_settings(self, desc: str) -> LoopSettings:
        return LoopSettings(
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            warmup_ratio=float(self.warmup_ratio),
            weight_decay=float(self.weight_decay),
            gradient_accumulation_steps=int(self.gradient_accumulation_steps),
            group_by_length=bool(self.group_by_length),
            seed=int(self.seed),
            patience=self.early_stopping_patience,
            autocast_dtype=self._autocast_dtype(),
            device=torch.device(self.device_),
            progress=bool(self.progress),
            max_length=int(self.max_length),
            desc=desc,
        )

    @contextlib.contextmanager
    def _checkpoint_root(self):
        if self.output_dir is not None:
            Path(self.output_dir).mkdir(parents=True, exist_ok=True)
            yield Path(self.output_dir)
        else:
            with tempfile.TemporaryDirectory(prefix="toolkit-checkpoints-") as directory:
                yield Path(directory)

    def _train(self, n_rows, lengths, batches, evaluate, fingerprint, labels, desc: str, monitor=None) -> None:
        """The shared training loop, with checkpoints; its record is kept on the estimator."""
        with self._checkpoint_root() as root:
            outcome = train_loop(
                self.model_,
                n_rows,
                lengths,
                *batches,
                self._loop_settings(desc),
                evaluate=evaluate,
                monitor=monitor,
                checkpoints=Checkpoints(root, fingerprint, labels),
                resume=bool(self.resume),
            )
        self.model_.eval()
        self.history_ = outcome["history"]
        self.best_epoch_ = outcome["best_epoch"]
        self.stopped_early_ = outcome["stopped_early"]
        self.world_size_ = outcome["world_size"]

    def _toolkit_metadata(self) -> dict[str, Any]:
        return {
            "format": SAVE_FORMAT,
            "estimator": type(self).__name__,
            "params": self.get_params(deep=False),
            "fit": {
                "history": self.history_,
                "best_epoch": self.best_epoch_,
                "stopped_early": self.stopped_early_,
                "device": self.device_,
                "mixed_precision": self.mixed_precision_,
                "num_threads": self.num_threads_,
                "fit_seconds": self.fit_seconds_,
                "world_size": getattr(self, "world_size_", 1),
                "train_letters": getattr(self, "train_letters_", None),
                "validation_letters": getattr(self, "validation_letters_", None),
            },
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        }

    @classmethod
    def _read_saved(cls, path: str | os.PathLike, overrides: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        metadata = read_toolkit_file(path)
        if metadata is None:
            raise ModelError(f"{path}: no {TOOLKIT_FILE}; not a model saved by {cls.__name__}.save")
        if metadata.get("estimator") != cls.__name__:
            raise ModelError(f"{path}: holds a {metadata.get('estimator')}, load it with that class instead of {cls.__name__}")
        files = encoder_directory(path)
        if not (files / "config.json").is_file() or not (files / "model.safetensors").is_file():
            raise ModelError(f"{path}: the saved model has no config.json or no model.safetensors (weights are read from safetensors only)")
        known = set(cls().get_params(deep=False))
        params = {key: value for key, value in metadata["params"].items() if key in known}  # tolerate older/newer files
        unknown = set(overrides) - known
        if unknown:
            raise ModelError(f"load: unknown parameter(s) {', '.join(sorted(unknown))}")
        params.update(overrides)
        estimator = cls(**params)
        fit = metadata.get("fit", {})
        estimator.history_ = fit.get("history", [])
        estimator.best_epoch_ = fit.get("best_epoch")
        estimator.stopped_early_ = fit.get("stopped_early", False)
        estimator.fit_seconds_ = fit.get("fit_seconds")
        estimator.world_size_ = fit.get("world_size", 1)
        for name in ("train_letters", "validation_letters"):
            if fit.get(name) is not None:
                setattr(estimator, f"{name}_", fit[name])
        estimator._start()
        if "num_threads" not in overrides and params.get("num_threads") is None and fit.get("num_threads"):
            estimator.num_threads_ = int(fit["num_threads"])  # the count the model was fitted with
        return estimator, metadata


class TransformerClassifier(ClassifierMixin, TransformerEstimator):
    """A fine-tuned BERT-style sentence classifier with scikit-learn's estimator contract.

    ``X`` is a list of dicts ``{"text", "section", "previous", "next", "letter_id"}``
    (a bare string is read as ``{"text": ...}``); ``y`` a list of label strings.
    ``context`` puts the section heading and/or neighbouring sentences in the
    tokenizer's second segment (see :func:`context_text`).

    ``model_name_or_path`` is loaded the same way whether it is a hub id, a local
    directory (e.g. from ``toolkit pretrain``) or the directory written by
    :meth:`save`; in the last case training *continues* from that classifier and
    ``y`` must have the same label set.

    Fitted attributes: ``classes_`` (sorted), ``n_classes_``, ``model_``,
    ``tokenizer_``, ``history_`` (per-epoch loss, validation macro-F1, speed),
    ``best_epoch_``, ``stopped_early_``, ``device_``, ``mixed_precision_``,
    ``num_threads_``, ``fit_seconds_``, ``world_size_`` (processes that trained it:
    1, or more under ``torchrun``) and, with early stopping,
    ``train_letters_``/``validation_letters_``.
    """

    # -- fitting

    def fit(self, X, y, eval_set=None) -> "TransformerClassifier":
        """Fine-tune on ``X``/``y``; returns self.

        ``eval_set=(X_eval, y_eval)``: held-out rows scored after every epoch (``history_``'s
        ``heldout_macro_f1``, for learning curves); they do not influence training.
        """
        self._check_params()
        if self.class_weight not in (None, "balanced"):
            raise ModelError(f"class_weight: must be None or 'balanced', got {self.class_weight!r}")
        records = as_records(X)
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(records):
            raise ModelError(f"y: expected one label per input ({len(records)}), got shape {labels.shape}")
        if any(is_missing(label) for label in labels.tolist()):
            raise ModelError("y: every input needs a label (found None/NaN); drop unlabelled rows before fit")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ModelError(f"y: need at least two classes to train a classifier, got {classes.tolist()}")
        started = time.perf_counter()
        self._start()
        with self._runtime():
            model, tokenizer, model_labels = self._load_for_training(classes)
            self.classes_, self.n_classes_ = classes, len(classes)
            self.model_labels_ = model_labels
            self.tokenizer_ = tokenizer
            self.model_ = model.to(torch.device(self.device_))
            label_to_id = {label: i for i, label in enumerate(model_labels)}
            targets = np.array([label_to_id[str(label)] for label in labels], dtype=np.int64)
            features = self._features(records)
            train, validation = self._split(records)
            weights = None
            if self.class_weight == "balanced":
                weights = torch.tensor(balanced_class_weights(targets[train], len(model_labels)), dtype=torch.float32, device=self.device_)
            monitor = self._monitor(eval_set, label_to_id)
            self._run(features, targets, train, validation, weights, self._fingerprint(records, labels.tolist()), monitor)
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _load_for_training(self, classes: np.ndarray) -> tuple[Any, Any, list[str]]:
        source, options = resolve_model_source(self.model_name_or_path)
        config = load_pretrained(AutoConfig, source, options, "model config")
        existing = finetuned_labels(config)
        names = [str(label) for label in classes]
        if existing is not None:
            if sorted(existing) != sorted(names):
                raise ModelError(
                    f"label-set mismatch: {source} is a classifier for {sorted(existing)}, but y has {names}; "
                    "fine-tune from its encoder (a pretrained model directory) instead, or use the same labels"
                )
            model = load_pretrained(AutoModelForSequenceClassification, source, options, "classifier")
            model_labels = existing
        else:
            model_labels = names
            model = load_pretrained(
                AutoModelForSequenceClassification,
                source,
                options,
                "model",
                num_labels=len(names),
                id2label=dict(enumerate(names)),
                label2id={name: i for i, name in enumerate(names)},
            )
        tokenizer = load_pretrained(AutoTokenizer, source, options, "tokenizer")
        check_compatible(tokenizer, model, int(self.max_length), source)
        return model, tokenizer, model_labels

    def _monitor(self, eval_set, label_to_id: Mapping[str, int]):
        """The held-out score per epoch (None without ``eval_set``)."""
        if eval_set is None:
            return None
        eval_records, eval_labels = as_records(eval_set[0]), [str(label) for label in eval_set[1]]
        unknown = sorted(set(eval_labels) - set(label_to_id))
        if len(eval_records) != len(eval_labels) or unknown:
            raise ModelError(f"eval_set: expected one known label per input (unknown: {unknown})")
        features, gold = self._features(eval_records), np.array([label_to_id[label] for label in eval_labels])

        def monitor(model) -> dict[str, float]:
            predicted = self._proba(model, features, progress=False).argmax(axis=1)
            return {"heldout_macro_f1": float(f1_score(gold, predicted, average="macro", labels=np.unique(gold)))}

        return monitor

    def _run(self, features, targets, train, validation, weights, fingerprint, monitor=None) -> None:
        device = torch.device(self.device_)
        collator = DataCollatorWithPadding(self.tokenizer_)
        train_features = [features[i] for i in train]
        train_targets = torch.as_tensor(targets[train])
        lengths = np.array([len(f["input_ids"]) for f in train_features], dtype=np.int64)

        def make_batch(rows: np.ndarray) -> dict[str, torch.Tensor]:
            batch = pad_batch(collator, train_features, rows)
            batch["labels"] = train_targets[torch.as_tensor(rows)]
            return {key: value.to(device) for key, value in batch.items()}

        def compute_loss(model, batch):
            inputs = {key: value for key, value in batch.items() if key != "labels"}
            return {"classification": cross_entropy_sum(model(**inputs).logits, batch["labels"], weights)}

        def weigh(batch) -> dict[str, float]:
            return {"classification": label_weight(batch["labels"], weights)}

        evaluate = None
        if validation is not None:
            validation_features = [features[i] for i in validation]
            validation_targets = targets[validation]

            def evaluate(model) -> float:
                proba = self._proba(model, validation_features, progress=False)
                return float(f1_score(validation_targets, proba.argmax(axis=1), average="macro", labels=np.unique(validation_targets)))

        self._train(len(train), lengths, (make_batch, compute_loss, weigh), evaluate, fingerprint, list(self.model_labels_), "fine-tuning",
                    monitor)

    # -- prediction

    def _proba(self, model, features, *, progress: bool) -> np.ndarray:
        """Probabilities in the model's own label order."""
        if not features:
            return np.zeros((0, len(self.model_labels_)))
        probabilities = predict_probabilities(
            model,
            features,
            DataCollatorWithPadding(self.tokenizer_),
            lambda m, batch: {"label": m(**batch).logits},
            batch_size=int(self.batch_size),
            max_length=int(self.max_length),
            device=torch.device(self.device_),
            dtype=self._autocast_dtype(),
            progress=progress,
        )
        return probabilities["label"]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        records = as_records(X)
        with self._runtime():
            proba = self._proba(self.model_, self._features(records), progress=bool(self.progress))
        columns = [self.model_labels_.index(str(label)) for label in self.classes_]
        return normalise_rows(proba[:, columns]) if len(proba) else np.zeros((0, self.n_classes_))

    def predict(self, X) -> np.ndarray:
        """The most probable label per input."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)] if len(proba) else self.classes_[:0]

    # -- persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write a standard HF checkpoint (+ tokenizer) and ``toolkit.json`` to ``path``.

        The directory loads with ``AutoModelForSequenceClassification.from_pretrained``
        (id2label/label2id set), with :meth:`load`, and as ``model_name_or_path``
        for further training on the same labels.
        """
        check_is_fitted(self, "model_")
        with hf_progress_bars(bool(self.progress)), atomic_directory(path) as directory:
            self.model_.save_pretrained(directory)
            self.tokenizer_.save_pretrained(directory)
            metadata = self._toolkit_metadata()
            metadata["classes"] = self.classes_.tolist()
            (directory / TOOLKIT_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> "TransformerClassifier":
        """A fitted estimator from :meth:`save`'s directory; ``overrides`` replace saved params (e.g. ``device="cpu"``)."""
        path = model_directory(path)  # a run directory stands for its model
        estimator, metadata = cls._read_saved(path, overrides)
        with estimator._runtime():
            estimator.model_ = load_pretrained(AutoModelForSequenceClassification, str(path), {"use_safetensors": True}, "classifier")
            estimator.tokenizer_ = load_pretrained(AutoTokenizer, str(path), {}, "tokenizer")
        estimator.model_.to(torch.device(estimator.device_)).eval()
        estimator.model_labels_ = [str(estimator.model_.config.id2label[i]) for i in range(estimator.model_.config.num_labels)]
        estimator.classes_ = np.array(metadata["classes"])
        estimator.n_classes_ = len(estimator.classes_)
        if sorted(estimator.model_labels_) != sorted(str(c) for c in estimator.classes_):
            raise ModelError(f"{path}: config.json labels {estimator.model_labels_} differ from {TOOLKIT_FILE} classes")
        return estimator
