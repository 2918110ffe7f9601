"""Benchmark: the full TF-IDF suite, its model files and its prediction throughput, each against
the plain alternative in the same run.

1. Wall time of the main TF-IDF experiment (word+char, linear SVM, the main job's context per
   task) for all three tasks, leave-one-letter-out on the default corpus, as `toolkit run` does it
   (folds in parallel over the configured 2 processes; bootstrap intervals, plots, model saving
   included): counting each sentence once per process (the default) and refitting the plain
   vectorisers in every fold (``TOOLKIT_TFIDF_COUNT_ONCE=0``), each in a fresh process; the
   predictions of the two must be identical.
2. Size of the saved model of each task: the toolkit's file (vocabulary as an array, compressed)
   against a plain skops file of the same pipeline; predictions after loading must be identical.
3. Prediction throughput in sentences per second on sentences no model has seen being counted
   (the corpus' body sentences repeated to at least 6,000, the sentence cache cleared), for the
   word+char model and for the main job's topic model (with its context), against the
   same model with scikit-learn's vectorisers; and the first call, when every word is new to the
   model (``char_wb`` n-grams are counted word by word, each distinct word once).

    python bench/tfidf_suite.py [--skip-suite]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from toolkit.config import load_config
from toolkit.dataset import load_labelled_table
from toolkit.experiment import build_model, run_experiment
from toolkit.models.baselines import save_skops_model
from toolkit.models.counts import CountOnceTfidfVectorizer, clear_count_cache

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "tfidf-loo.yaml"
TASKS = ("stance", "actor", "topic")
PREDICTION_REPEATS = 5


def suite(output: str) -> None:
    """Run the three tasks (in this process) and print the seconds and a digest of the predictions."""
    started = time.perf_counter()
    digests = []
    for task in TASKS:
        config = replace(load_config(EXPERIMENT, [f"task={task}"]), output_dir=output)
        run = run_experiment(config, force=True, progress=False)
        digests.append(json.loads((run.path / "manifest.json").read_text())["files"]["predictions.jsonl"])
    print(json.dumps({"seconds": time.perf_counter() - started, "predictions": digests}))


def timed_suite(count_once: bool) -> dict:
    environment = dict(os.environ, TOOLKIT_TFIDF_COUNT_ONCE="1" if count_once else "0")
    with tempfile.TemporaryDirectory() as output:
        finished = subprocess.run([sys.executable, __file__, "--suite-into", output], env=environment,
                                  capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def spread(values: list[float], form: str = "{:.1f}") -> str:
    """min / median / max of repeated measurements."""
    ordered = sorted(values)
    return " / ".join(form.format(value) for value in (ordered[0], statistics.median(ordered), ordered[-1]))


def plain_copy(pipeline):
    """The same (unfitted) pipeline with scikit-learn's own vectorisers."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    for name, step in pipeline.get_params().items():
        if isinstance(step, CountOnceTfidfVectorizer):
            pipeline.set_params(**{name: TfidfVectorizer(**step.get_params())})
    return pipeline


def model_sizes(table) -> None:
    import skops.io

    from toolkit.models.baselines import load_skops_model

    rows = list(table.inputs)
    with tempfile.TemporaryDirectory() as directory:
        for task in TASKS:
            config = load_config(EXPERIMENT, [f"task={task}"])
            model = build_model(config, seed=0).fit(rows, list(table.labels[task]))
            plain = plain_copy(build_model(config, seed=0)).fit(rows, list(table.labels[task]))
            path, plain_path = Path(directory) / f"{task}.skops", Path(directory) / f"{task}-plain.skops"
            save_skops_model(model, path)
            skops.io.dump(plain, plain_path)
            clear_count_cache()
            same = np.array_equal(load_skops_model(path).predict_proba(rows), plain.predict_proba(rows))
            print(f"model file, {task}: {path.stat().st_size / 1e6:.1f} MB against {plain_path.stat().st_size / 1e6:.1f} MB "
                  f"plain skops (target ≤ 5 MB); predictions after loading identical: {same}")


def prediction(table) -> None:
    inputs = list(table.inputs) * (6000 // len(table) + 1)
    for name, overrides in (("word+char SVM", ["model.context=none"]), ("topic model with its context (section, neighbours, letter)", [])):
        config = load_config(EXPERIMENT, ["task=topic", *overrides])
        model = build_model(config, seed=0).fit(list(table.inputs), list(table.labels["topic"]))
        plain = plain_copy(build_model(config, seed=0)).fit(list(table.inputs), list(table.labels["topic"]))
        clear_count_cache()
        started = time.perf_counter()
        probabilities = model.predict_proba(inputs)
        first = time.perf_counter() - started  # every word new to the model: the slowest case
        same = np.array_equal(probabilities, plain.predict_proba(inputs))
        timings, plain_timings = [], []
        for _ in range(PREDICTION_REPEATS):
            clear_count_cache()  # new letters: nothing of them counted before
            started = time.perf_counter()
            model.predict_proba(inputs)
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            plain.predict_proba(inputs)
            plain_timings.append(time.perf_counter() - started)
        rates, plain_rates = [len(inputs) / t for t in timings], [len(inputs) / t for t in plain_timings]
        print(f"prediction, {name}, sentences/s, min / median / max of {PREDICTION_REPEATS}: {spread(rates, '{:,.0f}')} against "
              f"{spread(plain_rates, '{:,.0f}')} with the plain vectorisers ({len(inputs)} sentences; target ≥ 15,000/s); "
              f"first call, every word new to the model: {len(inputs) / first:,.0f}/s; identical probabilities: {same}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="only the model files and prediction")
    parser.add_argument("--repeats", type=int, default=3, help="timed suites of each kind (min / median / max are printed)")
    parser.add_argument("--suite-into", help=argparse.SUPPRESS)  # the child process of one timed suite
    options = parser.parse_args()
    if options.suite_into:
        suite(options.suite_into)
        return
    table = load_labelled_table()
    letters = len({row["letter_id"] for row in table.inputs})
    if not options.skip_suite:
        pairs = [(timed_suite(count_once=False), timed_suite(count_once=True)) for _ in range(options.repeats)]
        plain, once = [pair[0]["seconds"] for pair in pairs], [pair[1]["seconds"] for pair in pairs]
        same = all(pair[1]["predictions"] == pair[0]["predictions"] == pairs[0][0]["predictions"] for pair in pairs)
        print(f"full TF-IDF suite (3 tasks, leave-one-letter-out, {letters} letters, {len(table)} sentences), "
              f"min / median / max of {options.repeats}: {spread(once)} s counting once against {spread(plain)} s refitting the plain "
              f"vectorisers per fold ({statistics.median(plain) / statistics.median(once):.2f}× of the medians); "
              f"identical predictions in every run: {same}", flush=True)
    model_sizes(table)
    prediction(table)


if __name__ == "__main__":
    main()
