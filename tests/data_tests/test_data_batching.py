"""Batching: each row once per epoch, dynamic padding, correct masks, length grouping that pays off."""

import numpy as np
import pytest
import torch

from errors import ConfigError
from trainables.data import Batch, iterate_batches, load_splits, num_batches
from trainables.data.batching import batch_indices


@pytest.fixture(scope="module")
def train(synthetic_prepared):
    return load_splits(synthetic_prepared)[0]


MODES = [(True, True), (True, False), (False, True), (False, False)]  # (shuffle, group_by_length)


@pytest.mark.parametrize(("shuffle", "group"), MODES)
@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_every_row_once_per_epoch(train, shuffle, group, batch_size):
    batches = list(iterate_batches(train, batch_size, shuffle=shuffle, seed=3, group_by_length=group))
    assert len(batches) == num_batches(train, batch_size)
    rows = np.concatenate(batch_indices(train.lengths, batch_size, shuffle, 3, group))
    assert sorted(rows.tolist()) == list(range(len(train)))
    assert sum(len(b) for b in batches) == len(train)
    assert sorted(sum((b.labels.tolist() for b in batches), [])) == sorted(train.labels.tolist())


@pytest.mark.parametrize(("shuffle", "group"), MODES)
def test_padding_and_mask(train, shuffle, group):
    order = batch_indices(train.lengths, 16, shuffle, seed=1, group_by_length=group)
    batches = iterate_batches(train, 16, shuffle, seed=1, group_by_length=group, pad_token_id=0)
    for rows, batch in zip(order, batches, strict=True):
        assert batch.input_ids.dtype == batch.attention_mask.dtype == batch.labels.dtype == torch.int64
        assert batch.input_ids.shape == batch.attention_mask.shape == (len(rows), train.lengths[rows].max())
        assert batch.attention_mask.sum(dim=1).tolist() == train.lengths[rows].tolist()
        for k, row in enumerate(rows):
            ids, label = train[int(row)]
            n = len(ids)
            assert batch.input_ids[k, :n].tolist() == ids.tolist()
            assert (batch.input_ids[k, n:] == 0).all() and (batch.attention_mask[k, n:] == 0).all()
            assert (batch.attention_mask[k, :n] == 1).all() and batch.labels[k] == label


def test_pad_token_id_is_used(train):
    batch = next(iterate_batches(train, 8, shuffle=True, seed=0, group_by_length=False, pad_token_id=-7))
    assert ((batch.input_ids == -7) == (batch.attention_mask == 0)).all()


def test_grouping_cuts_padding(train):
    def padded(group):
        return sum(
            b.input_ids.numel() for b in iterate_batches(train, 8, True, seed=0, group_by_length=group)
        )

    real = int(train.lengths.sum())
    assert padded(True) < real * 1.1 < padded(False)


def test_order_is_deterministic_per_seed(train):
    first = [b.tolist() for b in batch_indices(train.lengths, 8, True, seed=4)]
    assert first == [b.tolist() for b in batch_indices(train.lengths, 8, True, seed=4)]
    assert first != [b.tolist() for b in batch_indices(train.lengths, 8, True, seed=5)]
    assert first != sorted(first, key=lambda rows: -train.lengths[rows].max())  # batch order is shuffled


def test_longest_batch_comes_first(train):
    for shuffle in (True, False):
        batches = batch_indices(train.lengths, 8, shuffle, seed=2, group_by_length=True)
        assert train.lengths[batches[0]].max() == train.lengths.max()


def test_eval_order_is_sorted_by_length(train):
    widths = [len(b.input_ids[0]) for b in iterate_batches(train, 8, shuffle=False)]
    assert widths == sorted(widths, reverse=True)
    natural = np.concatenate(batch_indices(train.lengths, 8, False, group_by_length=False))
    assert natural.tolist() == list(range(len(train)))


def test_batch_to_and_pin_memory_on_cpu(train):
    batch = next(iterate_batches(train, 4, shuffle=False, pin_memory=True))  # no CUDA: pinning is skipped
    moved = batch.to("cpu")
    assert isinstance(moved, Batch) and torch.equal(moved.input_ids, batch.input_ids)


def test_bad_batch_size_is_a_config_error(train):
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="batch_size"):
            list(iterate_batches(train, bad, shuffle=False))


def test_padded_flag_is_decided_on_the_host_and_matches_the_mask(train):
    # The training step skips the attention mask on unpadded batches without reading a device tensor.
    flags = set()
    for batch in iterate_batches(train, 4, shuffle=True, seed=1):
        assert batch.padded == bool((batch.attention_mask == 0).any())
        assert batch.to("cpu").padded == batch.padded
        flags.add(batch.padded)
    assert flags == {True, False}


def test_a_subset_of_rows_is_batched_once_each(train):
    rows = np.array([5, 1, 9, 2, 7])
    batches = list(iterate_batches(train, 2, shuffle=False, rows=rows))
    assert sum(len(b) for b in batches) == len(rows)
    assert sorted(sum((b.labels.tolist() for b in batches), [])) == sorted(train.labels[rows].tolist())
