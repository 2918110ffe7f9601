"""The context of a sentence (one function for every model), and the torch boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.errors import ModelError
from toolkit.models.context import CONTEXT_MODES, context_parts, context_text


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


def test_the_letter_part_names_the_meeting_without_repeating_the_sentence():
    opening = "Hierbij bied ik u het verslag aan van de Raad Buitenlandse Zaken van 19 februari 2024."
    row = {"text": "De ministers spraken over Libië.", "section": "Libië", "previous": None, "next": None,
           "annex": "VERSLAG RAAD BUITENLANDSE ZAKEN", "opening": opening}
    assert context_text(row, "letter") == f"VERSLAG RAAD BUITENLANDSE ZAKEN | {opening}"
    assert context_text(row, "section+letter") == f"Libië | VERSLAG RAAD BUITENLANDSE ZAKEN | {opening}"
    itself = {"text": opening, "annex": None, "opening": opening}
    assert context_text(itself, "letter") is None  # the opening sentence is no context to itself


def test_every_combination_of_parts_is_a_mode_in_one_order():
    assert len(CONTEXT_MODES) == 8 and CONTEXT_MODES[0] == "none"
    assert "section+neighbours+letter" in CONTEXT_MODES and "letter+section" not in CONTEXT_MODES
    assert context_parts("neighbours+letter") == ("neighbours", "letter") and context_parts("none") == ()
    with pytest.raises(ModelError, match="context"):
        context_parts("letter+section")
