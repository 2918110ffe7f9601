"""Masked-LM pretraining: takes Dutch texts (and optionally a base model), gives a small BERT or a
continued-pretrained checkpoint with its WordPiece tokenizer.

Why: the machine this toolkit runs on may have no access to a model hub, and
BERTje-sized models are slow on CPU. :func:`pretrain_mlm` builds a small BERT on
the letters themselves (or continues pretraining a local BERTje copy on them,
i.e. domain-adaptive pretraining), and writes a standard checkpoint directory that
:class:`~toolkit.models.transformer.TransformerClassifier` takes as
``model_name_or_path``.

Both functions write into a temporary sibling directory and rename it into place
at the end, so a crash never leaves a half-written model directory (an existing
directory of the same name is replaced only on success). Training reuses the
loop of :mod:`.engine` (length-grouped batches, bf16 autocast on CPU,
deterministic for a given seed and thread count).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .. import launch
from . import MIXED_PRECISION_MODES, engine, loading, training

__all__ = ["SPECIAL_TOKENS", "PretrainConfig", "pretrain_mlm", "train_tokenizer"]

#: BERT's special tokens, in the id order BERT checkpoints use for the first five ids here.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class PretrainConfig:
    """Model size and training settings for :func:`pretrain_mlm`.

    The architecture fields apply only when training from scratch (``base_model``
    None); ``vocab_size``/``lowercase`` only when a tokenizer is trained here.
    ``learning_rate`` None means 5e-4 from scratch (small models need a high rate)
    and 5e-5 when continuing a pretrained model (a high rate would erase it).
    The defaults give a ~4M-parameter model that pretrains at ≈ 135 sequences/s
    on 2 CPU cores.
    """

    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    max_position_embeddings: int = 256
    vocab_size: int = 8000
    lowercase: bool = False
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float | None = None
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    mlm_probability: float = 0.15
    seed: int = 0
    max_length: int = 128
    gradient_accumulation_steps: int = 1
    group_by_length: bool = True
    mixed_precision: str = "auto"
    num_threads: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "vocab_size",
            "epochs",
            "batch_size",
            "max_length",
            "gradient_accumulation_steps",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelError(f"PretrainConfig.{name}: must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ModelError(
                f"PretrainConfig.hidden_size ({self.hidden_size}) must be divisible by num_attention_heads ({self.num_attention_heads})"
            )
        if self.vocab_size < len(SPECIAL_TOKENS) + 1:
            raise ModelError(f"PretrainConfig.vocab_size: too small ({self.vocab_size})")
        if not 0 < self.mlm_probability < 1:
            raise ModelError(f"PretrainConfig.mlm_probability: must be between 0 and 1, got {self.mlm_probability!r}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ModelError(f"PretrainConfig.learning_rate: must be > 0 or None, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ModelError(f"PretrainConfig.warmup_ratio: must be in [0, 1), got {self.warmup_ratio!r}")
        if self.mixed_precision not in MIXED_PRECISION_MODES:
            raise ModelError(
                f"PretrainConfig.mixed_precision: must be one of {', '.join(MIXED_PRECISION_MODES)}, got {self.mixed_precision!r}"
            )
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise ModelError(f"PretrainConfig.num_threads: must be None or a positive integer, got {self.num_threads!r}")


def _clean_texts(texts: Iterable[str]) -> list[str]:
    cleaned = [text.strip() for text in texts if isinstance(text, str) and text.strip()]
    if not cleaned:
        raise ModelError("no texts to train on (all empty)")
    return cleaned


def _build_tokenizer(texts: list[str], vocab_size: int, lowercase: bool, model_max_length: int):
    """A trained WordPiece vocabulary wrapped as transformers' BERT tokenizer.

    Training uses the same normaliser/pre-tokeniser that ``BertTokenizer`` builds
    from a vocabulary, so what is saved is exactly a standard BERT tokenizer.
    Accents are kept even when lowercasing: in Dutch they carry meaning
    ("één" vs "een", "vóór" vs "voor").
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizer

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # The trainer gives "##c" tokens their ids in hash-map order, and those ids break
    # ties between equally frequent merges, so the same texts can give another
    # vocabulary on each run (huggingface/tokenizers#1794). Registering every "##c"
    # up front, sorted, makes all ids - and so every tie-break - deterministic.
    continuing: set[str] = set()
    for text in texts:
        for word, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text)):
            continuing.update(word[1:])
    reserved = list(SPECIAL_TOKENS) + [f"##{char}" for char in sorted(continuing)]
    trainer = trainers.WordPieceTrainer(vocab_size=max(vocab_size, len(reserved) + 1), special_tokens=reserved, show_progress=False)
    backend.train_from_iterator(texts, trainer)
    vocab = backend.get_vocab()
    # only the five real special tokens stay special: BertTokenizer is rebuilt from the vocabulary
    return BertTokenizer(vocab=vocab, do_lower_case=lowercase, strip_accents=False, model_max_length=model_max_length)


