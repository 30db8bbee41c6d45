"""The synthetic default: deterministic, clearly named, planted structure a simple heuristic can find."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from recexplain.data import (
    FeatureMap, build_ctr_examples, load_behavior_dataset, make_synthetic_behavior, make_synthetic_world,
    split_sequences,
)


@pytest.fixture(scope="module")
def data():
    return make_synthetic_behavior(num_users=150, num_items=120, num_categories=10, seed=0)


def test_named_synthetic_and_deterministic(data):
    again = make_synthetic_behavior(num_users=150, num_items=120, num_categories=10, seed=0)
    assert data.name == "synthetic" and data.source["format"] == "synthetic"
    assert data.sequences.to_dict() == again.sequences.to_dict()
    other = make_synthetic_behavior(num_users=150, num_items=120, num_categories=10, seed=1)
    assert data.sequences.to_dict() != other.sequences.to_dict()
    assert load_behavior_dataset("synthetic", num_users=150, num_items=120, num_categories=10).sequences.to_dict() == data.sequences.to_dict()


def test_default_size_and_fields():
    stats = make_synthetic_behavior().statistics()
    assert stats["users"] == 500 and stats["items"] <= 300 and 25 <= stats["mean_length"] <= 35
    assert set(stats["behaviors"]) == {"pv", "cart", "fav", "buy"}


def test_latent_parts_are_exposed_and_consistent(data):
    world = data.latent
    fresh = make_synthetic_world(150, 120, 10, 0)  # what a review generator would call
    assert np.array_equal(world.item_category, fresh.item_category)
    assert np.array_equal(world.user_category_weights, fresh.user_category_weights)
    assert world.item_key_feature == fresh.item_key_feature
    assert len(world.user_preferred_categories) == 150 and len(world.item_key_feature) == 120
    np.testing.assert_allclose(world.user_category_weights.sum(1), 1.0)
    for i, token in enumerate(world.item_tokens):
        assert data.item_attributes[token][0] == world.category_names[world.item_category[i]]
        assert world.item_key_feature[i] in world.category_features[world.item_category[i]]
    # users really prefer their preferred categories: most events fall in them
    row = data.sequences[0]
    cats = [a[0] for a in data.attributes_of(row["item_id"])]
    preferred = {world.category_names[c] for c in world.user_preferred_categories[0]}
    assert sum(c in preferred for c in cats) / len(cats) > 0.5


def test_behaviour_correlates_with_preference(data):
    world, inside, outside = data.latent, [], []
    for u, row in enumerate(data.sequences):
        preferred = {world.category_names[c] for c in world.user_preferred_categories[u][:1]}
        for attrs, b in zip(data.attributes_of(row["item_id"]), row["behavior"]):
            (inside if attrs[0] in preferred else outside).append(b != "pv")
    assert np.mean(inside) > np.mean(outside) + 0.05


def test_category_match_heuristic_beats_chance(data):
    splits = split_sequences(data.sequences)
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=20)
    test = build_ctr_examples(splits, fm, "test", num_negatives=9)
    scores, labels = [], []
    for ex in test:
        recent = [a[0] for a in ex["history_attr_ids"][-5:]]
        scores += [np.mean([c[0] == x for x in recent]) for c in ex["candidate_attr_ids"]]
        labels += ex["labels"]
    assert roc_auc_score(labels, scores) > 0.75
