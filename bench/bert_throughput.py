"""Benchmark: transformer training and inference throughput on this machine.

Measures, each in a fresh process (so peak memory is that configuration's own):

* the small locally pretrained Dutch BERT (``models/bert-small-nl``, built by
  ``toolkit pretrain``): training and inference sentences/s with dynamic padding
  versus fixed padding to 128 tokens, FP32 and bf16 autocast;
* a BERT-base-sized model (BERTje's architecture: 12 layers, hidden 768, randomly
  initialised, since weights cannot be downloaded here): a few measured training
  steps, from which the time per epoch over the default corpus is estimated.

Sentences are the corpus' body sentences (batch 16). Prints one line per measurement.

    python bench/bert_throughput.py [--model models/bert-small-nl] [--steps 8] [--device cuda]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _measure(spec: dict) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertForSequenceClassification

    from toolkit.dataset import load_labelled_table

    torch.manual_seed(0)
    torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    table = load_labelled_table()
    texts = table.texts
    tokenizer = AutoTokenizer.from_pretrained(spec["tokenizer"])
    if spec["architecture"] == "base":
        config = BertConfig(vocab_size=max(30000, tokenizer.vocab_size), hidden_size=768, num_hidden_layers=12,
                            num_attention_heads=12, intermediate_size=3072, num_labels=3)
        model = BertForSequenceClassification(config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(spec["model"], num_labels=3)
    padding = "max_length" if spec["padding"] == "fixed" else "longest"
    batch_size, steps = 16, spec["steps"]
    # Length-sorted chunks, as the toolkit's length-grouped batches do.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [[texts[i] for i in order[start:start + batch_size]] for start in range(0, len(order), batch_size)]
    batches = batches[:: max(1, len(batches) // steps)][:steps]
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=spec["bf16"])

    def encode(batch):
        encoded = tokenizer(batch, padding=padding, truncation=True, max_length=128, return_tensors="pt")
        return {key: value.to(device) for key, value in encoded.items()}

    def synchronise():
        if device.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    if device.type == "cuda":  # one untimed step: CUDA context, kernels and allocator warm up
        with autocast:
            model(**encode(batches[0]), labels=torch.zeros(len(batches[0]), dtype=torch.long, device=device)).loss.backward()
        optimizer.zero_grad()
        synchronise()
    started = time.perf_counter()
    for batch in batches:
        with autocast:
            loss = model(**encode(batch), labels=torch.zeros(len(batch), dtype=torch.long, device=device)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    synchronise()
    train_rate = sum(len(b) for b in batches) / (time.perf_counter() - started)

    model.eval()
    started = time.perf_counter()
    with torch.no_grad(), autocast:
        for batch in batches:
            model(**encode(batch))
    synchronise()
    infer_rate = sum(len(b) for b in batches) / (time.perf_counter() - started)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20  # GPU memory
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
    return {**spec, "train_per_s": train_rate, "infer_per_s": infer_rate, "peak_mib": peak, "sentences": len(texts)}


def _in_fresh_process(spec: dict) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (spec,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "bert-small-nl")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (on a GPU machine; peak memory is then GPU memory)")
    args = parser.parse_args()
    if not (args.model / "config.json").exists():
        raise SystemExit(f"{args.model} not found; build it first with: toolkit pretrain --out {args.model}")
    common = {"model": str(args.model), "tokenizer": str(args.model), "threads": args.threads, "steps": args.steps, "device": args.device}
    results = []
    for architecture, padding, bf16 in [
        ("small", "dynamic", False),
        ("small", "fixed", False),
        ("small", "dynamic", True),
        ("base", "dynamic", False),
        ("base", "dynamic", True),
    ]:
        result = _in_fresh_process({**common, "architecture": architecture, "padding": padding, "bf16": bf16})
        results.append(result)
        name = f"{'small (locally pretrained)' if architecture == 'small' else 'BERT-base-sized (BERTje architecture)'}, {padding} padding, {'bf16' if bf16 else 'fp32'}"
        line = f"{name}: train {result['train_per_s']:.1f} sentences/s, inference {result['infer_per_s']:.1f} sentences/s, peak memory {result['peak_mib']:.0f} MiB"
        if architecture == "base":
            minutes = result["sentences"] / result["train_per_s"] / 60
            line += f"; estimated epoch over {result['sentences']} sentences: {minutes:.1f} min"
        print(line, flush=True)


if __name__ == "__main__":
    main()
