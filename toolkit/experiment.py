"""The experiment runner: takes a config, gives a run directory (config → splits → fit → predict →
evaluate → run directory), and the main job on the default data.

A run directory (``runs/<name>-<hash>/``) holds everything needed to trust and repeat
a result: the resolved config, the data and code fingerprints, package versions,
``metrics.json``, a per-class report, confusion matrices (PNG and data), per-sentence
predictions with probabilities, and the fitted model. It is written to a temporary
directory and renamed into place only when complete, so an interrupted run leaves
nothing that looks finished. A run whose config and data match a finished run is not
recomputed unless ``force`` is given.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import ExperimentConfig, config_to_dict
from .dataset import (
    LabelledTable,
    Split,
    fixed_holdout_split,
    grouped_kfold_splits,
    leave_one_letter_out_splits,
    load_labelled_table,
    time_ordered_split,
)
from .errors import ConfigError, DatasetError
from .evaluate import classification_metrics, letter_bootstrap_interval, macro_f1, summarise_seeds
from . import launch
from .models import TUNABLE_PARAMETERS
from .run_dir import MANIFEST_FILE, run_directory_name, staged_run, write_json, write_jsonl_rows, write_manifest
from .seeding import seed_everything

__all__ = [
    "ExperimentPlan",
    "RunResult",
    "WorkUnit",
    "build_model",
    "check_launch",
    "evaluate_units",
    "fit_units",
    "make_splits",
    "plan_experiment",
    "run_experiment",
    "save_model_files",
    "track_run",
    "write_run",
]

_TRACKED_PACKAGES = ("scikit-learn", "numpy", "scipy", "datasets", "torch", "transformers", "tokenizers", "wordfreq", "pyphen")
_PROBABILITY_DECIMALS = 6


@dataclass(frozen=True)
class RunResult:
    path: Path
    cached: bool


# ----------------------------------------------------------------------- pieces


def make_splits(table: LabelledTable, config: ExperimentConfig) -> list[Split]:
    split = config.data.split
    if split.kind == "leave_one_letter_out":
        return list(leave_one_letter_out_splits(table))
    if split.kind == "grouped_kfold":
        return list(grouped_kfold_splits(table, split.n_splits, config.training.seed))
    if split.kind == "time_ordered":
        return [time_ordered_split(table, split.test_fraction)]
    return [fixed_holdout_split(table, split.test_letters)]


def build_model(config: ExperimentConfig, seed: int, *, progress: bool = False):
    """An unfitted estimator for the config (TF-IDF, transformer or a dummy baseline)."""
    model = config.model
    if model.kind in ("majority", "stratified"):
        from .models.baselines import build_baseline

        return build_baseline("most_frequent" if model.kind == "majority" else "stratified", seed)
    if model.kind == "tfidf":
        from .models.baselines import build_tfidf_pipeline

        pipeline = build_tfidf_pipeline(
            features=model.features,
            classifier=model.classifier,
            C=model.C,
            class_weight=model.class_weight,
            word_ngrams=model.word_ngrams,
            char_ngrams=model.char_ngrams,
            min_df=model.min_df,
            seed=seed,
            context=model.context,
        )
        if not config.training.tune:
            return pipeline
        return _tuned(pipeline, config)
    return _transformer(config, seed, progress=progress)


def _tuned(pipeline, config: ExperimentConfig):
    """Hyperparameters chosen by an inner cross-validation grouped by letter."""
    from sklearn.model_selection import GridSearchCV, GroupKFold

    tunable = TUNABLE_PARAMETERS["tfidf"]
    grid = {tunable[key]: values for key, values in config.training.tune.items()}  # keys checked by the config
    return _GroupedGridSearch(
        GridSearchCV(pipeline, grid, scoring="f1_macro", cv=GroupKFold(n_splits=config.training.inner_folds), n_jobs=1, refit=True)
    )


class _GroupedGridSearch:
    """Passes the letter ids of the training rows to the inner grouped CV."""

    def __init__(self, search) -> None:
        self.search = search

    def fit(self, X, y):
        groups = [row["letter_id"] for row in X]
        self.search.fit(X, y, groups=groups)
        self.best_params_ = self.search.best_params_
        self.classes_ = self.search.best_estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.search.best_estimator_.predict_proba(X)

    @property
    def best_estimator_(self):
        return self.search.best_estimator_


def _transformer(config: ExperimentConfig, seed: int, *, progress: bool):
    from .models.loading import resolve_model_path

    model, training = config.model, config.training
    options = dict(
        model_name_or_path=resolve_model_path(model.name_or_path),
        max_length=model.max_length,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        epochs=training.epochs,
        warmup_ratio=training.warmup_ratio,
        weight_decay=training.weight_decay,
        class_weight=model.class_weight,
        early_stopping_patience=training.early_stopping_patience,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        mixed_precision=training.mixed_precision,
        context=model.context,
        num_threads=training.num_threads,
        seed=seed,
        progress=progress,
    )
    if config.multitask:
        from .models.multitask import MultiTaskTransformerClassifier

        return MultiTaskTransformerClassifier(**options)
    from .models.transformer import TransformerClassifier

    return TransformerClassifier(**options)


# ------------------------------------------------------------------ fitting


def _labels_for(table: LabelledTable, task: str, rows) -> list[str]:
    return [table.labels[task][i] for i in rows]


def _check_classes(table: LabelledTable, tasks: list[str], split: Split) -> None:
    for task in tasks:
        train_classes = set(_labels_for(table, task, split.train))
        missing = sorted(set(_labels_for(table, task, split.test)) - train_classes)
        if missing:
            raise DatasetError(
                f"split {split.name}: class(es) {', '.join(missing)} of task {task!r} occur in the test letters "
                "but not in the training letters; choose another split or merge the class"
            )
        if len(train_classes) < 2:
            raise DatasetError(f"split {split.name}: the training letters have only one class for task {task!r}")


def _fit_predict(config: ExperimentConfig, table: LabelledTable, tasks: list[str], split: Split, seed: int, progress: bool):
    """Fit on the split's training rows; return per-task (classes, probabilities) for its test rows."""
    seed_everything(seed, config.training.num_threads)
    train_inputs = [table.inputs[i] for i in split.train]
    test_inputs = [table.inputs[i] for i in split.test]
    model = build_model(config, seed, progress=progress)
    # Transformers score the held-out letters after every epoch, for the run's learning curves
    # (recorded only: training and early stopping never see them).
    monitor = config.model.kind == "transformer"
    if config.multitask:
        held_out = {task: _labels_for(table, task, split.test) for task in tasks}
        model.fit(train_inputs, {task: _labels_for(table, task, split.train) for task in tasks},
                  **({"eval_set": (test_inputs, held_out)} if monitor else {}))
        probabilities = model.predict_proba(test_inputs)
        return {task: (list(model.classes_[task]), np.asarray(probabilities[task])) for task in tasks}, model
    (task,) = tasks
    model.fit(train_inputs, _labels_for(table, task, split.train),
              **({"eval_set": (test_inputs, _labels_for(table, task, split.test))} if monitor else {}))
    return {task: (list(model.classes_), np.asarray(model.predict_proba(test_inputs)))}, model


