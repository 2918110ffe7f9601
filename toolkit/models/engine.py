"""The runtime of the transformer models: takes estimator settings, texts and a model, gives the
device and precision to use, a seeded deterministic section, shuffled or length-grouped batches,
atomic model directories and probabilities. The training loop itself is in :mod:`.training`.

* **Runtime.** Device and mixed precision are resolved once (``auto`` follows
  ``accelerate launch --mixed_precision`` when given); :func:`runtime` seeds
  ``random``/numpy/torch, turns on ``torch.use_deterministic_algorithms(True, warn_only=True)``
  and fixes the thread count, and restores all of that afterwards. Batch order comes from
  ``numpy.random.default_rng([seed, epoch])``, so the same config + seed + thread count gives
  identical probabilities on CPU, and a run resumed from a checkpoint equals an uninterrupted one.
* **Why not the HF ``Trainer``:** the single-task, the multi-task and the masked-LM models share
  one loop that keeps early stopping grouped by letter, exact resumption, exact class-weighted
  losses across processes and determinism under our control, and it does not move with the
  ``Trainer``/``TrainingArguments`` API churn (``bench/bert_cpu_peak.py`` compares their speed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

try:
    import torch
    import torch.utils.deterministic
    from transformers import DataCollatorWithPadding
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("toolkit.models.engine needs torch and transformers: pip install -e '.[bert]'") from error

from .. import launch
from ..errors import ModelError
from ..files import as_umask_allows
from ..seeding import seed_everything
from . import MIXED_PRECISION_MODES

__all__ = [
    "IGNORE_INDEX",
    "atomic_directory",
    "hf_progress_bars",
    "keep_freed_memory",
    "oom_advice",
    "pad_batch",
    "precision_name",
    "predict_probabilities",
    "progress_bar",
    "resolve_device",
    "resolve_precision",
    "runtime",
    "training_batches",
]

#: Target index left out of a loss (a sentence not labelled for a task, an unmasked token).
IGNORE_INDEX = -100

# ----------------------------------------------------------------------------- runtime


def resolve_device(device: str) -> torch.device:
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
    if resolved.type == "cuda" and resolved.index is None and launch.is_launched():
        index = launch.local_rank()
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


def resolve_precision(mixed_precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full FP32."""
    if mixed_precision not in MIXED_PRECISION_MODES:
        raise ModelError(f"mixed_precision: must be one of {', '.join(MIXED_PRECISION_MODES)}, got {mixed_precision!r}")
    launched_with = os.environ.get("ACCELERATE_MIXED_PRECISION", "").strip().lower()
    if mixed_precision == "auto" and launched_with in ("no", "bf16", "fp16"):
        mixed_precision = launched_with  # `accelerate launch --mixed_precision …` decides what "auto" leaves open
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


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "no", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


@contextlib.contextmanager
def hf_progress_bars(enabled: bool):
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


#: ``mallopt`` parameters of glibc (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_freed_memory_kept = False


def keep_freed_memory() -> bool:
    """Let this process reuse the memory torch frees instead of handing it back to the system.

    Torch has no caching allocator on the CPU: every step allocates and frees the same large
    buffers (weight casts, gradients, the embedding gradient of ~90 MB for BERT-base). glibc
    serves such blocks with ``mmap`` and returns them on ``free``, so each step pays page faults
    on fresh memory: a stand-alone BERT-base training step ran ~25 % faster without that on this
    machine (the effect on the toolkit's fit: ``bench/bert_cpu_peak.py``, README "Benchmarks").
    With ``mmap`` off and trimming above 2 GiB, freed blocks stay
    in the heap and the next step reuses them; the process keeps its peak memory until it ends,
    as jemalloc or tcmalloc would. Applied once per process, glibc only; returns whether it is
    on. ``TOOLKIT_KEEP_FREED_MEMORY=0`` leaves the allocator alone.
    """
    global _freed_memory_kept
    if _freed_memory_kept:
        return True
    if os.environ.get("TOOLKIT_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
    except (OSError, AttributeError):  # no such library or symbol: keep the default allocator
        return False
    _freed_memory_kept = applied
    return applied


@contextlib.contextmanager
def runtime(seed: int, num_threads: int, device: torch.device, progress: bool = True):
    """Seeded, deterministic, fixed-thread section; global torch settings are restored after.

    On the CPU it also keeps freed memory in the process (:func:`keep_freed_memory`), which
    stays so: the allocator's settings cannot be handed back.
    """
    if device.type == "cpu":
        keep_freed_memory()
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_fill = torch.utils.deterministic.fill_uninitialized_memory
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode also writes NaN into every new uninitialised tensor (a guard against ops
    # that read memory they never wrote). No op of ours does, and every gradient and weight cast
    # of a step is a new tensor: one more pass over all of them (README "Benchmarks").
    torch.utils.deterministic.fill_uninitialized_memory = False
    seed_everything(seed)
    try:
        with hf_progress_bars(progress):
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = previous_fill


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in message or "can't allocate memory" in message or "defaultcpuallocator" in message)


@contextlib.contextmanager
def oom_advice(batch_size: int, max_length: int):
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
def atomic_directory(target: str | os.PathLike):
    """Yield a temporary sibling directory that replaces ``target`` only on success.

    Readers never see a half-written model directory; a failed or interrupted
    write leaves the previous ``target`` untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temporary
        as_umask_allows(temporary)
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


def progress_bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    # Under a multi-process launch only rank 0 draws, or every bar would appear N times.
    enabled = enabled and launch.is_main_process()
    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, unit="batch", dynamic_ncols=True)


# ----------------------------------------------------------------------------- batching


def training_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group_by_length: bool) -> list[np.ndarray]:
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


def pad_batch(collator: DataCollatorWithPadding, features: Sequence[dict[str, list[int]]], rows: Iterable[int]) -> dict[str, torch.Tensor]:
    """Dynamic padding: each batch padded to its own longest row."""
    batch = []
    for row in rows:
        feature = dict(features[row])
        feature["attention_mask"] = [1] * len(feature["input_ids"])
        batch.append(feature)
    return dict(collator(batch))


@torch.no_grad()
def predict_probabilities(
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
    with progress_bar(len(batches), "predicting", progress) as bar, oom_advice(batch_size, max_length):
        for rows in batches:
            batch = {key: value.to(device) for key, value in pad_batch(collator, features, rows).items()}
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

