"""Benchmark: data-parallel fine-tuning (torchrun) against one process, on this machine's CPUs.

Fine-tunes the small locally pretrained Dutch BERT (``models/bert-small-nl``, built by
``toolkit pretrain``) for one epoch on the corpus' body sentences, with the same number of
sentences per optimizer step both ways:

* one process, ``--threads`` threads, batch ``2 × --batch-size``;
* ``torchrun --nproc_per_node 2``: two processes (Gloo), one thread each, ``--batch-size`` each.

Prints training sentences/s (the epoch alone, from the model's fit record) and the wall time of
the whole command (start-up, loading and tokenising included). On GPUs the second form is the
one that scales; on a 2-core CPU it shows the cost of the extra process and the all-reduce.

    python bench/data_parallel.py [--model models/bert-small-nl] [--sentences 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _worker(model: str, sentences: int, batch_size: int, threads: int, out: Path) -> None:
    from toolkit.dataset import load_labelled_table
    from toolkit import launch as distributed
    from toolkit.models.transformer import TransformerClassifier

    table = load_labelled_table()
    inputs, labels = list(table.inputs)[:sentences], list(table.labels["stance"])[:sentences]
    classifier = TransformerClassifier(
        model_name_or_path=model, max_length=96, batch_size=batch_size, epochs=1, num_threads=threads,
        mixed_precision="no", progress=False, seed=0,
    ).fit(inputs, labels)
    if distributed.is_main_process():
        epoch = classifier.history_[0]
        out.write_text(json.dumps({"train_per_s": epoch["samples_per_second"], "sentences": epoch["sentences"],
                                   "world_size": classifier.world_size_}), encoding="utf-8")


def _run(command: list[str], out: Path) -> dict:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {**json.loads(out.read_text(encoding="utf-8")), "wall_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "bert-small-nl"))
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=16, help="per process under torchrun")
    parser.add_argument("--threads", type=int, default=2, help="threads of the one-process run")
    parser.add_argument("--worker", nargs=4, metavar=("SENTENCES", "BATCH", "THREADS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sentences, batch, threads, out = args.worker
        _worker(args.model, int(sentences), int(batch), int(threads), Path(out))
        return
    if not Path(args.model).is_dir():
        sys.exit(f"{args.model} does not exist; build it with: toolkit pretrain --out {args.model}")

    script = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory() as directory:
        single_out, parallel_out = Path(directory, "one.json"), Path(directory, "two.json")
        single = _run([sys.executable, script, "--model", args.model, "--worker", str(args.sentences),
                       str(2 * args.batch_size), str(args.threads), str(single_out)], single_out)
        parallel = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", script,
                         "--model", args.model, "--worker", str(args.sentences), str(args.batch_size), "1", str(parallel_out)],
                        parallel_out)
    step = 2 * args.batch_size
    print(f"one process, {args.threads} threads, batch {step}: {single['train_per_s']:.1f} train sentences/s "
          f"({single['sentences']} sentences), command {single['wall_s']:.1f} s")
    print(f"torchrun 2 processes × 1 thread, batch {args.batch_size} each: {parallel['train_per_s']:.1f} train sentences/s "
          f"({parallel['sentences']} sentences), command {parallel['wall_s']:.1f} s")
    print(f"data-parallel / one process: {parallel['train_per_s'] / single['train_per_s']:.2f}×")


if __name__ == "__main__":
    main()
