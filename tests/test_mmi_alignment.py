"""Alignment evaluation: the judge, the 3-class mapping, cross-fitted MI and the full metric set."""
import math

import numpy as np
import pytest
import torch

from recexplain.data.explanation_tokenizer import build_explanation_tokenizer
from recexplain.data.reviews import load_explanation_records, split_explanation_records
from recexplain.mmi.alignment import METRIC_KEYS, cross_fitted_mi, evaluate_explainer
from recexplain.mmi.data import encode_sequences, mi_estimator_config_from_tokenizer
from recexplain.mmi.judge import RatingJudge, round_ratings, three_class
from recexplain.mmi.mine import MINETrainingArguments
from recexplain.models.explainer import RecExplainerConfig, RecExplainerForConditionalGeneration

WORDS = {1: "awful", 2: "poor", 3: "okay", 4: "good", 5: "superb"}


@pytest.fixture(scope="module")
def synthetic():
    splits = split_explanation_records(load_explanation_records(None, num_users=40, num_items=20,
                                                                reviews_per_user=8))
    return splits, build_explanation_tokenizer(splits["train"])


def planted_texts(n, seed):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(1, 6, n)
    filler = ["the", "strings", "sound", "case", "price", "is", "and", "it"]
    texts = [" ".join(list(rng.choice(filler, 4)) + [WORDS[r]]) for r in ratings]
    return texts, ratings


def test_three_class_and_rounding():
    assert three_class([1, 2, 2.4, 2.6, 3, 3.4, 4, 5]).tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert round_ratings([0.2, 1.49, 4.51, 7]).tolist() == [1, 1, 5, 5]


def test_judge_reads_planted_sentiment_and_round_trips(tmp_path):
    judge = RatingJudge().fit(*planted_texts(300, 0))
    texts, ratings = planted_texts(100, 1)
    assert judge.agreement(texts, ratings) == {"acc": 1.0, "acc_3class": 1.0}
    shuffled = np.random.default_rng(2).permutation(ratings)
    assert judge.agreement(texts, shuffled)["acc"] < 0.4
    judge.save(tmp_path / "judge.pkl")
    assert (RatingJudge.load(tmp_path / "judge.pkl").predict(texts) == judge.predict(texts)).all()


def test_cross_fitted_mi_sees_rating_words_and_not_shuffled_ratings(synthetic):
    splits, tokenizer = synthetic
    records = splits["train"].to_dict()
    args = MINETrainingArguments(mine_epochs=8, mine_learning_rate=3e-3, mine_feature=False, mine_keep_best=False)
    kwargs = dict(hidden_size=16, intermediate_size=16, dropout=0.0)
    aligned = cross_fitted_mi(tokenizer, *encode_sequences(tokenizer, records), args, folds=3, **kwargs)
    records["rating"] = list(np.random.default_rng(0).permutation(records["rating"]))
    shuffled = cross_fitted_mi(tokenizer, *encode_sequences(tokenizer, records), args, folds=3, **kwargs)
    assert aligned["h_rating"] > 0.5
    assert aligned["mi_rating_normalized"] > 0.05  # synthetic opinion words follow the sentiment of the rating
    assert abs(shuffled["mi_rating_normalized"]) < 0.025
    assert aligned["mi_rating_pointwise"] >= aligned["mi_rating"] - 1e-9  # Jensen


def test_estimator_config_from_tokenizer(synthetic):
    splits, tokenizer = synthetic
    ids, _ = encode_sequences(tokenizer, splits["train"].to_dict())
    config = mi_estimator_config_from_tokenizer(tokenizer, ids)
    assert tokenizer.convert_ids_to_tokens(config.rating_token_ids) == [f"<r_{r}>" for r in range(1, 6)]
    assert all(t.startswith("<f_") for t in tokenizer.convert_ids_to_tokens(config.feature_token_ids))
    counts = np.bincount(splits["train"]["rating"], minlength=6)[1:] + 1.0
    np.testing.assert_allclose(config.rating_prior, counts / counts.sum(), rtol=1e-6)


def test_evaluate_explainer_reports_every_metric(synthetic):
    splits, tokenizer = synthetic
    torch.manual_seed(0)
    config = RecExplainerConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, visible_prefix_slots="peter_plus",
                                pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                                eos_token_id=tokenizer.eos_token_id)
    model = RecExplainerForConditionalGeneration(config)
    judge = RatingJudge().fit(splits["validation"]["explanation"], splits["validation"]["rating"])
    result = evaluate_explainer(model, tokenizer, splits["test"], judge, max_new_tokens=6,
                                mine_args=MINETrainingArguments(mine_epochs=2, mine_feature=False,
                                                                mine_keep_best=False), num_samples=3)
    for key in METRIC_KEYS:
        assert math.isfinite(result[key]), key
    assert 0 <= result["rating_alignment_acc"] <= result["rating_alignment_acc_3class"] <= 1
    assert len(result["samples"]) == 3 and result["num_examples"] == len(splits["test"])
