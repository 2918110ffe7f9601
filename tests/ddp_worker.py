"""Trains one tiny classifier; run as a plain script or under ``accelerate launch`` / ``torchrun``
by tests/test_launch.py.

Usage: ``python tests/ddp_worker.py MODEL_DIR OUT_DIR BATCH_SIZE [ACCUMULATION]``. Every process
writes its predicted probabilities (``proba-rank<R>.npy``); rank 0 also writes the fit record and
the trained weights (``weights.npz``). Dropout stays on and the classes are weighted ("balanced",
with unequal classes), so equal weights across launches need the same dropout draws and the
global weighted loss. The sentences are written for this test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from toolkit import launch as distributed
from toolkit.models.transformer import TransformerClassifier

VERBS = {"support": ["steunt", "verwelkomt"], "critical": ["veroordeelt", "betreurt"], "neutral": ["bespreekt", "noemt"]}
SUBJECTS = ["De minister", "Het kabinet", "Nederland", "De regering"]
OBJECTS = ["het voorstel", "de sancties", "het besluit"]


def sentences() -> tuple[list[dict], list[str]]:
    """56 sentences with unequal classes (divisible by 8, so every batch splits evenly over two processes)."""
    rows, labels = [], []
    for label, verbs in VERBS.items():
        for subject in SUBJECTS:
            for number, obj in enumerate(OBJECTS):
                for verb in verbs:
                    rows.append({"text": f"{subject} {verb} {obj}.", "letter_id": f"brief-{number}"})
                    labels.append(label)
    keep = [i for i, label in enumerate(labels) if label != "neutral" or i % 3 == 0]  # 24 + 24 + 8: weights matter
    return [rows[i] for i in keep], [labels[i] for i in keep]


def main(model_dir: str, out: Path, batch_size: int, accumulation: int = 1) -> None:
    rows, labels = sentences()
    model = TransformerClassifier(
        model_name_or_path=model_dir,
        max_length=32,
        batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=5e-3,
        epochs=3,
        group_by_length=False,
        class_weight="balanced",
        mixed_precision="no",
        num_threads=1,
        seed=0,
        progress=False,
    ).fit(rows, labels)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / f"proba-rank{distributed.rank()}.npy", model.predict_proba(rows))
    if distributed.is_main_process():
        record = {"history": model.history_, "world_size": model.world_size_}
        (out / "fit.json").write_text(json.dumps(record), encoding="utf-8")
        weights = {name: value.detach().cpu().numpy() for name, value in model.model_.state_dict().items()}
        np.savez(out / "weights.npz", **weights)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
