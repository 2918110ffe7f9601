"""One standard classifier per task from a multi-task model: takes a fitted
:class:`~toolkit.models.multitask.MultiTaskTransformerClassifier`, gives, per task, a plain
``*ForSequenceClassification`` model that ``transformers`` loads without the toolkit.

Why it is exact: the multi-task head is ``Linear(dropout(pooled))`` on the encoder's pooled
sentence vector. BERT's own classifier is the same ``Linear`` on the same pooler output; RoBERTa's
(RobBERT, XLM-R) is ``out_proj(tanh(dense(dropout(h_cls))))``, which is the encoder's pooler
(``tanh(dense(h_cls))``) followed by the head once ``dense`` is the pooler's. Other heads are
refused. Every converted model is checked against the multi-task model on probe sentences, so a
conversion that does not reproduce the logits stops with an error instead of exporting a
different model.
"""

from __future__ import annotations

import copy
from typing import Any

try:
    import torch
    from transformers import AutoModelForSequenceClassification
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("toolkit.models.per_task needs torch and transformers: pip install -e '.[bert]'") from error

from ..errors import ModelError

__all__ = ["PROBE_SENTENCES", "single_task_classifier"]

#: Sentences the converted models must score exactly as the multi-task model does.
PROBE_SENTENCES = (
    "Nederland steunt het voorstel van de Hoge Vertegenwoordiger.",
    "De ministers spraken over de situatie in Oekraïne en de sancties tegen Rusland.",
    "Het kabinet is kritisch over de uitbreiding van het mandaat.",
)


def _copy_head(model: Any, encoder: Any, head: torch.nn.Linear, task: str) -> None:
    classifier = model.classifier
    with torch.no_grad():
        if isinstance(classifier, torch.nn.Linear):
            if getattr(getattr(model, model.base_model_prefix), "pooler", None) is None:
                raise ModelError(f"{task}: the classifier of {type(model).__name__} does not read the pooled vector")
            classifier.load_state_dict(head.state_dict())
        elif hasattr(classifier, "dense") and hasattr(classifier, "out_proj") and getattr(encoder, "pooler", None) is not None:
            classifier.dense.load_state_dict(encoder.pooler.dense.state_dict())
            classifier.out_proj.load_state_dict(head.state_dict())
        else:
            raise ModelError(
                f"{task}: cannot write the multi-task head as a standard {type(model).__name__} head "
                f"(model type {model.config.model_type!r}); load the run with the toolkit instead"
            )


def _check_same_logits(module: Any, model: Any, tokenizer: Any, task: str) -> None:
    batch = tokenizer(list(PROBE_SENTENCES), padding=True, truncation=True, max_length=64, return_tensors="pt")
    batch = {key: value for key, value in batch.items() if key in ("input_ids", "attention_mask", "token_type_ids")}
    module_mode = module.training
    module.eval()
    with torch.no_grad():
        expected = module(**batch)[task].float()
        actual = model(**batch).logits.float()
    module.train(module_mode)
    if not torch.allclose(expected, actual, atol=1e-5, rtol=1e-4):
        difference = float((expected - actual).abs().max())
        raise ModelError(f"{task}: the standard classifier does not reproduce the multi-task model (logits differ by up to {difference:.2e})")


def single_task_classifier(estimator: Any, task: str) -> Any:
    """The ``task`` head of a fitted multi-task estimator as a standalone, checked classifier (on CPU, eval mode)."""
    if task not in getattr(estimator, "tasks_", ()):
        raise ModelError(f"{task!r} is not a task of this model ({', '.join(getattr(estimator, 'tasks_', ()))})")
    module = estimator.model_.to("cpu").float()
    encoder = module.encoder
    names = [str(label) for label in estimator.classes_[task].tolist()]
    config = copy.deepcopy(encoder.config)
    config.num_labels = len(names)
    config.id2label = dict(enumerate(names))
    config.label2id = {name: i for i, name in enumerate(names)}
    config.classifier_dropout = module.dropout.p
    config.architectures = None
    model = AutoModelForSequenceClassification.from_config(config)
    base = getattr(model, model.base_model_prefix)
    missing, unexpected = base.load_state_dict(encoder.state_dict(), strict=False)
    unexpected = [key for key in unexpected if not key.startswith("pooler.")]  # RoBERTa's head takes the pooler's place
    if missing or unexpected:
        raise ModelError(f"{task}: the encoder's weights do not fit {type(model).__name__} (missing {missing}, unexpected {unexpected})")
    _copy_head(model, encoder, module.heads[task], task)
    model.eval()
    _check_same_logits(module, model, estimator.tokenizer_, task)
    return model
