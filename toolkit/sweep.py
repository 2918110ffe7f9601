"""Sweeps as separate jobs: takes an experiment file, gives one ``toolkit run`` command per
experiment (``toolkit sweep --list``), runs a shard of one experiment's work
(``toolkit run --shard i/n``), merges finished shards into the run directory
(``toolkit merge``), and optionally submits everything through submitit (SLURM or local).

An experiment's work units are its seeds × splits (seed by seed, split by split) and then, for
cross-validation, the final model refit on every letter (:class:`toolkit.experiment.WorkUnit`).
Shard ``i`` of ``n`` runs the units whose index ``k`` has ``k % n == i - 1`` (round robin, so
the folds of every seed spread over the shards; a shard may get no unit when ``n`` exceeds
them). It writes the units' probabilities, and the saved model where it owns that unit, to
``<run directory>.shards/shard-<i>-of-<n>/``, staged and renamed into place like a run
directory, with a manifest written last: a killed shard leaves nothing that looks finished, and
a finished one is reused. ``merge`` checks that all ``n`` shards are there, made from the same
config and data, then writes the run directory with the same function a one-process run uses
(:func:`toolkit.experiment.write_run`), so the metrics are the same, and removes the shards.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import launch
from .config import ExperimentConfig, config_from_dict, config_to_dict, load_config, load_configs, sweep_points
from .errors import ConfigError, RunError, ToolkitError
from .experiment import (
    ExperimentPlan,
    check_launch,
    fit_units,
    plan_experiment,
    run_experiment,
    save_model_files,
    track_run,
    write_run,
)
from .run_dir import MANIFEST_FILE, staged_run, verify_manifest, write_json, write_manifest

__all__ = [
    "EXECUTORS",
    "MergeResult",
    "Shard",
    "ShardResult",
    "finished_shards",
    "merge_shards",
    "parse_shard",
    "run_point",
    "run_shard",
    "shard_area",
    "submit_sweep",
    "sweep_commands",
]

EXECUTORS = ("slurm", "local")
SHARD_FILE = "shard.json"
PROBABILITIES_FILE = "probabilities.npz"
_SHARD_FORMAT = "kamerbrieven-toolkit/shard-1"
_SHARD_NAME = re.compile(r"^shard-(\d+)-of-(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 1) of ``count``."""

    index: int
    count: int

    def owns(self, unit_index: int) -> bool:
        return unit_index % self.count == self.index - 1

    @property
    def name(self) -> str:
        return f"shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class ShardResult:
    path: Path  # the run directory that `toolkit merge` writes
    shard_dir: Path | None  # None: the run was already finished, so no shard was needed
    cached: bool
    units: int


@dataclass(frozen=True)
class MergeResult:
    path: Path
    shards: int  # 0: the run was already merged


