"""Count once, weight per fold: the cached vectoriser equals scikit-learn's, to the last bit."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from toolkit.config import load_config
from toolkit.dataset import load_labelled_table
from toolkit.experiment import build_model, run_experiment
from toolkit.models import counts
from toolkit.models.counts import CountOnceTfidfVectorizer, clear_count_cache, count_cache_size


@pytest.fixture(scope="module")
def corpus():
    table = load_labelled_table()
    return table, [row["letter_id"] for row in table.inputs]


def _same_matrix(left, right) -> bool:
    return (
        left.shape == right.shape
        and np.array_equal(left.indptr, right.indptr)
        and np.array_equal(left.indices, right.indices)  # the entries' order too: it changes the norms' last bits
        and np.array_equal(left.data, right.data)
    )


def _fold(table, letters, held_out):
    train = [row for row, letter in zip(table.inputs, letters) if letter != held_out]
    test = [row for row, letter in zip(table.inputs, letters) if letter == held_out]
    return train, test


@pytest.mark.parametrize(
    "options",
    [
        {"analyzer": "word", "ngram_range": (1, 2)},
        {"analyzer": "char_wb", "ngram_range": (2, 5)},
        {"analyzer": "word", "ngram_range": (1, 1), "min_df": 2, "max_df": 0.5},
        {"analyzer": "char", "ngram_range": (3, 4), "min_df": 0.001, "lowercase": False},
    ],
)
def test_the_vectoriser_equals_scikit_learns_on_every_fold_it_meets(corpus, options):
    table, letters = corpus
    clear_count_cache()
    for held_out in sorted(set(letters))[:2]:
        train, test = (list(rows) for rows in _fold(table, letters, held_out))
        train_texts, test_texts = [row["text"] for row in train], [row["text"] for row in test]
        plain = TfidfVectorizer(sublinear_tf=True, **options)
        cached = CountOnceTfidfVectorizer(sublinear_tf=True, **options)
        assert _same_matrix(plain.fit_transform(train_texts), cached.fit_transform(train_texts))
        assert plain.vocabulary_ == cached.vocabulary_ and np.array_equal(plain.idf_, cached.idf_)
        assert _same_matrix(plain.transform(test_texts), cached.transform(test_texts))
        unseen = ["Een zin die het corpus nooit heeft gezien, over Noordpoolijs en drones."]
        assert _same_matrix(plain.transform(unseen), cached.transform(unseen))
    assert count_cache_size() >= len(set(row["text"] for row in table.inputs))


@pytest.mark.slow
def test_the_pipeline_gives_the_same_predictions_on_the_main_jobs_folds(corpus):
    table, letters = corpus
    # topic with section and neighbours, actor with the letter's context
    for task, held_out in (("topic", "kst-28676-307"), ("actor", sorted(set(letters))[7])):
        config = load_config("experiments/tfidf-loo.yaml", [f"task={task}"])
        train, test = _fold(table, letters, held_out)
        gold = [table.labels[task][i] for i, letter in enumerate(letters) if letter != held_out]
        models = []
        for count_once in (False, True):
            model = build_model(config, seed=0)
            if count_once is False:
                model = _with_plain_vectorisers(model)
            models.append(model.fit(train, gold))
        plain, cached = models
        assert np.array_equal(plain[-1].coef_, cached[-1].coef_)
        assert np.array_equal(plain.predict_proba(test), cached.predict_proba(test))


def _with_plain_vectorisers(pipeline):
    """The same pipeline with every cached vectoriser replaced by scikit-learn's own."""
    for name, step in pipeline.get_params().items():
        if isinstance(step, CountOnceTfidfVectorizer):
            pipeline.set_params(**{name: TfidfVectorizer(**step.get_params())})
    assert not any(isinstance(step, CountOnceTfidfVectorizer) for step in pipeline.get_params().values())
    return pipeline


def test_settings_it_cannot_reproduce_and_a_full_cache_take_the_plain_path(corpus, monkeypatch):
    table, _ = corpus
    texts = [row["text"] for row in table.inputs[:300]]
    clear_count_cache()
    for options in ({"max_features": 500}, {"binary": True}, {"analyzer": str.split}, {"tokenizer": str.split, "token_pattern": None}):
        plain = TfidfVectorizer(**options).fit_transform(texts)
        assert _same_matrix(plain, CountOnceTfidfVectorizer(**options).fit_transform(texts))
    assert count_cache_size() == 0
    monkeypatch.setattr(counts, "CACHE_LIMIT", 100)
    assert _same_matrix(TfidfVectorizer().fit_transform(texts), CountOnceTfidfVectorizer().fit_transform(texts))
    assert count_cache_size() == 0
    with pytest.raises(ValueError, match="empty vocabulary"):
        CountOnceTfidfVectorizer().fit_transform(["", "  "])


