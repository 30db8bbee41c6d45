"""Explanation-quality metrics (PETER conventions) as a local `evaluate` module.

Text quality: BLEU-1/4 (sacrebleu), ROUGE-1/2/L F (rouge-score), USR.
Degeneration: distinct-1/2 (Li et al., NAACL 2016), the repeat rate and the phrase precision.
Feature-level (Li et al., PETER, ACL 2021): FMR, FCR, DIV.
Self-contained so that the folder works on its own with `evaluate.load(path)`.
"""
from collections import Counter

import datasets
import evaluate
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

_DESCRIPTION = """
Explanation metrics following PETER's evaluation (Li et al., ACL 2021).
Texts are compared as whitespace-separated tokens (pass token lists, or
strings that are already tokenized); no lowercasing or re-tokenization.

- `bleu1`, `bleu4`: corpus BLEU with maximum n-gram order 1 and 4, one reference
  per sample, no smoothing, with brevity penalty (sacrebleu, `tokenize="none"`),
  as a percentage (0-100), like PETER.
- `rouge1`, `rouge2`, `rougeL`: mean over samples of the ROUGE F-measure
  (rouge-score with a whitespace tokenizer, no stemming), as a percentage (0-100).
- `usr`: unique sentence ratio, distinct generated token sequences / samples,
  a fraction (0-1); `usn` is the number of distinct sequences.
- `distinct1`, `distinct2`: distinct unigrams / bigrams over all generated
  explanations divided by the number of unigrams / bigrams (corpus level,
  Li et al., NAACL 2016), fractions (0-1): low when every explanation reuses
  the same words.
- `phrase_precision`: share of all generated bigrams that occur among the
  references of all samples pooled, each counted at most as often as it
  occurs there (clipped, as BLEU's precision, but not paired with one
  sample), a fraction (0-1; 1 for the references themselves): low for stock
  phrases used more often than people use them ("and i would recommend it"
  closing every explanation) and for word salad (bigrams nobody wrote), both
  of which distinct-n, BLEU-1 and ROUGE-L can miss.
- `repeat_rate`: share of generated explanations that loop, a fraction: some
  n-gram shorter than `repeat_ngram_size` (default 3) is immediately followed by
  itself ("a a", "the love the love"), or some `repeat_ngram_size`-gram occurs
  twice anywhere ("the tone and the tone and", "is a great guitar , and the
  guitar is a great guitar"); the loops of a degenerate greedy decoder, of any
  period.
- `empty_rate`: share of generated explanations without any token.
- `avg_length`: mean tokens per generated explanation; `length_ratio`: generated
  tokens / reference tokens over the corpus, what BLEU's brevity penalty reads
  (`exp(1 - 1 / length_ratio)` below 1): BLEU falls with shorter sentences even
  when the words chosen are as good.
- With `features` (the ground-truth feature of each sample):
  `fmr`, feature matching ratio: fraction of generated explanations that
  contain their own ground-truth feature (as a contiguous token sequence).
- With `feature_vocab` (every feature of the dataset):
  `fcr`, feature coverage ratio: distinct vocabulary features that appear in
  any generated explanation / vocabulary size (fraction);
  `div`, feature diversity: mean over all pairs of samples of the number of
  vocabulary features that both generated explanations contain (lower = more
  diverse; PETER's DIV).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str` or of `list` of `str`): generated explanations.
    references (`list` of `str` or of `list` of `str`): one ground truth per sample.
    features (`list` of `str`, *optional*): ground-truth feature per sample; enables `fmr`.
    feature_vocab (`list` of `str`, *optional*): all features; enables `fcr` and `div`.
    repeat_ngram_size (`int`, *optional*, defaults to 3): n-grams of this length may not occur twice, shorter ones
        not twice back to back.
    Pass `features`/`feature_vocab`/`repeat_ngram_size` to `compute` (not to `add_batch`).
Returns:
    `dict`: `bleu1`, `bleu4`, `rouge1`, `rouge2`, `rougeL` (percentages),
    `usr`, `distinct1`, `distinct2`, `phrase_precision`, `repeat_rate`, `empty_rate` (fractions), `usn` (count),
    `avg_length`, `length_ratio`,
    and when requested `fmr`, `fcr` (fractions), `div`.
Examples:
    >>> m = recexplain.metrics.load("explanation")
    >>> m.compute(predictions=["the room is clean"], references=["the room was clean"], features=["room"])
"""


class _WhitespaceTokenizer:
    """rouge-score tokenizer that keeps the caller's tokens unchanged."""

    def tokenize(self, text):
        return text.split()


def _tokens(text) -> list:
    return text.split() if isinstance(text, str) else [str(t) for t in text]


def _phrase(feature) -> tuple:
    phrase = tuple(_tokens(feature))
    if not phrase:
        raise ValueError(f"empty feature {feature!r}: every feature needs at least one token")
    return phrase


def _contains(tokens: list, phrase: tuple) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1))


def bleu(predictions: list, references: list, max_order: int) -> float:
    """Corpus BLEU (percentage) of token lists, one reference each, no smoothing."""
    scorer = BLEU(tokenize="none", smooth_method="none", max_ngram_order=max_order, force=True)
    hyps = [" ".join(p) for p in predictions]
    refs = [[" ".join(r) for r in references]]
    return float(scorer.corpus_score(hyps, refs).score)


def rouge(predictions: list, references: list) -> dict:
    """Mean ROUGE-1/2/L F-measure (percentages) of token lists."""
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_WhitespaceTokenizer())
    totals = Counter()
    for pred, ref in zip(predictions, references):
        for name, score in scorer.score(" ".join(ref), " ".join(pred)).items():
            totals[name] += score.fmeasure
    return {name: 100.0 * totals[name] / len(predictions) for name in ("rouge1", "rouge2", "rougeL")}