def parse_shard(text: str) -> Shard:
    """``"2/4"`` → shard 2 of 4."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ConfigError(f"--shard {text!r}: expected i/n, e.g. --shard 1/4 (shard i of n, counted from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ConfigError(f"--shard {text}: the number of shards must be at least 1")
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {text}: the shard must be between 1 and {count} (shards are counted from 1)")
    return Shard(index, count)


def shard_area(run_path: Path) -> Path:
    """Where the shards of a run directory are written: ``<run directory>.shards/``."""
    run_path = Path(run_path)
    return run_path.parent / f"{run_path.name}.shards"


# ---------------------------------------------------------------- listing


def _yaml_value(value: Any) -> str:
    """A ``--set`` value that reads back as ``value`` (plain where YAML keeps it a string)."""
    import json

    import yaml

    if isinstance(value, str) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _points(config_file: Path, overrides: list[str]) -> list[list[str]]:
    """The ``--set`` assignments of each experiment of the file (the given ones first)."""
    load_configs(config_file, overrides)  # a bad file or override fails here, before anything is listed
    given = {assignment.split("=", 1)[0].strip() for assignment in overrides}
    return [list(overrides) + [f"{key}={_yaml_value(value)}" for key, value in combo if key not in given]
            for combo in sweep_points(config_file, overrides)]


def sweep_commands(config_file: Path, overrides: list[str], *, shards: int | None = None,
                   output_dir: Path | None = None, program: str = "toolkit") -> list[str]:
    """One shell command per experiment of the file (``shards`` commands each with ``--shard``)."""
    _check_shard_count(shards)
    lines = []
    for assignments in _points(config_file, overrides):
        command = [program, "run", str(config_file)] + [part for item in assignments for part in ("--set", item)]
        if output_dir is not None:
            command += ["--output-dir", str(output_dir)]
        for shard in range(1, shards + 1) if shards else [None]:
            lines.append(shlex.join(command + (["--shard", f"{shard}/{shards}"] if shard else [])))
    return lines


def _check_shard_count(shards: int | None) -> None:
    if shards is not None and shards < 1:
        raise ConfigError(f"--shards {shards}: the number of shards must be at least 1")


# ---------------------------------------------------------------- one shard


def run_shard(config: ExperimentConfig, shard: Shard, *, force: bool = False, progress: bool = True) -> ShardResult:
    """Run the units of one shard of the config's experiment into its shard directory."""
    plan = plan_experiment(config)
    check_launch(config)
    launch.ensure_process_group()
    if launch.broadcast_flag((plan.path / MANIFEST_FILE).exists() and not force):
        return ShardResult(plan.path, None, cached=True, units=0)
    directory = shard_area(plan.path) / shard.name
    units = [unit for unit in plan.units if shard.owns(unit.index)]
    if launch.broadcast_flag((directory / MANIFEST_FILE).exists() and not force):
        return ShardResult(plan.path, directory, cached=True, units=len(units))
    with staged_run(directory, writes=launch.is_main_process()) as staging:
        results, model, histories = fit_units(plan, units, progress=progress, work_dir=staging)
        if staging is not None:
            shutil.rmtree(staging / ".joblib", ignore_errors=True)
            _write_shard(staging, plan, shard, units, results, model, histories)
    launch.barrier()
    return ShardResult(plan.path, directory, cached=False, units=len(units))


def _write_shard(staging: Path, plan: ExperimentPlan, shard: Shard, units, results, model, histories) -> None:
    import yaml

    model_format = save_model_files(model, plan.config, staging) if model is not None else None
    # exact float arrays, so the merged metrics equal a one-process run's to the last digit
    np.savez(staging / PROBABILITIES_FILE, **{f"unit{index}_{task}": probabilities
                                              for index, per_task in results.items() for task, (_, probabilities) in per_task.items()})
    (staging / "config.yaml").write_text(yaml.safe_dump(config_to_dict(plan.config), sort_keys=False, allow_unicode=True), encoding="utf-8")
    records = [{"index": unit.index, "seed": unit.seed,
                "split": None if unit.split_index is None else plan.splits[unit.split_index].name,
                "classes": {task: [str(c) for c in classes] for task, (classes, _) in results.get(unit.index, {}).items()},
                "history": histories.get(unit.index)}
               for unit in units]
    write_json(staging / SHARD_FILE, {
        "format": _SHARD_FORMAT, "shard": shard.index, "shards": shard.count, "run": plan.path.name,
        "config_fingerprint": plan.config.fingerprint(), "data_fingerprint": plan.data_fingerprint,
        "world_size": plan.world_size, "units": records, "model_format": model_format, "command": " ".join(sys.argv),
    })
    write_manifest(staging)  # last: a shard without it is not finished


def finished_shards(area: Path) -> dict[Shard, Path]:
    """The finished shard directories in a shard area (hidden staging directories are not)."""
    found = {}
    for entry in sorted(Path(area).iterdir()) if Path(area).is_dir() else []:
        match = _SHARD_NAME.match(entry.name)
        if match and entry.is_dir() and (entry / MANIFEST_FILE).is_file():
            found[Shard(int(match.group(1)), int(match.group(2)))] = entry
    return found


# ---------------------------------------------------------------- merge


