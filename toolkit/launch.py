"""The multi-process launch (``accelerate launch``, ``torchrun``): who am I, and the few values
the processes agree on outside training.

Takes the launcher's environment; gives the process's rank, the process group and small
collectives (a flag, a float, sums, a barrier) for the runner's decisions: whether a finished run
is reused, which process writes files and prints, when early stopping stops.

Both launchers start one process per device and tell each process its place through the
environment: ``WORLD_SIZE`` (processes in all), ``RANK`` (this one, 0-based), ``LOCAL_RANK``
(its index on this machine, i.e. its GPU) and ``MASTER_ADDR`` / ``MASTER_PORT`` (where rank 0
listens). Without a launcher nothing in this module changes a run.

Training itself runs on ``accelerate`` (:mod:`toolkit.models.training`): it wraps the model for
data-parallel training (or FSDP / DeepSpeed as ``accelerate launch`` is configured), applies
mixed precision and synchronises gradients. What stays here is how a global batch is cut into
one contiguous shard per process (:func:`shard`), so every process reads the same data in the
same order and only rank 0 writes checkpoints, models and run directories.

The environment queries import nothing heavy, so the runner can ask "am I rank 0?" without
importing torch; everything that talks to other processes imports torch lazily.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from .errors import ModelError

__all__ = [
    "all_sum",
    "barrier",
    "broadcast_float",
    "broadcast_flag",
    "describe",
    "ensure_process_group",
    "is_launched",
    "is_main_process",
    "local_rank",
    "rank",
    "shard",
    "shutdown",
    "world_size",
]


def _environment_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ModelError(f"environment variable {name}={raw!r} is not an integer (it is set by torchrun / accelerate launch)") from None
    if value < 0:
        raise ModelError(f"environment variable {name}={raw!r} must be ≥ 0")
    return value


def world_size() -> int:
    """Processes taking part in training (1 without a launcher)."""
    size = _environment_int("WORLD_SIZE", 1)
    if size < 1:
        raise ModelError(f"environment variable WORLD_SIZE={size} must be ≥ 1")
    return size


def rank() -> int:
    """This process's place among them (0 without a launcher)."""
    value = _environment_int("RANK", 0)
    if value >= world_size():
        raise ModelError(f"environment variable RANK={value} must be smaller than WORLD_SIZE={world_size()}")
    return value


def local_rank() -> int:
    """This process's index on its own machine: which GPU it drives."""
    return _environment_int("LOCAL_RANK", 0)


def is_launched() -> bool:
    """True inside a multi-process launch (``WORLD_SIZE`` > 1)."""
    return world_size() > 1


def is_main_process() -> bool:
    """Rank 0: the one process that writes files and prints results."""
    return rank() == 0


def describe() -> dict[str, Any]:
    """What a run records about its launch (for provenance and model metadata)."""
    record: dict[str, Any] = {"world_size": world_size()}
    if is_launched():
        import torch.distributed as dist

        record["backend"] = str(dist.get_backend()) if dist.is_initialized() else None
    return record


def ensure_process_group() -> bool:
    """Join the launcher's process group once; False (and nothing done) without a launcher.

    Gloo carries CPU tensors (the small control values, and all traffic on CPU-only
    machines) and NCCL CUDA tensors (gradients and weights on GPUs), so the same group
    serves a laptop test with ``--nproc_per_node 2`` and a GPU cluster.
    """
    if not is_launched():
        return False
    try:
        import torch
        import torch.distributed as dist
    except ImportError as error:
        raise ModelError("a multi-process launch needs torch: pip install 'kamerbrieven-toolkit[bert]'") from error
    if not dist.is_available():
        raise ModelError("this torch build has no torch.distributed; a multi-process launch cannot work with it")
    if dist.is_initialized():
        return True
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise ModelError(
            f"WORLD_SIZE={world_size()} but {', '.join(missing)} not set; start the processes with torchrun or "
            "accelerate launch rather than setting WORLD_SIZE by hand"
        )
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend, rank=rank(), world_size=world_size())
    return True


def shutdown() -> None:
    """Leave the process group at the end of a command, if this process joined one."""
    dist = sys.modules.get("torch.distributed")  # never imports torch just to find nothing to do
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(rows: np.ndarray, process: int, processes: int) -> np.ndarray:
    """This process's contiguous share of one global batch.

    Shares differ in size by at most one row. A batch with fewer rows than processes
    (the last one of an epoch) is repeated to fill every share, because every process
    must take part in every optimizer step.
    """
    rows = np.asarray(rows)
    if processes < 1 or not 0 <= process < processes:
        raise ValueError(f"process {process} is not one of {processes} processes")
    if len(rows) == 0:
        raise ValueError("cannot shard an empty batch")
    if len(rows) < processes:
        rows = np.resize(rows, processes)
    return np.array_split(rows, processes)[process]


def broadcast_float(value: float) -> float:
    """Rank 0's ``value`` on every process (one process: ``value``)."""
    if not is_launched():
        return float(value)
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([float(value)], dtype=torch.float64)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def broadcast_flag(flag: bool) -> bool:
    """Rank 0's decision on every process, so all processes take the same branch."""
    return bool(broadcast_float(1.0 if flag else 0.0))


def all_sum(values: list[float]) -> list[float]:
    """Element-wise sums over all processes (one process: ``values``)."""
    if not is_launched():
        return [float(v) for v in values]
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def barrier() -> None:
    """Wait for every process (one process: return at once)."""
    if is_launched():
        import torch.distributed as dist

        dist.barrier()
