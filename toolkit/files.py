"""Small file helpers shared by the stages: takes data, gives files written atomically (and reads
JSON-lines files back with an error naming the bad line).

Every file the toolkit writes goes to a temporary file in the same directory first
and is renamed into place, so an interrupted write never leaves half a file.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ToolkitError

__all__ = ["as_umask_allows", "print_json", "read_jsonl", "write_atomically", "write_jsonl"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_umask_allows(path: Path) -> None:
    """Give a file or directory made by ``tempfile`` (0600 / 0700) the mode the user's umask
    allows, as ``open`` and ``mkdir`` would: output is meant to be shared by a research group."""
    base = 0o777 if Path(path).is_dir() else 0o666
    os.chmod(path, base & ~_umask())


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary sibling and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        as_umask_allows(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, written atomically."""
    write_atomically(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def read_jsonl(path: Path, error: type[ToolkitError] = ToolkitError) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; a bad line raises ``error`` naming it."""
    rows = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return rows


def print_json(record: Mapping[str, Any]) -> None:
    """One JSON object on one line of standard output (UTF-8 text, not escaped)."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
