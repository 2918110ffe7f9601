"""Typed experiment configuration: takes an experiment file (and ``--set`` overrides), gives
validated :class:`ExperimentConfig` objects (data / model / training / evaluation).

An experiment file holds only its differences from a base file it names with
``base:`` (resolved relative to the file); ``--set key.path=value`` overrides apply
last. Every key is checked by pydantic (types, element types of lists, ranges, numbers in any
YAML notation) and by cross-field rules (a ``--set`` on a swept key must pick a swept value;
``training.tune`` only for a model kind that can tune): an error is a :class:`ConfigError` that
names the file, the key and what is allowed. :func:`config_schema` gives a JSON Schema for editors.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from .errors import ConfigError
from .models import CONTEXT_MODES, MIXED_PRECISION_MODES, TUNABLE_PARAMETERS

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "ModelConfig",
    "SplitConfig",
    "TrackingConfig",
    "TrainingConfig",
    "config_from_dict",
    "config_schema",
    "config_to_dict",
    "load_config",
    "load_configs",
    "parse_overrides",
    "sweep_points",
]

SPLIT_KINDS = ("leave_one_letter_out", "grouped_kfold", "time_ordered", "holdout")
MODEL_KINDS = ("tfidf", "transformer", "majority", "stratified")
FEATURES = ("word", "char", "word+char")
CLASSIFIERS = ("logreg", "svm")
PARTS = ("letter", "annex")
TRACKERS = ("none", "mlflow")
_FORBID = ConfigDict(extra="forbid")


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


# Numbers accept any YAML notation ("1e-3" stays a string in YAML and is read as 0.001 here);
# true/false are not numbers.
Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]
Positive = Annotated[Int, Field(gt=0)]
PositiveFloat = Annotated[Float, Field(gt=0)]
Fraction = Annotated[Float, Field(gt=0, lt=1)]


def _ngram_range(value: list[int]) -> list[int]:
    if len(value) != 2 or not 1 <= value[0] <= value[1]:
        raise ValueError(f"must be [low, high] with 1 ≤ low ≤ high, got {value!r}")
    return value


NgramRange = Annotated[list[Int], AfterValidator(_ngram_range)]


@dataclass(config=_FORBID)
class SplitConfig:
    """How letters are divided into training and test letters."""

    kind: Literal[SPLIT_KINDS] = "leave_one_letter_out"
    n_splits: Annotated[Int, Field(ge=2)] = 5  # grouped_kfold
    test_fraction: Fraction = 0.2  # time_ordered: share of the latest letters held out
    test_letters: list[str] = field(default_factory=list)  # holdout

    def __post_init__(self) -> None:
        if self.kind == "holdout" and not self.test_letters:
            raise ConfigError("data.split.test_letters: a holdout split needs at least one letter id")


def _parts(value: list[str]) -> list[str]:
    if not value or len(set(value)) != len(value):
        raise ValueError(f"list one or both of {', '.join(PARTS)}, each once")
    return value


@dataclass(config=_FORBID)
class DataConfig:
    labels_dir: str | None = None  # default: the checkout's labels/
    split: SplitConfig = field(default_factory=SplitConfig)
    # which parts of the letters: the covering letter and/or the annexes (reports, agendas)
    parts: Annotated[list[Literal[PARTS]], AfterValidator(_parts)] = field(default_factory=lambda: list(PARTS))


@dataclass(config=_FORBID)
class ModelConfig:
    """The model; TF-IDF fields apply to kind=tfidf, transformer fields to kind=transformer."""

    kind: Literal[MODEL_KINDS] = "tfidf"
    # TF-IDF pipelines
    features: Literal[FEATURES] = "word+char"
    classifier: Literal[CLASSIFIERS] = "svm"
    C: PositiveFloat = 1.0
    class_weight: Literal["balanced"] | None = "balanced"
    word_ngrams: NgramRange = field(default_factory=lambda: [1, 2])
    char_ngrams: NgramRange = field(default_factory=lambda: [2, 5])
    min_df: Positive = 1
    # both kinds: the section heading and/or neighbouring sentences as extra input
    context: Literal[CONTEXT_MODES] = "none"
    # transformers
    name_or_path: str = "GroNLP/bert-base-dutch-cased"
    max_length: Positive = 128


def _tune(value: dict[str, list[Any]]) -> dict[str, list[Any]]:
    for key, values in value.items():
        if not values:
            raise ValueError(f"{key}: give a non-empty list of values")
    return value


@dataclass(config=_FORBID)
class TrainingConfig:
    seed: Annotated[Int, Field(ge=0)] = 0
    seeds: list[Annotated[Int, Field(ge=0)]] = field(default_factory=list)  # several seeds: mean and spread
    num_threads: Positive = 2  # fixed, because the thread count changes the last digits
    # nested cross-validation grouped by letter: parameter -> values to try
    tune: Annotated[dict[str, list[Any]], AfterValidator(_tune)] = field(default_factory=dict)
    inner_folds: Annotated[Int, Field(ge=2)] = 3
    # transformers
    batch_size: Positive = 16
    learning_rate: PositiveFloat = 5e-5
    epochs: Positive = 3
    warmup_ratio: Annotated[Float, Field(ge=0, lt=1)] = 0.1
    weight_decay: Annotated[Float, Field(ge=0)] = 0.01
    early_stopping_patience: Positive | None = None
    gradient_accumulation_steps: Positive = 1
    mixed_precision: Literal[MIXED_PRECISION_MODES] = "auto"
    # Data-parallel processes (GPUs) the run must be launched with, e.g. by
    # `torchrun --nproc_per_node N`; null accepts any launch. Pinned because batch_size
    # is per process, so the number of processes changes the results.
    processes: Positive | None = None


@dataclass(config=_FORBID)
class EvaluationConfig:
    bootstrap_samples: Positive = 1000
    confidence: Fraction = 0.95


@dataclass(config=_FORBID)
class TrackingConfig:
    """Where a finished run is also logged (besides its run directory); nothing here changes results."""

    kind: Literal[TRACKERS] = "none"
    # MLflow tracking URI; default: an SQLite store beside the runs, <output_dir>/mlflow.db
    uri: str | None = None
    experiment: str | None = None  # MLflow experiment name; default: the config's name


def _tracking_shorthand(value: Any) -> Any:
    """``tracking: mlflow`` stands for ``tracking: {kind: mlflow}``."""
    return {"kind": value} if isinstance(value, str) else value


@dataclass(config=_FORBID)
class ExperimentConfig:
    name: str = "experiment"
    task: str = "topic"  # a task of labels/schema.yaml, or "all" for one multi-task transformer
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    tracking: Annotated[TrackingConfig, BeforeValidator(_tracking_shorthand)] = field(default_factory=TrackingConfig)
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
        payload.pop("tracking")  # where a run is logged is not what it computes
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


# ---------------------------------------------------------------- construction


def _fields_at(location: tuple) -> list[str]:
    """The keys allowed where ``location`` points (for "unknown key" messages)."""
    cls: Any = ExperimentConfig
    for part in location:
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        target = {"data": DataConfig, "split": SplitConfig, "model": ModelConfig, "training": TrainingConfig,
                  "evaluation": EvaluationConfig, "tracking": TrackingConfig}.get(str(part))
        if target is None or str(part) not in hints:
            break
        cls = target
    return sorted(f.name for f in dataclasses.fields(cls))


def _message(error: dict) -> str:
    location = tuple(part for part in error["loc"] if not isinstance(part, int) or error["type"] != "unexpected_keyword_argument")
    key = ".".join(str(part) for part in location)
    kind, given = error["type"], error.get("input")
    context = error.get("ctx") or {}
    if kind == "unexpected_keyword_argument":
        parent = location[:-1]
        where = f" in {'.'.join(map(str, parent))}" if parent else ""
        return f"unknown config key {key!r}; allowed keys{where}: {', '.join(_fields_at(parent))}"
    if kind == "literal_error":
        allowed = str(context.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{key}: {given!r} is not allowed; choose one of {allowed}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}[kind]
        bound = next(iter(context.values()), "")
        return f"{key}: must be {sign} {bound}, got {given!r}"
    if kind.startswith("int_"):
        return f"{key}: expected integer, got {given!r}"
    if kind.startswith("float_"):
        return f"{key}: expected a number, got {given!r}"
    return f"{key}: {error['msg'].removeprefix('Value error, ')} (got {given!r})"


def _build(data: Any, source: str) -> ExperimentConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return ExperimentConfig(**data)
    except ValidationError as error:
        messages = "; ".join(_message(item) for item in error.errors())
        raise ConfigError(f"{source}: {messages}") from None
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def config_schema() -> dict:
    """A JSON Schema of experiment files, for editors (``toolkit config-schema``)."""
    schema = TypeAdapter(ExperimentConfig).json_schema()
    schema["title"] = "Kamerbrieven toolkit experiment file"
    schema.setdefault("properties", {}).update(
        {
            "base": {"type": "string", "description": "an experiment file (relative path) whose settings this one changes"},
            "sweep": {"type": "object", "description": "dotted keys → lists of values: one run per combination"},
            "by_task": {"type": "object", "description": "task → settings applied only when the run's task is that one"},
        }
    )
    return schema


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
        for depth, part in enumerate(parts[:-1]):
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                earlier = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {assignment!r}: {earlier} was already set to a value; set {earlier}.<key>=… only")
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
    configs = []
    for combo in _combinations(_narrow_sweep(path, sweep, given)):
        assignments = parse_overrides([f"{key}={json.dumps(value)}" for key, value in combo] + list(overrides or []))
        if "by_task" in assignments:
            raise ConfigError("by_task cannot be set with --set; set the task's own keys instead (e.g. model.context=none)")
        # Settings for the chosen task only; sweep values and --set still win over them.
        task = assignments.get("task", data.get("task"))
        layer = _deep_merge(_deep_merge(data, by_task.get(task, {})), assignments)
        if combo:
            layer["name"] = "-".join([data["name"], *(str(value) for _, value in combo)]).replace("+", "")
        configs.append(_build(layer, str(path)))
    return configs


def sweep_points(path: str | Path, overrides: list[str] | None = None) -> list[list[tuple[str, Any]]]:
    """The ``(dotted key, value)`` pairs that pick each experiment of a file, in the order of
    :func:`load_configs` (``[[]]`` for a file without ``sweep:``). A swept key the overrides
    set is narrowed to that value, as :func:`load_configs` does."""
    path = Path(path)
    sweep = _read_layers(path).get("sweep") or {}
    if not isinstance(sweep, dict) or not all(isinstance(v, list) and v for v in sweep.values()):
        raise ConfigError(f"{path}: sweep must map dotted keys to non-empty lists of values")
    return _combinations(_narrow_sweep(path, sweep, parse_overrides(list(overrides or []))))


def _combinations(sweep: dict) -> list[list[tuple[str, Any]]]:
    combinations: list[list[tuple[str, Any]]] = [[]]
    for key, values in sweep.items():
        combinations = [combo + [(key, value)] for combo in combinations for value in values]
    return combinations


def config_from_dict(data: dict, source: str) -> ExperimentConfig:
    """A validated config from :func:`config_to_dict`'s output (e.g. a run's ``config.yaml``)."""
    return _build(data, source)


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
