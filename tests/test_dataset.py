from __future__ import annotations

import pytest

from toolkit.dataset import (
    fixed_holdout_split,
    grouped_kfold_splits,
    leave_one_letter_out_splits,
    load_labelled_table,
    time_ordered_split,
    to_dataset_dict,
)
from toolkit.errors import DatasetError


@pytest.fixture
def table(tiny_labels_dir):
    return load_labelled_table(tiny_labels_dir)


def _assert_no_leakage(table, split):
    train_letters, test_letters = split.letters(table)
    assert train_letters and test_letters
    assert not train_letters & test_letters
    assert not set(split.train) & set(split.test)


def test_every_split_keeps_letters_whole(table):
    splits = [
        *leave_one_letter_out_splits(table),
        *grouped_kfold_splits(table, 3, seed=0),
        time_ordered_split(table, 0.34),
        fixed_holdout_split(table, [table.letter_ids[0]]),
    ]
    for split in splits:
        _assert_no_leakage(table, split)


def test_leave_one_letter_out_tests_each_sentence_once(table):
    tested = [row for split in leave_one_letter_out_splits(table) for row in split.test]
    assert sorted(tested) == list(range(len(table)))


def test_time_ordered_split_tests_on_the_latest_letters(table):
    split = time_ordered_split(table, 0.34)
    train_letters, test_letters = split.letters(table)
    assert max(table.letter_dates[l] for l in train_letters) < min(table.letter_dates[l] for l in test_letters)


def test_unknown_holdout_letter_and_bad_k_are_refused(table):
    with pytest.raises(DatasetError, match="not in the labelled data: kst-1-1"):
        fixed_holdout_split(table, ["kst-1-1"])
    with pytest.raises(DatasetError, match="k-fold needs"):
        list(grouped_kfold_splits(table, 99, seed=0))


def test_context_never_crosses_letters(table):
    for index, row in enumerate(table.inputs):
        if row["previous"] is not None:
            assert table.letter_ids[index - 1] == table.letter_ids[index]
            assert row["previous"] == table.inputs[index - 1]["text"]
    first_rows = [i for i in range(len(table)) if i == 0 or table.letter_ids[i - 1] != table.letter_ids[i]]
    assert all(table.inputs[i]["previous"] is None for i in first_rows)


def test_dataset_dict_has_class_label_features(table):
    dataset = to_dataset_dict(table)["train"]
    assert dataset.features["topic"].names == list(table.schema.tasks["topic"].classes)
    assert dataset.num_rows == len(table)
    assert "letter_id" in dataset.column_names


def test_fingerprint_changes_with_the_labels(table):
    changed = table.subset(range(len(table) - 1))
    assert changed.fingerprint() != table.fingerprint()
