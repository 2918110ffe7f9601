"""Fine-tuning BERT-style encoders with scikit-learn's estimator contract.

Why this module exists: the experiment runner treats every model alike (``fit``,
``predict``, ``predict_proba``, ``classes_``, :func:`sklearn.base.clone`), so a
transformer has to look like a scikit-learn classifier while keeping what makes
fine-tuning work on a small CPU machine: dynamic padding, length-grouped batches,
bf16 autocast, gradient accumulation and early stopping on held-out *letters*.

This is the only module of the package (with :mod:`.pretrain`, which builds on it)
that imports torch and transformers; nothing imports it at package import time.

Design notes
------------
* **Training loop.** A plain torch loop (:func:`torch.optim.AdamW` +
  :func:`transformers.get_linear_schedule_with_warmup`) rather than the HF
  ``Trainer``: the single-task, the multi-task and the masked-LM models share it;
  it keeps early stopping grouped by letter, exact resumption and determinism under
  our control, and it does not move with the ``Trainer``/``TrainingArguments`` API
  churn between transformers 4 and 5. Gradients are clipped to norm 1.0 (the
  ``Trainer`` default).
* **Determinism.** ``fit`` and ``predict_proba`` run inside :func:`_runtime`, which
  seeds ``random``/numpy/torch, turns on ``torch.use_deterministic_algorithms(True,
  warn_only=True)`` and fixes the thread count (``num_threads``; default: torch's
  count at fit time, recorded in ``num_threads_``), and restores all of that
  afterwards. Batch order comes from ``numpy.random.default_rng([seed, epoch])``, so
  the same config + seed + thread count gives identical probabilities on CPU, and a
  run resumed from a checkpoint equals an uninterrupted one.
* **Tokenisation cache.** Tokenised inputs are cached per (tokenizer name/path +
  hash of the tokenizer definition, ``max_length``, context mode, fingerprint of
  the texts and their second segments): in memory (the last
  ``_MEMORY_CACHE_SIZE`` entries in this process; see
  :func:`clear_tokenization_cache`) and, when ``output_dir`` is set, on disk under
  ``output_dir/token-cache/<key>.npz`` (plain integer arrays, no pickle).
* **Checkpoints.** Each epoch writes ``checkpoint-last`` (weights, optimizer,
  scheduler, RNG state, history) under ``output_dir`` (a temporary directory when
  ``output_dir`` is None, removed after ``fit``); with early stopping the best
  epoch's weights go to ``checkpoint-best`` and are restored at the end.
  ``resume=True`` continues from ``checkpoint-last`` when its fingerprint (params
  + data + labels) matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.utils.validation import check_is_fitted

try:
    import torch
    import transformers
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        get_linear_schedule_with_warmup,
    )
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "toolkit.models.transformer needs torch and transformers: pip install -e '.[bert]'"
    ) from error

from . import CONTEXT_MODES, MIXED_PRECISION_MODES, distributed
from ..errors import ModelError

__all__ = [
    "CONTEXT_MODES",
    "MIXED_PRECISION_MODES",
    "MultiTaskTransformerClassifier",
    "TransformerClassifier",
    "build_second_segment",
    "clear_tokenization_cache",
    "split_by_letter",
]


_TOOLKIT_FILE = "toolkit.json"
_HEADS_FILE = "heads.safetensors"
_FORMAT = "kamerbrieven-toolkit/transformer-1"
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
#: Joins the parts of a second segment; plain text, so it works with any tokenizer.
_SEGMENT_JOINER = " | "
_MEMORY_CACHE_SIZE = 8
_IGNORE = -100
#: Params that do not change what is learnt, left out of the resume fingerprint.
_RUNTIME_PARAMS = frozenset({"progress", "resume", "output_dir", "num_threads", "device"})


# ----------------------------------------------------------------------------- inputs


def _as_records(X: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Input rows as mappings; a bare string is taken as a sentence without context."""
    records = []
    for position, row in enumerate(X):
        if isinstance(row, str):
            row = {"text": row}
        if not isinstance(row, Mapping) or not isinstance(row.get("text"), str):
            raise ModelError(
                f"input {position}: expected a dict with a 'text' string (and optional section/previous/next/letter_id), "
                f"got {type(row).__name__}"
            )
        records.append(row)
    return records


def build_second_segment(record: Mapping[str, Any], context: str) -> str | None:
    """The context that goes in as the tokenizer's second segment, or None.

    Built only from the record's own fields (``section``, ``previous``, ``next``),
    which the dataset fills from the same letter, so context never crosses a letter
    boundary. Order: section, previous sentence, next sentence; when the pair is too
    long, ``longest_first`` truncation shortens the longer segment first, so the
    sentence itself keeps at least half of ``max_length``.
    """
    if context not in CONTEXT_MODES:
        raise ModelError(f"context: must be one of {', '.join(CONTEXT_MODES)}, got {context!r}")
    parts: list[str] = []
    if context in ("section", "section+neighbours"):
        parts.append(record.get("section") or "")
    if context in ("neighbours", "section+neighbours"):
        parts.append(record.get("previous") or "")
        parts.append(record.get("next") or "")
    parts = [part.strip() for part in parts if part and part.strip()]
    return _SEGMENT_JOINER.join(parts) if parts else None


def split_by_letter(letter_ids: Sequence[Any], validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation) with whole letters held out for early stopping.

    Sentences of one letter share topic, author and wording; a split by sentence
    would leak them and make early stopping pick a too-late epoch. At least one
    letter goes to each side; the choice depends only on the letter ids and seed.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ModelError(f"validation_fraction: must be between 0 and 1 (exclusive), got {validation_fraction!r}")
    if any(letter is None for letter in letter_ids):
        raise ModelError("early stopping holds out whole letters: every input needs a 'letter_id'")
    keys = [str(letter) for letter in letter_ids]
    letters = sorted(set(keys))
    if len(letters) < 2:
        raise ModelError(
            f"early stopping needs at least 2 training letters to hold one out, got {len(letters)}; "
            "set early_stopping_patience=None"
        )
    n_validation = min(len(letters) - 1, max(1, round(validation_fraction * len(letters))))
    rng = np.random.default_rng(seed)
    held_out = {letters[i] for i in rng.permutation(len(letters))[:n_validation]}
    mask = np.array([key in held_out for key in keys], dtype=bool)
    return np.flatnonzero(~mask), np.flatnonzero(mask)


