"""Where a transformer comes from, and its token ids: takes a hub id or a local path (and texts),
gives a checked source for ``from_pretrained`` (and cached token ids).

* **Model sources.** Local directories are checked before anything is loaded, so a wrong path
  fails with a message about the path rather than a hub lookup; hub ids come from the local
  Hugging Face cache when present, otherwise only when the hub answers (``transformers``
  retries an unreachable hub for ~45 s). :func:`resolve_model_path` is the runner's rule for
  which names are local paths (relative to the working directory or the project).
* **Tokenisation cache.** Token ids are cached per (tokenizer name/path + hash of the
  tokenizer definition, ``max_length``, context mode, fingerprint of the texts and their
  context): in memory (the last few entries of this process) and, when a directory is given,
  on disk as ``<key>.npz`` (plain integer arrays, no pickle).

Imports neither torch nor transformers: the ``from_pretrained`` factories are passed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .context import context_text

__all__ = [
    "TOOLKIT_FILE",
    "WEIGHT_FILES",
    "check_compatible",
    "MULTITASK_ENCODER_DIR",
    "MULTITASK_MODEL_TYPE",
    "clear_tokenization_cache",
    "encoder_directory",
    "finetuned_labels",
    "has_weights",
    "load_pretrained",
    "looks_like_local_path",
    "model_directory",
    "read_toolkit_file",
    "resolve_model_path",
    "resolve_model_source",
    "stable_hash",
    "tokenize",
]

#: The toolkit's own record of a saved estimator, next to the Hugging Face files.
TOOLKIT_FILE = "toolkit.json"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
#: Where a multi-task model keeps its shared encoder: a subdirectory, so that the model directory
#: itself has no config.json and cannot be loaded by mistake as a plain classifier (which would
#: give the encoder a randomly initialised head without an error).
MULTITASK_ENCODER_DIR = "encoder"
#: The ``model_type`` of a multi-task directory's own ``config.json``: one no ``Auto*`` class knows,
#: so loading the directory as a plain model stops with an error that names it.
MULTITASK_MODEL_TYPE = "kamerbrieven-multitask"
_RUN_MANIFEST = "manifest.json"
_MEMORY_CACHE_SIZE = 8
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

def looks_like_local_path(name: str) -> bool:
    """Hub ids are "name" or "owner/name"; a path prefix, a backslash or more parts mean a local path.

    ``models/…`` counts as local: it is where ``toolkit pretrain`` writes by default.
    """
    return (
        name.startswith((".", "/", "~", "models/"))
        or "\\" in name
        or os.path.isabs(name)
        or name.strip("/").count("/") > 1
    )


def resolve_model_path(name_or_path: str) -> str:
    """A hub id as it is; a local path relative to the working directory or the project.

    A local path that does not exist stops the run with the command that builds it,
    rather than failing later with a hub lookup of a path-like name.
    """
    if not looks_like_local_path(name_or_path):
        return name_or_path
    for candidate in (Path(name_or_path).expanduser(), _PROJECT_ROOT / name_or_path):
        if candidate.exists():
            return str(candidate)
    raise ModelError(
        f"model directory {name_or_path} does not exist; build the small Dutch BERT first with:\n"
        f"    toolkit pretrain --out {name_or_path}"
    )


def model_directory(path: str | os.PathLike) -> Path:
    """The model directory a local path stands for: a run directory stands for its ``model/``."""
    path = Path(path).expanduser()
    if (path / _RUN_MANIFEST).is_file() and (path / "model").is_dir():
        return path / "model"
    return path


def encoder_directory(path: str | os.PathLike) -> Path:
    """The directory with the Hugging Face files: a multi-task model's ``encoder/``, else ``path``."""
    path = model_directory(path)
    if (path / MULTITASK_ENCODER_DIR / "config.json").is_file():
        return path / MULTITASK_ENCODER_DIR
    return path


def has_weights(directory: Path) -> bool:
    return any((directory / name).is_file() for name in WEIGHT_FILES)


