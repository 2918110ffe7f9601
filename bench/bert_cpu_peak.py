"""Benchmark: how close the toolkit's transformer training gets to this CPU's matmul peak, and how
it compares with the ``transformers`` Trainer.

In one run, each measurement in a fresh process:

1. **Matmul peak**: a 4096 × 4096 matmul in fp32 and in bf16 (the configured threads), GFLOP/s.
2. **BERT-base size, the toolkit's loop**: a randomly initialised model of BERTje's architecture
   (12 layers, hidden 768; weights cannot be downloaded here) with a WordPiece tokenizer trained
   on the corpus, fine-tuned by :class:`toolkit.models.transformer.TransformerClassifier` on the
   first ``--sentences`` corpus sentences (stance), precision ``auto`` (bf16 where the CPU has it)
   and ``no`` (fp32). Reports sentences/s and the achieved FLOP/s of the training step (analytic
   count over the padded batches: 6 × parameters outside the embeddings × tokens, plus the
   attention products) as a fraction of the bf16 (or fp32) matmul peak.
3. **Trainer against the toolkit's loop**: a small BERT (4 layers, hidden 256) fine-tuned for one
   epoch over the whole corpus with each, same data, batch size, learning rate, precision and
   length grouping; wall time and the ratio.

The toolkit's CPU runtime settings (freed memory kept in the process, cheaper dropout; README
"Benchmarks") are on; ``TOOLKIT_KEEP_FREED_MEMORY=0 TOOLKIT_CHEAP_DROPOUT=0`` measures without them.

    python bench/bert_cpu_peak.py [--sentences 480] [--threads 2] [--skip-trainer]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def matmul_peak(dtype_name: str, threads: int, size: int = 4096, repeats: int = 5) -> float:
    import torch

    torch.set_num_threads(threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up: oneDNN builds its kernel once
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def build_model(directory: Path, size: str) -> None:
    """A tokenizer trained on the corpus and a randomly initialised BERT of the given size."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from toolkit.dataset import load_labelled_table
    from toolkit.models.pretrain import train_tokenizer

    train_tokenizer(load_labelled_table().texts, directory, vocab_size=30000)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    shape = {"base": (768, 12, 12, 3072), "small": (256, 4, 4, 1024)}[size]
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=shape[0], num_hidden_layers=shape[1],
                        num_attention_heads=shape[2], intermediate_size=shape[3])
    BertModel(config).save_pretrained(directory)  # the encoder; each run adds its own classification head


def training_flops(model_dir: Path, lengths: list[int], batch_size: int, seed: int) -> float:
    """FLOPs of one epoch of training steps over the batches the toolkit's loop forms."""
    import numpy as np
    from transformers import AutoConfig

    from toolkit.models.engine import training_batches

    config = AutoConfig.from_pretrained(model_dir)
    hidden, layers, inner = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    per_token = layers * (4 * hidden * hidden + 2 * hidden * inner)  # weights of attention and feed-forward
    lengths = np.asarray(lengths)
    flops = 0.0
    for rows in training_batches(lengths, batch_size, np.random.default_rng([seed, 0]), True):
        padded = int(lengths[rows].max())
        tokens = len(rows) * padded
        attention = layers * 2 * 2 * len(rows) * padded * padded * hidden  # QKᵀ and AV
        flops += 3 * (2 * per_token * tokens + attention)  # backward ≈ twice forward
    return flops


def toolkit_training(spec: dict) -> dict:
    import torch

    from toolkit.dataset import load_labelled_table
    from toolkit.models.transformer import TransformerClassifier

    torch.set_num_threads(spec["threads"])
    table = load_labelled_table()
    rows = list(table.inputs)[: spec["sentences"]]
    labels = list(table.labels["stance"])[: spec["sentences"]]
    model = TransformerClassifier(spec["model"], epochs=1, batch_size=16, mixed_precision=spec["precision"],
                                  num_threads=spec["threads"], progress=False, seed=0)
    started = time.perf_counter()
    model.fit(rows, labels)
    total = time.perf_counter() - started
    record = model.history_[0]
    from transformers import AutoTokenizer

    from toolkit.models.loading import tokenize

    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    lengths = [len(feature["input_ids"]) for feature in tokenize(tokenizer, rows, "none", 128, None)]
    return {"seconds": record["seconds"], "total_seconds": total, "sentences": record["sentences"],
            "per_s": record["samples_per_second"], "flops": training_flops(Path(spec["model"]), lengths, 16, 0),
            "precision": model.mixed_precision_}


