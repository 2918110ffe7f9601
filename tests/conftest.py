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
EXPERIMENTS_DIR = REPO / "experiments"


def pytest_ignore_collect(collection_path, config):
    """Modules whose every test needs torch say ``pytestmark = pytest.mark.bert``. When a run
    deselects bert tests (``-m "not bert"``, the fast tier), they are not even imported:
    importing torch and transformers costs seconds of collection."""
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if "not bert" not in (config.getoption("markexpr") or ""):
        return None
    return True if "\npytestmark = pytest.mark.bert" in collection_path.read_text(encoding="utf-8") else None


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


# ------------------------------------------------------------ tiny labelled corpus

_TINY_SENTENCES = [
    ("De bondgenoten veroordeelden het optreden van Rusland in de Zwarte Zee.", "eastern_partners", "nato", "critical"),
    ("Nederland steunt de hervormingen in Oekraïne en Georgië.", "eastern_partners", "netherlands", "support"),
    ("De ministers spraken over de toekomst van het INF-verdrag.", "arms_control", "nato", "neutral"),
    ("Rusland schendt het verdrag al jaren.", "arms_control", "russia", "critical"),
    ("De VS riepen op om de defensie-uitgaven te verhogen tot 2%.", "defence_spending", "united_states", "support"),
    ("Daarna volgde een werksessie over de Zuidflank.", "procedure", "none", "neutral"),
    ("Het lid Van Dijk vroeg om een brief over de missie in Irak.", "southern_flank", "parliament", "neutral"),
    ("De EU verwelkomde de samenwerking met de NAVO op het gebied van cyber.", "eu_nato", "eu", "support"),
]


def write_tiny_labels_dir(root: Path, letters: int = 6) -> Path:
    """A labels/ directory with a few small XML letters and their labels, written for the tests."""
    import json
    import shutil

    import yaml

    from toolkit.render import LetterSource, Paragraph, Section, render_kamerstuk_xml
    from toolkit.segment import body_sentences
    from toolkit.labels import load_schema
    from toolkit.corpus import read_default_letters

    labels = root / "labels"
    (labels / "letters").mkdir(parents=True)
    shutil.copy(LABELS_DIR / "schema.yaml", labels / "schema.yaml")
    entries = []
    label_of = {}
    for number in range(letters):
        rotated = _TINY_SENTENCES[number % len(_TINY_SENTENCES):] + _TINY_SENTENCES[: number % len(_TINY_SENTENCES)]
        units = tuple(f"{text[:-1]} (brief {number})." for text, *_ in rotated)
        for (text, *tags), unit in zip(rotated, units):
            label_of[unit] = tags
        letter_id = f"rec-20{10 + number}-01-tiny-{number}"
        source = LetterSource(
            {"id": letter_id, "date": f"20{10 + number}-01-15", "sender": "Minister van Buitenlandse Zaken",
             "signature": "De Minister van Buitenlandse Zaken, | X.Y. Tester", "dossier": "28676"},
            (Section(None, (Paragraph(units[:4]),)), Section("Overig", (Paragraph(units[4:]),))),
            {},
        )
        (labels / "letters" / f"{letter_id}.xml").write_bytes(render_kamerstuk_xml(source))
        entries.append({"id": letter_id, "file": f"{letter_id}.xml", "provenance": {"kind": "test"}})
    (labels / "letters" / "manifest.yaml").write_text(yaml.safe_dump({"letters": entries}), encoding="utf-8")
    annotations = labels / "annotations"
    annotations.mkdir()
    for sentence in body_sentences(read_default_letters(labels)):
        topic, actor, stance = label_of[sentence.text]
        row = {"id": sentence.id, "letter_id": sentence.letter_id, "text": sentence.text, "topic": topic,
               "actor": actor, "stance": stance, "annotator": "tests", "time": "2026-01-01T00:00:00+00:00",
               "origin": {"topic": "manual", "actor": "manual", "stance": "manual"}}
        with open(annotations / f"{sentence.letter_id}.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    load_schema(labels)
    return labels


@pytest.fixture
def tiny_labels_dir(tmp_path) -> Path:
    return write_tiny_labels_dir(tmp_path)


def build_tiny_bert(directory: Path) -> Path:
    """A tiny BERT (2 layers, hidden 32) pretrained on the test sentences, for the transformer tests."""
    from toolkit.models.pretrain import PretrainConfig, pretrain_mlm

    config = PretrainConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            max_position_embeddings=64, vocab_size=300, epochs=1, batch_size=8, max_length=48, num_threads=1)
    return pretrain_mlm([text for text, *_ in _TINY_SENTENCES] * 4, directory, config=config, progress=False)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    """The tiny BERT's directory, built once per test module (torch is imported only when used)."""
    return str(build_tiny_bert(tmp_path_factory.mktemp("bert") / "tiny-bert"))
