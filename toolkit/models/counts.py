"""Count once, weight per fold: a TF-IDF vectoriser that tokenises and counts each distinct text
once per process and feature set, and derives each fold's vocabulary and IDF from those counts.

Leave-one-letter-out refits the vectoriser for every fold, although the n-gram counts of a
sentence never change between folds; only the vocabulary filter (``min_df``) and the IDF weights
do. :class:`CountOnceTfidfVectorizer` is scikit-learn's :class:`TfidfVectorizer` with one step
replaced: the step that turns texts into a count matrix (``_count_vocab``) takes each text's
counts from a process-wide cache, filled the first time a text is fitted on. Everything after it
(the ``min_df`` filter, the alphabetical feature order, sublinear TF, IDF, normalisation) is
scikit-learn's own code. The cache keeps, for each text, its n-grams in the order the analyser
first produced them, so the count matrix is the one scikit-learn builds, entry for entry and in
the same order, and the weights, the classifier and its predictions are equal to the plain
pipeline's to the last bit (``tests/models/test_counts.py`` checks that on the default corpus).

The cache is used only for the settings it reproduces exactly (the built-in analysers, no
``max_features``, no fixed vocabulary, not binary); anything else, and any text once the cache
holds :data:`CACHE_LIMIT` texts, goes through the plain code. A fitted vectoriser keeps no
reference to the cache, so a saved model is the same as a plain one and loads anywhere.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["CACHE_LIMIT", "CountOnceTfidfVectorizer", "clear_count_cache", "count_cache_size", "count_once_enabled"]

#: Texts cached per feature set before the cache stops growing (about 40 MB for word+char
#: n-grams of 20,000 sentences); beyond it, texts are counted the plain way.
CACHE_LIMIT = 20_000

#: Distinct words whose ``char_wb`` n-grams a fitted vectoriser remembers for prediction before
#: it starts afresh (a few hundred bytes each).
WORD_LIMIT = 200_000

#: The analysis settings a cache is kept for: two vectorisers with equal values produce the same
#: n-grams from the same text.
_ANALYSIS_SETTINGS = (
    "input", "encoding", "decode_error", "strip_accents", "lowercase", "token_pattern",
    "stop_words", "ngram_range", "analyzer",
)  # fmt: skip


class _TextCounts:
    """The n-gram counts of every text seen with one analysis setting: one row per text, its
    columns in the order the analyser first produced each n-gram."""

    def __init__(self, analyse) -> None:
        self.analyse = analyse
        self.column_of: dict[str, int] = {}  # n-gram → global column
        self.terms: list[str] = []  # global column → n-gram
        self.row_of: dict[str, int] = {}  # text → row
        self.indices: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.matrix: sp.csr_array | None = None  # rebuilt when rows were added
        self.ranks: np.ndarray | None = None  # global column → place in the alphabetical order of all n-grams
        self.lock = threading.Lock()

    def rows(self, texts: list[str], *, add: bool) -> np.ndarray | None:
        """The rows of ``texts``, counting those not seen yet if ``add``; None when some are not
        cached and ``add`` is false or the cache is full."""
        with self.lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self.row_of]
            if missing and (not add or len(self.row_of) + len(missing) > CACHE_LIMIT):
                return None
            for text in missing:
                self._add(text)
            if missing or self.matrix is None:
                self._rebuild()
            return np.fromiter((self.row_of[text] for text in texts), dtype=np.int64, count=len(texts))

    def alphabetical_ranks(self) -> np.ndarray:
        """Each global column's place among all cached n-grams in Python's string order (the order
        scikit-learn sorts features in), computed again only when n-grams were added."""
        with self.lock:
            if self.ranks is None or len(self.ranks) != len(self.terms):
                order = sorted(range(len(self.terms)), key=self.terms.__getitem__)
                ranks = np.empty(len(self.terms), dtype=np.int64)
                ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(self.terms))
                self.ranks = ranks
            return self.ranks

    def _add(self, text: str) -> None:
        counter: dict[int, int] = {}
        for feature in self.analyse(text):
            column = self.column_of.get(feature)
            if column is None:
                column = self.column_of[feature] = len(self.terms)
                self.terms.append(feature)
            counter[column] = counter.get(column, 0) + 1
        self.row_of[text] = len(self.indices)
        self.indices.append(np.fromiter(counter.keys(), dtype=np.int64, count=len(counter)))
        self.counts.append(np.fromiter(counter.values(), dtype=np.intc, count=len(counter)))

    def _rebuild(self) -> None:
        lengths = np.fromiter((len(row) for row in self.indices), dtype=np.int64, count=len(self.indices))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate(self.indices) if self.indices else np.zeros(0, dtype=np.int64)
        counts = np.concatenate(self.counts) if self.counts else np.zeros(0, dtype=np.intc)
        # built from its parts, so scipy keeps each row's entries in the order given
        self.matrix = sp.csr_array((counts, indices, indptr), shape=(len(self.indices), max(len(self.terms), 1)))


_CACHES: dict[tuple, _TextCounts] = {}
_CACHES_LOCK = threading.Lock()


def count_once_enabled() -> bool:
    """Whether new TF-IDF pipelines count once: yes, unless ``TOOLKIT_TFIDF_COUNT_ONCE=0`` (so a
    benchmark can time the plain pipeline in the same code)."""
    return os.environ.get("TOOLKIT_TFIDF_COUNT_ONCE", "1") != "0"


def clear_count_cache() -> None:
    """Forget every cached count (for benchmarks and tests)."""
    with _CACHES_LOCK:
        _CACHES.clear()


def count_cache_size() -> int:
    """How many texts the caches hold, over every feature set."""
    with _CACHES_LOCK:
        return sum(len(cache.row_of) for cache in _CACHES.values())


class CountOnceTfidfVectorizer(TfidfVectorizer):
    """:class:`TfidfVectorizer` that counts each distinct text once per process and feature set;
    the same parameters, features, weights and output as the plain vectoriser."""

    def __getstate__(self):
        # The vocabulary as one array of n-grams in column order instead of a dict: skops writes a
        # dict entry by entry into its JSON schema (60 MB for the main job's char n-grams), an
        # array as one compact .npy file.
        state = dict(super().__getstate__())  # a copy: on Python 3.11 it is the instance's own __dict__
        for transient in ("_word_rows", "_fold_columns", "_kept_columns"):  # caches and hand-overs, not the model
            state.pop(transient, None)
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = [""] * len(vocabulary)
            for term, column in vocabulary.items():
                terms[column] = term
            state["vocabulary_terms_"] = np.array(terms, dtype=str)
        return state

    def __setstate__(self, state):
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        if terms is not None:
            state["vocabulary_"] = {str(term): column for column, term in enumerate(terms.tolist())}
        super().__setstate__(state)

    def _count_vocab(self, raw_documents: Iterable, fixed_vocab: bool):
        # The one step of CountVectorizer that reads the texts: a vocabulary (n-gram → column, in
        # order of first appearance when it is being learnt) and the count matrix, its rows'
        # entries sorted by column. The rest of fit and transform is scikit-learn's.
        cache = self._cache()
        texts = list(raw_documents)
        # Fitting adds its texts to the cache; transforming only reads it, so predicting new
        # letters neither grows the cache nor pays for it (their texts are counted the plain way).
        usable = cache is not None and all(isinstance(text, str) for text in texts)
        rows = cache.rows(texts, add=not fixed_vocab) if usable else None
        if rows is None:
            if fixed_vocab and usable and self.analyzer == "char_wb" and self.strip_accents is None:
                return self.vocabulary_, self._char_wb_counts(texts)
            return super()._count_vocab(texts, fixed_vocab)
        cached = cache.matrix[rows]  # rows in the order of texts, entries in first-appearance order
        if fixed_vocab:
            local = np.full(cached.shape[1], -1, dtype=np.int64)
            known = [(cache.column_of[term], index) for term, index in self.vocabulary_.items() if term in cache.column_of]
            if known:
                columns, positions = np.array(known, dtype=np.int64).T
                local[columns] = positions
            vocabulary = self.vocabulary_
        else:
            # where each global column first appears: assigning positions in reverse leaves the first
            # (NumPy assigns repeated indices in order, the last write staying); then by that position
            first = np.full(cached.shape[1], -1, dtype=np.int64)
            first[cached.indices[::-1]] = np.arange(len(cached.indices) - 1, -1, -1, dtype=np.int64)
            seen = np.flatnonzero(first >= 0)
            in_order = seen[np.argsort(first[seen], kind="stable")]  # global columns by first appearance
            if len(in_order) == 0:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
            local = np.full(cached.shape[1], -1, dtype=np.int64)
            local[in_order] = np.arange(len(in_order))
            vocabulary = {cache.terms[column]: index for index, column in enumerate(in_order)}
            self._fold_columns = in_order  # for the fast _limit_features and _sort_features below
        return vocabulary, self._matrix(cached, local, len(vocabulary))

    def _limit_features(self, X, vocabulary, high=None, low=None, limit=None):
        # scikit-learn's filter by document frequency, with the vocabulary left for _sort_features
        # to rebuild once (its own loop renumbers every n-gram of the dict in Python, per fold).
        columns = self.__dict__.pop("_fold_columns", None)
        if columns is None or limit is not None:
            return super()._limit_features(X, vocabulary, high, low, limit)
        frequencies = np.bincount(X.indices, minlength=X.shape[1])
        mask = np.ones(len(frequencies), dtype=bool)
        if high is not None:
            mask &= frequencies <= high
        if low is not None:
            mask &= frequencies >= low
        kept = np.where(mask)[0]
        if len(kept) == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        self._kept_columns = columns[kept]
        return X if len(kept) == X.shape[1] else X[:, kept]

    def _sort_features(self, X, vocabulary):
        # scikit-learn's alphabetical feature order, from the cache's ranks of all n-grams instead
        # of sorting this fold's vocabulary again; the same order, the same renumbered matrix.
        kept = self.__dict__.pop("_kept_columns", None)
        if kept is None:
            return super()._sort_features(X, vocabulary)
        cache = self._cache()
        order = np.argsort(cache.alphabetical_ranks()[kept], kind="stable")  # local indices, alphabetically
        map_index = np.empty(len(kept), dtype=X.indices.dtype)
        map_index[order] = np.arange(len(kept), dtype=X.indices.dtype)
        X.indices = map_index.take(X.indices, mode="clip")
        terms = cache.terms
        vocabulary.clear()
        vocabulary.update(zip([terms[column] for column in kept[order].tolist()], range(len(kept))))
        return X

    def _char_wb_counts(self, texts: list[str]):
        """The count matrix of new texts for ``char_wb`` n-grams, word by word.

        ``char_wb`` n-grams never cross a space, so a sentence's counts are the sum of its words'
        counts: (sentences × words) @ (words × n-grams), each distinct word analysed once (with
        scikit-learn's own analyser) and remembered for later calls. The result is the matrix the
        plain code builds, its entries sorted by column as there."""
        words = self.__dict__.setdefault("_word_rows", {})  # word → (columns, counts); not saved
        if len(words) > WORD_LIMIT:
            words.clear()
        analyse = self.build_analyzer()
        index_of: dict[str, int] = {}
        word_rows, word_cols, word_counts, indptr = [], [], [], [0]
        for text in texts:
            counter: dict[int, int] = {}
            for word in text.split():  # the analyser's own split, after its lowercasing, is the same
                number = index_of.setdefault(word, len(index_of))
                counter[number] = counter.get(number, 0) + 1
            word_cols.extend(counter.keys())
            word_counts.extend(counter.values())
            indptr.append(len(word_cols))
        for word in index_of:
            if word not in words:
                counter = {}
                for feature in analyse(word):
                    column = self.vocabulary_.get(feature)
                    if column is not None:
                        counter[column] = counter.get(column, 0) + 1
                words[word] = (np.fromiter(counter.keys(), np.int64, len(counter)), np.fromiter(counter.values(), np.int64, len(counter)))
            word_rows.append(words[word])
        by_word = sp.csr_array(
            (
                np.concatenate([counts for _, counts in word_rows]) if word_rows else np.zeros(0, np.int64),
                np.concatenate([columns for columns, _ in word_rows]) if word_rows else np.zeros(0, np.int64),
                np.concatenate([[0], np.cumsum([len(columns) for columns, _ in word_rows], dtype=np.int64)]),
            ),
            shape=(len(word_rows), len(self.vocabulary_)),
        )
        by_sentence = sp.csr_array(
            (np.array(word_counts, dtype=np.int64), np.array(word_cols, dtype=np.int64), np.array(indptr, dtype=np.int64)),
            shape=(len(texts), len(word_rows)),
        )
        counts = (by_sentence @ by_word).tocsr()
        counts.sort_indices()
        return self._finish(counts.data, counts.indices, counts.indptr, (len(texts), len(self.vocabulary_)))

    def _matrix(self, cached, local: np.ndarray, width: int):
        """``cached`` with its columns renamed by ``local`` (-1: not in the vocabulary, dropped)."""
        mapped = local[cached.indices]
        keep = mapped >= 0
        kept_before = np.concatenate([[0], np.cumsum(keep)])  # kept entries before each position
        indptr = kept_before[cached.indptr]
        return self._finish(cached.data[keep], mapped[keep], indptr, (cached.shape[0], width))

    def _finish(self, counts, columns, indptr, shape):
        """A count matrix as scikit-learn's counting step returns it: 32-bit indices where they
        fit, the vectoriser's dtype, entries sorted by column, the configured sparse type."""
        index_type = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
        matrix = sp.csr_array((counts, columns.astype(index_type), indptr.astype(index_type)), shape=shape, dtype=self.dtype)
        matrix.sort_indices()
        if sklearn.get_config()["sparse_interface"] == "spmatrix":
            return sp.csr_matrix(matrix)
        return matrix

    def _cache(self) -> _TextCounts | None:
        """The cache for this vectoriser's analysis settings, or None where it would not be exact."""
        plain = (
            callable(self.analyzer)
            or self.preprocessor is not None
            or self.tokenizer is not None
            or self.vocabulary is not None
            or self.max_features is not None
            or self.binary
            or self.input != "content"
        )
        if plain:
            return None
        key = tuple(_hashable(getattr(self, name)) for name in _ANALYSIS_SETTINGS)
        with _CACHES_LOCK:
            if key not in _CACHES:
                _CACHES[key] = _TextCounts(self.build_analyzer())
            return _CACHES[key]


def _hashable(value):
    if isinstance(value, list | set | frozenset):
        return tuple(sorted(value))
    return value
