"""Real datasets in ../shared/data (skipped when absent): statistics match ../shared/data/README.md."""

from recexplain.data import FeatureMap, build_ctr_examples, load_behavior_dataset, split_sequences


def test_movielens_100k(shared_data_dir):
    data = load_behavior_dataset("movielens-100k", shared_data_dir)
    stats = data.statistics()
    assert (stats["users"], stats["items"], stats["events"]) == (943, 1682, 100000)
    assert data.has_ratings and set(stats["behaviors"]) == {"1", "2", "3", "4", "5"}
    assert len(data.item_attributes) == 1682
    # every user has >= 20 ratings: nobody is excluded; threshold labels on the test split
    splits = split_sequences(data.sequences)
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=50)
    assert fm.max_attrs == 7  # up to 6 genres + decade
    test = build_ctr_examples(splits, fm, "test", label_mode="threshold")
    assert len(test) == 943
    positives = sum(r[0] for r in test["labels"])
    assert 0.3 < positives / 943 < 0.8


def test_taobao(shared_data_dir):
    stats = load_behavior_dataset("taobao", shared_data_dir).statistics()
    assert (stats["users"], stats["items"], stats["events"], stats["attributes"]) == (815, 55368, 84476, 2914)
    assert stats["behaviors"] == {"pv": 75873, "cart": 4497, "fav": 2356, "buy": 1750}


def test_amazon_beauty(shared_data_dir):
    data = load_behavior_dataset("amazon-beauty", shared_data_dir)
    stats = data.statistics()
    assert (stats["users"], stats["items"], stats["events"], stats["attributes"]) == (22363, 12101, 198502, 637)
    assert stats["behaviors"] == {"interact": 198502} and set(data.sequences[0]["time_gap"]) == {"none"}
