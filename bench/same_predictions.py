"""Do two sets of runs predict the same? A check for changes that must not change behaviour.

Usage: ``python bench/same_predictions.py BEFORE_DIR AFTER_DIR``, where each directory holds run
directories (e.g. ``toolkit main --out BEFORE_DIR`` on the old commit and ``--out AFTER_DIR`` on
the new one). Runs are paired by task and split; for each pair it prints how many predicted
labels and probability vectors are identical and whether the metrics are equal. Exits 1 when
any pair differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _predictions(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return {(r["seed"], r["task"], r["id"]): (r["predicted"], r["probabilities"]) for r in rows}


def _key(run: Path) -> tuple:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    return tuple(sorted(metrics["tasks"])), metrics["split"], metrics["model"], len(_predictions(run))


def _scores(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    return {task: (v["model"]["macro_f1"], v["model"]["macro_f1_interval"], v["model"]["accuracy"]) for task, v in metrics["tasks"].items()}


def main(before: Path, after: Path) -> int:
    after_runs = {}
    for path in sorted(after.glob("*/metrics.json")):
        after_runs.setdefault(_key(path.parent), []).append(path.parent)
    differs = False
    for path in sorted(before.glob("*/metrics.json")):
        old = path.parent
        matches = after_runs.get(_key(old), [])
        if len(matches) != 1:
            print(f"{old.name}: {len(matches)} runs in {after} with the same tasks, split and size")
            differs = True
            continue
        new = matches[0]
        a, b = _predictions(old), _predictions(new)
        labels = sum(a[k][0] == b.get(k, (None,))[0] for k in a)
        probabilities = sum(a[k] == b.get(k) for k in a)
        same = labels == probabilities == len(a) == len(b) and _scores(old) == _scores(new)
        differs |= not same
        print(f"{old.name} vs {new.name}: {len(a)} predictions, identical labels {labels}, "
              f"identical probabilities {probabilities}; metrics equal: {_scores(old) == _scores(new)}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
