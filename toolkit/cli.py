"""The ``toolkit`` command line: takes arguments, calls one library function per command, prints.

Errors a user can fix (:class:`ToolkitError`) are printed as one line, without a
traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import launch
from .cli_labels import add_label_commands, run_label_action
from .errors import ToolkitError
from .files import print_json as _print_json
from .records import PARTS, SENTENCE_KINDS

__all__ = ["build_parser", "main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str):
    def register(function: Callable[[argparse.Namespace], int]):
        _COMMANDS[name] = function
        return function

    return register


# ------------------------------------------------------------------ ingestion


@_command("segment")
def _segment(args: argparse.Namespace) -> int:
    from .corpus import read_letters
    from .records import record_to_dict
    from .segment import segment_letter

    letters = read_letters(args.paths, encoding=args.encoding, require_letter=not args.not_a_letter_ok)
    if args.report:
        from .layout_report import layout_report, report_text

        print("\n".join(report_text(layout_report(letter, segment_letter(letter))) for letter in letters))
        return 0
    for letter in letters:
        for sentence in segment_letter(letter):
            if args.kind and sentence.kind not in args.kind:
                continue
            if args.part and sentence.part not in args.part:
                continue
            _print_json(record_to_dict(sentence))
    return 0


@_command("ingest")
def _ingest(args: argparse.Namespace) -> int:
    from .corpus import iter_letters, read_default_letters, write_corpus

    if not args.paths and not args.default:
        raise ToolkitError("give letter files to ingest, or --default for the default corpus")
    letters = read_default_letters(args.labels_dir) if args.default else []
    letters += list(iter_letters(args.paths, encoding=args.encoding, require_letter=not args.not_a_letter_ok))
    summary = write_corpus(letters, args.out)
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(summary["sentences"].items()))
    print(f"wrote {summary['letters']} letters ({counts}) to {args.out}")
    return 0


@_command("fetch")
def _fetch(args: argparse.Namespace) -> int:
    from .ingest import fetch

    if bool(args.official_id) == bool(args.dossier):
        raise ToolkitError("give either an official id (e.g. kst-28676-307) or --dossier NUMBER")
    settings = fetch.FetchSettings(base_url=args.base_url, max_retries=args.retries)
    annexes = not args.no_annexes
    if args.official_id:
        documents = [fetch.fetch_letter(args.official_id, cache_dir=args.cache_dir, settings=settings, annexes=annexes)]
    else:
        documents = fetch.fetch_dossier(
            args.dossier,
            since=args.since,
            document_type=args.type,
            cache_dir=args.cache_dir,
            settings=settings,
            progress=lambda done, total, official_id: print(f"fetched {done}/{total} {official_id}", file=sys.stderr),
            annexes=annexes,
        )
    for target in fetch.save_documents(documents, args.out):
        print(target)
    return 0


@_command("render-corpus")
def _render_corpus(args: argparse.Namespace) -> int:
    from .corpus import default_labels_dir
    from .render import render_corpus

    entries = render_corpus(args.labels_dir or default_labels_dir())
    print(f"rendered {sum(1 for e in entries if e['provenance']['kind'] == 'reconstructed')} letters; manifest has {len(entries)}")
    return 0


# ------------------------------------------------------------------ labels


@_command("labels")
def _labels(args: argparse.Namespace) -> int:
    return run_label_action(args)


# ------------------------------------------------------------------ experiments


@_command("main")
def _main_job(args: argparse.Namespace) -> int:
    """The main job on the default data: ingest the corpus, then train and evaluate TF-IDF per task."""
    from .main_job import run_main_job

    job = run_main_job(args.out, args.config, labels_dir=args.labels_dir, progress=not args.quiet)
    print(f"corpus: {job.letters} letters, {job.body_sentences} body sentences -> {job.corpus_dir}")
    print(f"{'task':8} {'macro-F1':>8}  {'95% CI (letters)':17} {'majority':>8}  held out")
    for row in job.rows:
        low, high = row.interval
        reused = "; reused a finished run" if row.cached else ""
        print(f"{row.task:8} {row.macro_f1:8.3f}  {low:.3f}–{high:.3f}      {row.majority:8.3f}  "
              f"{row.test_letters} letters, one at a time ({row.path}{reused})")
    return 0


@_command("run")
def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .config import load_configs
    from .experiment import run_experiment

    configs = load_configs(args.config, args.set)
    if args.shard is not None:
        return _run_shard(args, configs)
    for config in configs:
        if args.output_dir:
            config = replace(config, output_dir=str(args.output_dir))
        result = run_experiment(config, force=args.force, progress=not args.quiet)
        if launch.is_main_process():  # under torchrun, one summary rather than one per process
            _print_run_summary(config, result)
    return 0


def _print_run_summary(config, result) -> None:
    from .run_dir import RunDirectory

    metrics = RunDirectory(result.path).metrics()
    if result.cached:
        print(f"{config.name}: reused run (same config and data as a finished run; not recomputed, use --force)")
    for task, figures in metrics["tasks"].items():
        model = figures["model"]
        low, high = model["macro_f1_interval"]
        summary = figures["seed_summary"]
        spread = f", {summary['n_seeds']} seeds: mean {summary['mean']:.3f} ± {summary['std']:.3f}" if summary["n_seeds"] > 1 else ""
        print(
            f"{config.name} [{task}] macro-F1 {model['macro_f1']:.3f} (95% CI {low:.3f}–{high:.3f}){spread}; "
            f"majority {figures['baselines']['majority']['macro_f1']:.3f}, "
            f"stratified {figures['baselines']['stratified']['macro_f1']:.3f}; "
            f"{model['n']} sentences in {model['test_letters']} held-out letters"
        )
    print(result.path)


def _run_shard(args: argparse.Namespace, configs) -> int:
    """``toolkit run --shard i/n``: one shard of each experiment; prints the run directory to merge last."""
    from dataclasses import replace

    from .sweep import finished_shards, parse_shard, run_shard

    shard = parse_shard(args.shard)
    for config in configs:
        if args.output_dir:
            config = replace(config, output_dir=str(args.output_dir))
        result = run_shard(config, shard, force=args.force, progress=not args.quiet)
        if not launch.is_main_process():
            continue
        if result.shard_dir is None:
            print(f"{config.name}: the run is already finished (reused; --force recomputes shard {shard})")
        else:
            done = sum(1 for found in finished_shards(result.shard_dir.parent) if found.count == shard.count)
            state = "reused (already finished; --force recomputes it)" if result.cached else f"done ({result.units} work units)"
            print(f"{config.name}: shard {shard} {state} in {result.shard_dir}; {done} of {shard.count} shards finished; "
                  f"`toolkit merge {result.path}` once all are")
        print(result.path)
    return 0


@_command("sweep")
def _sweep(args: argparse.Namespace) -> int:
    """One `toolkit run` command per experiment of a file (--list), or submitted through submitit (--submit)."""
    from .sweep import submit_sweep, sweep_commands

    if args.list:
        lines = sweep_commands(args.config, args.set, shards=args.shards, output_dir=args.output_dir)
        print(f"# {len(lines)} command(s) for {args.config}", file=sys.stderr)  # stdout holds only the commands
        for line in lines:
            print(line)
        return 0
    parameters = {"slurm_partition": args.slurm_partition, "timeout_min": args.timeout_min,
                  "cpus_per_task": args.cpus_per_task, "gpus_per_node": args.gpus_per_node}
    runs = submit_sweep(args.config, args.set, executor=args.submit, shards=args.shards, output_dir=args.output_dir,
                        log_dir=args.log_dir, force=args.force, parameters=parameters,
                        report=lambda message: print(message, file=sys.stderr))
    for run in runs:
        print(run)
    return 0


@_command("merge")
def _merge(args: argparse.Namespace) -> int:
    from .sweep import merge_shards

    result = merge_shards(args.run)
    if result.shards == 0:
        print(f"{result.path}: already merged (a finished run; no shards left)")
    else:
        print(f"merged {result.shards} shards into {result.path}")
    print(result.path)
    return 0


@_command("config-schema")
def _config_schema(args: argparse.Namespace) -> int:
    from .config import config_schema

    print(json.dumps(config_schema(), indent=2, ensure_ascii=False))
    return 0


@_command("compare")
def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_runs, paired_tests
    from .run_dir import find_runs

    runs = find_runs(args.runs)
    print(compare_runs(runs, markdown=args.markdown))
    if args.test:
        if len(runs) != 2:
            raise ToolkitError("--test compares exactly two runs")
        print()
        print(paired_tests(runs[0], runs[1], samples=args.samples, markdown=args.markdown))
    return 0


@_command("predict")
def _predict(args: argparse.Namespace) -> int:
    from .predict import predict_letters

    for row in predict_letters(args.run, args.paths, encoding=args.encoding, require_letter=not args.not_a_letter_ok):
        _print_json(row)
    return 0


@_command("export")
def _export(args: argparse.Namespace) -> int:
    """A run's model in its library's standard format, with a model card (optionally pushed to a hub)."""
    from .export import export_run

    result = export_run(args.run, args.out, force=args.force, push_to_hub=args.push_to_hub, private=args.private)
    layout = ", ".join(f"{args.out}/{task}/" for task in result.tasks) if result.kind == "multitask" else str(result.path)
    print(f"exported the {result.kind} model of {args.run} ({', '.join(result.tasks)}) to {layout}", file=sys.stderr)
    if result.url:
        print(f"pushed to {result.url}", file=sys.stderr)
    print(result.path)
    return 0


@_command("pretrain")
def _pretrain(args: argparse.Namespace) -> int:
    """Train a small Dutch BERT (or continue pretraining one) on the letters and given texts."""
    from .corpus import pretraining_texts

    launch.ensure_process_group()
    if launch.broadcast_flag(args.out.exists() and args.skip_if_exists):
        if launch.is_main_process():
            print(f"{args.out} exists; not pretraining again")
        return 0
    texts = pretraining_texts(args.labels_dir, exclude_letters=args.exclude_letters, extra_files=args.texts)
    from .models.pretrain import PretrainConfig, pretrain_mlm

    config = PretrainConfig(
        epochs=args.epochs,
        hidden_size=args.hidden_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden_size,
        vocab_size=args.vocab_size,
        seed=args.seed,
    )
    if launch.is_main_process():
        excluded = ", ".join(sorted(args.exclude_letters)) or "none"
        print(f"pretraining on {len(texts)} texts (letters excluded: {excluded})", file=sys.stderr)
    out = pretrain_mlm(texts, args.out, base_model=args.base_model, config=config, progress=not args.quiet)
    if launch.is_main_process():
        print(out)
    return 0


# ------------------------------------------------------------------- parser


def _date(value: str):
    import datetime

    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def _add_ingestion_commands(commands) -> None:
    segment = commands.add_parser("segment", help="print one JSON object per sentence record of the given letters")
    segment.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    segment.add_argument("--kind", action="append", choices=list(SENTENCE_KINDS), help="only records of this kind (repeatable)")
    segment.add_argument("--part", action="append", choices=list(PARTS), help="only records of this part (repeatable)")
    segment.add_argument("--report", action="store_true",
                         help="a segmentation quality report per file: counts, longest record, likely layout problems")
    segment.add_argument("--encoding", default="utf-8", help="encoding of .txt letters (default utf-8; a byte-order mark decides)")
    segment.add_argument("--not-a-letter-ok", action="store_true", help="read files that do not look like a letter to parliament")

    ingest = commands.add_parser("ingest", help="ingest and segment letters into a corpus directory")
    ingest.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    ingest.add_argument("--out", type=Path, required=True, help="corpus directory to write")
    ingest.add_argument("--default", action="store_true", help="include the default corpus (labels/letters)")
    ingest.add_argument("--labels-dir", type=Path, default=None, help="labels directory (default: the checkout's labels/)")
    ingest.add_argument("--encoding", default="utf-8")
    ingest.add_argument("--not-a-letter-ok", action="store_true", help="read files that do not look like a letter to parliament")

    fetch = commands.add_parser("fetch", help="fetch letters from officiële bekendmakingen (needs internet)")
    fetch.add_argument("official_id", nargs="?", help="official id, e.g. kst-28676-307")
    fetch.add_argument("--dossier", help="fetch every kamerstuk of this dossier, e.g. 28676")
    fetch.add_argument("--since", type=_date, help="only documents published on or after this date")
    fetch.add_argument("--type", help='only this document type, e.g. "Brief regering"')
    fetch.add_argument("--cache-dir", type=Path, default=Path(".cache/fetch"))
    fetch.add_argument("--out", type=Path, default=Path("fetched"), help="directory for the XML files")
    fetch.add_argument("--base-url", default="https://repository.overheid.nl/sru", help="SRU endpoint")
    fetch.add_argument("--retries", type=int, default=3, help="retries on network errors and 429/5xx (default 3)")
    fetch.add_argument("--no-annexes", action="store_true",
                       help="do not fetch the letters' annexes (blg- documents found through w.hoofddocument)")

    render = commands.add_parser("render-corpus", help="render the authored letters of labels/letters/src (maintainers)")
    render.add_argument("--labels-dir", type=Path, default=None)


def _add_experiment_commands(commands) -> None:
    run = commands.add_parser("run", help="run an experiment config; prints the run directory last")
    run.add_argument("config", type=Path)
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. model.C=4")
    run.add_argument("--force", action="store_true", help="recompute even if a finished run matches")
    run.add_argument("--output-dir", type=Path, default=None, help="where run directories go (default: the config's)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--shard", default=None, metavar="I/N",
                     help="run only shard I of N of the seeds × splits (1-based); `toolkit merge RUN` joins them")

    commands.add_parser("config-schema", help="print the JSON Schema of experiment files (for editors)")

    compare = commands.add_parser("compare", help="compare finished runs (a table; --test for paired significance tests)")
    compare.add_argument("runs", nargs="+", help="run directories or globs (e.g. 'runs/tfidf-*')")
    compare.add_argument("--markdown", action="store_true")
    compare.add_argument("--test", action="store_true", help="paired bootstrap and approximate randomisation between two runs")
    compare.add_argument("--samples", type=int, default=1000)

    predict = commands.add_parser("predict", help="label the body sentences of new letters with a run's model")
    predict.add_argument("run", type=Path)
    predict.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    predict.add_argument("--encoding", default="utf-8")
    predict.add_argument("--not-a-letter-ok", action="store_true", help="read files that do not look like a letter to parliament")

    export = commands.add_parser("export", help="export a run's model (transformers / skops) with a model card")
    export.add_argument("run", type=Path, help="a finished run directory")
    export.add_argument("--out", type=Path, required=True, help="the directory to write (a multi-task run: one sub-folder per task)")
    export.add_argument("--force", action="store_true", help="replace an existing, non-empty --out")
    export.add_argument("--push-to-hub", default=None, metavar="REPO", help="also upload the export to this hub repository")
    export.add_argument("--private", action="store_true", help="create the hub repository as private")

    main_job = commands.add_parser("main", help="the main job on the default data")
    main_job.add_argument("--out", type=Path, default=Path("runs"), help="output directory (default runs/)")
    main_job.add_argument("--labels-dir", type=Path, default=None)
    main_job.add_argument("--config", type=Path, default=None,
                          help="experiment config run for every task (default experiments/tfidf-loo.yaml)")
    main_job.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_pretrain_command(commands) -> None:
    pretrain = commands.add_parser("pretrain", help="train a small Dutch BERT on the letters (or continue pretraining one)")
    pretrain.add_argument("--out", type=Path, default=Path("models/bert-small-nl"), help="checkpoint directory to write")
    pretrain.add_argument("--base-model", default=None, help="continue pretraining this checkpoint (hub id or path), e.g. BERTje")
    pretrain.add_argument("--texts", type=Path, nargs="*", default=[], help="more Dutch text files (one text per line)")
    pretrain.add_argument("--exclude-letters", nargs="*", default=["kst-28676-307"],
                          help="letters whose text is kept out of pretraining (default: the seed letter, the main test letter)")
    pretrain.add_argument("--epochs", type=int, default=20)
    pretrain.add_argument("--hidden-size", type=int, default=256)
    pretrain.add_argument("--layers", type=int, default=4)
    pretrain.add_argument("--heads", type=int, default=4)
    pretrain.add_argument("--vocab-size", type=int, default=8000)
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--labels-dir", type=Path, default=None)
    pretrain.add_argument("--skip-if-exists", action="store_true")
    pretrain.add_argument("--quiet", action="store_true")


def _add_sweep_commands(commands) -> None:
    sweep = commands.add_parser("sweep", help="one `toolkit run` command per experiment of a file (--list), or submit them (--submit)")
    sweep.add_argument("config", type=Path)
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value in every command")
    mode = sweep.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="print the commands, one a line (for a job array)")
    mode.add_argument("--submit", choices=["slurm", "local"], help="run them through submitit, wait, and merge the shards")
    sweep.add_argument("--shards", type=int, default=None, metavar="N", help="N commands per experiment, each with --shard i/N")
    sweep.add_argument("--output-dir", type=Path, default=None, help="where run directories go (default: the config's)")
    sweep.add_argument("--force", action="store_true", help="(--submit) recompute finished runs and shards")
    sweep.add_argument("--log-dir", type=Path, default=None, help="(--submit) submitit's job files (default OUTPUT_DIR/.submitit)")
    sweep.add_argument("--slurm-partition", default=None)
    sweep.add_argument("--timeout-min", type=int, default=None, help="(--submit) time limit per job in minutes")
    sweep.add_argument("--cpus-per-task", type=int, default=None)
    sweep.add_argument("--gpus-per-node", type=int, default=None)

    merge = commands.add_parser("merge", help="write a run directory from its finished shards (`toolkit run --shard i/n`)")
    merge.add_argument("run", type=Path, help="the run directory that `toolkit run --shard` printed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolkit", description="Sentence-level classification of Dutch letters to parliament.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_ingestion_commands(commands)
    add_label_commands(commands)
    _add_experiment_commands(commands)
    _add_pretrain_command(commands)
    _add_sweep_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ToolkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `toolkit segment … | head`
        return 0
    finally:
        launch.shutdown()


if __name__ == "__main__":
    sys.exit(main())
