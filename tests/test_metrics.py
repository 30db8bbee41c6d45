"""The local evaluate modules: hand-computed cases and agreement with the reference libraries."""
import math
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error, roc_auc_score

import recexplain.metrics as M


@pytest.fixture(scope="module")
def ctr():
    return M.load("ctr")


@pytest.fixture(scope="module")
def explanation():
    return M.load("explanation")


@pytest.fixture(scope="module")
def rating():
    return M.load("rating")


def _random_ctr(n=600, users=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(0.25 * y + 0.75 * rng.random(n), 0.001, 0.999), 2)  # rounding makes ties
    return p, y, rng.integers(0, users, n)


def test_metric_path_and_unknown_name():
    assert M.metric_path("ctr").endswith("ctr")
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        M.metric_path("bleu")


# ---------------------------------------------------------------- CTR
def test_ctr_hand_computed(ctr):
    # user 1: AUC 1 (2 impressions); user 2: AUC 0 (3 impressions); user 3: all clicks -> skipped
    preds = [0.9, 0.2, 0.3, 0.6, 0.5, 0.7, 0.4]
    labels = [1, 0, 1, 0, 0, 1, 1]
    out = ctr.compute(predictions=preds, references=labels, user_ids=[1, 1, 2, 2, 2, 3, 3])
    assert out["gauc"] == pytest.approx((2 * 1.0 + 3 * 0.0) / 5)
    assert out["gauc_users"] == 2
    # pooled AUC: positives .9 .3 .7 .4 vs negatives .2 .6 .5 -> wins 3+1+3+1 = 8 of 12
    assert out["auc"] == pytest.approx(8 / 12)
    expected_ll = -np.mean([math.log(p if y else 1 - p) for p, y in zip(preds, labels)])
    assert out["logloss"] == pytest.approx(expected_ll)


