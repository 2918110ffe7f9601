"""Tokenizer training and masked-LM pretraining on ~200 inline Dutch sentences (no hub)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.bert  # every test here needs torch; see tests/conftest.py
pytest.importorskip("transformers")

from toolkit.errors import ModelError  # noqa: E402
from toolkit.models.pretrain import SPECIAL_TOKENS, PretrainConfig, pretrain_mlm, train_tokenizer  # noqa: E402

_OPENINGS = [
    "Hierbij informeer ik uw Kamer over",
    "Het kabinet heeft besloten tot",
    "De minister van Buitenlandse Zaken rapporteert over",
    "Nederland zet zich in voor",
    "De bondgenoten spraken in Brussel over",
    "Met deze brief reageer ik op vragen over",
    "De Europese Raad heeft gesproken over",
    "Het ministerie onderzoekt de gevolgen van",
    "De staatssecretaris zegde toe te rapporteren over",
    "Uw Kamer ontvangt voor de zomer een brief over",
]
_TOPICS = [
    "de steun aan Oekraïne",
    "de sancties tegen Rusland",
    "de hervorming van het asielbeleid",
    "de uitvoering van het klimaatakkoord",
    "de begroting voor volgend jaar",
    "de veiligheid in het Oostzeegebied",
    "de uitbreiding van de Europese Unie",
    "de woningbouw in de Randstad",
    "de inzet van de krijgsmacht",
    "de samenwerking met de buurlanden",
    "het staakt-het-vuren in het Midden-Oosten",
    "de motie van het lid Van der Berg",
    "de Kamervragen van 14 januari jl.",
    "het verslag van de NAVO-top",
    "de financiering van één nieuw fonds",
    "de evaluatie van de wet",
    "de toezegging tijdens het debat",
    "de positie van Nederland in de Raad",
    "de gevolgen voor burgers en bedrijven",
    "het advies van de Raad van State",
]
TEXTS = [f"{opening} {topic}." for opening, topic in itertools.product(_OPENINGS, _TOPICS)]  # 200 sentences

TINY = PretrainConfig(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
    vocab_size=500,
    epochs=2,
    batch_size=16,
    max_length=48,
    num_threads=1,
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return pretrain_mlm(TEXTS, tmp_path_factory.mktemp("pretrain") / "tiny-bert", config=TINY, progress=False)


def _no_temporary_dirs(parent) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".")]


def test_train_tokenizer_loads_as_a_bert_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    path = train_tokenizer(TEXTS, tmp_path / "tok", vocab_size=300)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert tokenizer.is_fast and "Bert" in type(tokenizer).__name__
    assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == [0, 1, 2, 3, 4]
    assert (tokenizer.pad_token, tokenizer.mask_token, tokenizer.cls_token) == ("[PAD]", "[MASK]", "[CLS]")
    assert len(tokenizer) <= 300
    encoded = tokenizer("De minister steunt één fonds.", "Rusland")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and "[UNK]" not in tokens
    assert "één" in tokenizer.decode(encoded["input_ids"])  # accents kept
    assert (path / "vocab.txt").read_text(encoding="utf-8").splitlines()[:5] == list(SPECIAL_TOKENS)
    assert _no_temporary_dirs(tmp_path)
    lower = AutoTokenizer.from_pretrained(train_tokenizer(TEXTS, tmp_path / "lower", vocab_size=300, lowercase=True))
    assert lower.tokenize("NEDERLAND") == lower.tokenize("nederland")


def test_config_is_validated():
    with pytest.raises(ModelError, match="divisible"):
        PretrainConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ModelError, match="mlm_probability"):
        PretrainConfig(mlm_probability=0.0)
    with pytest.raises(ModelError, match="epochs"):
        PretrainConfig(epochs=0)


def test_no_texts_and_bad_base_model_leave_nothing_behind(tmp_path):
    with pytest.raises(ModelError, match="no texts"):
        pretrain_mlm(["", "  "], tmp_path / "out", config=TINY, progress=False)
    (tmp_path / "empty-model").mkdir()
    (tmp_path / "empty-model" / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="no weights"):
        pretrain_mlm(TEXTS, tmp_path / "out", base_model=tmp_path / "empty-model", config=TINY, progress=False)
    assert not (tmp_path / "out").exists()
    assert _no_temporary_dirs(tmp_path)


@pytest.mark.bert
def test_pretraining_from_scratch_writes_a_loadable_checkpoint(pretrained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    names = {p.name for p in pretrained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "pretraining.json"} <= names
    report = json.loads((pretrained / "pretraining.json").read_text())
    assert report["texts"] == len(TEXTS) and len(report["fingerprint"]) == 64
    assert report["config"]["hidden_size"] == 32 and report["base_model"] is None
    assert math.isfinite(report["final_loss"]) and len(report["history"]) == 2
    assert report["history"][1]["train_loss"] < report["history"][0]["train_loss"]
    model = AutoModelForSequenceClassification.from_pretrained(pretrained, num_labels=2)
    tokenizer = AutoTokenizer.from_pretrained(pretrained)
    assert model.config.hidden_size == 32 and model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert _no_temporary_dirs(pretrained.parent)


@pytest.mark.bert
def test_pretraining_is_deterministic(pretrained, tmp_path):
    from safetensors.torch import load_file

    again = pretrain_mlm(TEXTS, tmp_path / "again", config=TINY, progress=False)
    first, second = load_file(pretrained / "model.safetensors"), load_file(again / "model.safetensors")
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.bert
def test_continued_pretraining_of_an_existing_checkpoint(pretrained, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    config = PretrainConfig(epochs=1, batch_size=16, max_length=48, num_threads=1, learning_rate=1e-3)
    extra = [f"Het parlement debatteert over {topic[3:] if topic.startswith('de ') else topic}." for topic in _TOPICS]
    out = pretrain_mlm(extra, tmp_path / "adapted", base_model=pretrained, config=config, progress=False)
    report = json.loads((out / "pretraining.json").read_text())
    assert report["base_model"] == str(pretrained) and report["texts"] == len(extra)
    assert AutoTokenizer.from_pretrained(out).get_vocab() == AutoTokenizer.from_pretrained(pretrained).get_vocab()
    before, after = load_file(pretrained / "model.safetensors"), load_file(out / "model.safetensors")
    assert before.keys() == after.keys()
    assert before["bert.embeddings.word_embeddings.weight"].shape == after["bert.embeddings.word_embeddings.weight"].shape
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # continuing into the same directory replaces it only at the end
    same = pretrain_mlm(extra, out, base_model=out, config=config, progress=False)
    assert json.loads((same / "pretraining.json").read_text())["base_model"] == str(out)
    assert _no_temporary_dirs(tmp_path)


@pytest.mark.bert
def test_pretraining_with_a_separately_trained_tokenizer(tmp_path):
    tokenizer_dir = train_tokenizer(TEXTS, tmp_path / "tok", vocab_size=250)
    config = PretrainConfig(**{**TINY.__dict__, "epochs": 1})
    out = pretrain_mlm(TEXTS[:64], tmp_path / "model", tokenizer_dir=tokenizer_dir, config=config, progress=False)
    report = json.loads((out / "pretraining.json").read_text())
    assert report["tokenizer"] == str(tokenizer_dir) and report["vocab_size"] <= 250


@pytest.mark.bert
def test_batches_without_masked_tokens_keep_the_loss_finite(tmp_path):
    """One-word texts (headings) often draw no masked token; the reported loss stays finite."""
    import math

    texts = ["Rusland", "Afghanistan", "Zuidflank", "Oekraïne", "Irak", "Kosovo", "Georgië", "Libië"] * 8
    out = pretrain_mlm(texts, tmp_path / "short", config=replace(TINY, epochs=2, batch_size=4), progress=False)
    record = json.loads((out / "pretraining.json").read_text())
    assert math.isfinite(record["final_loss"])
    assert all(math.isfinite(epoch["train_loss"]) for epoch in record["history"])
