"""Splits and CTR / pre-training examples: leave-one-out, no target leakage, seeded negatives."""
import pytest

from recexplain.data import (
    FeatureMap, build_ctr_examples, build_pretraining_examples, make_synthetic_behavior, sequences_from_events,
    split_sequences,
)


@pytest.fixture(scope="module")
def rated():
    """Explicit ratings: user a rates 1..6 (ratings 5,1,4,2,5,3), user b 3 events, user c 2 (excluded)."""
    users = ["a"] * 6 + ["b"] * 3 + ["c"] * 2
    items = ["1", "2", "3", "4", "5", "6", "1", "3", "7", "1", "2"]
    ratings = [5, 1, 4, 2, 5, 3, 4, 5, 1, 3, 3]
    attrs = {str(i): [f"g{i % 3}"] for i in range(1, 10)}
    data = sequences_from_events("tiny", users, items, [str(r) for r in ratings], attrs,
                                 timestamps=list(range(11)), ratings=ratings)
    splits = split_sequences(data.sequences)
    return data, splits, FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=2)


@pytest.fixture(scope="module")
def synthetic():
    data = make_synthetic_behavior(num_users=40, num_items=60, num_categories=6, seed=3)
    splits = split_sequences(data.sequences)
    return data, splits, FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=8)


def test_leave_one_out_splits(rated):
    data, splits, _ = rated
    assert splits["train"]["user_id"] == ["a", "b"]
    assert splits["train"][0]["item_id"] == ["1", "2", "3", "4"]
    assert splits["validation"][0]["item_id"] == ["1", "2", "3", "4", "5"]
    assert splits["test"][0]["item_id"] == ["1", "2", "3", "4", "5", "6"]
    assert splits["train"][1]["rating"] == [4.0] and data.attributes_of(splits["train"][1]["item_id"]) == [["g1"]]


def test_threshold_examples(rated):
    _, splits, fm = rated
    train = build_ctr_examples(splits, fm, "train", label_mode="threshold", threshold=4)
    # user a: targets at positions 1..3 (items 2,3,4; ratings 1,4,2), user b: no target (1 train event)
    assert len(train) == 3
    assert [r["labels"] for r in train] == [[0.0], [1.0], [0.0]]
    assert [fm.decode("item_id", r["candidate_item_ids"]) for r in train] == [["2"], ["3"], ["4"]]
    # history: the events before the target only, capped at max_seq_len=2 most recent
    last = train[2]
    assert fm.decode("item_id", last["history_item_ids"]) == ["2", "3"]
    assert fm.decode("behavior", last["history_behavior_ids"]) == ["1", "4"]  # target's rating "2" absent
    test = build_ctr_examples(splits, fm, "test", label_mode="threshold")
    assert len(test) == 2 and [r["labels"] for r in test] == [[0.0], [0.0]]  # a: item 6 rated 3, b: item 7 rated 1
    assert fm.decode("behavior", test[0]["history_behavior_ids"]) == ["2", "5"]
    assert fm.decode("item_id", test[1]["candidate_item_ids"]) == ["[OOV]"]  # item 7 unseen in train
    assert test[1]["candidate_attr_ids"] == [fm.item_attr_ids("7")] and test[1]["candidate_attr_ids"][0][0] > 2
    valid = build_ctr_examples(splits, fm, "validation", label_mode="threshold")
    assert [r["labels"] for r in valid] == [[1.0], [1.0]]


def test_threshold_needs_ratings(synthetic):
    _, splits, fm = synthetic
    with pytest.raises(ValueError, match="explicit ratings"):
        build_ctr_examples(splits, fm, "test", label_mode="threshold")


def test_sampled_examples_grouped_and_flat(synthetic):
    data, splits, fm = synthetic
    test = build_ctr_examples(splits, fm, "test", num_negatives=5, seed=7)
    assert len(test) == 40
    full = {row["user_id"]: set(row["item_id"]) for row in splits["test"]}
    users = fm.decode("user_id", test["user_ids"])
    for user, row in zip(users, test):
        assert row["labels"] == [1.0] + [0.0] * 5
        items = fm.decode("item_id", row["candidate_item_ids"])
        assert len(row["candidate_attr_ids"]) == 6 and all(len(a) == fm.max_attrs for a in row["candidate_attr_ids"])
        assert len(set(items[1:])) == 5 and not (set(items[1:]) & full[user])  # negatives: distinct, never interacted
        assert len(row["history_item_ids"]) <= fm.max_seq_len
    # identical sample for every model compared: same seed -> same negatives, whatever max_seq_len
    fm_long = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=30)
    again = build_ctr_examples(splits, fm_long, "test", num_negatives=5, seed=7)
    assert again["candidate_item_ids"] == test["candidate_item_ids"]
    assert build_ctr_examples(splits, fm, "test", num_negatives=5, seed=8)["candidate_item_ids"] != test["candidate_item_ids"]
    flat = build_ctr_examples(splits, fm, "test", num_negatives=5, seed=7, grouped=False)
    assert len(flat) == 6 * len(test) and all(len(r["candidate_item_ids"]) == 1 for r in flat)
    assert [c for r in flat for c in r["candidate_item_ids"]] == [c for r in test for c in r["candidate_item_ids"]]


def test_train_targets_and_cap(synthetic):
    _, splits, fm = synthetic
    train = build_ctr_examples(splits, fm, "train", num_negatives=2)  # flat by default
    n_targets = sum(len(s) - 1 for s in splits["train"]["item_id"])
    assert len(train) == 3 * n_targets and {len(r["labels"]) for r in train} == {1}
    capped = build_ctr_examples(splits, fm, "train", num_negatives=2, max_train_targets_per_user=3)
    assert len(capped) == 3 * 3 * 40
    # the capped set keeps the latest targets: the last row of a user equals the uncapped one's
    assert capped[-1] == train[-1]


def test_pretraining_examples(synthetic):
    _, splits, fm = synthetic
    pre = build_pretraining_examples(splits["train"], fm)
    assert len(pre) == 40 and all(len(r["history_item_ids"]) == min(8, n) for r, n in zip(pre, map(len, splits["train"]["item_id"])))
    first = splits["train"][0]
    assert pre[0]["history_item_ids"] == fm.encode("item_id", first["item_id"][-8:])
    windows = build_pretraining_examples(splits["train"], fm, max_windows_per_user=100)
    assert sum(len(r["history_item_ids"]) for r in windows) == sum(map(len, splits["train"]["item_id"]))