def merge_shards(run_path: Path, *, progress: bool = False) -> MergeResult:
    """Write the run directory from its finished shards, then remove them.

    Every check comes before anything is written: all shards present, unchanged since written,
    from one config and one data fingerprint that name this run directory.
    """
    run_path = Path(run_path)
    if run_path.name.endswith(".shards"):  # the shard area named instead of its run (e.g. from a glob)
        run_path = run_path.with_name(run_path.name.removesuffix(".shards"))
    area = shard_area(run_path)
    if not area.is_dir():
        if (run_path / MANIFEST_FILE).is_file():
            return MergeResult(run_path, 0)
        raise RunError(f"{run_path}: no shards to merge (no {area}); run `toolkit run FILE --shard i/n` for every i first "
                       "(`toolkit sweep FILE --list --shards n` lists the commands)")
    shards = _complete_set(run_path, finished_shards(area))
    records = {shard: _read_shard(run_path, shard, directory) for shard, directory in shards.items()}
    plan = _plan_from_shards(run_path, shards, records)
    results, owner, histories = _collect_units(run_path, plan, records)
    with staged_run(run_path) as staging:
        shutil.copytree(shards[owner] / "model", staging / "model")
        if (shards[owner] / "top_features.json").is_file():
            shutil.copy2(shards[owner] / "top_features.json", staging / "top_features.json")
        write_run(staging, plan, results, records[owner]["model_format"], histories)
    shutil.rmtree(area, ignore_errors=True)
    track_run(replace(plan, config=replace(plan.config, output_dir=str(run_path.parent))))
    return MergeResult(run_path, len(shards))


def _complete_set(run_path: Path, found: dict[Shard, Path]) -> dict[Shard, Path]:
    counts = sorted({shard.count for shard in found})
    if not counts:
        raise RunError(f"{run_path}: no finished shard in {shard_area(run_path)} (shards still running or killed leave none)")
    if len(counts) > 1:
        raise RunError(f"{shard_area(run_path)}: shards of different splittings ({' and '.join(f'n={n}' for n in counts)}); "
                       "remove the shard directories of the one you do not want, then merge again")
    (count,) = counts
    missing = [Shard(i, count) for i in range(1, count + 1) if Shard(i, count) not in found]
    if missing:
        raise RunError(f"{run_path}: shard(s) {', '.join(map(str, missing))} missing or unfinished; run them "
                       f"(`toolkit run FILE --shard {missing[0]} …` with the same --set), then merge again; nothing was written")
    return found


def _read_shard(run_path: Path, shard: Shard, directory: Path) -> dict[str, Any]:
    import json

    verify_manifest(directory, again=f"run shard {shard} again with --force")
    record = json.loads((directory / SHARD_FILE).read_text(encoding="utf-8"))
    if record.get("format") != _SHARD_FORMAT or (record.get("shard"), record.get("shards")) != (shard.index, shard.count):
        raise RunError(f"{directory}: not a shard {shard} of this toolkit; run shard {shard} again with --force")
    if record.get("run") != run_path.name:
        raise RunError(f"{directory}: a shard of {record.get('run')}, not of {run_path.name} (another config or data, "
                       f"e.g. a different --set); run shard {shard} again with the run's own config")
    return record


def _plan_from_shards(run_path: Path, shards: dict[Shard, Path], records: dict[Shard, dict]) -> ExperimentPlan:
    import yaml

    first = min(records, key=lambda shard: shard.index)
    for shard, record in records.items():
        for key in ("config_fingerprint", "data_fingerprint", "world_size"):
            if record[key] != records[first][key]:
                raise RunError(f"{shards[shard]}: made with a different {key.replace('_', ' ')} than shard {first} "
                               f"({record[key]} against {records[first][key]}); run it again with the same config and data")
    config_file = shards[first] / "config.yaml"
    config = config_from_dict(yaml.safe_load(config_file.read_text(encoding="utf-8")), str(config_file))
    if config.fingerprint() != records[first]["config_fingerprint"]:
        raise RunError(f"{config_file}: does not match the shard's config fingerprint; run shard {first} again with --force")
    plan = replace(plan_experiment(config, world_size=records[first]["world_size"]), path=run_path)
    if plan.data_fingerprint != records[first]["data_fingerprint"]:
        raise RunError(f"{run_path}: the labelled data changed since the shards ran (fingerprint {plan.data_fingerprint}, "
                       f"shards {records[first]['data_fingerprint']}); run the shards again on the current data")
    return plan


