"""Tables and plots: takes metrics or agreement figures, gives markdown and PNG charts
for the runner, the command line and the notebooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "agreement_markdown",
    "markdown_table",
    "per_class_report",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_per_letter",
]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def agreement_markdown(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    rows = []
    for annotator, per_task in results.items():
        for task, figures in per_task.items():
            rows.append([annotator, task, int(figures["n"]), figures["observed_agreement"], figures["cohen_kappa"], figures["krippendorff_alpha"]])
    return markdown_table(["second annotator", "task", "sentences", "observed agreement", "Cohen's κ", "Krippendorff's α"], rows)


def plot_confusion_matrix(matrix, labels: Sequence[str], title: str, path) -> None:
    """Save a confusion-matrix heat map as PNG (matplotlib, non-interactive backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    matrix = np.asarray(matrix)
    size = max(4.0, 0.55 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    axis.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            axis.text(j, i, int(matrix[i, j]), ha="center", va="center", color="white" if matrix[i, j] > threshold else "black", fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_per_letter(per_letter: Mapping[str, Mapping[str, float]], overall: float, title: str, path) -> None:
    """Save a bar chart of macro-F1 per held-out letter (sorted, the lowest at the bottom) with the overall score as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    letters = sorted(per_letter, key=lambda letter: (per_letter[letter]["macro_f1"], letter))
    scores = [per_letter[letter]["macro_f1"] for letter in letters]
    labels = [f"{letter} (n={per_letter[letter]['n']})" for letter in letters]
    figure, axis = plt.subplots(figsize=(8, max(3.0, 0.28 * len(letters) + 1.2)))
    axis.barh(range(len(letters)), scores, color="steelblue")
    axis.axvline(overall, color="darkred", linestyle="--", label=f"all letters: {overall:.3f}")
    axis.set_yticks(range(len(letters)), labels, fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_xlabel("macro-F1 on the letter's own sentences")
    axis.set_title(title)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_learning_curves(curves: Sequence[Mapping[str, Any]], title: str, path) -> None:
    """Save a transformer run's learning curves as PNG: training loss (left) and macro-F1 on the
    held-out letters (right) per epoch, one thin line per seed × split and their mean in bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, (loss_axis, score_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, axis, label in (("train_loss", loss_axis, "training loss"), ("heldout_macro_f1", score_axis, "held-out macro-F1")):
        lines = [[(record["epoch"], record[name]) for record in curve["history"] if record.get(name) is not None] for curve in curves]
        lines = [line for line in lines if line]
        for line in lines:
            axis.plot(*zip(*line), color="gray", alpha=0.35, linewidth=0.8)
        if lines:
            epochs = sorted({epoch for line in lines for epoch, _ in line})
            means = [np.mean([value for line in lines for epoch, value in line if epoch == wanted]) for wanted in epochs]
            axis.plot(epochs, means, color="darkred" if name == "heldout_macro_f1" else "steelblue", marker="o", linewidth=2,
                      label=f"mean of {len(lines)} fit{'s' if len(lines) != 1 else ''}")
            axis.legend(fontsize=8)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
    score_axis.set_ylim(0, 1)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def per_class_report(task: str, task_metrics: Mapping[str, Any]) -> str:
    """One task's section of a run's ``report.md``: macro-F1 with its interval, baselines, per-class table."""
    model = task_metrics["model"]
    low, high = model["macro_f1_interval"]
    majority = task_metrics["baselines"]["majority"]["macro_f1"]
    stratified = task_metrics["baselines"]["stratified"]["macro_f1"]
    rows = [[label, v["precision"], v["recall"], v["f1"], v["support"]] for label, v in model["per_class"].items()]
    return (
        f"## {task}\n\nmacro-F1 {model['macro_f1']:.3f} (95% CI {low:.3f}–{high:.3f}, {model['interval_resamples']} resampled), "
        f"accuracy {model['accuracy']:.3f}; majority baseline {majority:.3f}, stratified random {stratified:.3f}\n\n"
        + markdown_table(["class", "precision", "recall", "F1", "support"], rows)
    )
