"""Shared fixtures: paths to the embedded data and a tiny letter written for the tests."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
LABELS_DIR = REPO / "labels"
SEED_LETTER = LABELS_DIR / "letters" / "kst-28676-307.txt"
GOLD_DIR = Path(__file__).parent / "gold"


@pytest.fixture(autouse=True)
def _fixed_seeds():
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def seed_letter_path() -> Path:
    return SEED_LETTER


@pytest.fixture
def labels_dir() -> Path:
    return LABELS_DIR


TINY_SOURCE = """id: rec-2099-01-test
dossier: 28676
dossier_title: NAVO
type: Brief regering
sender: Minister van Buitenlandse Zaken
date: 2099-01-15
title: Testbrief
genre: report
occasion: none (written for the tests)
format: text
signature: De Minister van Buitenlandse Zaken, | X.Y. Tester
---
Hierbij informeer ik u over de bijeenkomst van 14 januari jl. in Brussel.
De ministers spraken over de veiligheidssituatie (zie bijlage)[^1].

## Rusland

De bondgenoten veroordeelden het optreden van Rusland.
Nederland riep op tot de-escalatie en steunde het staakt-het-vuren.

[^1]: Kamerstuk 28 676, nr. 999.
"""


@pytest.fixture
def tiny_source_text() -> str:
    return TINY_SOURCE
