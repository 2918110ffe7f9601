"""Typed experiment configuration: takes an experiment file (and ``--set`` overrides), gives
validated :class:`ExperimentConfig` objects (data / model / training / evaluation).

An experiment file holds only its differences from a base file it names with
``base:`` (resolved relative to the file); ``--set key.path=value`` overrides apply
last. Every key is checked: an unknown key or a value outside the allowed set is a
:class:`ConfigError` that names the key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from .errors import ConfigError
from .models import CONTEXT_MODES, MIXED_PRECISION_MODES, TUNABLE_PARAMETERS

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "ModelConfig",
    "SplitConfig",
    "TrainingConfig",
    "config_to_dict",
    "load_config",
    "load_configs",
    "parse_overrides",
]

SPLIT_KINDS = ("leave_one_letter_out", "grouped_kfold", "time_ordered", "holdout")
MODEL_KINDS = ("tfidf", "transformer", "majority", "stratified")
FEATURES = ("word", "char", "word+char")
CLASSIFIERS = ("logreg", "svm")
CONTEXTS = CONTEXT_MODES
PRECISIONS = MIXED_PRECISION_MODES


def _check_choice(key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")


def _check_positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key}: must be {'≥' if allow_zero else '>'} 0, got {value!r}")


@dataclass
class SplitConfig:
    """How letters are divided into training and test letters."""

    kind: str = "leave_one_letter_out"
    n_splits: int = 5  # grouped_kfold
    test_fraction: float = 0.2  # time_ordered: share of the latest letters held out
    test_letters: list[str] = field(default_factory=list)  # holdout

    def __post_init__(self) -> None:
        _check_choice("data.split.kind", self.kind, SPLIT_KINDS)
        if self.kind == "holdout" and not self.test_letters:
            raise ConfigError("data.split.test_letters: a holdout split needs at least one letter id")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"data.split.test_fraction: must be between 0 and 1, got {self.test_fraction}")


PARTS = ("letter", "annex")


@dataclass
class DataConfig:
    labels_dir: str | None = None  # default: the checkout's labels/
    split: SplitConfig = field(default_factory=SplitConfig)
    # which parts of the letters: the covering letter and/or the annexes (reports, agendas)
    parts: list[str] = field(default_factory=lambda: list(PARTS))

    def __post_init__(self) -> None:
        if not self.parts or any(part not in PARTS for part in self.parts) or len(set(self.parts)) != len(self.parts):
            raise ConfigError(f"data.parts: {self.parts!r} must list one or both of {', '.join(PARTS)}")


@dataclass
class ModelConfig:
    """The model; TF-IDF fields apply to kind=tfidf, transformer fields to kind=transformer."""

    kind: str = "tfidf"
    # TF-IDF pipelines
    features: str = "word+char"
    classifier: str = "svm"
    C: float = 1.0
    class_weight: str | None = "balanced"
    word_ngrams: list[int] = field(default_factory=lambda: [1, 2])
    char_ngrams: list[int] = field(default_factory=lambda: [2, 5])
    min_df: int = 1
    # both kinds: the section heading and/or neighbouring sentences as extra input
    context: str = "none"
    # transformers
    name_or_path: str = "GroNLP/bert-base-dutch-cased"
    max_length: int = 128

    def __post_init__(self) -> None:
        _check_choice("model.kind", self.kind, MODEL_KINDS)
        _check_choice("model.features", self.features, FEATURES)
        _check_choice("model.classifier", self.classifier, CLASSIFIERS)
        _check_choice("model.class_weight", self.class_weight, ("balanced", None))
        _check_choice("model.context", self.context, CONTEXTS)
        _check_positive("model.C", self.C)
        for key in ("word_ngrams", "char_ngrams"):
            value = getattr(self, key)
            if len(value) != 2 or not 1 <= value[0] <= value[1]:
                raise ConfigError(f"model.{key}: must be [low, high] with 1 ≤ low ≤ high, got {value!r}")
        _check_positive("model.max_length", self.max_length)


@dataclass
class TrainingConfig:
    seed: int = 0
    seeds: list[int] = field(default_factory=list)  # several seeds: results as mean and spread
    num_threads: int = 2  # fixed, because the thread count changes the last digits
    # nested cross-validation grouped by letter: parameter -> values to try
    tune: dict[str, list[Any]] = field(default_factory=dict)
    inner_folds: int = 3
    # transformers
    batch_size: int = 16
    learning_rate: float = 5e-5
    epochs: int = 3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    early_stopping_patience: int | None = None
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "auto"
    # Data-parallel processes (GPUs) the run must be launched with, e.g. by
    # `torchrun --nproc_per_node N`; null accepts any launch. Pinned because batch_size
    # is per process, so the number of processes changes the results.
    processes: int | None = None

    def __post_init__(self) -> None:
        _check_choice("training.mixed_precision", self.mixed_precision, PRECISIONS)
        _check_positive("training.num_threads", self.num_threads)
        _check_positive("training.batch_size", self.batch_size)
        _check_positive("training.learning_rate", self.learning_rate)
        _check_positive("training.epochs", self.epochs)
        _check_positive("training.gradient_accumulation_steps", self.gradient_accumulation_steps)
        if self.processes is not None:
            _check_positive("training.processes", self.processes)
        if self.inner_folds < 2:
            raise ConfigError(f"training.inner_folds: must be ≥ 2, got {self.inner_folds}")
        for key, values in self.tune.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"training.tune.{key}: give a non-empty list of values")


@dataclass
class EvaluationConfig:
    bootstrap_samples: int = 1000
    confidence: float = 0.95

    def __post_init__(self) -> None:
        _check_positive("evaluation.bootstrap_samples", self.bootstrap_samples)
        if not 0 < self.confidence < 1:
            raise ConfigError(f"evaluation.confidence: must be between 0 and 1, got {self.confidence}")


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    task: str = "topic"  # a task of labels/schema.yaml, or "all" for one multi-task transformer
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    output_dir: str = "runs"

    def __post_init__(self) -> None:
        if self.task == "all" and self.model.kind != "transformer":
            raise ConfigError("task: 'all' (one multi-task model for every task) needs model.kind=transformer")
        tunable = TUNABLE_PARAMETERS[self.model.kind]
        for key in self.training.tune:
            if key not in tunable:
                allowed = f"tunable: {', '.join(tunable)}" if tunable else "nothing can be tuned for this model kind"
                raise ConfigError(f"training.tune.{key}: cannot be tuned for model.kind={self.model.kind}; {allowed}")

    @property
    def multitask(self) -> bool:
        """One model for every task (``task: all``)."""
        return self.task == "all"

    def fingerprint(self) -> str:
        payload = config_to_dict(self)
        payload.pop("output_dir")
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


# ---------------------------------------------------------------- construction


def _build(cls, data: Any, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"unknown config key {key!r}; allowed keys{' in ' + prefix if prefix else ''}: {', '.join(sorted(names))}")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{prefix}.{name}" if prefix else name
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, key)
        else:
            values[name] = _coerce(value, hint, key)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{prefix or 'config'}: {exc}") from None


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check (and mildly coerce, e.g. int → float) a value against a type hint."""
    origin = get_origin(hint)
    options = get_args(hint) if origin is not None else ()
    if value is None and type(None) in options:
        return None
    if origin in (list, dict):
        expected = list if origin is list else dict
        if not isinstance(value, expected):
            raise ConfigError(f"{key}: expected a {expected.__name__}, got {value!r}")
        return copy.deepcopy(value)
    candidates = [option for option in options if option is not type(None)] or [hint]
    for candidate in candidates:
        if candidate is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if candidate is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if candidate in (str, bool) and isinstance(value, candidate):
            return value
    names = " or ".join(getattr(c, "__name__", str(c)) for c in candidates)
    raise ConfigError(f"{key}: expected {names}, got {value!r}")


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "tune":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_layers(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    import yaml

    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: circular 'base:' chain")
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    base = data.pop("base", None)
    if base is None:
        return data
    return _deep_merge(_read_layers(path.parent / base, seen + (path,)), data)


def parse_overrides(assignments: list[str]) -> dict:
    """``["model.C=4", "task=actor"]`` → nested dict (values parsed as YAML scalars)."""
    import yaml

    result: dict = {}
    for assignment in assignments:
        if "=" not in assignment:
            raise ConfigError(f"--set {assignment!r}: expected key.path=value")
        key, raw = assignment.split("=", 1)
        value = yaml.safe_load(raw) if raw else ""
        target = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read an experiment file (following ``base:``), apply ``--set`` overrides, validate."""
    configs = load_configs(path, overrides)
    if len(configs) != 1:
        raise ConfigError(f"{path}: this file is a sweep of {len(configs)} experiments; use load_configs")
    return configs[0]


def load_configs(path: str | Path, overrides: list[str] | None = None) -> list[ExperimentConfig]:
    """Like :func:`load_config`, expanding a ``sweep:`` of dotted keys to value lists.

    ``sweep: {model.features: [word, char], task: [topic, actor]}`` gives four
    experiments, each named after its values (``<name>-word-topic``, …).
    ``by_task: {topic: {model: {context: section}}}`` applies settings only when the
    experiment's task is that one (after ``sweep`` and ``--set`` have chosen the task).
    """
    path = Path(path)
    data = _read_layers(path)
    by_task = data.pop("by_task", None) or {}
    if not isinstance(by_task, dict) or not all(isinstance(layer, dict) for layer in by_task.values()):
        raise ConfigError(f"{path}: by_task must map task names to settings, e.g. by_task: {{topic: {{model: {{context: section}}}}}}")
    sweep = data.pop("sweep", None) or {}
    if not isinstance(sweep, dict) or not all(isinstance(v, list) and v for v in sweep.values()):
        raise ConfigError(f"{path}: sweep must map dotted keys to non-empty lists of values")
    data.setdefault("name", path.stem)
    given = parse_overrides(list(overrides or []))
    sweep = _narrow_sweep(path, sweep, given)
    combinations: list[list[tuple[str, Any]]] = [[]]
    for key, values in sweep.items():
        combinations = [combo + [(key, value)] for combo in combinations for value in values]
    configs = []
    for combo in combinations:
        assignments = parse_overrides([f"{key}={json.dumps(value)}" for key, value in combo] + list(overrides or []))
        if "by_task" in assignments:
            raise ConfigError("by_task cannot be set with --set; set the task's own keys instead (e.g. model.context=none)")
        # Settings for the chosen task only; sweep values and --set still win over them.
        task = assignments.get("task", data.get("task"))
        layer = _deep_merge(_deep_merge(data, by_task.get(task, {})), assignments)
        if combo:
            layer["name"] = "-".join([data["name"], *(str(value) for _, value in combo)]).replace("+", "")
        configs.append(_build(ExperimentConfig, layer, ""))
    return configs


_MISSING = object()


def _lookup(nested: dict, dotted: str) -> Any:
    value: Any = nested
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _narrow_sweep(path: Path, sweep: dict, given: dict) -> dict:
    """A ``--set`` on a swept key picks one of the swept values (and keeps its sweep name).

    A value the sweep does not list is an error: the run would be named after sweep points
    it does not train.
    """
    narrowed = dict(sweep)
    for key, values in sweep.items():
        chosen = _lookup(given, key)
        if chosen is _MISSING:
            continue
        if chosen not in values:
            raise ConfigError(
                f"{path}: --set {key}={chosen!r} is not one of the values this file sweeps ({', '.join(map(str, values))}); "
                "choose one of them, or write a config without that sweep"
            )
        narrowed[key] = [chosen]
    return narrowed


def config_to_dict(config: ExperimentConfig) -> dict:
    return dataclasses.asdict(config)
