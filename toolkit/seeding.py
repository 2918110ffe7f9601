"""Seeding, in one place: takes a seed (and a thread count), seeds every generator in use.

Python's and numpy's generators always; torch's only when something already imported torch,
so TF-IDF runs never import it.
"""

from __future__ import annotations

import random
import sys

import numpy as np

__all__ = ["seed_everything"]


def seed_everything(seed: int, num_threads: int | None = None) -> None:
    """Seed ``random``, numpy and (if imported) torch; fix torch's thread count when given.

    The thread count matters for reproducibility: a different count changes the last
    digits of a transformer's outputs.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