def _dummy_predictions(table: LabelledTable, task: str, splits: list[Split], strategy: str, seed: int) -> np.ndarray:
    from .models.baselines import build_baseline

    predicted = np.empty(len(table), dtype=object)
    for split in splits:
        model = build_baseline(strategy, seed).fit([table.inputs[i] for i in split.train], _labels_for(table, task, split.train))
        predicted[list(split.test)] = model.predict([table.inputs[i] for i in split.test])
    return predicted


def _evaluate(table, task, rows, predicted, config: ExperimentConfig, seed: int) -> dict:
    gold = _labels_for(table, task, rows)
    letters = [table.letter_ids[i] for i in rows]
    labels = list(table.schema.tasks[task].classes)
    metrics = classification_metrics(gold, list(predicted), labels)
    # Resampling whole letters needs several test letters; with one held-out letter the
    # interval can only come from resampling its sentences, and says so.
    several_letters = len(set(letters)) > 1
    groups = letters if several_letters else [str(i) for i in range(len(letters))]
    low, high = letter_bootstrap_interval(
        gold, list(predicted), groups, samples=config.evaluation.bootstrap_samples, confidence=config.evaluation.confidence, seed=seed
    )
    metrics["macro_f1_interval"] = [low, high]
    metrics["interval_resamples"] = "letters" if several_letters else "sentences (one test letter)"
    metrics["test_letters"] = len(set(letters))
    if several_letters:
        metrics["per_letter"] = _per_letter(gold, list(predicted), letters)
    return metrics


