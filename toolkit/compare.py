"""Comparing finished runs: takes run directories, gives a results table and paired significance tests."""

from __future__ import annotations

from pathlib import Path

from .errors import ToolkitError
from .evaluate import approximate_randomization_test, paired_bootstrap_test
from .report import markdown_table
from .run_dir import RunDirectory

__all__ = ["compare_runs", "paired_tests"]


def _model_description(config: dict) -> str:
    model = config["model"]
    context = "" if model.get("context", "none") == "none" else " +" + model["context"]
    if model["kind"] == "tfidf":
        tuned = " tuned" if config["training"]["tune"] else ""
        return f"tfidf {model['features']} {model['classifier']}{tuned}{context}"
    if model["kind"] == "transformer":
        multitask = config.get("task") == "all" or model.get("multitask")  # older runs also say model.multitask
        return f"{Path(model['name_or_path']).name}{' multitask' if multitask else ''}{context}"
    return model["kind"]


def compare_runs(runs: list[RunDirectory | Path], *, markdown: bool = False) -> str:
    header = ["run", "task", "model", "split", "macro-F1", "95% CI", "accuracy", "majority", "stratified", "seeds", "n"]
    rows = []
    for run in map(RunDirectory.of, runs):
        metrics, config = run.metrics(), run.config()
        split = config["data"]["split"]
        split_name = "held-out " + "+".join(split["test_letters"]) if split["kind"] == "holdout" else split["kind"]
        for task, figures in metrics["tasks"].items():
            model = figures["model"]
            summary = figures["seed_summary"]
            seeds = f"{summary['mean']:.3f}±{summary['std']:.3f} ({summary['n_seeds']})" if summary["n_seeds"] > 1 else "1"
            rows.append([
                config["name"], task, _model_description(config), split_name, f"{model['macro_f1']:.3f}",
                f"{model['macro_f1_interval'][0]:.3f}–{model['macro_f1_interval'][1]:.3f}"
                + ("" if model.get("interval_resamples", "letters") == "letters" else " (sentences)"),
                f"{model['accuracy']:.3f}",
                f"{figures['baselines']['majority']['macro_f1']:.3f}", f"{figures['baselines']['stratified']['macro_f1']:.3f}",
                seeds, model["n"],
            ])
    if markdown:
        return markdown_table(header, rows)
    widths = [max(len(str(value)) for value in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(value).ljust(width) for value, width in zip(line, widths)) for line in [header, *rows]]
    return "\n".join(lines)


def _predictions(run: RunDirectory) -> dict[tuple[str, str], dict]:
    rows: dict[tuple[str, str], dict] = {}
    for row in run.predictions():
        rows.setdefault((row["task"], row["id"]), row)  # the first seed's prediction
    return rows


def paired_tests(run_a: RunDirectory | Path, run_b: RunDirectory | Path, *, samples: int = 1000, markdown: bool = False) -> str:
    """Paired bootstrap over letters and approximate randomisation, per shared task."""
    run_a, run_b = RunDirectory.of(run_a), RunDirectory.of(run_b)
    a, b = _predictions(run_a), _predictions(run_b)
    tasks = sorted({task for task, _ in a} & {task for task, _ in b})
    if not tasks:
        raise ToolkitError("the two runs share no task")
    header = ["task", "sentences", "resampled", "macro-F1 A − B", "95% CI (bootstrap)", "p (paired bootstrap)", "p (approx. randomisation)"]
    rows = []
    for task in tasks:
        shared = sorted(key for key in a if key[0] == task and key in b)
        if not shared:
            raise ToolkitError(f"task {task}: the two runs have no test sentence in common")
        gold = [a[key]["gold"] for key in shared]
        letters = [a[key]["letter_id"] for key in shared]
        # With one test letter, whole letters cannot be resampled: fall back to sentences.
        unit = "letters" if len(set(letters)) > 1 else "sentences"
        if unit == "sentences":
            letters = [key[1] for key in shared]
        predicted_a = [a[key]["predicted"] for key in shared]
        predicted_b = [b[key]["predicted"] for key in shared]
        bootstrap = paired_bootstrap_test(gold, predicted_a, predicted_b, letters, samples=samples)
        randomised = approximate_randomization_test(gold, predicted_a, predicted_b, letters, samples=samples)
        rows.append([task, len(shared), unit, f"{bootstrap['difference']:+.3f}",
                     f"{bootstrap['interval'][0]:+.3f}…{bootstrap['interval'][1]:+.3f}",
                     f"{bootstrap['p_value']:.3f}", f"{randomised['p_value']:.3f}"])
    title = f"A = {run_a.name}, B = {run_b.name}"
    return title + "\n" + markdown_table(header, rows)
