"""The ``toolkit labels`` commands: take arguments, call one function of :mod:`toolkit.labels` per
action, print. Errors a user can fix are raised as :class:`ToolkitError` for ``toolkit.cli``
to print as one line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import LabelError, ToolkitError
from .files import print_json as _print_json

__all__ = ["add_label_commands", "run_label_action"]


def run_label_action(args: argparse.Namespace) -> int:
    """Run the parsed ``toolkit labels ACTION``."""
    return _LABEL_ACTIONS[args.action](args)


def _context(args: argparse.Namespace):
    from .labels.card import LabellingContext

    return LabellingContext.load(args.labels_dir)


def _read_decisions(paths: Sequence[Path]) -> list[dict]:
    from .files import read_jsonl

    rows: list[dict] = []
    for path in paths:
        if not path.exists():
            raise ToolkitError(f"{path}: no such file")
        rows.extend(read_jsonl(path, LabelError))
    return rows


def _labels_propose(args: argparse.Namespace) -> int:
    from .labels import propose

    context = _context(args)
    sentences = context.sentences
    if args.letters:
        unknown = set(args.letters) - {s.letter_id for s in sentences}
        if unknown:
            raise ToolkitError(f"unknown letter id(s): {', '.join(sorted(unknown))}")
        sentences = [s for s in sentences if s.letter_id in set(args.letters)]
    for row in propose(context.schema, sentences):
        _print_json(row)
    return 0


def _labels_import(args: argparse.Namespace) -> int:
    from .labels import store_decisions

    context = _context(args)
    if args.format == "jsonl":
        if not args.annotator:
            raise ToolkitError("--annotator: say who made these decisions")
        groups = {args.annotator: _read_decisions(args.paths)}
        partial = args.partial
    else:
        groups = {}
        for decision in _read_tool_export(args.paths, args.format, context.schema):
            groups.setdefault(args.annotator or decision.pop("annotator"), []).append(decision)
        partial = True  # a tool's export holds the sentences someone submitted, not whole letters
        if not groups:
            raise ToolkitError(f"{', '.join(map(str, args.paths))}: no submitted annotations to import")
    for annotator, decisions in groups.items():
        stored = store_decisions(context.labels_dir, context.schema, context.sentences, decisions, annotator=annotator,
                                 replace=args.replace, partial=partial)
        for letter_id, counts in sorted(stored.items()):
            print(f"{letter_id}: {counts['added']} added, {counts['kept']} kept, {counts['changed']} changed "
                  f"(by {annotator})")
    return 0


def _read_tool_export(paths: Sequence[Path], kind: str, schema) -> list[dict]:
    """Decisions from Label Studio or Argilla export files (JSON lists of tasks or records)."""
    from .labels.interchange import decisions_from_argilla, decisions_from_label_studio

    decisions: list[dict] = []
    for path in paths:
        if not path.exists():
            raise ToolkitError(f"{path}: no such file")
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ToolkitError(f"{path}: not a JSON export ({error})") from None
        if not isinstance(items, list):
            raise ToolkitError(f"{path}: a {kind} export is a JSON list of {'tasks' if kind == 'label-studio' else 'records'}")
        read = decisions_from_label_studio if kind == "label-studio" else decisions_from_argilla
        decisions += read(items, schema)
    return decisions


def _labels_import_reliability(args: argparse.Namespace) -> int:
    from .labels import store_reliability

    context = _context(args)
    count = store_reliability(context.labels_dir, context.schema, context.sentences, _read_decisions(args.paths),
                              annotator=args.annotator)
    print(f"stored {count} blind re-labels by {args.annotator}")
    return 0


def _labels_revise(args: argparse.Namespace) -> int:
    from .labels import apply_revisions

    context = _context(args)
    count = apply_revisions(context.labels_dir, context.schema, context.sentences, _read_decisions(args.paths),
                            reviser=args.annotator)
    print(f"applied {count} revisions by {args.annotator}")
    return 0


def _labels_validate(args: argparse.Namespace) -> int:
    from .labels import check_labels

    context = _context(args)
    summary = check_labels(context.labels_dir, context.schema, context.sentences, complete=args.complete)
    print(f"ok: {summary['labels']} labels for {summary['sentences']} body sentences in {summary['letters']} letters")
    return 0


def _labels_export(args: argparse.Namespace) -> int:
    from .dataset_export import EXPORT_FORMATS
    from .labels import export_rows

    if args.format in EXPORT_FORMATS:
        return _export_dataset(args)
    if args.push_to_hub:
        raise ToolkitError(f"--push-to-hub: only for the dataset formats ({', '.join(EXPORT_FORMATS)})")
    context = _context(args)
    if args.format == "jsonl":
        for row in export_rows(context.labels_dir, context.schema, context.sentences):
            _print_json(row)
        return 0
    if not args.out:
        raise ToolkitError(f"--out: a directory for the {args.format} files")
    rows = _rows_to_label(args, context)
    written = _write_tool_files(args.out, args.format, rows, context.schema)
    print(f"wrote {len(rows)} sentences for {args.format}: {', '.join(str(path) for path in written)}")
    return 0


def _export_dataset(args: argparse.Namespace) -> int:
    """The labelled corpus as a Hugging Face dataset with its card, split as the runner splits it."""
    from .dataset_export import build_export, check_output_dir, write_export

    if not args.out:
        raise ToolkitError(f"--out: a directory for the {args.format} dataset")
    check_output_dir(args.out, args.force)
    export = build_export(args.split_config, args.labels_dir)
    out = write_export(export, args.out, args.format, force=args.force)
    splits = ", ".join(f"{name} {split.num_rows}" for name, split in export.dataset.items())
    print(f"wrote {sum(s.num_rows for s in export.dataset.values())} sentences as {args.format} to {out} ({splits})")
    if args.push_to_hub:
        from .hub import push_folder

        print(f"pushed to {push_folder(out, args.push_to_hub, repo_type='dataset', private=args.private)}")
    return 0


def _rows_to_label(args: argparse.Namespace, context) -> list[dict]:
    """The sentences to hand to a labelling tool: a queue file, or whole letters with proposals
    (their stored labels where they have them, else the rule-based proposals)."""
    from .files import read_jsonl
    from .labels import load_annotations, propose

    if args.queue:
        return read_jsonl(args.queue, LabelError)
    if not args.letters:
        raise ToolkitError("say what to export: --queue FILE (from `labels queue`) or --letters ID …")
    unknown = set(args.letters) - {s.letter_id for s in context.sentences}
    if unknown:
        raise ToolkitError(f"unknown letter id(s): {', '.join(sorted(unknown))}")
    sentences = [s for s in context.sentences if s.letter_id in set(args.letters)]
    stored = {row["id"]: row for row in load_annotations(context.labels_dir)}
    tasks = context.schema.task_names
    rows = []
    for position, (sentence, proposal) in enumerate(zip(sentences, propose(context.schema, sentences))):
        start, source = (stored[sentence.id], "stored") if sentence.id in stored else (proposal, "rule")
        before = sentences[position - 1] if position else None
        after = sentences[position + 1] if position + 1 < len(sentences) else None
        rows.append({"id": sentence.id, "letter_id": sentence.letter_id, "text": sentence.text, "section": sentence.section,
                     "previous": before.text if before and before.letter_id == sentence.letter_id else None,
                     "next": after.text if after and after.letter_id == sentence.letter_id else None,
                     "proposal": {task: start[task] for task in tasks}, "source": {task: source for task in tasks}})
    return rows


def _write_tool_files(out: Path, kind: str, rows: list[dict], schema) -> list[Path]:
    from .files import write_atomically
    from .labels.interchange import argilla_records, argilla_settings, label_studio_config, label_studio_tasks

    out.mkdir(parents=True, exist_ok=True)
    if kind == "label-studio":
        files = {"tasks.json": json.dumps(label_studio_tasks(rows, schema), ensure_ascii=False, indent=1),
                 "labeling-config.xml": label_studio_config(schema)}
    else:
        files = {"records.json": json.dumps(argilla_records(rows, schema), ensure_ascii=False, indent=1),
                 "settings.json": json.dumps(argilla_settings(schema), ensure_ascii=False, indent=1)}
    for name, text in files.items():
        write_atomically(out / name, text)
    return [out / name for name in files]


def _labels_agreement(args: argparse.Namespace) -> int:
    from .corpus import default_labels_dir
    from .labels import agreement_with_reliability, load_schema
    from .report import agreement_markdown

    labels_dir = args.labels_dir or default_labels_dir()
    results = agreement_with_reliability(labels_dir, load_schema(labels_dir), args.exclude_letters, args.against)
    print(json.dumps(results, indent=2) if args.json else agreement_markdown(results))
    return 0


def _labels_issues(args: argparse.Namespace) -> int:
    from .labels.quality import find_label_issues, issues_markdown

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
    print(_context(args).statistics_markdown())
    return 0


def _labels_card(args: argparse.Namespace) -> int:
    from .labels import load_annotations
    from .labels.card import update_card
    from .labels.style import corpus_style, style_markdown

    context = _context(args)
    genres = {letter.id: letter.provenance.get("forum") or "original" for letter in context.letters}
    style = corpus_style(context.letters, load_annotations(context.labels_dir), context.schema.task_names)
    print(style_markdown(style, context.schema.task_names, genres))
    print(f"updated {update_card(context)}", file=sys.stderr)
    return 0


def _labels_queue(args: argparse.Namespace) -> int:
    from .corpus import default_labels_dir
    from .labels import load_annotations
    from .labels.queue import select_queue
    from .predict import predict_for_queue

    if args.k < 1:
        raise ToolkitError(f"--k: must be a positive number, got {args.k}")
    if args.strategy == "cleanlab":
        return _cleanlab_queue(args)
    if not args.paths:
        raise ToolkitError("give the letters to choose from (files, or corpus directories from `toolkit ingest`)")
    labelled = {row["id"] for row in load_annotations(args.labels_dir or default_labels_dir())}
    records, sources = predict_for_queue(args.run, args.paths, encoding=args.encoding)
    tasks = args.task or sorted(sources)
    unknown = [task for task in tasks if task not in sources]
    if unknown:
        raise ToolkitError(f"the runs predict {', '.join(sorted(sources))}, not {', '.join(unknown)}")
    queue = select_queue(records, tasks=tasks, k=args.k, strategy=args.strategy, source=sources,
                         diverse=args.diverse, seed=args.seed, exclude=labelled)
    for row in queue:
        _print_json(row)
    print(f"queued {len(queue)} of {len(records) - len(labelled & {r['id'] for r in records})} unlabelled sentences "
          f"({args.strategy}{', diverse' if args.diverse else ''})", file=sys.stderr)
    return 0


def _cleanlab_queue(args: argparse.Namespace) -> int:
    """Stored labels to look at again, the most doubtful first (the run must be out-of-sample)."""
    from .labels.quality import find_label_issues

    if len(args.run) != 1:
        raise ToolkitError("--strategy cleanlab takes one out-of-sample --run")
    run = args.run[0]
    result = find_label_issues(run, task=args.task[0] if args.task else None)
    for rank, issue in enumerate(result["issues"][: args.k], 1):
        _print_json({"rank": rank, "id": issue["id"], "letter_id": issue["letter_id"], "text": issue["text"],
                     "score": round(1 - issue["label_quality"], 6), "strategy": "cleanlab",
                     "stored": {result["task"]: issue["old"]}, "proposal": {result["task"]: issue["suggested"]},
                     "confidence": {result["task"]: issue["suggested_probability"]},
                     "source": {result["task"]: f"model:{Path(run).name}"}})
    print(f"queued {min(args.k, len(result['issues']))} of {len(result['issues'])} flagged stored labels for "
          f"{result['task']} (review them with `labels revise`)", file=sys.stderr)
    return 0


def _labels_simulate(args: argparse.Namespace) -> int:
    from .config import load_config
    from .dataset import load_labelled_table
    from .experiment import build_model
    from .files import write_atomically
    from .simulate import plot_learning_curves, simulate_active_learning

    config = load_config(args.config, [f"task={args.task}"])
    table = load_labelled_table(args.labels_dir, config.data.parts)
    result = simulate_active_learning(
        table, config, strategies=args.strategy or ["random", "uncertainty", "margin", "entropy"], budget=args.budget,
        step=args.step, start=args.start, seeds=args.seeds, build=build_model,
        progress=None if args.quiet else (lambda message: print(message, file=sys.stderr)),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / f"active-learning-{args.task}.json", json.dumps(result, indent=1))
    plot = plot_learning_curves(result, args.out / f"active-learning-{args.task}.png")
    print(f"whole pool ({result['pool_sentences']} sentences): macro-F1 {result['full_pool_macro_f1']:.3f}; "
          f"labels to reach 95% of it (mean of {len(result['seeds'])} seeds):")
    for strategy, curve in result["curves"].items():
        needed = curve["labels_to_reach_95%"]
        print(f"  {strategy:12} {needed if needed is not None else f'more than {args.budget}'}")
    print(f"{args.out / f'active-learning-{args.task}.json'}; {plot}")
    return 0


def _labels_disagreements(args: argparse.Namespace) -> int:
    from collections import Counter

    from .corpus import default_labels_dir
    from .labels import load_annotations, load_reliability, load_schema
    from .labels.agreement import disagreements
    from .report import markdown_table

    labels_dir = args.labels_dir or default_labels_dir()
    schema = load_schema(labels_dir)
    if bool(args.annotator_with) == bool(args.run):
        raise ToolkitError("compare the stored labels --with ANNOTATOR (a blind re-labeller) or with a --run's predictions")
    if args.annotator_with:
        second = load_reliability(labels_dir)
        if args.annotator_with not in second:
            raise ToolkitError(f"no re-labels by {args.annotator_with!r}; there are: {', '.join(sorted(second)) or 'none'}")
        other, name = second[args.annotator_with], args.annotator_with
    else:
        from .run_dir import RunDirectory

        predictions = RunDirectory(args.run).predictions()
        seed = min((row["seed"] for row in predictions), default=0)
        merged: dict[str, dict] = {}
        for row in predictions:
            if row["seed"] == seed:
                merged.setdefault(row["id"], {"id": row["id"]})[row["task"]] = row["predicted"]
        other, name = list(merged.values()), f"model:{Path(args.run).name}"
    tasks = args.task or list(schema.task_names)
    rows = disagreements(load_annotations(labels_dir), other, tasks, name)
    if args.markdown:
        pairs = Counter((row["task"], row["old"], row["other"]["label"]) for row in rows)
        print(markdown_table(["task", "stored", name, "sentences"],
                             [[task, old, new, count] for (task, old, new), count in pairs.most_common()]))
        return 0
    for row in rows:
        _print_json(row)
    print(f"{len(rows)} disagreements with {name}; fill in 'new' (and 'rule' or 'reason') for each, then: "
          "toolkit labels revise FILE --annotator ADJUDICATOR", file=sys.stderr)
    return 0


def _labels_add_letters(args: argparse.Namespace) -> int:
    from .corpus import add_letters, default_labels_dir

    added = add_letters(args.labels_dir or default_labels_dir(), args.paths, encoding=args.encoding)
    print(f"added {len(added)} letters to the corpus: {', '.join(added)}")
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
    "queue": _labels_queue,
    "simulate": _labels_simulate,
    "disagreements": _labels_disagreements,
    "add-letters": _labels_add_letters,
}


_LABEL_HELP = (
    ("add-letters", "add letter files (fetched or ingested) to the labelled corpus, to queue and label them"),
    ("propose", "print rule-based proposals (one JSON object per body sentence) for review"),
    ("import", "store a reviewer's decisions (JSONL: id + one label per task) as the letters' labels"),
    ("import-reliability", "store blind re-labels of a sample for the agreement figures"),
    ("revise", "apply a review pass's changes (JSONL: id, task, old, new, rule), keeping a trace"),
    ("validate", "check the stored labels against the schema and the corpus"),
    ("export", "print one JSON object per labelled body sentence, write labelling-tool files, or the dataset (parquet/hf/csv)"),
    ("agreement", "Cohen's kappa and Krippendorff's alpha per task from the stored labels"),
    ("stats", "counts per class and per letter (markdown)"),
    ("card", "regenerate the counts and agreement section of labels/README.md"),
    ("issues", "likely label errors (cleanlab) from a leave-letters-out run, as changes for `labels revise`"),
    ("queue", "the unlabelled sentences to label next (active learning), as proposals from a run's model"),
    ("simulate", "replay labelling on the corpus: learning curves per queue strategy (JSON and PNG)"),
    ("disagreements", "stored labels vs a second annotator or a run, for adjudication through `labels revise`"),
)


def add_label_commands(commands) -> None:
    """The ``labels`` command and its actions, on the ``toolkit`` parser's subcommands."""
    labels = commands.add_parser("labels", help="label workflow: propose, import, validate, export, agreement, stats, card")
    actions = labels.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in _LABEL_HELP:
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--labels-dir", type=Path, default=None)
        if name in ("import", "import-reliability", "revise"):
            action.add_argument("paths", nargs="+", type=Path, metavar="DECISIONS.jsonl")
            action.add_argument("--annotator", required=name != "import",
                                help="who made these decisions (for a tool's export: instead of its users)")
        if name == "import":
            action.add_argument("--format", choices=["jsonl", "label-studio", "argilla"], default="jsonl",
                                help="JSON lines (default), or a Label Studio / Argilla JSON export")
        if name == "export":
            _add_export_options(action)
        if name == "import":
            action.add_argument("--replace", action="store_true",
                                help="change labels that are already stored (each change traced as a revision)")
            action.add_argument("--partial", action="store_true",
                                help="decisions for some sentences of a letter (e.g. a queue), not the whole letter")
        if name == "propose":
            action.add_argument("--letters", nargs="*", help="only these letter ids")
        if name == "validate":
            action.add_argument("--complete", action="store_true", help="also require every body sentence to be labelled")
        if name == "issues":
            action.add_argument("run", type=Path, help="a run directory whose predictions are out-of-sample (LOO or k-fold)")
            action.add_argument("--task", help="the task, when the run has several (multi-task)")
            action.add_argument("--limit", type=int, default=None, help="at most this many, the most doubtful first")
            action.add_argument("--markdown", action="store_true", help="a review table instead of JSON lines")
        if name == "queue":
            action.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                                help="letters to choose from: files, or corpus directories written by `toolkit ingest`")
            action.add_argument("--run", type=Path, action="append", required=True,
                                help="a run whose model proposes and scores (repeatable: one run per task)")
            action.add_argument("--k", type=int, default=50, help="how many sentences (default 50)")
            action.add_argument("--strategy", default="uncertainty",
                                choices=["uncertainty", "margin", "entropy", "random", "cleanlab"],
                                help="how to rank; cleanlab re-queues stored labels an out-of-sample run doubts")
            action.add_argument("--diverse", action="store_true", help="spread over letters and predicted classes")
            action.add_argument("--task", action="append", help="score this task only (repeatable; default: all the run has)")
            action.add_argument("--seed", type=int, default=0, help="seed of the random strategy")
            action.add_argument("--encoding", default="utf-8")
        if name == "add-letters":
            action.add_argument("paths", nargs="+", type=Path, metavar="PATH")
            action.add_argument("--encoding", default="utf-8")
        if name == "disagreements":
            action.add_argument("--with", dest="annotator_with", help="a blind re-labeller under reliability/")
            action.add_argument("--run", type=Path, help="a run whose predictions to compare with")
            action.add_argument("--task", action="append", help="only this task (repeatable)")
            action.add_argument("--markdown", action="store_true", help="a table of disagreeing pairs instead")
        if name == "simulate":
            action.add_argument("--task", required=True, help="the task to simulate labelling for")
            action.add_argument("--strategy", action="append", choices=["random", "uncertainty", "margin", "entropy"],
                                help="repeatable (default: all four)")
            action.add_argument("--budget", type=int, default=1000, help="labelled sentences at the end (default 1000)")
            action.add_argument("--step", type=int, default=100, help="sentences labelled per round (default 100)")
            action.add_argument("--start", type=int, default=100, help="random sentences to start from (default 100)")
            action.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
            action.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "experiments" / "tfidf-loo.yaml",
                                help="the model (default: the main job's, experiments/tfidf-loo.yaml)")
            action.add_argument("--out", type=Path, default=Path("runs/active-learning"))
            action.add_argument("--quiet", action="store_true")
        if name == "agreement":
            action.add_argument("--json", action="store_true")
            action.add_argument("--exclude-letters", nargs="*", default=[], help="leave these letters out")
            action.add_argument("--against", choices=["stored", "first-pass"], default="stored",
                                help="compare with the stored labels or with the first-pass snapshot")




def _add_export_options(action) -> None:
    action.add_argument("--format", choices=["jsonl", "label-studio", "argilla", "parquet", "hf", "csv"], default="jsonl",
                        help="JSON lines (default); Label Studio / Argilla project files; or the labelled corpus as a "
                             "Hugging Face dataset with a card: parquet files, save_to_disk (hf) or CSV (labels as names)")
    action.add_argument("--out", type=Path, help="directory for the label-studio, argilla or dataset files")
    action.add_argument("--queue", type=Path, help="the sentences of a `labels queue` file, with its proposals")
    action.add_argument("--letters", nargs="*", help="whole letters, starting from stored labels or rule proposals")
    action.add_argument("--split-config", type=Path, default=None,
                        help="dataset formats: the experiment whose held-out letters make the splits "
                             "(default experiments/tfidf-kfold-tuned.yaml: grouped 5-fold, one split per fold)")
    action.add_argument("--force", action="store_true", help="dataset formats: replace a non-empty --out")
    action.add_argument("--push-to-hub", metavar="REPO", help="dataset formats: also upload --out to this Hub dataset repo")
    action.add_argument("--private", action="store_true", help="with --push-to-hub: create the repository private")