def _hub_offline_requested() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_cached(repo_id: str, filename: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, filename), str)
    except Exception:  # noqa: BLE001 - any failure means "not usable from cache"
        return False


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick check, because transformers retries an unreachable hub for ~45 s."""
    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:  # noqa: BLE001
        endpoint = "https://huggingface.co"
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def resolve_model_source(name_or_path: str | os.PathLike, *, tokenizer_only: bool = False) -> tuple[str, dict[str, Any]]:
    """Where to load a model (or only a tokenizer) from, and the ``from_pretrained`` options.

    Local directories are checked here, so a wrong path fails with a message about
    the path rather than with a hub lookup; hub ids are served from the local HF
    cache when present and otherwise only when the hub answers.
    """
    name = os.fspath(name_or_path)
    path = Path(name).expanduser()
    if path.exists() or looks_like_local_path(name):
        if not path.is_dir():
            raise ModelError(f"model_name_or_path: {name} is not a directory")
        path = encoder_directory(path)  # a run directory, or a multi-task model's shared encoder
        if tokenizer_only:
            if not any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt")):
                raise ModelError(f"tokenizer: {name} has no tokenizer files (tokenizer.json, tokenizer_config.json or vocab.txt)")
            return str(path), {}
        if not (path / "config.json").is_file():
            raise ModelError(f"model_name_or_path: {name} has no config.json; is it a model directory?")
        if not has_weights(path):
            raise ModelError(
                f"model_name_or_path: {name} has a config but no weights (expected one of {', '.join(WEIGHT_FILES)}); "
                "the model was not saved completely, or this is a tokenizer-only directory"
            )
        return str(path), {}
    if _hub_cached(name, "tokenizer_config.json" if tokenizer_only else "config.json"):
        return name, {"local_files_only": True}
    if _hub_offline_requested() or not _hub_reachable():
        raise ModelError(
            f"model_name_or_path: {name!r} is not a local directory and, as a Hugging Face hub id, it is not in the local "
            "cache and the hub cannot be reached (offline); run `toolkit pretrain` to build a model locally, or pass the "
            "path of a local model directory"
        )
    return name, {}


def load_pretrained(factory: Any, source: str, options: Mapping[str, Any], what: str, **kwargs: Any) -> Any:
    """``factory.from_pretrained`` with its errors turned into :class:`ModelError`."""
    try:
        return factory.from_pretrained(source, **options, **kwargs)
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ModelError(f"could not load the {what} from {source}: {error}") from error


def check_compatible(tokenizer: Any, model: Any, max_length: int, source: str) -> None:
    """Fail early on a tokenizer/model pair that would index past the embeddings."""
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise ModelError(
            f"tokenizer/model mismatch in {source}: the tokenizer has {len(tokenizer)} tokens but the model's embedding "
            f"matrix has only {embeddings} rows; save the tokenizer that was used to train the model next to it"
        )
    config = model.config
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            positions -= 2  # RoBERTa offsets positions by the padding index
        if max_length > positions:
            raise ModelError(f"max_length: {max_length} exceeds the {positions} positions of the model in {source}; lower max_length")


def finetuned_labels(config: Any) -> list[str] | None:
    """The label names of a fine-tuned classifier checkpoint, None for a plain encoder."""
    architectures = getattr(config, "architectures", None) or []
    if not any(str(arch).endswith("ForSequenceClassification") for arch in architectures):
        return None
    id2label = getattr(config, "id2label", None) or {}
    labels = [str(id2label[i]) for i in sorted(id2label, key=int)]
    if all(label == f"LABEL_{i}" for i, label in enumerate(labels)):
        return None  # placeholder names: no label set to compare with
    return labels


def read_toolkit_file(directory: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(directory) / TOOLKIT_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelError(f"{path}: not valid JSON ({error})") from error


# ----------------------------------------------------------------------------- tokenisation cache

_memory_cache: OrderedDict[str, list[dict[str, list[int]]]] = OrderedDict()


def clear_tokenization_cache() -> None:
    """Forget the in-memory tokenisation cache (the on-disk one lives in output_dir)."""
    _memory_cache.clear()


def stable_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _tokenizer_identity(tokenizer: Any) -> str:
    """Name/path plus a hash of the full definition (vocab, normaliser, specials)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    definition = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    digest = hashlib.sha256(definition.encode("utf-8")).hexdigest()
    return f"{getattr(tokenizer, 'name_or_path', '')}:{digest}"


def _encode_uncached(tokenizer: Any, firsts: list[str], seconds: list[str | None], max_length: int) -> list[dict[str, list[int]]]:
    features: list[dict[str, list[int]] | None] = [None] * len(firsts)
    single = [i for i, second in enumerate(seconds) if second is None]
    paired = [i for i, second in enumerate(seconds) if second is not None]
    for rows, pair in ((single, False), (paired, True)):
        if not rows:
            continue
        arguments = [[firsts[i] for i in rows]]
        if pair:
            arguments.append([seconds[i] for i in rows])
        encoded = tokenizer(*arguments, truncation="longest_first" if pair else True, max_length=max_length)
        keys = [key for key in ("input_ids", "token_type_ids") if key in encoded]
        for j, row in enumerate(rows):
            features[row] = {key: list(encoded[key][j]) for key in keys}
    return features  # type: ignore[return-value]


def _save_token_cache(path: Path, features: list[dict[str, list[int]]]) -> None:
    lengths = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)
    arrays = {"lengths": lengths, "input_ids": np.array([t for f in features for t in f["input_ids"]], dtype=np.int64)}
    if features and "token_type_ids" in features[0]:
        arrays["token_type_ids"] = np.array([t for f in features for t in f["token_type_ids"]], dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def _load_token_cache(path: Path) -> list[dict[str, list[int]]] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            offsets = np.concatenate([[0], np.cumsum(data["lengths"])])
            keys = [key for key in ("input_ids", "token_type_ids") if key in data.files]
            columns = {key: data[key].tolist() for key in keys}
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache file is rebuilt, never trusted
    return [{key: columns[key][offsets[i] : offsets[i + 1]] for key in keys} for i in range(len(offsets) - 1)]


def tokenize(
    tokenizer: Any, records: Sequence[Mapping[str, Any]], context: str, max_length: int, cache_dir: Path | None
) -> list[dict[str, list[int]]]:
    """Token ids (no padding) per record, from the cache when possible."""
    firsts = [record["text"] for record in records]
    seconds = [context_text(record, context) for record in records]
    key = stable_hash([_tokenizer_identity(tokenizer), max_length, context, stable_hash([firsts, seconds])])[:32]
    path = cache_dir / f"{key}.npz" if cache_dir is not None else None
    features = _memory_cache.get(key)
    if features is None and path is not None and path.is_file():
        features = _load_token_cache(path)
    if features is None:
        features = _encode_uncached(tokenizer, firsts, seconds, max_length)
    if path is not None and not path.is_file():
        _save_token_cache(path, features)
    _memory_cache[key] = features
    _memory_cache.move_to_end(key)
    while len(_memory_cache) > _MEMORY_CACHE_SIZE:
        _memory_cache.popitem(last=False)
    return features