# ----------------------------------------------------------------------------- loading


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~", ".\\", "..\\")) or "\\" in name or os.path.isabs(name) or name.count("/") > 1


def _has_weights(directory: Path) -> bool:
    return any((directory / name).is_file() for name in _WEIGHT_FILES)


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


def _resolve_source(name_or_path: str | os.PathLike, *, tokenizer_only: bool = False) -> tuple[str, dict[str, Any]]:
    """Where to load a model (or only a tokenizer) from, and the ``from_pretrained`` options.

    Local directories are checked here, so a wrong path fails with a message about
    the path rather than with a hub lookup; hub ids are served from the local HF
    cache when present and otherwise only when the hub answers.
    """
    name = os.fspath(name_or_path)
    path = Path(name).expanduser()
    if path.exists() or _looks_like_path(name):
        if not path.is_dir():
            raise ModelError(f"model_name_or_path: {name} is not a directory")
        if tokenizer_only:
            if not any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt")):
                raise ModelError(f"tokenizer: {name} has no tokenizer files (tokenizer.json, tokenizer_config.json or vocab.txt)")
            return str(path), {}
        if not (path / "config.json").is_file():
            raise ModelError(f"model_name_or_path: {name} has no config.json; is it a model directory?")
        if not _has_weights(path):
            raise ModelError(
                f"model_name_or_path: {name} has a config but no weights (expected one of {', '.join(_WEIGHT_FILES)}); "
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


def _from_pretrained(factory: Any, source: str, options: Mapping[str, Any], what: str, **kwargs: Any) -> Any:
    """``factory.from_pretrained`` with its errors turned into :class:`ModelError`."""
    try:
        return factory.from_pretrained(source, **options, **kwargs)
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ModelError(f"could not load the {what} from {source}: {error}") from error


def _check_compatible(tokenizer: Any, model: Any, max_length: int, source: str) -> None:
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


def _finetuned_labels(config: Any) -> list[str] | None:
    """The label names of a fine-tuned classifier checkpoint, None for a plain encoder."""
    architectures = getattr(config, "architectures", None) or []
    if not any(str(arch).endswith("ForSequenceClassification") for arch in architectures):
        return None
    id2label = getattr(config, "id2label", None) or {}
    labels = [str(id2label[i]) for i in sorted(id2label, key=int)]
    if all(label == f"LABEL_{i}" for i, label in enumerate(labels)):
        return None  # placeholder names: no label set to compare with
    return labels


def _read_toolkit_file(directory: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(directory) / _TOOLKIT_FILE
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


def _sha256(data: Any) -> str:
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


def _tokenize(
    tokenizer: Any, records: Sequence[Mapping[str, Any]], context: str, max_length: int, cache_dir: Path | None
) -> list[dict[str, list[int]]]:
    """Token ids (no padding) per record, from the cache when possible."""
    firsts = [record["text"] for record in records]
    seconds = [build_second_segment(record, context) for record in records]
    key = _sha256([_tokenizer_identity(tokenizer), max_length, context, _sha256([firsts, seconds])])[:32]
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


# ----------------------------------------------------------------------------- runtime


def _resolve_device(device: str) -> torch.device:
    """The device to train on; under a multi-process launch, this process's own GPU."""
    if device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ModelError(f"device: {device!r} is not a torch device (use 'auto', 'cpu' or 'cuda')") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("device: 'cuda' was requested but no CUDA device is available; use device='auto' or 'cpu'")
    if resolved.type == "cuda" and resolved.index is None and distributed.is_launched():
        index = distributed.local_rank()
        if index >= torch.cuda.device_count():
            raise ModelError(
                f"LOCAL_RANK={index} but this machine has {torch.cuda.device_count()} CUDA device(s); "
                "start at most one process per GPU (--nproc_per_node)"
            )
        torch.cuda.set_device(index)
        resolved = torch.device("cuda", index)
    return resolved


def _cpu_supports_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - private probe; absent means "do not assume"
        return False


def _resolve_precision(mixed_precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full FP32."""
    if mixed_precision not in MIXED_PRECISION_MODES:
        raise ModelError(f"mixed_precision: must be one of {', '.join(MIXED_PRECISION_MODES)}, got {mixed_precision!r}")
    if mixed_precision == "no":
        return None
    if mixed_precision == "fp16":
        if device.type != "cuda":
            raise ModelError("mixed_precision: fp16 needs a CUDA device; use bf16 (or auto) on CPU")
        return torch.float16
    if mixed_precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if _cpu_supports_bf16() else None
    return None


def _precision_name(dtype: torch.dtype | None) -> str:
    return {None: "no", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _hf_progress_bars(enabled: bool):
    """transformers' own progress bars (loading/writing weights) follow ``progress``."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if was_enabled and not enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled and not enabled:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _runtime(seed: int, num_threads: int, device: torch.device, progress: bool = True):
    """Seeded, deterministic, fixed-thread section; global torch settings are restored after."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    _seed_everything(seed)
    try:
        with _hf_progress_bars(progress):
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in message or "can't allocate memory" in message or "defaultcpuallocator" in message)


@contextlib.contextmanager
def _oom_advice(batch_size: int, max_length: int):
    """Out-of-memory errors re-raised with what to change."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - filtered just below
        if not _is_out_of_memory(error):
            raise
        raise ModelError(
            f"out of memory with batch_size={batch_size}, max_length={max_length}: lower batch_size or max_length, "
            "keep the effective batch with gradient_accumulation_steps (e.g. batch_size=8, gradient_accumulation_steps=2), "
            "or use mixed_precision='bf16'"
        ) from error


@contextlib.contextmanager
def _atomic_directory(target: str | os.PathLike):
    """Yield a temporary sibling directory that replaces ``target`` only on success.

    Readers never see a half-written model directory; a failed or interrupted
    write leaves the previous ``target`` untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o755)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(temporary, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    # Under a multi-process launch only rank 0 draws, or every bar would appear N times.
    enabled = enabled and distributed.is_main_process()
    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, unit="batch", dynamic_ncols=True)


# ----------------------------------------------------------------------------- batching


def _training_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group_by_length: bool) -> list[np.ndarray]:
    """Shuffled batches; with grouping, similar lengths share a batch (less padding).

    Grouping sorts within shuffled mega-batches of 50 batches, as the HF
    ``LengthGroupedSampler`` does, so batches stay random across the epoch; the
    longest batch goes first so an out-of-memory error shows at once.
    """
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    mega = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), mega):
        chunk = order[start : start + mega]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    batches = [batches[i] for i in rng.permutation(len(batches))]
    longest = int(np.argmax([lengths[batch].max() for batch in batches]))
    batches[0], batches[longest] = batches[longest], batches[0]
    return batches


def _inference_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _pad(collator: DataCollatorWithPadding, features: Sequence[dict[str, list[int]]], rows: Iterable[int]) -> dict[str, torch.Tensor]:
    """Dynamic padding: each batch padded to its own longest row."""
    batch = []
    for row in rows:
        feature = dict(features[row])
        feature["attention_mask"] = [1] * len(feature["input_ids"])
        batch.append(feature)
    return dict(collator(batch))


# ----------------------------------------------------------------------------- training loop


@dataclass
class _LoopSettings:
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    weight_decay: float
    gradient_accumulation_steps: int
    group_by_length: bool
    seed: int
    patience: int | None
    autocast_dtype: torch.dtype | None
    device: torch.device
    progress: bool
    max_length: int
    desc: str = "training"


class _Checkpoints:
    """``checkpoint-last`` (full state, every epoch) and ``checkpoint-best`` (weights)."""

    def __init__(self, root: Path, fingerprint: str, labels: Any) -> None:
        self.root = Path(root)
        self.fingerprint = fingerprint
        self.labels = labels
        self.last = self.root / "checkpoint-last"
        self.best = self.root / "checkpoint-best"

    def read_state(self) -> dict[str, Any] | None:
        path = self.last / "state.json"
        if not path.is_file():
            return None
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("labels") != self.labels:
            raise ModelError(
                f"resume: the checkpoint in {self.last} was trained for labels {state.get('labels')}, but y has labels "
                f"{self.labels}; remove the checkpoint or set resume=False"
            )
        if state.get("fingerprint") != self.fingerprint:
            raise ModelError(
                f"resume: the checkpoint in {self.last} was made with other data or parameters; "
                "remove it, use another output_dir, or set resume=False"
            )
        return state

    def save_last(self, model, optimizer, scheduler, scaler, state: dict[str, Any]) -> None:
        from safetensors.torch import save_model

        with _atomic_directory(self.last) as directory:
            save_model(model, str(directory / "weights.safetensors"))
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                },
                directory / "training_state.pt",
            )
            (directory / "state.json").write_text(
                json.dumps({**state, "fingerprint": self.fingerprint, "labels": self.labels}, indent=2), encoding="utf-8"
            )

    def load_last(self, model, optimizer, scheduler, scaler, device: torch.device) -> None:
        from safetensors.torch import load_model

        load_model(model, str(self.last / "weights.safetensors"), device=str(device))
        blob = torch.load(self.last / "training_state.pt", map_location=device, weights_only=True)
        optimizer.load_state_dict(blob["optimizer"])
        scheduler.load_state_dict(blob["scheduler"])
        if scaler is not None and blob.get("scaler") is not None:
            scaler.load_state_dict(blob["scaler"])
        torch.set_rng_state(blob["torch_rng"].cpu())
        if blob.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([state.cpu() for state in blob["cuda_rng"]])

    def save_best(self, model) -> None:
        from safetensors.torch import save_model

        with _atomic_directory(self.best) as directory:
            save_model(model, str(directory / "weights.safetensors"))

    def load_best(self, model, device: torch.device) -> None:
        from safetensors.torch import load_model

        load_model(model, str(self.best / "weights.safetensors"), device=str(device))


def _make_optimizer(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW without decay on biases and LayerNorm weights (as BERT and the HF Trainer do)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=learning_rate, fused=True)  # ~10 % faster on CPU
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=learning_rate)


def _train_loop(
    model: torch.nn.Module,
    n_rows: int,
    lengths: np.ndarray,
    make_batch: Callable[[np.ndarray], dict[str, torch.Tensor]],
    compute_loss: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor],
    settings: _LoopSettings,
    *,
    evaluate: Callable[[torch.nn.Module], float] | None = None,
    checkpoints: _Checkpoints | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``model`` in place; return ``{"history", "best_epoch", "stopped_early", "world_size"}``.

    Shared by the classifiers and masked-LM pretraining. ``make_batch(rows)`` builds
    a padded batch on the device; ``compute_loss`` returns the mean loss of a batch;
    ``evaluate`` (higher is better) enables early stopping with ``settings.patience``.

    Under ``torchrun`` / ``accelerate launch`` the same loop runs data-parallel (see
    :mod:`toolkit.models.distributed`): ``settings.batch_size`` is per process, each
    process trains on its shard of every global batch, and only rank 0 writes
    checkpoints. Every process must call this with the same rows and settings.
    """
    distributed.ensure_process_group()
    processes, process = distributed.world_size(), distributed.rank()
    main = process == 0
    device, dtype = settings.device, settings.autocast_dtype
    accumulation = settings.gradient_accumulation_steps
    global_batch = settings.batch_size * processes
    n_batches = math.ceil(n_rows / global_batch)
    steps_per_epoch = math.ceil(n_batches / accumulation)
    total_steps = steps_per_epoch * settings.epochs
    optimizer = _make_optimizer(model, settings.learning_rate, settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(settings.warmup_ratio * total_steps)), total_steps)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None

    state: dict[str, Any] = {"epoch": 0, "history": [], "best_score": None, "best_epoch": None, "bad_epochs": 0, "finished": False}
    if checkpoints is not None and resume:
        saved = checkpoints.read_state()
        seeing = distributed.all_sum([saved is not None])[0]
        if 0 < seeing < processes:
            raise ModelError(
                f"resume: some processes see the checkpoint in {checkpoints.last} and others do not; "
                "resuming a multi-process run needs output_dir on a disk every process can read"
            )
        if saved is not None:
            checkpoints.load_last(model, optimizer, scheduler, scaler, device)
            state.update({key: saved[key] for key in state})

    trained = distributed.wrap(model, device)
    for epoch in range(state["epoch"], settings.epochs):
        if state["finished"]:
            break
        model.train()
        batches = _training_batches(lengths, global_batch, np.random.default_rng([settings.seed, epoch]), settings.group_by_length)
        started, loss_sum, seen = time.perf_counter(), 0.0, 0
        bar = _progress_bar(len(batches), f"{settings.desc} epoch {epoch + 1}/{settings.epochs}", settings.progress)
        optimizer.zero_grad(set_to_none=True)
        with bar, _oom_advice(settings.batch_size, settings.max_length):
            for index, rows in enumerate(batches):
                group_start = index - index % accumulation
                group_size = min(accumulation, len(batches) - group_start)
                steps_now = index - group_start + 1 == group_size
                if processes > 1:
                    rows = distributed.shard(rows, process, processes)
                batch = make_batch(rows)
                with distributed.no_sync(trained, steps_now):
                    with torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                        loss = compute_loss(trained, batch)
                    scaled = loss / group_size
                    (scaler.scale(scaled) if scaler is not None else scaled).backward()
                if steps_now:
                    if scaler is not None:
                        scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    if scaler is not None:
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                loss_sum += float(loss.detach()) * len(rows)
                seen += len(rows)
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", refresh=False)
        loss_sum, seen = distributed.all_sum([loss_sum, seen])
        seconds = time.perf_counter() - started
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "sentences": int(seen),
            "seconds": round(seconds, 3),
            "samples_per_second": round(seen / seconds, 2) if seconds > 0 else None,
            "learning_rate": scheduler.get_last_lr()[0],
        }
        if evaluate is not None:
            # Every process scores; rank 0's score decides, so all stop at the same epoch.
            score = distributed.broadcast_float(float(evaluate(model)))
            record["validation_macro_f1"] = score
            if state["best_score"] is None or score > state["best_score"]:
                state.update(best_score=score, best_epoch=epoch + 1, bad_epochs=0)
                if checkpoints is not None and main:
                    checkpoints.save_best(model)
            else:
                state["bad_epochs"] += 1
            if settings.patience is not None and state["bad_epochs"] >= settings.patience:
                state["finished"] = True
        state["history"].append(record)
        state["epoch"] = epoch + 1
        if epoch + 1 == settings.epochs:
            state["finished"] = True
        if checkpoints is not None and main:
            checkpoints.save_last(model, optimizer, scheduler, scaler, state)
    del trained
    if evaluate is not None and checkpoints is not None and state["best_epoch"] is not None:
        if state["best_epoch"] != state["epoch"]:
            if main:
                checkpoints.load_best(model, device)
            distributed.broadcast_module(model)
    distributed.barrier()  # checkpoints written before any process reads or removes them
    stopped_early = state["epoch"] < settings.epochs
    return {
        "history": state["history"],
        "best_epoch": state["best_epoch"] or state["epoch"],
        "stopped_early": stopped_early,
        "world_size": processes,
    }


@torch.no_grad()
def _predict_logits(
    model: torch.nn.Module,
    features: Sequence[dict[str, list[int]]],
    collator: DataCollatorWithPadding,
    forward: Callable[[torch.nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    *,
    batch_size: int,
    max_length: int,
    device: torch.device,
    dtype: torch.dtype | None,
    progress: bool,
) -> dict[str, np.ndarray]:
    """Probabilities per output head, in input order (batches sorted by length)."""
    was_training = model.training
    model.eval()
    lengths = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)
    outputs: dict[str, list[np.ndarray]] = {}
    order: list[np.ndarray] = []
    batches = _inference_batches(lengths, batch_size)
    with _progress_bar(len(batches), "predicting", progress) as bar, _oom_advice(batch_size, max_length):
        for rows in batches:
            batch = {key: value.to(device) for key, value in _pad(collator, features, rows).items()}
            with torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = forward(model, batch)
            for name, values in logits.items():
                outputs.setdefault(name, []).append(torch.softmax(values.float(), dim=-1).cpu().numpy())
            order.append(rows)
            bar.update(1)
    if was_training:
        model.train()
    if not order:
        return {}
    positions = np.argsort(np.concatenate(order), kind="stable")
    return {name: np.concatenate(parts)[positions].astype(np.float64) for name, parts in outputs.items()}


def _balanced_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (k · count) as scikit-learn's "balanced"; 1.0 for a class absent from training."""
    labelled = targets[targets != _IGNORE]
    counts = np.bincount(labelled, minlength=n_classes).astype(np.float64)
    weights = np.ones(n_classes)
    present = counts > 0
    weights[present] = len(labelled) / (n_classes * counts[present])
    return weights


def _missing(value: Any) -> bool:
    """None or NaN (how pandas marks a missing label)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _normalise_proba(values: np.ndarray) -> np.ndarray:
    return values / values.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- estimators


class _TransformerBase(BaseEstimator):
    """Parameter checks, runtime set-up and featurisation shared by both estimators."""

    # scikit-learn reads the parameters from this signature (shared by both estimators).
    def __init__(
        self,
        model_name_or_path: str = "GroNLP/bert-base-dutch-cased",
        max_length: int = 128,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        epochs: int = 3,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        class_weight: str | dict[str, str | None] | None = None,
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.15,
        gradient_accumulation_steps: int = 1,
        mixed_precision: str = "auto",
        context: str = "none",
        group_by_length: bool = True,
        num_threads: int | None = None,
        device: str = "auto",
        seed: int = 0,
        output_dir: str | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.mixed_precision = mixed_precision
        self.context = context
        self.group_by_length = group_by_length
        self.num_threads = num_threads
        self.device = device
        self.seed = seed
        self.output_dir = output_dir
        self.resume = resume
        self.progress = progress

    def _check_params(self) -> None:
        positive = ("max_length", "batch_size", "epochs", "gradient_accumulation_steps")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ModelError(f"{name}: must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ModelError(f"learning_rate: must be > 0, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ModelError(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio!r}")
        if self.weight_decay < 0:
            raise ModelError(f"weight_decay: must be ≥ 0, got {self.weight_decay!r}")
        if self.early_stopping_patience is not None and (
            not isinstance(self.early_stopping_patience, (int, np.integer)) or self.early_stopping_patience < 1
        ):
            raise ModelError(f"early_stopping_patience: must be None or a positive integer, got {self.early_stopping_patience!r}")
        if not 0 < self.validation_fraction < 1:
            raise ModelError(f"validation_fraction: must be between 0 and 1 (exclusive), got {self.validation_fraction!r}")
        if self.context not in CONTEXT_MODES:
            raise ModelError(f"context: must be one of {', '.join(CONTEXT_MODES)}, got {self.context!r}")
        if self.mixed_precision not in MIXED_PRECISION_MODES:
            raise ModelError(f"mixed_precision: must be one of {', '.join(MIXED_PRECISION_MODES)}, got {self.mixed_precision!r}")
        if self.num_threads is not None and (not isinstance(self.num_threads, (int, np.integer)) or self.num_threads < 1):
            raise ModelError(f"num_threads: must be None or a positive integer, got {self.num_threads!r}")
        if self.resume and self.output_dir is None:
            raise ModelError("resume=True needs output_dir (where the checkpoints of the earlier run are)")

    def _start(self) -> None:
        """Resolve device, precision and thread count once per fit."""
        self.device_ = str(_resolve_device(self.device))
        self.mixed_precision_ = _precision_name(_resolve_precision(self.mixed_precision, torch.device(self.device_)))
        self.num_threads_ = int(self.num_threads or torch.get_num_threads())

    def _runtime(self):
        return _runtime(int(self.seed), int(self.num_threads_), torch.device(self.device_), bool(self.progress))

    def _autocast_dtype(self) -> torch.dtype | None:
        return {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}[self.mixed_precision_]

    def _cache_dir(self) -> Path | None:
        return Path(self.output_dir) / "token-cache" if self.output_dir is not None else None

    def _features(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, list[int]]]:
        return _tokenize(self.tokenizer_, records, self.context, int(self.max_length), self._cache_dir())

    def _fingerprint(self, records: Sequence[Mapping[str, Any]], targets: Any) -> str:
        params = {key: value for key, value in self.get_params(deep=False).items() if key not in _RUNTIME_PARAMS}
        texts = [[r["text"], build_second_segment(r, self.context), r.get("letter_id")] for r in records]
        return _sha256([type(self).__name__, params, _sha256(texts), targets])

    def _split(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        if self.early_stopping_patience is None:
            return np.arange(len(records)), None
        train, validation = split_by_letter([r.get("letter_id") for r in records], self.validation_fraction, int(self.seed))
        self.train_letters_ = sorted({str(records[i]["letter_id"]) for i in train})
        self.validation_letters_ = sorted({str(records[i]["letter_id"]) for i in validation})
        return train, validation

    def _loop_settings(self, desc: str) -> _LoopSettings:
        return _LoopSettings(
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            warmup_ratio=float(self.warmup_ratio),
            weight_decay=float(self.weight_decay),
            gradient_accumulation_steps=int(self.gradient_accumulation_steps),
            group_by_length=bool(self.group_by_length),
            seed=int(self.seed),
            patience=self.early_stopping_patience,
            autocast_dtype=self._autocast_dtype(),
            device=torch.device(self.device_),
            progress=bool(self.progress),
            max_length=int(self.max_length),
            desc=desc,
        )

    @contextlib.contextmanager
    def _checkpoint_root(self):
        if self.output_dir is not None:
            Path(self.output_dir).mkdir(parents=True, exist_ok=True)
            yield Path(self.output_dir)
        else:
            with tempfile.TemporaryDirectory(prefix="toolkit-checkpoints-") as directory:
                yield Path(directory)

    def _train(self, n_rows, lengths, make_batch, compute_loss, evaluate, fingerprint, labels, desc: str) -> None:
        """The shared training loop, with checkpoints; its record is kept on the estimator."""
        with self._checkpoint_root() as root:
            outcome = _train_loop(
                self.model_,
                n_rows,
                lengths,
                make_batch,
                compute_loss,
                self._loop_settings(desc),
                evaluate=evaluate,
                checkpoints=_Checkpoints(root, fingerprint, labels),
                resume=bool(self.resume),
            )
        self.model_.eval()
        self.history_ = outcome["history"]
        self.best_epoch_ = outcome["best_epoch"]
        self.stopped_early_ = outcome["stopped_early"]
        self.world_size_ = outcome["world_size"]

    def _toolkit_metadata(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "estimator": type(self).__name__,
            "params": self.get_params(deep=False),
            "fit": {
                "history": self.history_,
                "best_epoch": self.best_epoch_,
                "stopped_early": self.stopped_early_,
                "device": self.device_,
                "mixed_precision": self.mixed_precision_,
                "num_threads": self.num_threads_,
                "fit_seconds": self.fit_seconds_,
                "world_size": getattr(self, "world_size_", 1),
                "train_letters": getattr(self, "train_letters_", None),
                "validation_letters": getattr(self, "validation_letters_", None),
            },
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        }

    @classmethod
    def _read_saved(cls, path: str | os.PathLike, overrides: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        metadata = _read_toolkit_file(path)
        if metadata is None:
            raise ModelError(f"{path}: no {_TOOLKIT_FILE}; not a model saved by {cls.__name__}.save")
        if metadata.get("estimator") != cls.__name__:
            raise ModelError(f"{path}: holds a {metadata.get('estimator')}, load it with that class instead of {cls.__name__}")
        if not Path(path, "config.json").is_file() or not _has_weights(Path(path)):
            raise ModelError(f"{path}: the saved model has no config.json or no weights")
        known = set(cls().get_params(deep=False))
        params = {key: value for key, value in metadata["params"].items() if key in known}  # tolerate older/newer files
        unknown = set(overrides) - known
        if unknown:
            raise ModelError(f"load: unknown parameter(s) {', '.join(sorted(unknown))}")
        params.update(overrides)
        estimator = cls(**params)
        fit = metadata.get("fit", {})
        estimator.history_ = fit.get("history", [])
        estimator.best_epoch_ = fit.get("best_epoch")
        estimator.stopped_early_ = fit.get("stopped_early", False)
        estimator.fit_seconds_ = fit.get("fit_seconds")
        estimator.world_size_ = fit.get("world_size", 1)
        for name in ("train_letters", "validation_letters"):
            if fit.get(name) is not None:
                setattr(estimator, f"{name}_", fit[name])
        estimator._start()
        if "num_threads" not in overrides and params.get("num_threads") is None and fit.get("num_threads"):
            estimator.num_threads_ = int(fit["num_threads"])  # the count the model was fitted with
        return estimator, metadata


class TransformerClassifier(ClassifierMixin, _TransformerBase):
    """A fine-tuned BERT-style sentence classifier with scikit-learn's estimator contract.

    ``X`` is a list of dicts ``{"text", "section", "previous", "next", "letter_id"}``
    (a bare string is read as ``{"text": ...}``); ``y`` a list of label strings.
    ``context`` puts the section heading and/or neighbouring sentences in the
    tokenizer's second segment (see :func:`build_second_segment`).

    ``model_name_or_path`` is loaded the same way whether it is a hub id, a local
    directory (e.g. from ``toolkit pretrain``) or the directory written by
    :meth:`save`; in the last case training *continues* from that classifier and
    ``y`` must have the same label set.

    Fitted attributes: ``classes_`` (sorted), ``n_classes_``, ``model_``,
    ``tokenizer_``, ``history_`` (per-epoch loss, validation macro-F1, speed),
    ``best_epoch_``, ``stopped_early_``, ``device_``, ``mixed_precision_``,
    ``num_threads_``, ``fit_seconds_``, ``world_size_`` (processes that trained it:
    1, or more under ``torchrun``) and, with early stopping,
    ``train_letters_``/``validation_letters_``.
    """

    # -- fitting

    def fit(self, X, y) -> "TransformerClassifier":
        """Fine-tune on ``X``/``y``; returns self."""
        self._check_params()
        if self.class_weight not in (None, "balanced"):
            raise ModelError(f"class_weight: must be None or 'balanced', got {self.class_weight!r}")
        records = _as_records(X)
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(records):
            raise ModelError(f"y: expected one label per input ({len(records)}), got shape {labels.shape}")
        if any(_missing(label) for label in labels.tolist()):
            raise ModelError("y: every input needs a label (found None/NaN); drop unlabelled rows before fit")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ModelError(f"y: need at least two classes to train a classifier, got {classes.tolist()}")
        started = time.perf_counter()
        self._start()
        with self._runtime():
            model, tokenizer, model_labels = self._load_for_training(classes)
            self.classes_, self.n_classes_ = classes, len(classes)
            self.model_labels_ = model_labels
            self.tokenizer_ = tokenizer
            self.model_ = model.to(torch.device(self.device_))
            label_to_id = {label: i for i, label in enumerate(model_labels)}
            targets = np.array([label_to_id[str(label)] for label in labels], dtype=np.int64)
            features = self._features(records)
            train, validation = self._split(records)
            weights = None
            if self.class_weight == "balanced":
                weights = torch.tensor(_balanced_weights(targets[train], len(model_labels)), dtype=torch.float32, device=self.device_)
            self._run(features, targets, train, validation, weights, self._fingerprint(records, labels.tolist()))
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _load_for_training(self, classes: np.ndarray) -> tuple[Any, Any, list[str]]:
        source, options = _resolve_source(self.model_name_or_path)
        config = _from_pretrained(AutoConfig, source, options, "model config")
        existing = _finetuned_labels(config)
        names = [str(label) for label in classes]
        if existing is not None:
            if sorted(existing) != sorted(names):
                raise ModelError(
                    f"label-set mismatch: {source} is a classifier for {sorted(existing)}, but y has {names}; "
                    "fine-tune from its encoder (a pretrained model directory) instead, or use the same labels"
                )
            model = _from_pretrained(AutoModelForSequenceClassification, source, options, "classifier")
            model_labels = existing
        else:
            model_labels = names
            model = _from_pretrained(
                AutoModelForSequenceClassification,
                source,
                options,
                "model",
                num_labels=len(names),
                id2label=dict(enumerate(names)),
                label2id={name: i for i, name in enumerate(names)},
            )
        tokenizer = _from_pretrained(AutoTokenizer, source, options, "tokenizer")
        _check_compatible(tokenizer, model, int(self.max_length), source)
        return model, tokenizer, model_labels

    def _run(self, features, targets, train, validation, weights, fingerprint) -> None:
        device = torch.device(self.device_)
        collator = DataCollatorWithPadding(self.tokenizer_)
        train_features = [features[i] for i in train]
        train_targets = torch.as_tensor(targets[train])
        lengths = np.array([len(f["input_ids"]) for f in train_features], dtype=np.int64)
        loss_function = torch.nn.CrossEntropyLoss(weight=weights)

        def make_batch(rows: np.ndarray) -> dict[str, torch.Tensor]:
            batch = _pad(collator, train_features, rows)
            batch["labels"] = train_targets[torch.as_tensor(rows)]
            return {key: value.to(device) for key, value in batch.items()}

        def compute_loss(model, batch):
            labels = batch.pop("labels")
            logits = model(**batch).logits
            return loss_function(logits.float(), labels)

        evaluate = None
        if validation is not None:
            validation_features = [features[i] for i in validation]
            validation_targets = targets[validation]

            def evaluate(model) -> float:
                proba = self._proba(model, validation_features, progress=False)
                return float(f1_score(validation_targets, proba.argmax(axis=1), average="macro", labels=np.unique(validation_targets)))

        self._train(len(train), lengths, make_batch, compute_loss, evaluate, fingerprint, list(self.model_labels_), "fine-tuning")

    # -- prediction

    def _proba(self, model, features, *, progress: bool) -> np.ndarray:
        """Probabilities in the model's own label order."""
        if not features:
            return np.zeros((0, len(self.model_labels_)))
        probabilities = _predict_logits(
            model,
            features,
            DataCollatorWithPadding(self.tokenizer_),
            lambda m, batch: {"label": m(**batch).logits},
            batch_size=int(self.batch_size),
            max_length=int(self.max_length),
            device=torch.device(self.device_),
            dtype=self._autocast_dtype(),
            progress=progress,
        )
        return probabilities["label"]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        records = _as_records(X)
        with self._runtime():
            proba = self._proba(self.model_, self._features(records), progress=bool(self.progress))
        columns = [self.model_labels_.index(str(label)) for label in self.classes_]
        return _normalise_proba(proba[:, columns]) if len(proba) else np.zeros((0, self.n_classes_))

    def predict(self, X) -> np.ndarray:
        """The most probable label per input."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)] if len(proba) else self.classes_[:0]

    # -- persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write a standard HF checkpoint (+ tokenizer) and ``toolkit.json`` to ``path``.

        The directory loads with ``AutoModelForSequenceClassification.from_pretrained``
        (id2label/label2id set), with :meth:`load`, and as ``model_name_or_path``
        for further training on the same labels.
        """
        check_is_fitted(self, "model_")
        with _hf_progress_bars(bool(self.progress)), _atomic_directory(path) as directory:
            self.model_.save_pretrained(directory)
            self.tokenizer_.save_pretrained(directory)
            metadata = self._toolkit_metadata()
            metadata["classes"] = self.classes_.tolist()
            (directory / _TOOLKIT_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> "TransformerClassifier":
        """A fitted estimator from :meth:`save`'s directory; ``overrides`` replace saved params (e.g. ``device="cpu"``)."""
        estimator, metadata = cls._read_saved(path, overrides)
        with estimator._runtime():
            estimator.model_ = _from_pretrained(AutoModelForSequenceClassification, str(path), {}, "classifier")
            estimator.tokenizer_ = _from_pretrained(AutoTokenizer, str(path), {}, "tokenizer")
        estimator.model_.to(torch.device(estimator.device_)).eval()
        estimator.model_labels_ = [str(estimator.model_.config.id2label[i]) for i in range(estimator.model_.config.num_labels)]
        estimator.classes_ = np.array(metadata["classes"])
        estimator.n_classes_ = len(estimator.classes_)
        if sorted(estimator.model_labels_) != sorted(str(c) for c in estimator.classes_):
            raise ModelError(f"{path}: config.json labels {estimator.model_labels_} differ from {_TOOLKIT_FILE} classes")
        return estimator


class _MultiTaskModule(torch.nn.Module):
    """One shared encoder, one linear head per task on the pooled sentence vector."""

    def __init__(self, encoder: torch.nn.Module, task_sizes: Mapping[str, int]) -> None:
        super().__init__()
        config = encoder.config
        self.encoder = encoder
        dropout = getattr(config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(config, "hidden_dropout_prob", 0.1)
        self.dropout = torch.nn.Dropout(dropout)
        self.heads = torch.nn.ModuleDict({task: torch.nn.Linear(config.hidden_size, size) for task, size in task_sizes.items()})
        std = getattr(config, "initializer_range", 0.02)
        for head in self.heads.values():  # as HF initialises its classifier heads
            torch.nn.init.normal_(head.weight, std=std)
            torch.nn.init.zeros_(head.bias)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        output = self.encoder(**inputs)
        pooled = getattr(output, "pooler_output", None)
        if pooled is None:
            pooled = output.last_hidden_state[:, 0]
        pooled = self.dropout(pooled)
        return {task: head(pooled) for task, head in self.heads.items()}


class MultiTaskTransformerClassifier(_TransformerBase):
    """One shared encoder with a linear head per task, trained on the sum of the task losses.

    ``fit(X, Y)`` takes ``Y = {task: labels}``; a label of ``None`` means "not
    annotated for this task" and is left out of that task's loss (so partially
    labelled sentences still train the other heads). ``class_weight`` is None,
    "balanced", or ``{task: None | "balanced"}``. Early stopping uses the mean of
    the per-task macro-F1 on the held-out letters.

    ``save`` writes the encoder as a standard HF checkpoint (``AutoModel`` loads it,
    so it can also seed a single-task classifier), the tokenizer,
    ``heads.safetensors`` and ``toolkit.json``. Fitted attributes: ``classes_``
    (``{task: sorted array}``), ``tasks_``, ``model_``, ``tokenizer_`` and the
    same run records as :class:`TransformerClassifier`.
    """

    def _task_class_weight(self, task: str) -> str | None:
        option = self.class_weight.get(task) if isinstance(self.class_weight, Mapping) else self.class_weight
        if option not in (None, "balanced"):
            raise ModelError(f"class_weight[{task!r}]: must be None or 'balanced', got {option!r}")
        return option

    def fit(self, X, Y) -> "MultiTaskTransformerClassifier":
        """Fine-tune the shared encoder and all heads jointly; returns self."""
        self._check_params()
        records = _as_records(X)
        if not hasattr(Y, "items") or not len(Y):
            raise ModelError("Y: expected a non-empty dict {task: labels}")
        tasks = [str(task) for task in Y.keys()]
        for task in tasks:
            if not task or "." in task:
                raise ModelError(f"Y: task name {task!r} must be non-empty and contain no '.'")
        if isinstance(self.class_weight, Mapping) and set(self.class_weight) - set(tasks):
            raise ModelError(f"class_weight: unknown task(s) {', '.join(sorted(set(self.class_weight) - set(tasks)))}")
        columns: dict[str, list[Any]] = {}
        classes: dict[str, np.ndarray] = {}
        for task, values in Y.items():
            values = [None if _missing(v) else v for v in values]
            if len(values) != len(records):
                raise ModelError(f"Y[{task!r}]: expected one label per input ({len(records)}), got {len(values)}")
            columns[str(task)] = values
            present = np.unique(np.asarray([v for v in values if v is not None]))
            if len(present) < 2:
                raise ModelError(f"Y[{task!r}]: need at least two classes, got {present.tolist()}")
            classes[str(task)] = present
        started = time.perf_counter()
        self._start()
        device = torch.device(self.device_)
        with self._runtime():
            self.model_, self.tokenizer_ = self._load_for_training(classes)
            self.model_.to(device)
            self.classes_, self.tasks_ = classes, tasks
            targets = {}
            for task in tasks:
                index = {label: i for i, label in enumerate(classes[task].tolist())}
                targets[task] = np.array([_IGNORE if v is None else index[v] for v in columns[task]], dtype=np.int64)
            features = self._features(records)
            train, validation = self._split(records)
            weights = {}
            for task in tasks:
                if self._task_class_weight(task) == "balanced":
                    values = _balanced_weights(targets[task][train], len(classes[task]))
                    weights[task] = torch.tensor(values, dtype=torch.float32, device=device)
            label_record = {task: classes[task].tolist() for task in tasks}
            target_record = {task: [None if v is None else str(v) for v in columns[task]] for task in tasks}
            self._run(features, targets, train, validation, weights, self._fingerprint(records, target_record), label_record)
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _load_for_training(self, classes: Mapping[str, np.ndarray]) -> tuple[_MultiTaskModule, Any]:
        source, options = _resolve_source(self.model_name_or_path)
        encoder = _from_pretrained(AutoModel, source, options, "encoder")
        tokenizer = _from_pretrained(AutoTokenizer, source, options, "tokenizer")
        _check_compatible(tokenizer, encoder, int(self.max_length), source)
        module = _MultiTaskModule(encoder, {task: len(values) for task, values in classes.items()})
        saved = _read_toolkit_file(source) if Path(source).is_dir() else None
        if saved is not None and saved.get("estimator") == type(self).__name__:
            saved_classes = {task: [str(c) for c in values] for task, values in saved["classes"].items()}
            wanted = {task: [str(c) for c in values.tolist()] for task, values in classes.items()}
            if saved_classes != wanted:
                raise ModelError(
                    f"label-set mismatch: {source} was trained for {saved_classes}, but Y has {wanted}; "
                    "fine-tune from a pretrained encoder instead, or use the same tasks and labels"
                )
            self._load_heads(module, Path(source))
        return module, tokenizer

    @staticmethod
    def _load_heads(module: _MultiTaskModule, directory: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(directory / _HEADS_FILE))
        missing, unexpected = module.heads.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelError(f"{directory / _HEADS_FILE}: heads do not match the tasks (missing {missing}, unexpected {unexpected})")

    def _run(self, features, targets, train, validation, weights, fingerprint, label_record) -> None:
        device = torch.device(self.device_)
        collator = DataCollatorWithPadding(self.tokenizer_)
        train_features = [features[i] for i in train]
        train_targets = {task: torch.as_tensor(values[train]) for task, values in targets.items()}
        lengths = np.array([len(f["input_ids"]) for f in train_features], dtype=np.int64)
        losses = {
            task: torch.nn.CrossEntropyLoss(weight=weights.get(task), ignore_index=_IGNORE) for task in self.tasks_
        }

        def make_batch(rows: np.ndarray) -> dict[str, torch.Tensor]:
            batch = _pad(collator, train_features, rows)
            for task in self.tasks_:
                batch[f"target.{task}"] = train_targets[task][torch.as_tensor(rows)]
            return {key: value.to(device) for key, value in batch.items()}

        def compute_loss(model, batch):
            labels = {task: batch.pop(f"target.{task}") for task in self.tasks_}
            logits = model(**batch)
            total = None
            for task in self.tasks_:
                if bool((labels[task] != _IGNORE).any()):
                    loss = losses[task](logits[task].float(), labels[task])
                else:
                    # All-ignored would give NaN; a zero that still touches the head keeps
                    # every parameter in the graph, which data-parallel training requires.
                    loss = logits[task].float().sum() * 0.0
                total = loss if total is None else total + loss
            return total

        evaluate = None
        if validation is not None:
            validation_features = [features[i] for i in validation]

            def evaluate(model) -> float:
                proba = self._proba(model, validation_features, progress=False)
                scores = []
                for task in self.tasks_:
                    gold = targets[task][validation]
                    labelled = gold != _IGNORE
                    if labelled.any():
                        predicted = proba[task][labelled].argmax(axis=1)
                        scores.append(f1_score(gold[labelled], predicted, average="macro", labels=np.unique(gold[labelled])))
                return float(np.mean(scores)) if scores else 0.0

        self._train(len(train), lengths, make_batch, compute_loss, evaluate, fingerprint, label_record, "multi-task fine-tuning")

    def _proba(self, model, features, *, progress: bool) -> dict[str, np.ndarray]:
        if not features:
            return {task: np.zeros((0, len(self.classes_[task]))) for task in self.tasks_}
        return _predict_logits(
            model,
            features,
            DataCollatorWithPadding(self.tokenizer_),
            lambda m, batch: m(**batch),
            batch_size=int(self.batch_size),
            max_length=int(self.max_length),
            device=torch.device(self.device_),
            dtype=self._autocast_dtype(),
            progress=progress,
        )

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        """``{task: (n, n_classes) probabilities}``, columns in ``classes_[task]`` order."""
        check_is_fitted(self, "model_")
        records = _as_records(X)
        with self._runtime():
            proba = self._proba(self.model_, self._features(records), progress=bool(self.progress))
        return {task: _normalise_proba(values) if len(values) else values for task, values in proba.items()}

    def predict(self, X) -> dict[str, np.ndarray]:
        """``{task: labels}``: the most probable label per input and task."""
        return {task: self.classes_[task][values.argmax(axis=1)] for task, values in self.predict_proba(X).items()}

    def save(self, path: str | os.PathLike) -> Path:
        """Encoder (standard HF checkpoint) + tokenizer + ``heads.safetensors`` + ``toolkit.json``."""
        from safetensors.torch import save_file

        check_is_fitted(self, "model_")
        with _hf_progress_bars(bool(self.progress)), _atomic_directory(path) as directory:
            self.model_.encoder.save_pretrained(directory)
            self.tokenizer_.save_pretrained(directory)
            heads = {key: value.detach().cpu().contiguous() for key, value in self.model_.heads.state_dict().items()}
            save_file(heads, str(directory / _HEADS_FILE))
            metadata = self._toolkit_metadata()
            metadata["tasks"] = list(self.tasks_)
            metadata["classes"] = {task: self.classes_[task].tolist() for task in self.tasks_}
            (directory / _TOOLKIT_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> "MultiTaskTransformerClassifier":
        """A fitted estimator from :meth:`save`'s directory; ``overrides`` replace saved params."""
        estimator, metadata = cls._read_saved(path, overrides)
        if not Path(path, _HEADS_FILE).is_file():
            raise ModelError(f"{path}: no {_HEADS_FILE}; the multi-task model was not saved completely")
        estimator.tasks_ = list(metadata["tasks"])
        estimator.classes_ = {task: np.array(metadata["classes"][task]) for task in estimator.tasks_}
        with estimator._runtime():
            encoder = _from_pretrained(AutoModel, str(path), {}, "encoder")
            estimator.tokenizer_ = _from_pretrained(AutoTokenizer, str(path), {}, "tokenizer")
            module = _MultiTaskModule(encoder, {task: len(values) for task, values in estimator.classes_.items()})
            cls._load_heads(module, Path(path))
        estimator.model_ = module.to(torch.device(estimator.device_)).eval()
        return estimator
