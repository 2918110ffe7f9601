"""Models with scikit-learn's estimator contract.

:mod:`.baselines` holds the TF-IDF pipelines (scikit-learn only). :mod:`.transformer`
and :mod:`.pretrain` hold the BERT models; they are the only modules that import
torch and transformers, and are imported only when a transformer model is used.
"""

__all__: list[str] = []