def trainer_training(spec: dict) -> dict:
    """One epoch with the transformers Trainer, settings as the toolkit's loop uses them."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    from toolkit.dataset import load_labelled_table

    torch.set_num_threads(spec["threads"])
    table = load_labelled_table()
    classes = sorted(set(table.labels["stance"]))
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    encoded = tokenizer(list(table.texts), truncation=True, max_length=128)
    data = Dataset.from_dict({**encoded, "labels": [classes.index(label) for label in table.labels["stance"]]})
    model = AutoModelForSequenceClassification.from_pretrained(spec["model"], num_labels=len(classes))
    bf16 = spec["precision"] == "bf16"
    with tempfile.TemporaryDirectory() as output:
        arguments = TrainingArguments(
            output_dir=output, per_device_train_batch_size=16, learning_rate=5e-5, num_train_epochs=1, warmup_steps=0.1,
            weight_decay=0.01, bf16=bf16, use_cpu=True, train_sampling_strategy="group_by_length", save_strategy="no",
            logging_strategy="no", report_to=[], seed=0, dataloader_num_workers=0, disable_tqdm=True, max_grad_norm=1.0,
        )
        trainer = Trainer(model=model, args=arguments, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "sentences": len(data), "per_s": len(data) / seconds}


def toolkit_epoch(spec: dict) -> dict:
    return toolkit_training({**spec, "sentences": 10**9})


def fresh(function, spec: dict) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, (spec,))


def spread(values: list[float], form: str = "{:.1f}") -> str:
    """min / median / max of repeated measurements."""
    ordered = sorted(values)
    return " / ".join(form.format(value) for value in (ordered[0], statistics.median(ordered), ordered[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=480, help="sentences of the BERT-base measurement (30 batches)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs of every measurement (min / median / max are printed)")
    parser.add_argument("--skip-trainer", action="store_true")
    parser.add_argument("--precisions", default="auto,no", help="mixed_precision values for the BERT-base measurement")
    options = parser.parse_args()
    peaks = {name: [fresh(_peak, {"dtype": name, "threads": options.threads})["gflops"] for _ in range(options.repeats)]
             for name in ("fp32", "bf16")}
    print(f"matmul 4096², {options.threads} threads, min / median / max of {options.repeats}: fp32 {spread(peaks['fp32'], '{:.0f}')} "
          f"GFLOP/s, bf16 {spread(peaks['bf16'], '{:.0f}')} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        base, small = Path(directory) / "base", Path(directory) / "small"
        fresh(_build, {"directory": str(base), "size": "base"})
        for precision in options.precisions.split(","):
            results = [fresh(toolkit_training, {"model": str(base), "precision": precision, "threads": options.threads,
                                                "sentences": options.sentences}) for _ in range(options.repeats)]
            used = results[0]["precision"]
            peak = statistics.median(peaks["bf16" if used == "bf16" else "fp32"])
            achieved = [result["flops"] / result["seconds"] / 1e9 for result in results]
            print(f"BERT-base size, toolkit loop, mixed_precision={precision} ({used}), {results[0]['sentences']} sentences, "
                  f"min / median / max of {options.repeats}: {spread([r['per_s'] for r in results])} train sentences/s; "
                  f"{spread(achieved, '{:.0f}')} GFLOP/s = {spread([a / peak * 100 for a in achieved], '{:.0f}')} % of the median "
                  f"{used if used != 'no' else 'fp32'} matmul peak", flush=True)
        if options.skip_trainer:
            return
        fresh(_build, {"directory": str(small), "size": "small"})
        spec = {"model": str(small), "precision": "bf16", "threads": options.threads}
        pairs = [(fresh(toolkit_epoch, spec), fresh(trainer_training, spec)) for _ in range(options.repeats)]
        ours, theirs = [pair[0]["seconds"] for pair in pairs], [pair[1]["seconds"] for pair in pairs]
        print(f"small BERT (4 layers, hidden 256), one epoch over {pairs[0][1]['sentences']} sentences, batch 16, bf16, length-grouped, "
              f"min / median / max of {options.repeats}: toolkit loop {spread(ours)} s, Trainer.train() {spread(theirs)} s; "
              f"Trainer / toolkit (medians) = {statistics.median(theirs) / statistics.median(ours):.2f}", flush=True)
        print(json.dumps({"peaks": peaks, "toolkit_seconds": ours, "trainer_seconds": theirs}), flush=True)


def _peak(spec: dict) -> dict:
    return {"gflops": matmul_peak(spec["dtype"], spec["threads"])}


def _build(spec: dict) -> dict:
    build_model(Path(spec["directory"]), spec["size"])
    return {}


if __name__ == "__main__":
    main()