def unique_sentence_ratio(predictions: list) -> tuple:
    """`(usr, usn)`: share and number of distinct generated token sequences."""
    unique = {tuple(p) for p in predictions}
    return len(unique) / len(predictions), len(unique)


def distinct_n(predictions: list, n: int) -> float:
    """Corpus distinct-n: distinct n-grams / all n-grams over the predictions (0 when there are none)."""
    grams = [g for p in predictions for g in _ngrams(p, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _ngrams(tokens: list, n: int) -> list:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def phrase_precision(predictions: list, references: list, n: int = 2) -> float:
    """Clipped n-gram precision of all predictions against all references pooled (0 when there are no n-grams)."""
    generated = Counter(g for p in predictions for g in _ngrams(p, n))
    written = Counter(g for r in references for g in _ngrams(r, n))
    total = sum(generated.values())
    return sum(min(count, written[g]) for g, count in generated.items()) / total if total else 0.0


def loop_positions(tokens: list, n: int = 3) -> set:
    """Indices of the tokens that repeat earlier ones: the later copy of some k-gram (k < `n`) immediately followed by
    itself ("a a", "the love the love") and of some `n`-gram that occurred before ("the tone and the tone and"). A
    loop of any period p >= `n` repeats its first `n`-gram, so this catches all of them."""
    positions, seen = set(), set()
    for i in range(len(tokens)):
        gram = tuple(tokens[i : i + n])
        if len(gram) == n:
            if gram in seen:
                positions.update(range(i, i + n))
            seen.add(gram)
        for k in range(1, n):
            if i + 2 * k <= len(tokens) and tokens[i : i + k] == tokens[i + k : i + 2 * k]:
                positions.update(range(i + k, i + 2 * k))
    return positions


def loops(tokens: list, n: int = 3) -> bool:
    """Whether the tokens repeat themselves (`loop_positions` is not empty)."""
    return bool(loop_positions(tokens, n))


def repeat_rate(predictions: list, n: int = 3) -> float:
    """Share of predictions that `loops` (with `n`)."""
    return sum(loops(p, n) for p in predictions) / len(predictions)


def feature_matching_ratio(predictions: list, features: list) -> float:
    """Share of generated explanations that contain their ground-truth feature."""
    if len(features) != len(predictions):
        raise ValueError(f"features ({len(features)}) and predictions ({len(predictions)}) differ in length")
    hits = sum(_contains(p, _phrase(f)) for p, f in zip(predictions, features))
    return hits / len(predictions)


def detected_features(predictions: list, feature_vocab: list) -> list:
    """Per explanation, the set of vocabulary features it contains."""
    phrases = {_phrase(f) for f in feature_vocab}
    if not phrases:
        raise ValueError("feature_vocab is empty")
    return [{f for f in phrases if _contains(p, f)} for p in predictions]


def feature_coverage_ratio(found: list, vocab_size: int) -> float:
    """Distinct features appearing in any explanation / number of features."""
    return len(set().union(*found)) / vocab_size


def feature_diversity(found: list) -> float:
    """PETER's DIV: mean over sample pairs of |features_i & features_j|.

    Computed exactly as sum over features of C(count_f, 2) / C(n, 2), which
    equals the pairwise sum without the O(n^2) loop.
    """
    n = len(found)
    if n < 2:
        raise ValueError("DIV needs at least two samples")
    counts = Counter(f for s in found for f in s)
    return sum(c * (c - 1) / 2 for c in counts.values()) / (n * (n - 1) / 2)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Explanation(evaluate.Metric):
    """BLEU, ROUGE, USR, FMR, FCR and DIV for generated explanations."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Li, Zhang, Chen. Personalized Transformer for Explainable Recommendation. ACL 2021.",
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
                datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value("string")),
                        "references": datasets.Sequence(datasets.Value("string")),
                    }
                ),
            ],
            reference_urls=["https://github.com/lileipisces/PETER"],
        )

    def _compute(self, predictions, references, features=None, feature_vocab=None, repeat_ngram_size=3):
        if len(predictions) == 0:
            raise ValueError("no predictions given")
        if repeat_ngram_size < 1:
            raise ValueError(f"repeat_ngram_size must be >= 1, got {repeat_ngram_size}")
        preds = [_tokens(p) for p in predictions]
        refs = [_tokens(r) for r in references]
        out = {"bleu1": bleu(preds, refs, 1), "bleu4": bleu(preds, refs, 4), **rouge(preds, refs)}
        out["usr"], out["usn"] = unique_sentence_ratio(preds)
        out["distinct1"], out["distinct2"] = distinct_n(preds, 1), distinct_n(preds, 2)
        out["phrase_precision"] = phrase_precision(preds, refs)
        out["repeat_rate"] = repeat_rate(preds, repeat_ngram_size)
        out["empty_rate"] = sum(not p for p in preds) / len(preds)
        generated = sum(map(len, preds))
        out["avg_length"] = generated / len(preds)
        out["length_ratio"] = generated / max(1, sum(map(len, refs)))
        if features is not None:
            out["fmr"] = feature_matching_ratio(preds, list(features))
        if feature_vocab is not None:
            vocab = sorted(set(feature_vocab))
            found = detected_features(preds, vocab)
            out["fcr"] = feature_coverage_ratio(found, len(vocab))
            out["div"] = feature_diversity(found)
        return out
