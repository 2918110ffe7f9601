"""Dropout that is cheap on the CPU, swapped into a model for the time of a CPU training run.

Torch's CPU dropout draws one Mersenne-Twister number per element for its Bernoulli mask; in a
BERT-base training step on two cores that cost more than the feed-forward layers' activation
functions together (a ``torch.profiler`` probe of one step). :class:`CheapDropout` draws one 64-bit number
per *four* elements from torch's own generator and compares 16-bit slices of it with a
threshold: the same Bernoulli mask, up to a drop probability rounded to a multiple of 1/65,536
(0.1 becomes 0.100006), and as reproducible as torch's, since torch's seeded generator makes it.

Only the model's own ``torch.nn.Dropout`` modules are swapped (BERT's hidden dropouts, the
classification head's); attention dropout happens inside the attention kernel and stays.
:func:`cheap_cpu_dropout` puts the originals back afterwards, so a saved or exported model holds
nothing of this.
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["CheapDropout", "cheap_cpu_dropout"]

_LEVELS = 1 << 16  # the mask compares 16-bit random numbers
_INT64 = torch.iinfo(torch.int64)


class CheapDropout(torch.nn.Module):
    """``torch.nn.Dropout(p)`` with a mask made from 16-bit slices of 64-bit random numbers."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
        self.p = float(p)
        self.threshold = round(self.p * _LEVELS)  # elements whose number is below it are dropped
        kept = 1.0 - self.threshold / _LEVELS
        self.scale = 1.0 / kept if kept > 0 else 0.0  # unbiased for the rounded probability

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return hidden
        if self.threshold >= _LEVELS:
            return torch.zeros_like(hidden)
        count = hidden.numel()
        words = torch.randint(_INT64.min, _INT64.max, ((count + 3) // 4,), dtype=torch.int64, device=hidden.device)
        numbers = words.view(torch.int16)[:count].view(hidden.shape)  # uniform over [-32768, 32767]
        keep = numbers >= self.threshold - _LEVELS // 2
        return torch.where(keep, hidden * self.scale, 0)

    def extra_repr(self) -> str:
        return f"p={self.p}"


@contextlib.contextmanager
def cheap_cpu_dropout(model: torch.nn.Module, device: torch.device):
    """Within the block, every plain ``torch.nn.Dropout`` of ``model`` is a :class:`CheapDropout`
    when training on the CPU; nothing changes on a GPU (its dropout is fast) or with
    ``TOOLKIT_CHEAP_DROPOUT=0``."""
    if device.type != "cpu" or os.environ.get("TOOLKIT_CHEAP_DROPOUT", "1").strip() == "0":
        yield
        return
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Dropout:
                replacement = CheapDropout(child.p)
                replacement.train(child.training)
                setattr(parent, name, replacement)
                swapped.append((parent, name, child))
    try:
        yield
    finally:
        for parent, name, original in swapped:
            original.train(getattr(parent, name).training)
            setattr(parent, name, original)
