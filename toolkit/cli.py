"""The ``toolkit`` command line.

Each sub-command is a thin function over the library: it parses its arguments,
calls one stage, and prints. Errors a user can fix (:class:`ToolkitError`) are
printed as one line, without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ToolkitError
from .run_dir import RunDirectory, find_runs
from . import launch

__all__ = ["main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str):
    def register(function: Callable[[argparse.Namespace], int]):
        _COMMANDS[name] = function
        return function

    return register


def _print_json(record: dict) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------ commands


@_command("segment")
def _segment(args: argparse.Namespace) -> int:
    from .corpus import iter_letters
    from .records import record_to_dict
    from .segment import segment_letter

    for letter in iter_letters(args.paths, encoding=args.encoding):
        for sentence in segment_letter(letter):
            if args.kind and sentence.kind not in args.kind:
                continue
            _print_json(record_to_dict(sentence))
    return 0


@_command("ingest")
def _ingest(args: argparse.Namespace) -> int:
    from .corpus import iter_letters, read_default_letters, write_corpus

    if not args.paths and not args.default:
        raise ToolkitError("give letter files to ingest, or --default for the default corpus")
    letters = read_default_letters(args.labels_dir) if args.default else []
    letters += list(iter_letters(args.paths, encoding=args.encoding))
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
    if args.official_id:
        documents = [fetch.fetch_letter(args.official_id, cache_dir=args.cache_dir, settings=settings)]
    else:
        documents = fetch.fetch_dossier(
            args.dossier,
            since=args.since,
            document_type=args.type,
            cache_dir=args.cache_dir,
            settings=settings,
            progress=lambda done, total, official_id: print(f"fetched {done}/{total} {official_id}", file=sys.stderr),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    for document in documents:
        target = args.out / f"{document.official_id}.xml"
        target.write_bytes(Path(document.path).read_bytes())
        print(target)
    return 0


@_command("render-corpus")
def _render_corpus(args: argparse.Namespace) -> int:
    from .corpus import default_labels_dir
    from .render import render_corpus

    entries = render_corpus(args.labels_dir or default_labels_dir())
    print(f"rendered {sum(1 for e in entries if e['provenance']['kind'] == 'reconstructed')} letters; manifest has {len(entries)}")
    return 0


@_command("main")
def _main_job(args: argparse.Namespace) -> int:
    """The main job on the default data: ingest the corpus, then train and evaluate TF-IDF per task."""
    from dataclasses import replace

    from .config import load_config
    from .corpus import read_default_letters, write_corpus
    from .experiment import run_experiment
    from .labels import load_schema

    letters = read_default_letters(args.labels_dir)
    summary = write_corpus(letters, args.out / "corpus")
    print(
        f"corpus: {summary['letters']} letters, {summary['sentences'].get('body', 0)} body sentences "
        f"-> {args.out / 'corpus'}"
    )
    labels_dir = args.labels_dir
    schema = load_schema(labels_dir or _default_labels())
    config_path = args.config
    print(f"{'task':8} {'macro-F1':>8}  {'95% CI (letters)':17} {'majority':>8}  held out")
    for task in schema.task_names:
        config = load_config(config_path, [f"task={task}"])
        config = replace(config, output_dir=str(args.out))
        if labels_dir:
            config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)))
        result = run_experiment(config, progress=not args.quiet)
        figures = RunDirectory(result.path).metrics()["tasks"][task]
        model = figures["model"]
        low, high = model["macro_f1_interval"]
        print(
            f"{task:8} {model['macro_f1']:8.3f}  {low:.3f}–{high:.3f}      {figures['baselines']['majority']['macro_f1']:8.3f}  "
            f"{model['test_letters']} letters, one at a time ({result.path})"
        )
    return 0


def _default_labels() -> Path:
    from .corpus import default_labels_dir

    return default_labels_dir()


@_command("labels")
def _labels(args: argparse.Namespace) -> int:
    return _LABEL_ACTIONS[args.action](args)


def _labels_context(args: argparse.Namespace):
    from .corpus import default_labels_dir, read_default_letters
    from .labels import body_sentences, load_schema

    labels_dir = args.labels_dir or default_labels_dir()
    schema = load_schema(labels_dir)
    letters = read_default_letters(labels_dir)
    return labels_dir, schema, letters, body_sentences(letters)


def _labels_propose(args: argparse.Namespace) -> int:
    from .labels import propose

    _, schema, _, sentences = _labels_context(args)
    if args.letters:
        unknown = set(args.letters) - {s.letter_id for s in sentences}
        if unknown:
            raise ToolkitError(f"unknown letter id(s): {', '.join(sorted(unknown))}")
        sentences = [s for s in sentences if s.letter_id in set(args.letters)]
    for row in propose(schema, sentences):
        _print_json(row)
    return 0


def _read_decisions(paths: Sequence[Path]) -> list[dict]:
    from .files import read_jsonl
    from .labels import LabelError

    rows: list[dict] = []
    for path in paths:
        if not path.exists():
            raise ToolkitError(f"{path}: no such file")
        rows.extend(read_jsonl(path, LabelError))
    return rows


def _labels_import(args: argparse.Namespace) -> int:
    from .labels import store_decisions

    labels_dir, schema, _, sentences = _labels_context(args)
    stored = store_decisions(labels_dir, schema, sentences, _read_decisions(args.paths), annotator=args.annotator)
    for letter_id, count in sorted(stored.items()):
        print(f"{letter_id}: {count} sentences labelled by {args.annotator}")
    return 0


def _labels_import_reliability(args: argparse.Namespace) -> int:
    import datetime

    from .files import write_jsonl
    from .labels import LabelError

    labels_dir, schema, _, sentences = _labels_context(args)
    known = {s.id: s for s in sentences}
    rows = []
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for number, row in enumerate(_read_decisions(args.paths), 1):
        if row.get("id") not in known:
            raise LabelError(f"re-label {number}: sentence id {row.get('id')!r} does not exist")
        for task in schema.task_names:
            schema.check_label(task, row.get(task), f"re-label {number} ({row['id']})")
        rows.append({"id": row["id"], "letter_id": known[row["id"]].letter_id, **{t: row[t] for t in schema.task_names},
                     "annotator": args.annotator, "time": stamp, "blind": True})
    write_jsonl(labels_dir / "reliability" / f"{args.annotator}.jsonl", rows)
    print(f"stored {len(rows)} blind re-labels by {args.annotator}")
    return 0


def _labels_revise(args: argparse.Namespace) -> int:
    from .labels import apply_revisions

    labels_dir, schema, _, sentences = _labels_context(args)
    count = apply_revisions(labels_dir, schema, sentences, _read_decisions(args.paths), reviser=args.annotator)
    print(f"applied {count} revisions by {args.annotator}")
    return 0


def _labels_validate(args: argparse.Namespace) -> int:
    from .labels import load_annotations, validate_annotations

    labels_dir, schema, letters, sentences = _labels_context(args)
    annotations = load_annotations(labels_dir)
    validate_annotations(schema, annotations, sentences)
    unlabelled_letters = sorted({s.letter_id for s in sentences} - {row["letter_id"] for row in annotations})
    if unlabelled_letters and args.complete:
        raise ToolkitError(f"{len(unlabelled_letters)} letters have no labels: {', '.join(unlabelled_letters)}")
    print(f"ok: {len(annotations)} labels for {len(sentences)} body sentences in {len(letters)} letters")
    return 0


def _labels_export(args: argparse.Namespace) -> int:
    from .labels import load_annotations, validate_annotations

    labels_dir, schema, _, sentences = _labels_context(args)
    annotations = load_annotations(labels_dir)
    validate_annotations(schema, annotations, sentences)
    for row in annotations:
        _print_json({key: row[key] for key in ("id", "letter_id", "text", *schema.task_names, "annotator", "time", "origin") if key in row})
    return 0


def _agreement_results(labels_dir, schema, exclude_letters: Sequence[str] = (), against: str = "stored") -> dict:
    from .labels import agreement, load_annotations, load_first_pass_snapshot, load_reliability

    reference = load_first_pass_snapshot(labels_dir) if against == "first-pass" else load_annotations(labels_dir)
    first = {row["id"]: row for row in reference if row["letter_id"] not in set(exclude_letters)}
    second = load_reliability(labels_dir)
    if not second:
        raise ToolkitError(f"no blind re-labels under {labels_dir / 'reliability'}")
    return {name: agreement(first, {row["id"]: row for row in rows}, schema.task_names) for name, rows in second.items()}


def _labels_agreement(args: argparse.Namespace) -> int:
    from .corpus import default_labels_dir
    from .labels import load_schema
    from .report import agreement_markdown

    labels_dir = args.labels_dir or default_labels_dir()
    results = _agreement_results(labels_dir, load_schema(labels_dir), args.exclude_letters, args.against)
    print(json.dumps(results, indent=2) if args.json else agreement_markdown(results))
    return 0


def _labels_issues(args: argparse.Namespace) -> int:
    from .label_quality import find_label_issues, issues_markdown

    if args.limit is not None and args.limit < 1:
        raise ToolkitError(f"--limit: must be a positive number, got {args.limit}")
    result = find_label_issues(args.run, task=args.task)
    if args.markdown:
        print(issues_markdown(result, args.limit))
        return 0
    for issue in result["issues"][: args.limit]:
        _print_json(issue)
    print(
        f"{len(result['issues'])} of {result['sentences']} sentences flagged for {result['task']}; fill in 'new' and 'rule' "
        "for the labels that are wrong, delete the other lines, then: toolkit labels revise FILE --annotator NAME",
        file=sys.stderr,
    )
    return 0


def _labels_stats(args: argparse.Namespace) -> int:
    print(_statistics_markdown(args))
    return 0


def _statistics_markdown(args: argparse.Namespace) -> str:
    from .labels import load_annotations
    from .report import label_statistics_markdown

    labels_dir, schema, letters, sentences = _labels_context(args)
    annotations = load_annotations(labels_dir)
    provenance = {letter.id: letter.provenance.get("kind", "?") for letter in letters}
    return label_statistics_markdown(annotations, {t: s.classes for t, s in schema.tasks.items()}, provenance)


_CARD_START = "<!-- generated by `toolkit labels card`: start -->"
_CARD_END = "<!-- generated by `toolkit labels card`: end -->"


def _labels_card(args: argparse.Namespace) -> int:
    """Rewrite the generated part of labels/README.md (counts and agreement)."""
    from .corpus import default_labels_dir
    from .files import write_atomically
    from .labels import near_duplicate_rate
    from .report import agreement_markdown

    labels_dir = args.labels_dir or default_labels_dir()
    _, schema, _, sentences = _labels_context(args)
    rate, pairs = near_duplicate_rate(sentences)
    generated = "\n\n".join(
        [
            _CARD_START,
            "### Counts",
            _statistics_markdown(args),
            "### Agreement",
            "Blind re-labels against the first-pass labels (before the codebook revision; "
            "`toolkit labels agreement --against first-pass`):",
            agreement_markdown(_agreement_results(labels_dir, schema, against="first-pass")),
            "The same without the seed letter, whose sentences serve as codebook examples "
            "(`--exclude-letters kst-28676-307`):",
            agreement_markdown(_agreement_results(labels_dir, schema, ["kst-28676-307"], against="first-pass")),
            "Blind re-labels against the stored labels after the revision (`toolkit labels agreement`):",
            agreement_markdown(_agreement_results(labels_dir, schema)),
            "### Near-duplicates",
            f"{rate:.1%} of {len(sentences)} body sentences have a near-duplicate in another letter "
            f"({len(pairs)} pairs; character n-gram cosine ≥ 0.8 with names and numbers masked).",
            _CARD_END,
        ]
    )
    card = labels_dir / "README.md"
    text = card.read_text(encoding="utf-8")
    if _CARD_START not in text or _CARD_END not in text:
        raise ToolkitError(f"{card}: markers for the generated section are missing")
    before, rest = text.split(_CARD_START, 1)
    after = rest.split(_CARD_END, 1)[1]
    write_atomically(card, before + generated + after)
    print(f"updated {card}")
    return 0


_LABEL_ACTIONS = {
    "propose": _labels_propose,
    "import": _labels_import,
    "import-reliability": _labels_import_reliability,
    "revise": _labels_revise,
    "validate": _labels_validate,
    "export": _labels_export,
    "agreement": _labels_agreement,
    "stats": _labels_stats,
    "card": _labels_card,
    "issues": _labels_issues,
}


@_command("run")
def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .config import load_configs
    from .experiment import run_experiment

    configs = load_configs(args.config, args.set)
    for config in configs:
        if args.output_dir:
            config = replace(config, output_dir=str(args.output_dir))
        result = run_experiment(config, force=args.force, progress=not args.quiet)
        if launch.is_main_process():  # under torchrun, one summary rather than one per process
            _print_run_summary(config, result)
    return 0


def _print_run_summary(config, result) -> None:
    metrics = RunDirectory(result.path).metrics()
    if result.cached:
        print(f"{config.name}: same config and data as a finished run; not recomputed (use --force)")
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


@_command("compare")
def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_runs, paired_tests

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

    for row in predict_letters(args.run, args.paths, encoding=args.encoding):
        _print_json(row)
    return 0


@_command("pretrain")
def _pretrain(args: argparse.Namespace) -> int:
    """Train a small Dutch BERT (or continue pretraining one) on the letters and given texts."""
    from .corpus import read_default_letters
    from .segment import segment_letter

    launch.ensure_process_group()
    if launch.broadcast_flag(args.out.exists() and args.skip_if_exists):
        if launch.is_main_process():
            print(f"{args.out} exists; not pretraining again")
        return 0
    excluded = set(args.exclude_letters)
    texts = [
        record.text
        for letter in read_default_letters(args.labels_dir)
        if letter.id not in excluded
        for record in segment_letter(letter)
        if record.kind in ("body", "heading", "footnote")
    ]
    for path in args.texts:
        if not path.exists():
            raise ToolkitError(f"{path}: no such file")
        texts += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
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
        print(f"pretraining on {len(texts)} texts (letters excluded: {', '.join(sorted(excluded)) or 'none'})", file=sys.stderr)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolkit", description="Sentence-level classification of Dutch letters to parliament.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    segment = commands.add_parser("segment", help="print one JSON object per sentence record of the given letters")
    segment.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    segment.add_argument("--kind", action="append", choices=["body", "heading", "footnote", "head", "signature"],
                         help="only records of this kind (repeatable)")
    segment.add_argument("--encoding", default="utf-8", help="encoding of .txt letters (default utf-8)")

    ingest = commands.add_parser("ingest", help="ingest and segment letters into a corpus directory")
    ingest.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    ingest.add_argument("--out", type=Path, required=True, help="corpus directory to write")
    ingest.add_argument("--default", action="store_true", help="include the default corpus (labels/letters)")
    ingest.add_argument("--labels-dir", type=Path, default=None, help="labels directory (default: the checkout's labels/)")
    ingest.add_argument("--encoding", default="utf-8")

    fetch = commands.add_parser("fetch", help="fetch letters from officiële bekendmakingen (needs internet)")
    fetch.add_argument("official_id", nargs="?", help="official id, e.g. kst-28676-307")
    fetch.add_argument("--dossier", help="fetch every kamerstuk of this dossier, e.g. 28676")
    fetch.add_argument("--since", type=_date, help="only documents published on or after this date")
    fetch.add_argument("--type", help='only this document type, e.g. "Brief regering"')
    fetch.add_argument("--cache-dir", type=Path, default=Path(".cache/fetch"))
    fetch.add_argument("--out", type=Path, default=Path("fetched"), help="directory for the XML files")
    fetch.add_argument("--base-url", default="https://repository.overheid.nl/sru", help="SRU endpoint")
    fetch.add_argument("--retries", type=int, default=3, help="retries on network errors and 429/5xx (default 3)")

    render = commands.add_parser("render-corpus", help="render the authored letters of labels/letters/src (maintainers)")
    render.add_argument("--labels-dir", type=Path, default=None)

    labels = commands.add_parser("labels", help="label workflow: propose, import, validate, export, agreement, stats, card")
    label_actions = labels.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("propose", "print rule-based proposals (one JSON object per body sentence) for review"),
        ("import", "store a reviewer's decisions (JSONL: id + one label per task) as the letters' labels"),
        ("import-reliability", "store blind re-labels of a sample for the agreement figures"),
        ("revise", "apply a review pass's changes (JSONL: id, task, old, new, rule), keeping a trace"),
        ("validate", "check the stored labels against the schema and the corpus"),
        ("export", "print one JSON object per labelled body sentence"),
        ("agreement", "Cohen's kappa and Krippendorff's alpha per task from the stored labels"),
        ("stats", "counts per class and per letter (markdown)"),
        ("card", "regenerate the counts and agreement section of labels/README.md"),
        ("issues", "likely label errors (cleanlab) from a leave-letters-out run, as changes for `labels revise`"),
    ):
        action = label_actions.add_parser(name, help=help_text)
        action.add_argument("--labels-dir", type=Path, default=None)
        if name in ("import", "import-reliability", "revise"):
            action.add_argument("paths", nargs="+", type=Path, metavar="DECISIONS.jsonl")
            action.add_argument("--annotator", required=True, help="who made these decisions")
        if name == "propose":
            action.add_argument("--letters", nargs="*", help="only these letter ids")
        if name == "validate":
            action.add_argument("--complete", action="store_true", help="also require every letter to be labelled")
        if name == "issues":
            action.add_argument("run", type=Path, help="a run directory whose predictions are out-of-sample (LOO or k-fold)")
            action.add_argument("--task", help="the task, when the run has several (multi-task)")
            action.add_argument("--limit", type=int, default=None, help="at most this many, the most doubtful first")
            action.add_argument("--markdown", action="store_true", help="a review table instead of JSON lines")
        if name == "agreement":
            action.add_argument("--json", action="store_true")
            action.add_argument("--exclude-letters", nargs="*", default=[], help="leave these letters out")
            action.add_argument("--against", choices=["stored", "first-pass"], default="stored",
                                help="compare with the stored labels or with the first-pass snapshot")

    run = commands.add_parser("run", help="run an experiment config; prints the run directory last")
    run.add_argument("config", type=Path)
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. model.C=4")
    run.add_argument("--force", action="store_true", help="recompute even if a finished run matches")
    run.add_argument("--output-dir", type=Path, default=None, help="where run directories go (default: the config's)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    compare = commands.add_parser("compare", help="compare finished runs (a table; --test for paired significance tests)")
    compare.add_argument("runs", nargs="+", help="run directories or globs (e.g. 'runs/tfidf-*')")
    compare.add_argument("--markdown", action="store_true")
    compare.add_argument("--test", action="store_true", help="paired bootstrap and approximate randomisation between two runs")
    compare.add_argument("--samples", type=int, default=1000)

    predict = commands.add_parser("predict", help="label the body sentences of new letters with a run's model")
    predict.add_argument("run", type=Path)
    predict.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    predict.add_argument("--encoding", default="utf-8")

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

    main_job = commands.add_parser("main", help="the main job on the default data")
    main_job.add_argument("--out", type=Path, default=Path("runs"), help="output directory (default runs/)")
    main_job.add_argument("--labels-dir", type=Path, default=None)
    main_job.add_argument("--config", type=Path, default=_default_labels().parent / "experiments" / "tfidf-loo.yaml",
                          help="experiment config run for every task (default experiments/tfidf-loo.yaml)")
    main_job.add_argument("--quiet", action="store_true", help="no progress bars")
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