def _per_letter(gold: list[str], predicted: list[str], letters: list[str]) -> dict[str, dict[str, Any]]:
    """Macro-F1 and accuracy on each test letter's own sentences: where a model fails, not only how much."""
    rows: dict[str, list[int]] = {}
    for index, letter in enumerate(letters):
        rows.setdefault(letter, []).append(index)
    result = {}
    for letter, indices in sorted(rows.items()):
        letter_gold, letter_predicted = [gold[i] for i in indices], [predicted[i] for i in indices]
        result[letter] = {
            "n": len(indices),
            "macro_f1": round(macro_f1(letter_gold, letter_predicted), 6),
            "accuracy": round(sum(g == p for g, p in zip(letter_gold, letter_predicted)) / len(indices), 6),
        }
    return result


# ------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class WorkUnit:
    """One piece of an experiment's work: fit one seed on one split and predict its test letters,
    or (``split_index`` None) fit the final model on every labelled letter."""

    index: int
    seed: int
    split_index: int | None


@dataclass(frozen=True)
class ExperimentPlan:
    """What one config's run works on: the labelled table, tasks, splits, seeds and its run directory.

    Its :attr:`units` are the seeds × splits in a fixed order (seed by seed, split by split), then
    the final model when the splits are several; every unit seeds itself, so units can run in any
    order, in any process, and give the same predictions.
    """

    config: ExperimentConfig
    table: LabelledTable
    tasks: list[str]
    splits: list[Split]
    seeds: list[int]
    data_fingerprint: str
    world_size: int
    path: Path

    @property
    def units(self) -> list[WorkUnit]:
        units = [WorkUnit(len(self.splits) * s + i, seed, i) for s, seed in enumerate(self.seeds) for i in range(len(self.splits))]
        if len(self.splits) > 1:  # cross-validation: the saved model is refit on every letter
            units.append(WorkUnit(len(units), self.seeds[0], None))
        return units

    @property
    def model_unit(self) -> int:
        """The unit whose model is saved with the run (with one split: the last seed's model)."""
        return len(self.units) - 1


def plan_experiment(config: ExperimentConfig, *, world_size: int | None = None) -> ExperimentPlan:
    """Load the config's labelled data and check it can be split; nothing is fitted or written."""
    table = load_labelled_table(Path(config.data.labels_dir) if config.data.labels_dir else None, config.data.parts)
    tasks = list(table.schema.task_names) if config.multitask else [config.task]
    if config.task != "all" and config.task not in table.schema.tasks:
        raise ConfigError(f"task: {config.task!r} is not in the label schema; choose one of {', '.join(table.schema.task_names)}, or all")
    world_size = launch.world_size() if world_size is None else world_size
    data_fingerprint = table.fingerprint()
    final = Path(config.output_dir) / run_directory_name(config, data_fingerprint, world_size)
    splits = make_splits(table, config)
    for split in splits:
        _check_classes(table, tasks, split)
    seeds = list(config.training.seeds or [config.training.seed])
    return ExperimentPlan(config, table, tasks, splits, seeds, data_fingerprint, world_size, final)


def fit_units(plan: ExperimentPlan, units: list[WorkUnit], *, progress: bool, work_dir: Path | None = None):
    """Fit and predict the given units; return ``{unit index: {task: (classes, probabilities)}}``,
    the saved model if :attr:`ExperimentPlan.model_unit` is among them (else None), and the
    transformers' training histories ``{unit index: per-epoch records}`` (empty for TF-IDF)."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    config, keep = plan.config, plan.model_unit
    evaluated = [unit for unit in units if unit.split_index is not None]
    final = any(unit.split_index is None for unit in units)
    final_args = (config, plan.table, plan.tasks, plan.seeds[0])
    iterator = tqdm(evaluated, desc=config.name, unit="fit", file=sys.stderr) if progress and evaluated else evaluated
    parallel_jobs = config.training.num_threads if config.model.kind == "tfidf" else 1
    if parallel_jobs > 1:
        # joblib's temporary files go into the run's staging directory (not /dev/shm), so a
        # killed run's leftovers are removed with its staging directory by the next run
        temp_folder = str(Path(work_dir) / ".joblib") if work_dir is not None else None
        # The final model is one more job, queued first, so that it is fitted beside the folds
        # instead of after them.
        first = [delayed(_final_model)(*final_args, False)] if final else []
        folds = (delayed(_fit_unit)(plan, unit, False, unit.index == keep) for unit in iterator)  # lazy: the bar follows dispatch
        fitted = Parallel(n_jobs=parallel_jobs, max_nbytes=None, temp_folder=temp_folder)(itertools.chain(first, folds))
        final_model = fitted.pop(0) if final else None
    else:
        fitted = [_fit_unit(plan, unit, progress, unit.index == keep) for unit in iterator]
        final_model = _final_model(*final_args, progress) if final else None
    results = {unit.index: per_task for unit, (per_task, _, _) in zip(evaluated, fitted)}
    histories = {unit.index: history for unit, (_, _, history) in zip(evaluated, fitted) if history}
    saved = final_model if final else next((model for unit, (_, model, _) in zip(evaluated, fitted) if unit.index == keep), None)
    return results, saved, histories


def _fit_unit(plan: ExperimentPlan, unit: WorkUnit, progress: bool, keep_model: bool):
    """One split's predictions and training history; the model only where it is kept (a transformer per fold is large)."""
    per_task, model = _fit_predict(plan.config, plan.table, plan.tasks, plan.splits[unit.split_index], unit.seed, progress)
    return per_task, model if keep_model else None, getattr(model, "history_", None)


