"""Explanation records: Amazon JSON lines, PETER pickles, synthetic reviews, splits."""
import gzip
import json
import logging
import pickle
import random

import pytest

from recexplain.data.errors import DataFormatError
from recexplain.data.reviews.extraction import best_explanation, mine_features, split_sentences
from recexplain.data.reviews.records import (
    RECORD_FIELDS,
    load_explanation_records,
    read_peter_pickle,
    split_explanation_records,
)
from recexplain.data.reviews.synthetic import OPINIONS, synthetic_explanation_records

REVIEWS = [
    ("u1", "a", 5, "I bought this last week. The sound is great and the price was fair!"),
    ("u2", "a", 4, "Works.The sound is good for a small amp."),
    ("u3", "b", 2, "The strap is terrible, it broke after a day. Shipping was fast."),
    ("u1", "b", 1, "My strap is awful."),
    ("u2", "c", 3, "Nothing to say here at all."),
    ("u3", "c", 5, "I love the price. The strap and the sound are excellent."),
]


def _write_amazon(path, rows=REVIEWS):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for user, item, rating, text in rows:
            f.write(json.dumps({"reviewerID": user, "asin": item, "overall": float(rating), "reviewText": text}) + "\n")
    return path


def test_sentences_and_features():
    assert split_sentences("Great.The sound is good! ok") == [["great"], ["the", "sound", "is", "good"], ["ok"]]
    features = mine_features([r[3] for r in REVIEWS], min_feature_count=2)
    assert set(features) == {"sound", "strap", "price"}
    found = best_explanation("It came in a box. The strap is not good at all.", features)
    assert (found.feature, found.opinion, found.sentiment) == ("strap", "good", -1)
    assert best_explanation("the strap arrived on monday", features) is None


def test_amazon_records(tmp_path, caplog):
    path = _write_amazon(tmp_path / "reviews.json.gz")
    with caplog.at_level(logging.INFO, logger="recexplain.data.reviews.records"):
        ds = load_explanation_records(path, min_feature_count=2)
    assert "5 of 6 reviews yielded one" in caplog.text
    assert tuple(ds.column_names) == RECORD_FIELDS
    first = ds[0]
    assert first["explanation"] == "the sound is great and the price was fair"
    assert (first["feature"], first["rating"], first["sentiment"]) == ("sound", 5, 1)
    assert ds[2]["sentiment"] == -1 and ds[2]["feature"] == "strap"


def test_amazon_empty_review_text_is_skipped_with_a_warning_naming_the_lines(tmp_path, caplog):
    path = _write_amazon(tmp_path / "reviews.json.gz", REVIEWS[:2] + [("u9", "z", 4, "  ")] + REVIEWS[2:])
    with caplog.at_level(logging.INFO, logger="recexplain.data.reviews.records"):
        ds = load_explanation_records(path, min_feature_count=2)
    assert "reviews.json.gz: skipped 1 reviews with an empty reviewText (lines 3)" in caplog.text
    assert "5 of 6 reviews yielded one" in caplog.text and "u9" not in ds["user"]


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"reviewerID": "u", "asin": "a", "overall": 5.0, "reviewText": "x"', "line 2: malformed JSON"),
        ('{"reviewerID": "u", "asin": "a", "reviewText": "x"}', "line 2, field 'overall': missing field"),
        ('{"reviewerID": "u", "asin": "a", "overall": 7, "reviewText": "x"}', "line 2, field 'overall'"),
        ('{"reviewerID": "u", "asin": "a", "overall": "five", "reviewText": "x"}', "line 2, field 'overall': expected"),
        ('{"reviewerID": "u", "asin": "a", "overall": true, "reviewText": "x"}', "line 2, field 'overall': expected"),
        ('{"reviewerID": "u", "asin": "a", "overall": null, "reviewText": "x"}', "line 2, field 'overall': expected"),
        ('{"reviewerID": "u", "asin": "a", "overall": 4.0, "reviewText": 3}', "line 2, field 'reviewText': expected"),
    ],
)
def test_amazon_errors(tmp_path, line, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"reviewerID": "u", "asin": "a", "overall": 5.0, "reviewText": "x"}) + "\n" + line + "\n")
    with pytest.raises(DataFormatError, match=message):
        load_explanation_records(path)


def test_peter_pickle(tmp_path):
    rows = [
        {"user": "U1", "item": "I1", "rating": 5,
         "template": ("front desk", "friendly", "the front desk staff was friendly", 1)},
        {"user": "U2", "item": "I1", "rating": 2.0, "template": ("room", "small", "The room was small.", -1)},
    ]
    path = tmp_path / "reviews.pickle"
    path.write_bytes(pickle.dumps(rows))
    ds = load_explanation_records(path)
    assert ds[0] == {"user": "U1", "item": "I1", "rating": 5, "feature": "front desk", "opinion": "friendly",
                     "explanation": "the front desk staff was friendly", "sentiment": 1}
    assert ds[1]["explanation"] == "the room was small ." and ds[1]["rating"] == 2
    del rows[1]["template"]
    path.write_bytes(pickle.dumps(rows))
    with pytest.raises(DataFormatError, match="record 1: missing field"):
        read_peter_pickle(path)


def test_synthetic_records():
    records = synthetic_explanation_records(num_users=20, num_items=20, num_categories=5, reviews_per_user=5)
    assert len(records) == 100 and records == synthetic_explanation_records(20, 20, 5, 5)
    for r in records:
        assert r["feature"] in r["explanation"].split() and r["opinion"] in OPINIONS[r["rating"]]
    assert len({r["rating"] for r in records}) >= 4


def test_split_keeps_heldout_users_and_items_in_train(caplog):
    ds = load_explanation_records(num_users=30, num_items=20, num_categories=5, reviews_per_user=4)
    with caplog.at_level(logging.INFO, logger="recexplain.data.reviews.records"):
        splits = split_explanation_records(ds, seed=3)
    assert "moved to train" in caplog.text
    assert sum(len(s) for s in splits.values()) == len(ds)
    assert len(splits["test"]) > 0.05 * len(ds) and len(splits["train"]) >= 0.8 * len(ds)
    for name in ("validation", "test"):
        assert set(splits[name]["user"]) <= set(splits["train"]["user"])
        assert set(splits[name]["item"]) <= set(splits["train"]["item"])
    assert split_explanation_records(ds, seed=3)["test"]["explanation"] == splits["test"]["explanation"]


def test_real_amazon_records_fixture(shared_data_dir, tmp_path):
    """20 seeded random records from the real Musical Instruments reviews, printed for a human to judge."""
    path = shared_data_dir / "amazon-musical-instruments" / "reviews_Musical_Instruments_5.json.gz"
    ds = load_explanation_records(path)
    assert 0.3 * 10261 < len(ds) <= 10261
    sample = ds.select(sorted(random.Random(0).sample(range(len(ds)), 20))).to_list()
    fixture = tmp_path / "explanation_records_sample.jsonl"
    fixture.write_text("".join(json.dumps(r) + "\n" for r in sample), encoding="utf-8")
    print(f"\n20 random explanation records (also in {fixture}):")
    for r in sample:
        print(f"  {r['rating']} {r['sentiment']:+d} [{r['feature']} / {r['opinion']}] {r['explanation']}")
        words = r["explanation"].split()
        assert r["feature"] in words and r["opinion"] in words and len(words) <= 20
        assert 1 <= r["rating"] <= 5 and r["sentiment"] in (-1, 0, 1)