def _collect_units(run_path: Path, plan: ExperimentPlan, records: dict[Shard, dict]):
    """``{unit index: {task: (classes, probabilities)}}`` from every shard, the shard with the model,
    and the units' training histories (transformers)."""
    expected = {unit.index: unit for unit in plan.units}
    results: dict[int, dict[str, tuple[list[str], np.ndarray]]] = {}
    histories: dict[int, list] = {}
    owner = None
    for shard, record in records.items():
        directory = shard_area(run_path) / shard.name
        with np.load(directory / PROBABILITIES_FILE, allow_pickle=False) as arrays:
            for unit in record["units"]:
                planned = expected.get(unit["index"])
                split = None if planned is None or planned.split_index is None else plan.splits[planned.split_index].name
                if planned is None or not shard.owns(unit["index"]) or (planned.seed, split) != (unit["seed"], unit["split"]):
                    raise RunError(f"{directory}: its work units do not match the run's seeds and splits; run shard {shard} again with --force")
                if split is not None:
                    results[unit["index"]] = {task: (classes, arrays[f"unit{unit['index']}_{task}"]) for task, classes in unit["classes"].items()}
                if unit.get("history"):
                    histories[unit["index"]] = unit["history"]
        if plan.model_unit in {unit["index"] for unit in record["units"]}:
            owner = shard
    evaluated = {unit.index for unit in plan.units if unit.split_index is not None}
    if set(results) != evaluated or owner is None:
        raise RunError(f"{shard_area(run_path)}: the shards do not cover every seed and split; run them again with --force")
    return results, owner, histories


# ---------------------------------------------------------------- executors


def run_point(config_file: str, assignments: list[str], output_dir: str | None, shard: str | None, force: bool) -> str:
    """One listed command as a function (what a submitted job runs); returns the run directory."""
    config = load_config(config_file, assignments)
    if output_dir is not None:
        config = replace(config, output_dir=str(output_dir))
    if shard is not None:
        return str(run_shard(config, parse_shard(shard), force=force, progress=False).path)
    return str(run_experiment(config, force=force, progress=False).path)


def _executor(kind: str, log_dir: Path, parameters: dict[str, Any]):
    try:
        import submitit
    except ImportError:
        raise ToolkitError("--submit needs submitit: pip install 'kamerbrieven-toolkit[cluster]' (or pip install submitit)") from None
    if kind == "local":  # the local executor knows only a time limit
        executor = submitit.LocalExecutor(folder=str(log_dir))
        executor.update_parameters(timeout_min=parameters.get("timeout_min") or 60)
        return executor
    executor = submitit.AutoExecutor(folder=str(log_dir), cluster="slurm")
    executor.update_parameters(**{key: value for key, value in parameters.items() if value is not None})
    return executor


def submit_sweep(config_file: Path, overrides: list[str], *, executor: str, shards: int | None = None,
                 output_dir: Path | None = None, log_dir: Path | None = None, force: bool = False,
                 parameters: dict[str, Any] | None = None, report=None) -> list[Path]:
    """Submit one job per experiment (or per shard of each), wait for all, merge; return the run directories."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--submit {executor!r}: choose one of {', '.join(EXECUTORS)}")
    _check_shard_count(shards)
    points = _points(config_file, overrides)
    log_dir = Path(log_dir or Path(output_dir or load_configs(config_file, overrides)[0].output_dir) / ".submitit")
    jobs_args = [(assignments, None if not shards else f"{i}/{shards}") for assignments in points for i in range(1, (shards or 1) + 1)]
    submitter = _executor(executor, log_dir, parameters or {})
    count = len(jobs_args)
    jobs = submitter.map_array(run_point, [str(config_file)] * count, [a for a, _ in jobs_args],
                               [None if output_dir is None else str(output_dir)] * count, [s for _, s in jobs_args], [force] * count)
    if report:
        report(f"submitted {count} job(s) to {executor} ({', '.join(str(job.job_id) for job in jobs)}); logs in {log_dir}")
    paths, failed = [], []
    for job, (assignments, shard) in zip(jobs, jobs_args):
        try:
            paths.append(Path(job.result()))
        except Exception as error:  # a job's own traceback is in its log; name the job and the log
            last = str(error).strip().splitlines()[-1:] or ["failed"]
            failed.append(f"--set {' '.join(assignments) or '(none)'}{f' --shard {shard}' if shard else ''}: {last[0]} (log: {job.paths.stderr})")
    if failed:
        raise RunError(f"{len(failed)} of {count} job(s) failed; nothing merged:\n  " + "\n  ".join(failed))
    runs = list(dict.fromkeys(paths))  # the shards of one experiment name one run directory
    if shards:
        for run in runs:
            merge_shards(run)
    return runs
