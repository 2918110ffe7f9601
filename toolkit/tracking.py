"""Experiment tracking: takes a finished run directory, gives an MLflow run with the same content
(``tracking: mlflow`` in an experiment file).

The run directory stays the record of a run; MLflow is where a group browses and compares many
of them. Logged: every config value as a parameter (dotted keys), per task the macro-F1 with its
interval, accuracy and the baselines, every transformer fit's loss and held-out / validation
macro-F1 per epoch (step = epoch), tags naming the run directory and its data, and the whole run
directory as artifacts. By default the store is SQLite beside the runs
(``<output_dir>/mlflow.db``); ``tracking.uri`` points elsewhere (a tracking server, another
database). The artifacts of an SQLite store go beside it (``mlflow-artifacts/``). MLflow is optional
(``pip install 'kamerbrieven-toolkit[tracking]'``) and imported only here.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from .errors import ConfigError, RunError
from .run_dir import RunDirectory

__all__ = ["default_tracking_uri", "flat_params", "log_run", "run_metrics"]

_KEY = re.compile(r"[^\w.\- /]")
_EPOCH_SCORES = ("train_loss", "validation_macro_f1", "heldout_macro_f1")


def default_tracking_uri(output_dir: str | Path) -> str:
    return f"sqlite:///{Path(output_dir).resolve() / 'mlflow.db'}"


def _key(name: str) -> str:
    return _KEY.sub("_", name)


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys → values as text (lists and mappings as JSON), as MLflow stores parameters."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{name}."))
        else:
            flat[_key(name)] = value if isinstance(value, str) else json.dumps(value)
    return flat


def run_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The final figures of a run, per task: macro-F1 and its interval, accuracy, baselines, seed spread."""
    flat: dict[str, float] = {}
    for task, figures in metrics["tasks"].items():
        model = figures["model"]
        low, high = model["macro_f1_interval"]
        flat.update({f"{task}.macro_f1": model["macro_f1"], f"{task}.macro_f1_ci_low": low, f"{task}.macro_f1_ci_high": high,
                     f"{task}.accuracy": model["accuracy"]})
        for name, baseline in figures.get("baselines", {}).items():
            flat[f"{task}.{name}_macro_f1"] = baseline["macro_f1"]
        summary = figures.get("seed_summary") or {}
        if summary.get("n_seeds", 1) > 1:
            flat[f"{task}.seed_mean_macro_f1"], flat[f"{task}.seed_std_macro_f1"] = summary["mean"], summary["std"]
    return {_key(name): float(value) for name, value in flat.items()}


def _epoch_metrics(run: RunDirectory) -> list[tuple[str, float, int]]:
    """(key, value, epoch) for every fit's per-epoch record: the folds' and the saved model's."""
    curves = []
    if "training_history.json" in run.manifest():
        for curve in json.loads(run.verify("training_history.json").read_text(encoding="utf-8")):
            curves.append((f"{curve['split']}.seed{curve['seed']}", curve["history"]))
    if "model/toolkit.json" in run.manifest():
        fit = json.loads(run.verify("model/toolkit.json").read_text(encoding="utf-8")).get("fit", {})
        curves.append(("saved_model", fit.get("history") or []))
    return [(_key(f"{prefix}.{name}"), float(record[name]), int(record["epoch"]))
            for prefix, history in curves for record in history for name in _EPOCH_SCORES if record.get(name) is not None]


def _local_artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store go beside it (MLflow's own default is ./mlruns in whatever
    directory the command runs in); a tracking server keeps its own."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlflow-artifacts").as_uri()


def _experiment(client, name: str, artifact_root: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root)


def log_run(run_path: str | Path, tracking: Any, output_dir: str | Path) -> str:
    """Log the finished run at ``run_path`` to MLflow as ``tracking`` says; returns the MLflow run id."""
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError("tracking: mlflow needs MLflow: pip install 'kamerbrieven-toolkit[tracking]' (or set tracking: none)") from None
    run = RunDirectory(run_path)
    run.verify_all()
    config, metrics = run.config(), run.metrics()
    uri = tracking.uri or default_tracking_uri(output_dir)
    artifact_root = _local_artifact_root(uri)
    now = int(time.time() * 1000)
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment = _experiment(client, tracking.experiment or config.get("name", "experiment"), artifact_root)
        tags = {"toolkit.run_directory": str(run.path.resolve()), "toolkit.data_fingerprint": metrics.get("data_fingerprint", ""),
                "toolkit.model": config["model"]["kind"], "toolkit.task": config["task"]}
        mlflow_run = client.create_run(experiment, run_name=run.name, tags=tags)
        run_id = mlflow_run.info.run_id
        params = [Param(key, value[:6000]) for key, value in flat_params(config).items()]
        final = [Metric(key, value, now, 0) for key, value in run_metrics(metrics).items()]
        per_epoch = [Metric(key, value, now, epoch) for key, value, epoch in _epoch_metrics(run)]
        for start in range(0, max(len(params), len(final) + len(per_epoch)), 100):  # MLflow's batch limits
            client.log_batch(run_id, metrics=(final + per_epoch)[start:start + 100], params=params[start:start + 100],
                             tags=[RunTag(k, v) for k, v in tags.items()] if start == 0 else [])
        client.log_artifacts(run_id, str(run.path), artifact_path="run")
        client.set_terminated(run_id)
    except Exception as error:  # noqa: BLE001 - MLflow raises many kinds; the run itself is finished and kept
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunError(f"{run.path}: the run is complete, but logging it to MLflow at {uri} failed: {message}") from None
    return run_id
