"""The run directory, in one place: takes a finished experiment (or a path to one), gives its
name, its atomic writing, and typed readers for every command that uses a run.

Layout of ``runs/<name>-<hash>/``:

``config.yaml``       the resolved experiment config
``metrics.json``      per task: the model's scores with confidence intervals, baselines, seeds
``predictions.jsonl`` one row per (seed, split, task, sentence): gold, predicted, probabilities
``provenance.json``   data and code fingerprints, package versions, launch, command
``report.md``         per-class report; ``confusion_<task>.png`` / ``letters_<task>.png`` charts
``top_features.json`` (TF-IDF) the heaviest features per class
``model/``            the fitted model: ``model.skops`` (TF-IDF) or a transformer checkpoint
``manifest.json``     every other file with its size and sha256, written last

A run is written into a hidden staging directory beside its final place and renamed into
place only when complete, so an interrupted run leaves nothing that looks finished.
Readers check each file against the manifest before they use it, so a damaged or edited run
is reported as such, and raise :class:`~toolkit.errors.RunError` naming the file and what to
do, never a traceback. A run directory is something researchers share: nothing in it is trusted.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import RunError
from .files import as_umask_allows

__all__ = [
    "MANIFEST_FILE",
    "RunDirectory",
    "crash_point",
    "find_runs",
    "remove_stale_work",
    "run_directory_name",
    "staged_run",
    "verify_manifest",
    "write_json",
    "write_jsonl_rows",
    "write_manifest",
]

METRICS_FILE = "metrics.json"
MANIFEST_FILE = "manifest.json"
_AGAIN = "run the experiment again with --force"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> dict[str, Any]:
    """List every file of a run directory with its size and sha256 in ``manifest.json``."""
    directory = Path(directory)
    files = {
        path.relative_to(directory).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }
    manifest = {"format": "kamerbrieven-toolkit/run-1", "files": files}
    write_json(directory / MANIFEST_FILE, manifest)
    return manifest


def verify_manifest(directory: Path, again: str = _AGAIN) -> dict[str, Any]:
    """Check every file that ``directory``'s manifest lists against its size and sha256; return
    the listing, or raise :class:`RunError` naming the first file missing or changed (``again``
    says what to do)."""
    path = Path(directory) / MANIFEST_FILE
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        assert isinstance(files, dict) and all(isinstance(v, dict) and "sha256" in v for v in files.values())
    except FileNotFoundError:
        raise RunError(f"{path}: missing, so {directory} is incomplete; {again}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AssertionError):
        raise RunError(f"{path}: damaged, so {directory} cannot be checked; {again}") from None
    for name, listed in files.items():
        file = Path(directory) / name
        if not file.is_file() or file.stat().st_size != listed.get("bytes") or _sha256(file) != listed["sha256"]:
            raise RunError(f"{file}: missing or changed since it was written (see {MANIFEST_FILE}); {again}")
    return files


def run_directory_name(config: Any, data_fingerprint: str, world_size: int = 1) -> str:
    """``<name>-<hash of config and data>``.

    A transformer trained by several processes takes ``batch_size × world_size`` sentences
    per step, so its results differ from a one-process run of the same config: the number
    of processes joins the hash (only when above 1, so one-process names stay as they were).
    """
    key = f"{config.fingerprint()}:{data_fingerprint}"
    if world_size > 1 and config.model.kind == "transformer":
        key += f":world_size={world_size}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{config.name}-{digest}"


_STAGING = "staging"
_ASIDE = "replaced"


def _marker(kind: str) -> str:
    """Names hidden work directories by host and process, so a later run can tell them stale."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True


