"""The ``toolkit`` command line.

Each sub-command is a thin function over the library: it parses its arguments,
calls one stage, and prints. Errors a user can fix (:class:`ToolkitError`) are
printed as one line, without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ToolkitError

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
    """The main job on the default data: ingest and segment the default corpus."""
    from .corpus import read_default_letters, write_corpus

    letters = read_default_letters(args.labels_dir)
    summary = write_corpus(letters, args.out / "corpus")
    body = Counter()
    from .segment import segment_letter

    print(f"{'letter':48} {'format':6} {'provenance':13} body  headings")
    for letter in letters:
        kinds = Counter(sentence.kind for sentence in segment_letter(letter))
        body[letter.id] = kinds["body"]
        print(
            f"{letter.id:48} {letter.source_format or '':6} {letter.provenance.get('kind', ''):13} "
            f"{kinds['body']:4}  {kinds['heading']:8}"
        )
    print(f"{summary['letters']} letters, {sum(body.values())} body sentences; corpus written to {args.out / 'corpus'}")
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

    main_job = commands.add_parser("main", help="the main job on the default data")
    main_job.add_argument("--out", type=Path, default=Path("runs"), help="output directory (default runs/)")
    main_job.add_argument("--labels-dir", type=Path, default=None)
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


if __name__ == "__main__":
    sys.exit(main())