def test_ctr_agrees_with_sklearn(ctr):
    p, y, u = _random_ctr()
    out = ctr.compute(predictions=p, references=y, user_ids=u)
    assert out["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert out["logloss"] == pytest.approx(log_loss(y, p), abs=1e-9)
    per_user = [(np.sum(u == k), roc_auc_score(y[u == k], p[u == k])) for k in np.unique(u) if len(set(y[u == k])) == 2]
    assert out["gauc"] == pytest.approx(sum(n * a for n, a in per_user) / sum(n for n, _ in per_user))
    assert "gauc" not in ctr.compute(predictions=p, references=y)


def test_logloss_clips_certain_mistakes():
    assert M.logloss([0.0, 1.0], [1, 0], eps=1e-7) == pytest.approx(-math.log(1e-7))


def test_ctr_rejects_bad_input(ctr):
    with pytest.raises(ValueError, match="0/1 labels"):
        ctr.compute(predictions=[0.1, 0.2], references=[0, 2])
    with pytest.raises(ValueError, match="probabilities"):
        ctr.compute(predictions=[-1.0, 0.2], references=[0, 1])
    with pytest.raises(ValueError, match="one class"):
        ctr.compute(predictions=[0.1, 0.2], references=[1, 1])
    with pytest.raises(ValueError, match="user_ids"):
        ctr.compute(predictions=[0.1, 0.2], references=[0, 1], user_ids=[1])


def test_auc_bootstrap_ci_matches_brute_force():
    p, y, u = _random_ctr(n=300, users=30)
    low, high = M.auc_bootstrap_ci(p, y, u, n_boot=64, seed=3)
    # the same replicates, computed naively with sklearn on repeated impressions
    users, idx = np.unique(u, return_inverse=True)
    draws = np.random.default_rng(3).integers(0, len(users), size=(64, len(users)))
    aucs = []
    for d in draws:
        reps = np.bincount(d, minlength=len(users))[idx]
        aucs.append(roc_auc_score(np.repeat(y, reps), np.repeat(p, reps)))
    assert (low, high) == pytest.approx((np.quantile(aucs, 0.025), np.quantile(aucs, 0.975)))
    assert low < roc_auc_score(y, p) < high
    assert M.auc_bootstrap_ci(p, y, u, n_boot=64, seed=3) == (low, high)


def test_paired_bootstrap_uses_the_same_draws_for_both_models():
    p, y, u = _random_ctr(n=300, users=30)
    better = np.where(y == 1, 0.5 + p / 2, p)  # every click scored higher: AUC up on every replicate
    a, b = M.auc_bootstrap(better, y, u, n_boot=64, seed=3), M.auc_bootstrap(p, y, u, n_boot=64, seed=3)
    assert a.shape == b.shape == (64,) and (a > b).all()
    low, high = M.paired_bootstrap_ci(a, b)
    assert 0 < low <= high
    assert M.paired_bootstrap_ci(b, b) == (0.0, 0.0)
    # the pairing matters: unpaired CIs of the two models overlap, the paired one excludes 0
    noisy = np.clip(p + np.random.default_rng(0).normal(0, 0.02, size=p.shape), 0, 1)
    c = M.auc_bootstrap(noisy, y, u, n_boot=64, seed=3)
    assert M.auc_bootstrap_ci(noisy, y, u, n_boot=64, seed=3)[0] < np.quantile(b, 0.975)
    assert np.quantile(c - b, 0.975) - np.quantile(c - b, 0.025) < np.quantile(b, 0.975) - np.quantile(b, 0.025)
    with pytest.raises(ValueError, match="shape"):
        M.paired_bootstrap_ci(a, b[:10])


# ---------------------------------------------------------------- explanation
def _peter_bleu(hyps, refs, max_order):
    """Independent BLEU as in PETER (tensorflow/nmt compute_bleu, no smoothing)."""
    matches, possible = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for h, r in zip(hyps, refs):
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(r)
        for n in range(1, max_order + 1):
            hc = Counter(tuple(h[i : i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
            matches[n - 1] += sum((hc & rc).values())
            possible[n - 1] += sum(hc.values())
    prec = [m / p if p else 0.0 for m, p in zip(matches, possible)]
    geo = math.exp(sum(math.log(x) for x in prec) / max_order) if min(prec) > 0 else 0.0
    ratio = hyp_len / ref_len
    return 100 * geo * (1.0 if ratio > 1 else math.exp(1 - 1 / ratio))


HYPS = ["the room was very clean and the staff friendly", "great location near the beach",
        "the breakfast was good", "the room was very clean and the staff friendly", "bed is comfortable"]
REFS = ["the room was clean and the staff was very friendly", "the location is great near the old town",
        "breakfast was good but small", "the pool area is nice", "the bed is very comfortable"]


def test_explanation_hand_computed(explanation):
    out = explanation.compute(
        predictions=["the room is clean", "the room is clean"], references=["the room was clean", "great staff"],
        features=["room", "staff"], feature_vocab=["room", "staff", "bed"],
    )
    assert out["bleu1"] == pytest.approx(100 * 3 / 8)  # 3 clipped unigram matches of 8, no brevity penalty
    assert out["bleu4"] == 0.0
    assert out["rouge1"] == pytest.approx(100 * (0.75 + 0.0) / 2)
    assert (out["usr"], out["usn"]) == (0.5, 1)
    assert out["fmr"] == 0.5  # "room" found in sample 1, "staff" missing in sample 2
    assert out["fcr"] == pytest.approx(1 / 3)
    assert out["div"] == 1.0  # the only pair shares {"room"}


def test_explanation_agrees_with_sacrebleu_and_rouge_score(explanation):
    out = explanation.compute(predictions=HYPS, references=REFS)
    assert out["bleu4"] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS], smooth_method="none").score)
    assert out["bleu4"] > 0
    toks = lambda xs: [x.split() for x in xs]  # noqa: E731
    for order in (1, 4):
        assert out[f"bleu{order}"] == pytest.approx(_peter_bleu(toks(HYPS), toks(REFS), order))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    scores = [scorer.score(r, h) for h, r in zip(HYPS, REFS)]
    for key in ("rouge1", "rouge2", "rougeL"):
        assert out[key] == pytest.approx(100 * np.mean([s[key].fmeasure for s in scores]))
    assert out["usr"] == pytest.approx(4 / 5)
    # token lists give the same numbers as whitespace strings
    assert explanation.compute(predictions=toks(HYPS), references=toks(REFS)) == out


def test_feature_metrics_multiword_and_div_matches_pairwise():
    preds = [s.split() for s in HYPS]
    vocab = ["room", "staff", "location", "breakfast", "bed", "pool", "battery life"]
    found = M.detected_features(preds + [["long", "battery", "life"]], vocab)
    assert found[-1] == {("battery", "life")}
    pairwise = np.mean([len(a & b) for a, b in combinations(found, 2)])
    assert M.feature_diversity(found) == pytest.approx(pairwise)
    assert M.feature_coverage_ratio(found, len(vocab)) == pytest.approx(6 / 7)
    assert M.feature_matching_ratio([["battery", "life", "ok"], ["life", "battery"]], ["battery life"] * 2) == 0.5
    with pytest.raises(ValueError, match="empty feature"):
        M.feature_matching_ratio([["a"]], [""])


def test_degeneration_metrics_hand_computed(explanation):
    preds = ["i love the love the guitar", "a a great pick", "great pick", ""]
    out = explanation.compute(predictions=preds, references=["x"] * 4)
    # unigrams: 6 + 4 + 2 = 12 tokens, distinct {i, love, the, guitar, a, great, pick} = 7
    assert out["distinct1"] == pytest.approx(7 / 12)
    # bigrams: 5 + 3 + 1 = 9, distinct: i-love love-the the-love the-guitar a-a a-great great-pick = 7
    assert out["distinct2"] == pytest.approx(7 / 9)
    assert out["repeat_rate"] == pytest.approx(2 / 4)  # "love the love the" (n=2), "a a" (n=1)
    assert out["empty_rate"] == pytest.approx(1 / 4)
    assert out["avg_length"] == pytest.approx(12 / 4) and out["length_ratio"] == pytest.approx(12 / 4)
    # "the love the" repeats nothing; with n = 2 a bigram may not occur twice: "love the" does, "a a" still counts
    assert not M.loops("the love the".split())
    assert explanation.compute(predictions=preds, references=["x"] * 4, repeat_ngram_size=2)["repeat_rate"] == 0.5
    assert explanation.compute(predictions=preds, references=["x"] * 4, repeat_ngram_size=1)["repeat_rate"] == 0.5


def test_phrase_precision_hand_computed(explanation):
    refs = ["i love the strap", "the guitar is great"]
    # generated bigrams: i-love x2, love-the x2, the-guitar x2 = 6; each written once in the pooled references
    copies = explanation.compute(predictions=["i love the guitar"] * 2, references=refs)
    assert copies["phrase_precision"] == pytest.approx(3 / 6)
    # the references' own sentences, whichever pair they are given to: every bigram is people's, none overused
    assert explanation.compute(predictions=refs[::-1], references=refs)["phrase_precision"] == 1.0
    assert M.phrase_precision([["great"], []], [["great"]]) == 0.0  # no bigrams at all
    assert M.phrase_precision([["a", "b", "c"]], [["x", "b", "c", "a", "b"]], n=3) == 0.0


def test_length_ratio_is_what_the_brevity_penalty_reads(explanation):
    refs = ["the strap is very nice for the price", "these strings sound great"]  # 12 reference tokens
    full = explanation.compute(predictions=refs, references=refs)
    short = explanation.compute(predictions=["the strap is very nice", "these strings sound great"], references=refs)
    assert full["length_ratio"] == 1.0 and short["length_ratio"] == pytest.approx(9 / 12)
    # every word of the short ones is right (unigram precision 1), yet BLEU-1 = the brevity penalty
    assert short["bleu1"] == pytest.approx(100 * np.exp(1 - 1 / short["length_ratio"]))
    # 8 generated tokens of which 7 are in their reference: BLEU-1 = 100 * exp(1 - 12 / 8) * 7 / 8
    mixed = explanation.compute(predictions=["the strap is bad", "these strings sound great"], references=refs)
    assert mixed["bleu1"] == pytest.approx(100 * np.exp(1 - 12 / 8) * 7 / 8)


@pytest.mark.parametrize("text, loops", [
    ("the tone is a great tone and the tone and the tone and the tone", True),  # period 3, missed by 1-2-grams
    ("this is a great guitar , and the guitar is a great guitar", True),  # "is a great" twice, not back to back
    ("great for the price and great for the price", True),  # period 5, cut short
    ("the sound is great and the price is great", False),  # words recur, no 3-gram twice
    ("i love these strings", False),
])
def test_loops_of_any_period(text, loops):
    assert M.loops(text.split()) is loops


def test_loop_positions_are_the_later_copies():
    text = "easy to use and easy to use".split()
    assert M.loop_positions(text) == {4, 5, 6}  # the second "easy to use"
    assert M.loop_positions("the love the love it".split()) == {2, 3}
    assert M.loop_positions("a a b".split()) == {1}
    assert M.loop_positions("the sound is great and the price is great".split()) == set()


def test_degenerate_output_scores_low_diversity(explanation):
    """A model that writes the same word every time gets distinct-2 near 0 and repeat rate 1."""
    out = explanation.compute(predictions=["the " * 15] * 278, references=["the guitar sounds great"] * 278)
    assert out["repeat_rate"] == 1.0
    assert out["distinct2"] < 0.001 and out["usr"] < 0.01


# ---------------------------------------------------------------- rating
def test_rating_clips_and_agrees_with_sklearn(rating):
    out = rating.compute(predictions=[5.7, 3.0, 0.2], references=[5, 4, 1])
    assert out["mae"] == pytest.approx((0 + 1 + 0) / 3)  # 5.7 -> 5, 0.2 -> 1
    assert out["rmse"] == pytest.approx(math.sqrt(1 / 3))
    rng = np.random.default_rng(0)
    pred, ref = rng.uniform(0, 6, 50), rng.integers(1, 6, 50)
    out = rating.compute(predictions=pred, references=ref, min_rating=1, max_rating=5)
    assert out["rmse"] == pytest.approx(math.sqrt(mean_squared_error(ref, np.clip(pred, 1, 5))))
    assert out["mae"] == pytest.approx(mean_absolute_error(ref, np.clip(pred, 1, 5)))
    with pytest.raises(ValueError, match="min_rating"):
        rating.compute(predictions=[1.0], references=[1.0], min_rating=5, max_rating=1)
