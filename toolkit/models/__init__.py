"""Models with scikit-learn's estimator contract.

:mod:`.baselines` holds the TF-IDF pipelines (scikit-learn only). :mod:`.transformer`
and :mod:`.pretrain` hold the BERT models; they are the only modules that import
torch and transformers, and are imported only when a transformer model is used.
:mod:`.distributed` reads a ``torchrun`` / ``accelerate launch`` environment without
importing torch, and joins the process group when training starts.
"""

__all__ = ["CONTEXT_MODES", "MIXED_PRECISION_MODES"]

#: How much of the letter goes in as the tokenizer's second segment (transformer models).
CONTEXT_MODES = ("none", "section", "neighbours", "section+neighbours")
#: Mixed-precision settings of the transformer models ("auto": bf16 where the device supports it).
MIXED_PRECISION_MODES = ("auto", "no", "bf16", "fp16")