def remove_stale_work(output_dir: Path) -> list[Path]:
    """Remove the staging and set-aside directories of runs on this host whose process is gone
    (a run killed with ``kill -9`` or a power cut leaves them); returns what was removed."""
    pattern = re.compile(rf"^\..+\.(?:{_STAGING}|{_ASIDE})-(?P<host>.+)-(?P<pid>\d+)-[^-]+$")
    removed = []
    if not Path(output_dir).is_dir():
        return removed
    for entry in Path(output_dir).iterdir():
        match = pattern.match(entry.name)
        if not match or not entry.is_dir() or match.group("host") != socket.gethostname():
            continue
        if not _process_alive(int(match.group("pid"))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def crash_point(name: str) -> None:
    """A place where the interruption tests kill the process (``TOOLKIT_CRASH_AT=name``)."""
    if os.environ.get("TOOLKIT_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def staged_run(final: Path, *, writes: bool = True) -> Iterator[Path | None]:
    """A hidden staging directory that becomes ``final`` only when the block succeeds.

    ``writes=False`` (a process other than rank 0 under ``torchrun``) yields None and
    touches nothing. An existing ``final`` (a run recomputed with ``--force``) is moved
    aside before the new one is renamed in and deleted after, so no moment leaves a
    half-written run in its place. Work left by killed runs on this host is removed first.
    """
    if not writes:
        yield None
        return
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work(final.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{_marker(_STAGING)}", dir=final.parent))
    as_umask_allows(staging)
    crash_point("staging-created")
    try:
        yield staging
        crash_point("files-written")
        aside = None
        if final.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.{_marker(_ASIDE)}", dir=final.parent))
            os.replace(final, aside / final.name)
            crash_point("old-moved-aside")
        os.replace(staging, final)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(path: Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def write_jsonl_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


class RunDirectory:
    """A finished run, read file by file. Every reader names the file it could not read."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunError(f"{self.path}: no such run directory")
        if not (self.path / METRICS_FILE).is_file():
            raise RunError(f"{self.path}: not a finished run directory (no {METRICS_FILE}); run it again with `toolkit run`")
        self._manifest: dict[str, Any] | None = None
        self._checked: set[str] = set()

    def manifest(self) -> dict[str, Any]:
        """The run's list of files with their sizes and hashes."""
        if self._manifest is None:
            path = self.path / MANIFEST_FILE
            if not path.is_file():
                raise RunError(f"{path}: missing, so the run cannot be checked (made by an older toolkit, or incomplete); {_AGAIN}")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                files = data["files"]
                assert isinstance(files, dict) and all(isinstance(v, dict) and "sha256" in v for v in files.values())
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AssertionError):
                raise RunError(f"{path}: damaged; the run cannot be checked; {_AGAIN}") from None
            self._manifest = files
        return self._manifest

    def verify(self, name: str) -> Path:
        """The path of one of the run's files, after checking it against the manifest."""
        path = self.path / name
        if name in self._checked:
            return path
        listed = self.manifest().get(name)
        if listed is None:
            raise RunError(f"{path}: not part of this run (it is not in {MANIFEST_FILE}); {_AGAIN}")
        if not path.is_file():
            raise RunError(f"{path}: missing from the run directory; the run is incomplete, {_AGAIN}")
        if path.stat().st_size != listed.get("bytes") or _sha256(path) != listed["sha256"]:
            raise RunError(f"{path}: damaged or edited since the run wrote it (its sha256 differs from {MANIFEST_FILE}); {_AGAIN}")
        self._checked.add(name)
        return path

    def verify_all(self) -> None:
        for name in self.manifest():
            self.verify(name)

    @classmethod
    def of(cls, run: "RunDirectory | str | os.PathLike") -> "RunDirectory":
        """``run`` itself, or the run directory at that path."""
        return run if isinstance(run, RunDirectory) else cls(run)

    @property
    def name(self) -> str:
        return self.path.name

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def _file(self, name: str) -> Path:
        return self.verify(name)

    def _json(self, name: str) -> dict[str, Any]:
        path = self._file(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RunError(f"{path}: damaged ({error}); run the experiment again with --force") from None
        if not isinstance(data, dict):
            raise RunError(f"{path}: damaged (not a JSON object); run the experiment again with --force")
        return data

    def config(self) -> dict[str, Any]:
        """The resolved config as a plain dict."""
        import yaml

        path = self._file("config.yaml")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise RunError(f"{path}: damaged ({str(error).splitlines()[0]}); run the experiment again with --force") from None
        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise RunError(f"{path}: damaged (not an experiment config); run the experiment again with --force")
        return data

    def metrics(self) -> dict[str, Any]:
        data = self._json(METRICS_FILE)
        if not isinstance(data.get("tasks"), dict) or not data["tasks"]:
            raise RunError(f"{self.path / METRICS_FILE}: damaged (no tasks); run the experiment again with --force")
        return data

    def provenance(self) -> dict[str, Any]:
        return self._json("provenance.json")

    def predictions(self) -> list[dict[str, Any]]:
        """Every prediction row, in file order."""
        from .files import read_jsonl

        path = self._file("predictions.jsonl")
        try:
            rows = read_jsonl(path, RunError)
        except UnicodeDecodeError as error:
            raise RunError(f"{path}: damaged ({error}); run the experiment again with --force") from None
        required = ("task", "id", "letter_id", "gold", "probabilities", "seed")
        for number, row in enumerate(rows, 1):
            if not isinstance(row, dict) or any(key not in row for key in required):
                raise RunError(f"{path}:{number}: damaged (a prediction lacks {', '.join(required)}); run the experiment again with --force")
        return rows

    def model(self) -> Any:
        """The fitted model saved with the run."""
        config = self.config()
        model_dir = self.path / "model"
        for name in self.manifest():
            if name.startswith("model/"):
                self.verify(name)
        if (model_dir / "model.skops").is_file():
            from .models.baselines import load_skops_model

            return load_skops_model(model_dir / "model.skops")
        if (model_dir / "config.json").is_file() or (model_dir / "encoder" / "config.json").is_file():
            if config.get("task") == "all" or config["model"].get("multitask"):  # older runs also say model.multitask
                from .models.multitask import MultiTaskTransformerClassifier as loader
            else:
                from .models.transformer import TransformerClassifier as loader
            return loader.load(model_dir)
        raise RunError(f"{self.path}: the run has no saved model (model/model.skops, model/config.json or model/encoder/config.json)")


def find_runs(patterns: Sequence[str | os.PathLike]) -> list[RunDirectory]:
    """Run directories named by paths or globs; a directory of runs stands for the runs in it."""
    runs: list[RunDirectory] = []
    for pattern in patterns:
        for match in sorted(glob.glob(str(pattern))) or [str(pattern)]:
            path = Path(match)
            if not (path / METRICS_FILE).exists() and any(path.glob(f"*/{METRICS_FILE}")):
                runs.extend(RunDirectory(p.parent) for p in sorted(path.glob(f"*/{METRICS_FILE}")))
                continue
            runs.append(RunDirectory(path))
    return runs
