"""The context of a sentence (one function for every model), and the torch boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.errors import ModelError
from toolkit.models.context import context_text


def test_importing_the_package_does_not_import_torch():
    code = "import sys, toolkit, toolkit.models; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_second_segment_per_context_mode():
    row = {"text": "Zin.", "section": "Rusland", "previous": "Vorige zin.", "next": "Volgende zin.", "letter_id": "a"}
    assert context_text(row, "none") is None
    assert context_text(row, "section") == "Rusland"
    assert context_text(row, "neighbours") == "Vorige zin. | Volgende zin."
    assert context_text(row, "section+neighbours") == "Rusland | Vorige zin. | Volgende zin."
    first = {"text": "Eerste zin.", "section": None, "previous": None, "next": "Tweede zin.", "letter_id": "a"}
    assert context_text(first, "section") is None
    assert context_text(first, "section+neighbours") == "Tweede zin."
    assert context_text({"text": "Alleen."}, "neighbours") is None
    with pytest.raises(ModelError, match="context"):
        context_text(row, "paragraph")
