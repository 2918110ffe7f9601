"""The transformer estimators, on a tiny BERT pretrained here from inline Dutch sentences.

Nothing touches a model hub: the model is built by ``pretrain_mlm`` in a
module-scoped fixture (hidden size 32, 2 layers), and ``HF_HUB_OFFLINE`` is set.
Models run on one thread: faster for a model this small, and immune to other
processes competing for the two cores.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.bert  # every test here needs torch; see tests/conftest.py

from sklearn.base import clone  # noqa: E402

from toolkit.errors import ModelError  # noqa: E402
from toolkit.models.pretrain import PretrainConfig, pretrain_mlm, train_tokenizer  # noqa: E402
from toolkit.models import engine, loading, training  # noqa: E402
from toolkit.models.context import context_text  # noqa: E402
from toolkit.models.multitask import MultiTaskTransformerClassifier  # noqa: E402
from toolkit.models.transformer import TransformerClassifier, split_by_letter  # noqa: E402

SUBJECTS = [
    "De minister",
    "Het kabinet",
    "Nederland",
    "De regering",
    "De staatssecretaris",
    "Het ministerie",
    "De Europese Unie",
    "De NAVO",
]
OBJECTS = [
    "het voorstel over de begroting",
    "de sancties tegen Rusland",
    "het besluit van de Raad",
    "de hervorming van het asielbeleid",
    "het akkoord over het klimaat",
    "de steun aan Oekraïne",
    "de uitbreiding van de Unie",
    "het plan voor de woningbouw",
]
VERBS = {
    "positief": ["steunt", "verwelkomt", "omarmt"],
    "negatief": ["veroordeelt", "betreurt", "verwerpt"],
    "neutraal": ["bespreekt", "onderzoekt", "noemt"],
}
SECTIONS = ["Rusland", "Begroting", None]
N_LETTERS = 8


def make_corpus() -> tuple[list[dict], list[str]]:
    """192 sentences in 8 letters; stance follows the verb; neighbours stay in the letter."""
    by_letter: dict[str, list[tuple[str, str]]] = {}
    for i, (subject, obj) in enumerate(itertools.product(SUBJECTS, OBJECTS)):
        for label, verbs in VERBS.items():
            by_letter.setdefault(f"kst-{i % N_LETTERS}", []).append((f"{subject} {verbs[i % 3]} {obj}.", label))
    rows, labels = [], []
    for letter, sentences in by_letter.items():
        for position, (text, label) in enumerate(sentences):
            rows.append(
                {
                    "text": text,
                    "section": SECTIONS[position % 3],
                    "previous": sentences[position - 1][0] if position > 0 else None,
                    "next": sentences[position + 1][0] if position + 1 < len(sentences) else None,
                    "letter_id": letter,
                }
            )
            labels.append(label)
    return rows, labels


X, Y = make_corpus()
TINY = PretrainConfig(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
    vocab_size=400,
    epochs=1,
    batch_size=16,
    max_length=48,
    num_threads=1,
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    """A tokenizer only (no model training), for the tests that need no weights."""
    return str(train_tokenizer([row["text"] for row in X], tmp_path_factory.mktemp("tok") / "tokenizer", vocab_size=400))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny") / "tiny-bert"
    return str(pretrain_mlm([row["text"] for row in X], directory, config=TINY, progress=False))


def classifier(model_dir: str, **options) -> TransformerClassifier:
    settings = dict(
        model_name_or_path=model_dir, max_length=48, batch_size=16, learning_rate=1e-2, epochs=4, num_threads=1, progress=False
    )
    settings.update(options)
    return TransformerClassifier(**settings)


@pytest.fixture(scope="module")
def fitted(tiny_model):
    return classifier(tiny_model).fit(X, Y)


# --------------------------------------------------------------------- no training


def test_context_never_comes_from_another_letter():
    texts_by_letter: dict[str, set[str]] = {}
    for row in X:
        texts_by_letter.setdefault(row["letter_id"], set()).add(row["text"])
    for row in X:
        segment = context_text(row, "neighbours")
        parts = segment.split(" | ") if segment else []
        assert parts and all(part in texts_by_letter[row["letter_id"]] for part in parts)
    # the first and last sentence of each letter have one neighbour only
    firsts = [row for row in X if row["previous"] is None]
    assert len(firsts) == N_LETTERS
    assert all(context_text(row, "neighbours") == row["next"] for row in firsts)


def test_split_by_letter_never_puts_a_letter_on_both_sides():
    letters = [row["letter_id"] for row in X]
    train, validation = split_by_letter(letters, 0.25, seed=3)
    train_letters = {letters[i] for i in train}
    validation_letters = {letters[i] for i in validation}
    assert train_letters.isdisjoint(validation_letters)
    assert train_letters | validation_letters == set(letters)
    assert len(validation_letters) == 2  # 25 % of 8 letters
    assert sorted(np.concatenate([train, validation]).tolist()) == list(range(len(X)))
    again = split_by_letter(letters, 0.25, seed=3)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], validation)
    # at least one letter on each side, even for extreme fractions
    assert len({letters[i] for i in split_by_letter(letters, 0.01, seed=0)[1]}) == 1
    assert len({letters[i] for i in split_by_letter(letters, 0.99, seed=0)[0]}) == 1
    with pytest.raises(ModelError, match="at least 2"):
        split_by_letter(["a", "a"], 0.5, seed=0)
    with pytest.raises(ModelError, match="letter_id"):
        split_by_letter(["a", None], 0.5, seed=0)


def test_estimator_contract_clone_and_params():
    model = TransformerClassifier(model_name_or_path="some/path", epochs=2, context="section", class_weight="balanced")
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert set(model.get_params()) >= {"model_name_or_path", "mixed_precision", "context", "validation_fraction", "resume"}
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(model))  # __init__ only stores
    assert clone(MultiTaskTransformerClassifier(epochs=1)).get_params()["epochs"] == 1


def test_tokenisation_uses_second_segment_and_caches(tiny_tokenizer, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    loading.clear_tokenization_cache()
    plain = loading.tokenize(tokenizer, X[:5], "none", 48, None)
    paired = loading.tokenize(tokenizer, X[:5], "section+neighbours", 48, tmp_path)
    assert all(set(f["token_type_ids"]) == {0} for f in plain)
    assert all(1 in f["token_type_ids"] and len(f["input_ids"]) <= 48 for f in paired)
    assert loading.tokenize(tokenizer, X[:5], "section+neighbours", 48, tmp_path) is paired  # memory hit
    loading.clear_tokenization_cache()
    (cache_file,) = tmp_path.glob("*.npz")
    assert loading.tokenize(tokenizer, X[:5], "section+neighbours", 48, tmp_path) == paired  # disk hit
    assert loading.tokenize(tokenizer, X[:5], "section+neighbours", 24, tmp_path) != paired  # other key


def test_model_directory_without_weights_is_a_model_error(tmp_path):
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(ModelError, match="no weights"):
        classifier(str(tmp_path)).fit(X[:20], Y[:20])
    with pytest.raises(ModelError, match="not a directory"):
        classifier(str(tmp_path / "missing")).fit(X[:20], Y[:20])


def test_tokenizer_larger_than_embeddings_is_a_model_error(tiny_tokenizer, tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)).save_pretrained(
        tmp_path
    )
    AutoTokenizer.from_pretrained(tiny_tokenizer).save_pretrained(tmp_path)
    with pytest.raises(ModelError, match="tokenizer/model mismatch"):
        classifier(str(tmp_path)).fit(X[:20], Y[:20])


def test_unreachable_hub_id_says_how_to_work_offline():
    with pytest.raises(ModelError, match="toolkit pretrain"):
        classifier("GroNLP/bert-base-dutch-cased").fit(X[:20], Y[:20])


def test_bad_parameters_are_model_errors():
    tiny_model = "./never-loaded"  # every check below fails before a model is loaded
    for options in ({"context": "paragraph"}, {"mixed_precision": "fp8"}, {"epochs": 0}, {"validation_fraction": 1.5}):
        with pytest.raises(ModelError):
            classifier(tiny_model, **options).fit(X[:20], Y[:20])
    with pytest.raises(ModelError, match="two classes"):
        classifier(tiny_model).fit(X[:3], ["a", "a", "a"])
    with pytest.raises(ModelError, match="fp16"):
        classifier(tiny_model, mixed_precision="fp16", device="cpu").fit(X[:20], Y[:20])


def test_out_of_memory_is_reraised_with_advice():
    with pytest.raises(ModelError, match="gradient_accumulation_steps") as caught:
        with engine.oom_advice(batch_size=32, max_length=256):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes")
    assert "batch_size=32" in str(caught.value) and "bf16" in str(caught.value)
    with pytest.raises(ValueError):  # other errors pass through unchanged
        with engine.oom_advice(batch_size=32, max_length=256):
            raise ValueError("something else")


# --------------------------------------------------------------------- training


@pytest.mark.bert
def test_fit_returns_self_and_probabilities_are_well_formed(tiny_model):
    model = classifier(tiny_model)
    assert model.fit(X, Y) is model
    assert model.classes_.tolist() == sorted(set(Y)) and model.n_classes_ == 3
    proba = model.predict_proba(X[:50])
    assert proba.shape == (50, 3)
    assert np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    predicted = model.predict(X)
    assert set(predicted) <= set(model.classes_)
    assert (predicted == np.array(Y)).mean() > 0.5  # the verb decides the class: learnable (chance: 1/3)
    assert model.predict_proba([]).shape == (0, 3)
    assert [h["epoch"] for h in model.history_] == [1, 2, 3, 4]
    assert clone(model).get_params() == model.get_params() and not hasattr(clone(model), "model_")


@pytest.mark.bert
def test_save_and_load_round_trip(fitted, tmp_path):
    from transformers import AutoModelForSequenceClassification

    path = fitted.save(tmp_path / "model")
    assert {"config.json", "model.safetensors", "tokenizer.json", "toolkit.json"} <= {p.name for p in path.iterdir()}
    config = json.loads((path / "config.json").read_text())
    assert sorted(config["label2id"]) == fitted.classes_.tolist()
    assert json.loads((path / "toolkit.json").read_text())["params"]["learning_rate"] == fitted.learning_rate
    assert AutoModelForSequenceClassification.from_pretrained(path).config.num_labels == 3
    loaded = TransformerClassifier.load(path)
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.classes_.tolist() == fitted.classes_.tolist()
    assert loaded.get_params() == fitted.get_params()
    assert not list(tmp_path.glob(".model.*"))  # no temporary directory left behind


@pytest.mark.bert
def test_same_seed_gives_identical_probabilities(tiny_model, fitted):
    again = classifier(tiny_model).fit(X, Y)
    assert np.array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other_seed = classifier(tiny_model, seed=1).fit(X, Y)
    assert not np.array_equal(other_seed.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.bert
def test_heldout_scores_per_epoch_leave_training_unchanged(tiny_model, fitted):
    monitored = classifier(tiny_model).fit(X, Y, eval_set=(X[:30], Y[:30]))
    assert [h["epoch"] for h in monitored.history_] == [1, 2, 3, 4]
    assert all(0.0 <= h["heldout_macro_f1"] <= 1.0 for h in monitored.history_)
    assert np.array_equal(monitored.predict_proba(X), fitted.predict_proba(X))
    with pytest.raises(ModelError, match="eval_set"):
        classifier(tiny_model, epochs=1).fit(X, Y, eval_set=(X[:2], ["no-such-label", Y[0]]))


@pytest.mark.bert
def test_context_class_weights_and_accumulation_train(tiny_model):
    model = classifier(
        tiny_model, context="section+neighbours", epochs=1, class_weight="balanced", gradient_accumulation_steps=2, progress=True
    )
    proba = model.fit(X, Y).predict_proba(X[:10])
    assert np.allclose(proba.sum(axis=1), 1.0)


@pytest.mark.bert
def test_early_stopping_holds_out_training_letters_only(tiny_model):
    model = classifier(tiny_model, early_stopping_patience=1, validation_fraction=0.25, epochs=3)
    model.fit(X, Y)
    assert set(model.train_letters_).isdisjoint(model.validation_letters_)
    assert set(model.train_letters_) | set(model.validation_letters_) == {row["letter_id"] for row in X}
    assert all("validation_macro_f1" in h for h in model.history_)
    scores = [h["validation_macro_f1"] for h in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmax(scores))


@pytest.mark.bert
def test_resume_after_interruption_equals_an_uninterrupted_run(tiny_model, tmp_path, monkeypatch):
    reference = classifier(tiny_model, epochs=3).fit(X, Y).predict_proba(X)
    original = training.Checkpoints.save_last

    def save_then_interrupt(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(training.Checkpoints, "save_last", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        classifier(tiny_model, epochs=3, output_dir=str(tmp_path)).fit(X, Y)
    monkeypatch.setattr(training.Checkpoints, "save_last", original)
    assert json.loads((tmp_path / "checkpoint-last" / "state.json").read_text())["epoch"] == 1
    resumed = classifier(tiny_model, epochs=3, output_dir=str(tmp_path), resume=True).fit(X, Y)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3]
    assert np.array_equal(resumed.predict_proba(X), reference)
    assert list((tmp_path / "token-cache").glob("*.npz"))
    # a checkpoint for other labels is refused
    with pytest.raises(ModelError, match="labels"):
        classifier(tiny_model, epochs=3, output_dir=str(tmp_path), resume=True).fit(X, [f"x-{y}" for y in Y])


@pytest.mark.bert
def test_continuing_from_a_classifier_needs_the_same_labels(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    with pytest.raises(ModelError, match="label-set mismatch"):
        classifier(str(path)).fit(X, ["ja" if y == "positief" else "nee" for y in Y])
    continued = classifier(str(path), epochs=1).fit(X[:60], Y[:60])
    assert continued.classes_.tolist() == fitted.classes_.tolist()


@pytest.mark.bert
def test_multitask_fit_predict_save_load(tiny_model, tmp_path):
    international = ("De Europese Unie", "De NAVO")
    actor = ["internationaal" if row["text"].startswith(international) else "nationaal" for row in X]
    targets = {
        "stance": Y,
        "actor": [None if i % 5 == 0 else label for i, label in enumerate(actor)],  # None: not annotated, no loss
    }
    model = MultiTaskTransformerClassifier(
        model_name_or_path=tiny_model, max_length=48, batch_size=8, learning_rate=5e-3, epochs=4, num_threads=1, progress=False,
        class_weight={"stance": "balanced"},
    )
    assert model.fit(X, targets) is model
    assert model.classes_["stance"].tolist() == sorted(set(Y))
    assert model.classes_["actor"].tolist() == ["internationaal", "nationaal"]
    proba = model.predict_proba(X[:20])
    assert proba["stance"].shape == (20, 3) and proba["actor"].shape == (20, 2)
    assert all(np.allclose(p.sum(axis=1), 1.0) for p in proba.values())
    predicted = model.predict(X)
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]
    assert (predicted["actor"] == np.array(actor)).mean() > 0.8  # the first word decides it
    assert set(predicted["stance"]) <= set(model.classes_["stance"])
    path = model.save(tmp_path / "multi")
    assert {"encoder", "heads.safetensors", "toolkit.json"} <= {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in (path / "encoder").iterdir()}
    from transformers import AutoModelForSequenceClassification

    with pytest.raises(ValueError, match="kamerbrieven-multitask"):  # never the encoder with a random head
        AutoModelForSequenceClassification.from_pretrained(path)
    loaded = MultiTaskTransformerClassifier.load(path)
    reloaded = loaded.predict_proba(X)
    original = model.predict_proba(X)
    assert all(np.array_equal(reloaded[task], original[task]) for task in original)
    with pytest.raises(ModelError, match="label-set mismatch"):
        MultiTaskTransformerClassifier(model_name_or_path=str(path), max_length=48, num_threads=1, progress=False).fit(
            X, {"stance": Y}
        )
    # the saved encoder also seeds a single-task classifier
    assert classifier(str(path), epochs=1).fit(X[:40], Y[:40]).n_classes_ == 3


# --------------------------------------------------------------------- RoBERTa architecture


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A tiny RoBERTa with a byte-level BPE tokenizer trained here: RobBERT's and XLM-R's layout
    (no token types, positions offset by the padding index, <s>/</s> pairs)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    directory = tmp_path_factory.mktemp("roberta") / "tiny-roberta"
    directory.mkdir()
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([row["text"] for row in X], vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                            show_progress=False)
    bpe.save_model(str(directory))
    tokenizer = RobertaTokenizer(vocab=str(directory / "vocab.json"), merges=str(directory / "merges.txt"), model_max_length=64)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=66, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
                           bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    RobertaForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.mark.bert
def test_roberta_architecture_trains_saves_and_loads(tiny_roberta, tmp_path):
    model = classifier(tiny_roberta, context="section+neighbours", epochs=2, early_stopping_patience=1).fit(X, Y)
    assert model.model_.config.model_type == "roberta"
    saved = TransformerClassifier.load(model.save(tmp_path / "roberta-classifier"))
    np.testing.assert_array_equal(saved.predict_proba(X[:20]), model.predict_proba(X[:20]))
    with pytest.raises(ModelError, match="exceeds the 64 positions"):  # 66 positions minus RoBERTa's offset of 2
        classifier(tiny_roberta, max_length=65).fit(X, Y)


@pytest.mark.bert
def test_roberta_architecture_multitask_and_continued_pretraining(tiny_roberta, tmp_path):
    topics = [row["section"] or "overig" for row in X]
    multitask = MultiTaskTransformerClassifier(model_name_or_path=tiny_roberta, max_length=48, batch_size=16, epochs=1,
                                               num_threads=1, progress=False).fit(X, {"stance": Y, "topic": topics})
    assert set(multitask.predict(X[:5])) == {"stance", "topic"}
    from toolkit.models.per_task import single_task_classifier

    standalone = single_task_classifier(multitask, "topic")  # RoBERTa's head: dense from the pooler, out_proj from the task head
    assert type(standalone).__name__ == "RobertaForSequenceClassification"
    batch = multitask.tokenizer_([row["text"] for row in X[:5]], padding=True, return_tensors="pt")
    with torch.no_grad():
        standalone_proba = torch.softmax(standalone(**batch).logits, dim=-1).numpy()
    # (the toolkit predicts under bf16 autocast where the CPU has it; the conversion itself is checked in float32 to 1e-5)
    assert np.allclose(standalone_proba, multitask.predict_proba(X[:5])["topic"], atol=1e-3)
    multitask.fit(X, {"stance": Y, "topic": topics}, eval_set=(X[:20], {"stance": Y[:20], "topic": topics[:20]}))
    assert {"heldout_macro_f1", "heldout_macro_f1.stance", "heldout_macro_f1.topic"} <= set(multitask.history_[0])
    adapted = pretrain_mlm([row["text"] for row in X], tmp_path / "adapted", base_model=tiny_roberta, config=TINY, progress=False)
    names = {path.name for path in adapted.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "pretraining.json"} <= names and "vocab.txt" not in names  # no WordPiece list for BPE
    assert classifier(str(adapted), epochs=1).fit(X, Y).predict(X[:3]).shape == (3,)
