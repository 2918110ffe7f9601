"""Models with scikit-learn's estimator contract: takes sentence records, gives fitted classifiers.

:mod:`.baselines` holds the TF-IDF pipelines (scikit-learn only). :mod:`.transformer`,
:mod:`.multitask`, :mod:`.engine` and :mod:`.pretrain` hold the BERT models and import torch
and transformers; they are imported only when a transformer model is used. :mod:`.loading`
(model sources, token ids) and :mod:`.context` (the context of a sentence) import neither.
"""

from .context import CONTEXT_MODES

__all__ = ["CONTEXT_MODES", "MIXED_PRECISION_MODES", "TUNABLE_PARAMETERS"]

#: Mixed-precision settings of the transformer models ("auto": bf16 where the device supports it).
MIXED_PRECISION_MODES = ("auto", "no", "bf16", "fp16")

#: Per model kind, the settings ``training.tune`` may search (config key → estimator parameter).
#: Transformers are not tuned by grid search: each point would be a full fine-tuning run per fold.
TUNABLE_PARAMETERS: dict[str, dict[str, str]] = {
    "tfidf": {"C": "classifier__C", "class_weight": "classifier__class_weight"},
    "transformer": {},
    "majority": {},
    "stratified": {},
}