# ------------------------------------------------------------------------ run


def run_experiment(config: ExperimentConfig, *, force: bool = False, progress: bool = True) -> RunResult:
    """Run one experiment and return its run directory."""
    plan = plan_experiment(config)
    check_launch(config)
    # Under torchrun every process trains, rank 0 alone writes; rank 0's view of the
    # cache decides for all, or processes on other disks would wait for it forever.
    launch.ensure_process_group()
    if launch.broadcast_flag((plan.path / MANIFEST_FILE).exists() and not force):
        return RunResult(plan.path, cached=True)
    with staged_run(plan.path, writes=launch.is_main_process()) as staging:
        results, model, histories = fit_units(plan, plan.units, progress=progress, work_dir=staging)
        if staging is not None:
            shutil.rmtree(staging / ".joblib", ignore_errors=True)
            model_format = save_model_files(model, config, staging)
            write_run(staging, plan, results, model_format, histories)
    launch.barrier()  # the run directory is in place before any process reports it
    track_run(plan)
    return RunResult(plan.path, cached=False)


def track_run(plan: ExperimentPlan) -> None:
    """Log a newly finished run to the config's tracker (rank 0 only; nothing for ``tracking: none``)."""
    if plan.config.tracking.kind == "mlflow" and launch.is_main_process():
        from .tracking import log_run

        log_run(plan.path, plan.config.tracking, plan.config.output_dir)


def evaluate_units(plan: ExperimentPlan, results: dict[int, dict[str, tuple[list[str], np.ndarray]]]):
    """Metrics and prediction rows from every evaluated unit's probabilities.

    The one place metrics are computed: a run in one process and a merge of shards both call it,
    so their numbers agree by construction.
    """
    config, table, tasks, splits, seeds = plan.config, plan.table, plan.tasks, plan.splits, plan.seeds
    metrics: dict[str, Any] = {"tasks": {}, "seeds": seeds, "split": config.data.split.kind, "model": config.model.kind}
    prediction_rows: list[dict[str, Any]] = []
    seed_scores: dict[str, list[float]] = {task: [] for task in tasks}
    units = [unit for unit in plan.units if unit.split_index is not None]
    for seed_position, seed in enumerate(seeds):
        seed_units = units[seed_position * len(splits):(seed_position + 1) * len(splits)]
        for task in tasks:
            predicted = np.empty(len(table), dtype=object)
            evaluated_rows: list[int] = []
            for unit in seed_units:
                split = splits[unit.split_index]
                classes, probabilities = results[unit.index][task]
                for row, probs in zip(split.test, probabilities):
                    best = int(probs.argmax())
                    predicted[row] = classes[best]
                    evaluated_rows.append(row)
                    prediction_rows.append(_prediction_row(table, task, seed, split, row, classes, probs, best))
            rows = sorted(set(evaluated_rows))
            task_metrics = _evaluate(table, task, rows, predicted[rows], config, seed)
            seed_scores[task].append(task_metrics["macro_f1"])
            if seed_position == 0:
                baselines = {}
                for name, strategy in (("majority", "most_frequent"), ("stratified", "stratified")):
                    dummy = _dummy_predictions(table, task, splits, strategy, seed)
                    baselines[name] = _evaluate(table, task, rows, dummy[rows], config, seed)
                metrics["tasks"][task] = {"model": task_metrics, "baselines": baselines}
            else:
                metrics["tasks"][task].setdefault("other_seeds", []).append(task_metrics)
    for task in tasks:
        metrics["tasks"][task]["seed_summary"] = summarise_seeds(seed_scores[task])
    metrics["data_fingerprint"] = plan.data_fingerprint
    return metrics, prediction_rows