def _save_tokenizer(tokenizer, directory: Path) -> None:
    tokenizer.save_pretrained(directory)
    # A WordPiece (BERT) vocabulary also as vocab.txt, for tools and older transformers
    # versions that read it; BPE tokenizers (RobBERT, XLM-R) have their own files.
    backend = getattr(tokenizer, "backend_tokenizer", None)
    wordpiece = backend is not None and type(backend.model).__name__ == "WordPiece"
    if wordpiece and not (directory / "vocab.txt").exists():
        vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
        (directory / "vocab.txt").write_text("".join(f"{token}\n" for token, _ in vocab), encoding="utf-8")


def train_tokenizer(
    texts: Iterable[str], out_dir: str | os.PathLike, vocab_size: int = 8000, lowercase: bool = False, *, model_max_length: int = 512
) -> Path:
    """Train a WordPiece tokenizer on ``texts`` and save it to ``out_dir``.

    ``AutoTokenizer.from_pretrained(out_dir)`` loads it as a (fast) BERT tokenizer
    with [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4. The vocabulary may end up
    smaller than ``vocab_size`` when the texts have few word types.
    """
    cleaned = _clean_texts(texts)
    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise ModelError(f"vocab_size: too small ({vocab_size})")
    tokenizer = _build_tokenizer(cleaned, vocab_size, lowercase, model_max_length)
    with engine.atomic_directory(out_dir) as directory:
        _save_tokenizer(tokenizer, directory)
    return Path(out_dir)


def _fingerprint(texts: list[str]) -> str:
    return loading.stable_hash(texts)


def _new_model(texts: list[str], config: PretrainConfig, tokenizer_dir):
    """A BERT of ``config``'s size built from scratch, with a tokenizer trained on ``texts`` (or given)."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    if config.max_length > config.max_position_embeddings:
        raise ModelError(
            f"PretrainConfig.max_length ({config.max_length}) exceeds max_position_embeddings ({config.max_position_embeddings})"
        )
    if tokenizer_dir is not None:
        source, options = loading.resolve_model_source(tokenizer_dir, tokenizer_only=True)
        tokenizer = loading.load_pretrained(AutoTokenizer, source, options, "tokenizer")
    else:
        tokenizer = _build_tokenizer(texts, config.vocab_size, config.lowercase, config.max_position_embeddings)
    if tokenizer.mask_token is None or tokenizer.pad_token is None:
        raise ModelError("the tokenizer needs a mask and a pad token for masked-LM pretraining")
    model_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(model_config), tokenizer


def _continued_model(base_model, tokenizer_dir):
    """A pretrained masked-LM (hub id or local path) whose pretraining continues, with its tokenizer."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    source, options = loading.resolve_model_source(base_model)
    model = loading.load_pretrained(AutoModelForMaskedLM, source, options, "masked-LM model")
    if tokenizer_dir is not None:
        tok_source, tok_options = loading.resolve_model_source(tokenizer_dir, tokenizer_only=True)
        tokenizer = loading.load_pretrained(AutoTokenizer, tok_source, tok_options, "tokenizer")
    else:
        tokenizer = loading.load_pretrained(AutoTokenizer, source, options, "tokenizer")
    if tokenizer.mask_token is None:
        raise ModelError(f"the tokenizer of {base_model} has no mask token; it cannot be used for masked-LM pretraining")
    return model, tokenizer


def _train_masked_lm(model, tokenizer, texts: list[str], config: PretrainConfig, settings) -> dict[str, Any]:
    """The engine's training loop on masked-token batches of ``texts``."""
    import torch
    from transformers import DataCollatorForLanguageModeling

    device = settings.device
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length, return_special_tokens_mask=True)
    keys = [key for key in ("input_ids", "token_type_ids", "special_tokens_mask") if key in encoded]
    features = [{key: list(encoded[key][i]) for key in keys} for i in range(len(texts))]
    lengths = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=config.mlm_probability)

    def make_batch(rows: np.ndarray) -> dict[str, torch.Tensor]:
        batch = collator([{**features[row], "attention_mask": [1] * len(features[row]["input_ids"])} for row in rows])
        return {key: value.to(device) for key, value in batch.items()}

    def compute_loss(model, batch):
        # Summed over masked tokens (a batch of short headings may draw none: it adds 0); the
        # loop divides by the masked tokens of the whole step, on every process.
        inputs = {key: value for key, value in batch.items() if key != "labels"}
        logits = model(**inputs).logits
        return {"masked_lm": training.cross_entropy_sum(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1))}

    def weigh(batch) -> dict[str, float]:
        return {"masked_lm": training.label_weight(batch["labels"])}

    return training.train_loop(model, len(features), lengths, make_batch, compute_loss, weigh, settings)


def _loop_settings(config: PretrainConfig, learning_rate: float, dtype, device, progress: bool):
    return training.LoopSettings(
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=learning_rate,
        warmup_ratio=config.warmup_ratio,
        weight_decay=config.weight_decay,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        group_by_length=config.group_by_length,
        seed=config.seed,
        patience=None,
        autocast_dtype=dtype,
        device=device,
        progress=progress,
        max_length=config.max_length,
        desc="MLM pretraining",
    )


def _run_record(model, outcome: dict[str, Any], dtype, threads: int, device, started: float) -> dict[str, Any]:
    """How the pretraining ran: precision, device, size, loss per epoch, time."""
    history = outcome["history"]
    return {
        "mixed_precision": engine.precision_name(dtype),
        "num_threads": threads,
        "device": str(device),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "history": history,
        "final_loss": history[-1]["train_loss"] if history else None,
        "seconds": round(time.perf_counter() - started, 3),
        "world_size": outcome["world_size"],
    }


def pretrain_mlm(
    texts: Iterable[str],
    out_dir: str | os.PathLike,
    *,
    base_model: str | os.PathLike | None = None,
    tokenizer_dir: str | os.PathLike | None = None,
    config: PretrainConfig | None = None,
    progress: bool = True,
) -> Path:
    """Masked-LM pretraining on ``texts``; returns ``out_dir``.

    * ``base_model`` None: a BERT of ``config``'s size is built from scratch, with
      the tokenizer in ``tokenizer_dir`` or, when that is None, one trained here on
      ``texts``.
    * ``base_model`` given (hub id or local path, e.g. a BERTje copy): its MLM
      pretraining continues on ``texts`` (domain-adaptive pretraining), with its own
      tokenizer (or ``tokenizer_dir``, which must fit its embeddings).

    ``out_dir`` receives ``config.json`` + ``model.safetensors`` (BertForMaskedLM),
    the tokenizer and ``pretraining.json`` (number of texts, their fingerprint, the
    config, the per-epoch and final loss, speed). It loads with
    ``AutoModelForSequenceClassification.from_pretrained(out_dir)`` (transformers
    then reports the new classifier weights as newly initialised, as expected).
    """
    import torch

    config = config or PretrainConfig()
    if not isinstance(config, PretrainConfig):
        raise ModelError(f"config: expected a PretrainConfig, got {type(config).__name__}")
    cleaned = _clean_texts(texts)
    learning_rate = config.learning_rate or (5e-4 if base_model is None else 5e-5)
    device = engine.resolve_device(config.device)
    dtype = engine.resolve_precision(config.mixed_precision, device)
    threads = int(config.num_threads or torch.get_num_threads())
    started = time.perf_counter()

    with engine.runtime(config.seed, threads, device, progress):
        if base_model is None:
            model, tokenizer = _new_model(cleaned, config, tokenizer_dir)
            source_name = None
        else:
            model, tokenizer = _continued_model(base_model, tokenizer_dir)
            source_name = str(base_model)
        loading.check_compatible(tokenizer, model, config.max_length, str(base_model or "the new model"))
        model.to(device)

        outcome = _train_masked_lm(model, tokenizer, cleaned, config, _loop_settings(config, learning_rate, dtype, device, progress))
        model.eval()

        report = {
            "texts": len(cleaned),
            "fingerprint": _fingerprint(cleaned),
            "base_model": source_name,
            "tokenizer": str(tokenizer_dir) if tokenizer_dir is not None else (source_name or "trained on the texts"),
            "vocab_size": len(tokenizer),
            "config": dataclasses.asdict(config),
            "learning_rate": learning_rate,
            **_run_record(model, outcome, dtype, threads, device, started),
        }
        if launch.is_main_process():
            with engine.atomic_directory(out_dir) as directory:
                model.save_pretrained(directory)
                _save_tokenizer(tokenizer, directory)
                (directory / "pretraining.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        launch.barrier()  # the model exists before any process goes on to use it
    return Path(out_dir)
