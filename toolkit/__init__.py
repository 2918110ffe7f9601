"""Sentence-level classification of Dutch government letters to parliament (Kamerbrieven):
takes letters, gives labelled sentences, trained models and evaluated runs.

The package follows the data flow ingest → segment → label → dataset → model →
experiment → evaluate/report, one module (or subpackage) per stage. Importing it has
no side effects and does not import torch or transformers.
"""

from .errors import ToolkitError
from .records import Block, Footnote, Letter, Sentence

__all__ = ["Block", "Footnote", "Letter", "Sentence", "ToolkitError", "__version__"]

__version__ = "0.1.0"