def test_the_environment_switch_builds_plain_pipelines(monkeypatch):
    from toolkit.models.baselines import build_tfidf_pipeline

    options = dict(features="word+char", classifier="svm", C=1.0, class_weight=None, word_ngrams=[1, 1],
                   char_ngrams=[2, 3], min_df=1, seed=0, context="section")
    def vectorisers(pipeline):
        return {type(step).__name__ for step in pipeline.get_params().values() if isinstance(step, TfidfVectorizer)}

    assert vectorisers(build_tfidf_pipeline(**options)) == {"CountOnceTfidfVectorizer"}
    monkeypatch.setenv("TOOLKIT_TFIDF_COUNT_ONCE", "0")
    assert vectorisers(build_tfidf_pipeline(**options)) == {"TfidfVectorizer"}


@pytest.mark.slow
def test_a_whole_run_is_the_same_with_and_without_counting_once(tmp_path, monkeypatch):
    """Four letter-grouped folds over the default corpus, the main job's topic model: the same
    predictions and metrics, byte for byte."""
    outputs = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("TOOLKIT_TFIDF_COUNT_ONCE", switch)
        clear_count_cache()
        config = load_config("experiments/tfidf-loo.yaml", ["task=topic", "training.num_threads=1", "data.split.kind=grouped_kfold", "data.split.n_splits=4"])
        run = run_experiment(replace(config, output_dir=str(tmp_path / switch)), progress=False)
        predictions = (run.path / "predictions.jsonl").read_bytes()
        metrics = json.loads((run.path / "metrics.json").read_text(encoding="utf-8"))
        outputs[switch] = (predictions, metrics)
    assert outputs["0"][0] == outputs["1"][0]
    assert outputs["0"][1] == outputs["1"][1]


def test_transforming_new_texts_does_not_grow_the_cache():
    clear_count_cache()
    texts = ["De Raad sprak over Oekraïne.", "Nederland steunt de missie.", "De NAVO versterkt de oostflank."]
    vectoriser = CountOnceTfidfVectorizer().fit(texts)
    assert count_cache_size() == 3
    new = ["De Raad sprak over de missie in Oekraïne.", "Nederland steunt de NAVO."]
    assert _same_matrix(vectoriser.transform(new), TfidfVectorizer().fit(texts).transform(new))
    assert _same_matrix(vectoriser.transform(texts[:1] + new), TfidfVectorizer().fit(texts).transform(texts[:1] + new))
    assert count_cache_size() == 3


@pytest.mark.slow
def test_a_saved_model_is_small_loads_without_the_cache_and_predicts_the_same(corpus, tmp_path):
    from toolkit.models.baselines import load_skops_model, save_skops_model

    table, _ = corpus
    rows, gold = list(table.inputs[:1200]), list(table.labels["stance"][:1200])
    config = load_config("experiments/tfidf-loo.yaml", ["task=stance"])
    model = build_model(config, seed=0).fit(rows, gold)
    unseen = [{"text": "Een zin die het corpus nooit heeft gezien, over drones boven de Oostzee."}]
    expected = model.predict_proba(rows[:300] + unseen)
    path = tmp_path / "model.skops"
    save_skops_model(model, path)
    import skops.io

    plain_size = len(skops.io.dumps(_with_plain_vectorisers(build_model(config, seed=0)).fit(rows, gold)))
    assert path.stat().st_size < plain_size / 10  # the vocabulary as arrays, compressed
    clear_count_cache()  # as in a new process
    loaded = load_skops_model(path)
    assert np.array_equal(loaded.predict_proba(rows[:300] + unseen), expected)
    assert count_cache_size() == 0
    vectoriser = CountOnceTfidfVectorizer()
    assert vectoriser.__getstate__() == vectoriser.__dict__  # unfitted: nothing to convert


@pytest.mark.parametrize("options", [{"ngram_range": (2, 5)}, {"ngram_range": (1, 3), "lowercase": False}])
def test_char_wb_prediction_word_by_word_equals_scikit_learns(corpus, options):
    table, _ = corpus
    texts = [row["text"] for row in table.inputs]
    odd = ["  Twee  spaties\tEN een tab\n", "", "Één — woord", "NAVO-top; EU/VS"]
    plain = TfidfVectorizer(analyzer="char_wb", sublinear_tf=True, **options).fit(texts[:2000])
    fast = CountOnceTfidfVectorizer(analyzer="char_wb", sublinear_tf=True, **options).fit(texts[:2000])
    clear_count_cache()  # so transform counts word by word
    for batch in (texts[2000:2600] + odd, texts[2300:2900]):  # the second call reuses remembered words
        assert _same_matrix(plain.transform(batch), fast.transform(batch))
    assert "_word_rows" in fast.__dict__ and "_word_rows" not in fast.__getstate__()