def _prediction_row(table, task, seed, split, row, classes, probs, best) -> dict[str, Any]:
    return {
        "seed": seed,
        "split": split.name,
        "task": task,
        "id": table.ids[row],
        "letter_id": table.letter_ids[row],
        "text": table.inputs[row]["text"],
        "gold": table.labels[task][row],
        "predicted": classes[best],
        "probability": round(float(probs[best]), _PROBABILITY_DECIMALS),
        "probabilities": {c: round(float(p), _PROBABILITY_DECIMALS) for c, p in zip(classes, probs)},
    }


def check_launch(config: ExperimentConfig) -> None:
    """A config that pins its number of processes runs only under that launch."""
    wanted, launched = config.training.processes, launch.world_size()
    if wanted is None or wanted == launched:
        return
    how = "as one process (plain `toolkit run`)" if wanted == 1 else f"with `torchrun --nproc_per_node {wanted} -m toolkit.cli run …`"
    raise ConfigError(
        f"training.processes is {wanted}, but this run has {launched} process(es); start it {how}, "
        f"or set training.processes={launched} (batch_size is per process, so results change with the number of processes)"
    )


def _final_model(config, table, tasks, seed, progress):
    """The model saved with a cross-validated run: refit on all labelled letters, for use on new
    letters. (With a single train/test split the saved model is the one just evaluated.)"""
    seed_everything(seed, config.training.num_threads)
    model = build_model(config, seed, progress=progress)
    inputs = list(table.inputs)
    if config.multitask:
        return model.fit(inputs, {task: list(table.labels[task]) for task in tasks})
    return model.fit(inputs, list(table.labels[tasks[0]]))


def save_model_files(model, config: ExperimentConfig, directory: Path) -> str:
    """The model's files of a run directory (``model/``; for TF-IDF ``top_features.json``);
    returns the model format recorded in the provenance."""
    model_format = _save_model(model, Path(directory) / "model")
    if config.model.kind == "tfidf":
        from .models.baselines import top_features

        estimator = model.best_estimator_ if hasattr(model, "best_estimator_") else model
        write_json(Path(directory) / "top_features.json", top_features(estimator))
    return model_format


def write_run(staging: Path, plan: ExperimentPlan, results, model_format: str, histories=None) -> None:
    """Every other file of the run directory (see :mod:`toolkit.run_dir`), from the units' results;
    ``model/`` (and ``top_features.json``) must already be in ``staging``. Transformer runs also get
    ``training_history.json`` and ``learning_curves.png`` (loss and held-out macro-F1 per epoch)."""
    import yaml

    from .report import per_class_report, plot_confusion_matrix, plot_learning_curves, plot_per_letter

    if histories:
        curves = [{"seed": unit.seed, "split": plan.splits[unit.split_index].name, "history": histories[unit.index]}
                  for unit in plan.units if unit.index in histories]
        write_json(staging / "training_history.json", curves)
        plot_learning_curves(curves, f"{plan.config.name}: learning curves", staging / "learning_curves.png")

    config, table = plan.config, plan.table
    metrics, prediction_rows = evaluate_units(plan, results)
    (staging / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True), encoding="utf-8")
    write_json(staging / "metrics.json", metrics)
    write_jsonl_rows(staging / "predictions.jsonl", prediction_rows)
    write_json(
        staging / "provenance.json",
        {
            "data_fingerprint": plan.data_fingerprint,
            "letters": sorted(set(table.letter_ids)),
            "sentences": len(table),
            "codebook": table.schema.codebook,
            "code": _code_fingerprint(),
            "versions": _versions(),
            "seeds": metrics["seeds"],
            "model_format": model_format,
            "launch": launch.describe(),
            "command": " ".join(sys.argv),
        },
    )
    report_lines = [f"# {config.name}", ""]
    for task in plan.tasks:
        task_metrics = metrics["tasks"][task]["model"]
        plot_confusion_matrix(task_metrics["confusion_matrix"], task_metrics["labels"], f"{config.name}: {task}",
                              staging / f"confusion_{task}.png")
        if "per_letter" in task_metrics:
            plot_per_letter(task_metrics["per_letter"], task_metrics["macro_f1"], f"{config.name}: {task}, per held-out letter",
                            staging / f"letters_{task}.png")
        report_lines += [per_class_report(task, metrics["tasks"][task]), ""]
    (staging / "report.md").write_text("\n".join(report_lines), encoding="utf-8")
    write_manifest(staging)  # last: it lists every file above


def _save_model(model, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "save"):  # transformer models: safetensors checkpoint
        model.save(directory)
        return "transformer"
    from .models.baselines import save_skops_model

    save_skops_model(model, directory / "model.skops")
    return "skops"


def _code_fingerprint() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--", "toolkit"], cwd=root, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip()) if commit else None}


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in _TRACKED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions
