"""Fuzzing the readers: every input gives a letter or a clear toolkit error, never a traceback.

Generates inputs of every kind a reader meets — random bytes; the seed letter and test fixtures
truncated, with bytes flipped, deleted or repeated; XML and HTML with tags cut, nested, or turned
into entity bombs; odd encodings (UTF-16 with and without a byte-order mark, Latin-1, stray BOMs,
NUL bytes); PDF headers with garbage after them — writes each to a file with the suffix its reader
takes, and runs ``read_letter`` + ``segment_letter`` on it. Counts the results: a letter, a clean
``ToolkitError``, or anything else (which must be 0). Deterministic for a given ``--seed``.

    python bench/fuzz_ingest.py [--inputs 5000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit.errors import ToolkitError  # noqa: E402
from toolkit.ingest import read_letter  # noqa: E402
from toolkit.segment import segment_letter  # noqa: E402

SEED_TEXT = (ROOT / "labels" / "letters" / "kst-28676-307.txt").read_bytes()
FIXTURES = ROOT / "tests" / "fixtures"


def _samples() -> dict[str, list[bytes]]:
    """Well-formed inputs per suffix, to be mutated."""
    layouts = FIXTURES / "layouts"
    return {
        ".txt": [SEED_TEXT] + [path.read_bytes() for path in sorted(layouts.glob("*.txt"))],
        ".xml": [(FIXTURES / "kst-28676-999-markup.xml").read_bytes()] + [path.read_bytes() for path in sorted(layouts.glob("*.xml"))],
        ".html": [(FIXTURES / "letters" / "kst-99999-1.html").read_bytes()] + [path.read_bytes() for path in sorted(layouts.glob("*.html"))],
        ".pdf": [b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%%EOF\n"],
    }


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One to five edits: truncate, flip, delete, repeat or insert a span."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if not data:
            break
        position = rng.randrange(len(data))
        kind = rng.choice(["truncate", "flip", "delete", "repeat", "insert"])
        if kind == "truncate":
            del data[position:]
        elif kind == "flip":
            data[position] = rng.randrange(256)
        elif kind == "delete":
            del data[position : position + rng.randint(1, 200)]
        elif kind == "repeat":
            span = data[position : position + rng.randint(1, 300)]
            data[position:position] = span * rng.randint(1, 20)
        else:
            data[position:position] = rng.choice(
                [b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"<", b">", b"&", b"]]>", b"<!--", b"\f", b"\r\n", b"\n\n\n",
                 b"<al>", b"</stuk>", b"<bijlage>", b"<div class=\"bijlage\">", b"De Minister van Buitenlandse Zaken,\n",
                 b"Bijlage 1\n", b"1 ", b"- ", "\u00e9".encode("latin-1"), b"\xc3", b"<script>"]
            )
    return bytes(data)


_BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<officiele-publicatie><kamerstuk><stuk><al>&lol2;</al></stuk></kamerstuk></officiele-publicatie>"""
_EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<officiele-publicatie><kamerstuk><stuk><al>&e;</al></stuk></kamerstuk></officiele-publicatie>"""


def _generate(rng: random.Random, samples: dict[str, list[bytes]]) -> tuple[str, bytes, str]:
    """``(suffix, data, kind)`` of one input."""
    kind = rng.choice(["random", "mutated", "mutated", "mutated", "encoding", "markup", "pdf"])
    if kind == "random":
        return rng.choice(list(samples)), bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000))), kind
    if kind == "mutated":
        suffix = rng.choice([".txt", ".txt", ".xml", ".html"])
        return suffix, _mutate(rng.choice(samples[suffix]), rng), kind
    if kind == "encoding":
        text = rng.choice(samples[".txt"]).decode("utf-8")
        encoded = rng.choice([
            lambda t: t.encode("utf-16"), lambda t: t.encode("utf-16-le"), lambda t: t.encode("utf-16-be"),
            lambda t: t.encode("latin-1", "replace"), lambda t: b"\xef\xbb\xbf" * rng.randint(1, 3) + t.encode("utf-8"),
            lambda t: t.encode("utf-8")[: rng.randrange(1, 400)], lambda t: b"\xff\xfe" + t.encode("utf-8"),
        ])(text)
        return ".txt", encoded, kind
    if kind == "markup":
        return rng.choice([".xml", ".html"]), rng.choice([_BOMB, _EXTERNAL, b"<a>" * rng.randint(1, 5000), b"<?xml?>", b"<html></html>"]), kind
    return ".pdf", _mutate(rng.choice(samples[".pdf"]), rng) if rng.random() < 0.7 else b"%PDF-" + bytes(rng.randrange(256) for _ in range(500)), kind


def fuzz(inputs: int, seed: int, *, show: int = 3) -> Counter:
    rng = random.Random(seed)
    samples = _samples()
    results: Counter = Counter()
    shown = 0
    with tempfile.TemporaryDirectory() as directory:
        for number in range(inputs):
            suffix, data, kind = _generate(rng, samples)
            path = Path(directory) / f"kst-28676-{number}{suffix}"
            path.write_bytes(data)
            try:
                letter = read_letter(path, require_letter=rng.random() < 0.5)
                segment_letter(letter)
                results["letter"] += 1
            except ToolkitError:
                results["clean error"] += 1
            except Exception:  # noqa: BLE001 - exactly what the fuzzer looks for
                results["traceback"] += 1
                results[f"traceback ({kind}{suffix})"] += 1
                if shown < show:
                    shown += 1
                    print(f"--- input {number} ({kind}, {suffix}, {len(data)} bytes) gave a traceback:", file=sys.stderr)
                    traceback.print_exc()
            finally:
                path.unlink(missing_ok=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    results = fuzz(args.inputs, args.seed)
    seconds = time.perf_counter() - started
    print(f"inputs:       {args.inputs} (seed {args.seed}), {seconds:.1f} s")
    print(f"letters:      {results['letter']}")
    print(f"clean errors: {results['clean error']}")
    print(f"tracebacks:   {results['traceback']}  (must be 0)")
    for key, count in sorted(results.items()):
        if key.startswith("traceback ("):
            print(f"  {key}: {count}")
    return 1 if results["traceback"] else 0


if __name__ == "__main__":
    sys.exit(main())
