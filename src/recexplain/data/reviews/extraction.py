"""Turn review texts into (feature, opinion, explanation, sentiment) the way PETER's data was made.

PETER's releases were built with the Sentires phrase-level sentiment toolkit
(a POS tagger and an aspect/opinion lexicon); neither downloads here, so this
module uses a documented frequency heuristic instead:

1. **Text.** Reviews are lowercased and split into tokens with `TOKEN_PATTERN`
   (runs of word characters, kept together across apostrophes as in "don't",
   every other non-space character alone), the same
   split the explanation tokenizer uses; sentences end at `. ! ?` (also when a
   capital letter follows without a space: "affordable.I did") or a newline.
2. **Features** (aspect nouns). A candidate is a token right after a
   determiner/possessive (`the my these those your its their our`) that is
   alphabetic, at least 3 letters, not an English stopword (scikit-learn's
   list), not a VADER lexicon word and not in `GENERIC_NOUNS` (words such as
   "way", "thing", "product" that name no aspect). A candidate must end its
   noun phrase in at least `min_head_ratio` of its occurrences (the next token
   is a stopword or punctuation: "the *sound* is", "for the *price*."), which
   drops adjectives and modifiers ("the *little* ...", "the *fender* ..."),
   and at least `min_determiner_ratio` of all its occurrences must follow a
   determiner, which drops words mostly used as verbs ("it *sounds* great",
   "*looking* for").
   Candidates seen in at least `min_feature_count` reviews are features (at
   most `max_features`, the most frequent).
3. **Opinions.** Opinion words are the VADER lexicon's alphabetic words minus
   `NON_OPINION_WORDS` (function-like entries such as "like", "well", "play").
4. **Explanations.** A sentence qualifies when it has at most `max_words`
   tokens (trailing/leading punctuation stripped) and an opinion word within
   `window` tokens of a feature. Per review the best sentence is kept: the
   closest feature/opinion pair, then the stronger opinion word (VADER
   valence), then the earlier sentence. One record per review; reviews
   without a qualifying sentence yield none (counted and logged by the caller).
5. **Sentiment** is the sign of the sentence's VADER compound score (1, 0 or
   -1 with VADER's usual +-0.05 neutral band), so "not great" is negative.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Tuple

# Extraction defaults (PETER's Amazon data: features in >= 20 reviews, the 200 most frequent; sentences <= 20 tokens;
# an opinion word within 3 tokens of the feature)
MIN_FEATURE_COUNT, MAX_FEATURES, MAX_SENTENCE_WORDS, OPINION_WINDOW = 20, 200, 20, 3
TOKEN_PATTERN = r"<[^<>\s]+>|\w+(?:'\w+)*|[^\w\s]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_SENTENCE_END = re.compile(r"(?<=[.!?])(?=[A-Z])|(?<=[.!?])\s+|[\r\n]+")

DETERMINERS = frozenset("the my these those your its their our".split())
GENERIC_NOUNS = frozenset(
    """way thing things time times job fact review reviews opinion end difference purchase past year years
    point rest stuff one ones reason day days future world type idea people person wife son daughter husband
    kids kid baby life experience expectations market house company use need needs lot bit kind sort others
    guy friend friends product products item items unit amazon order money question""".split()
)
NON_OPINION_WORDS = frozenset(
    """like likes liked well play plays played playing yes no please want wants wanted help helps helped
    pretty ok okay care cares huge matter big kind true attachment heroes number won cut screw amazon delay
    gain loss boost support protect top fit""".split()
)


def tokenize(text: str) -> List[str]:
    """Lowercased tokens of `text` (word runs and single punctuation marks)."""
    return _TOKEN_RE.findall(text.replace("<", " ").replace(">", " ").replace("\u2019", "'").lower())


def normalize_text(text: str) -> str:
    """`text` as space-separated lowercase tokens: the form explanations are stored and scored in."""
    return " ".join(tokenize(text))


def split_sentences(text: str) -> List[List[str]]:
    """Sentences of a review as token lists, with leading/trailing punctuation removed."""
    sentences = []
    for chunk in _SENTENCE_END.split(text):
        tokens = tokenize(chunk)
        while tokens and not tokens[0][0].isalnum():
            tokens.pop(0)
        while tokens and not tokens[-1][0].isalnum():
            tokens.pop()
        if tokens:
            sentences.append(tokens)
    return sentences


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def opinion_lexicon() -> Dict[str, float]:
    """VADER's alphabetic lexicon words (minus `NON_OPINION_WORDS`) with their valence."""
    return {w: v for w, v in _vader().lexicon.items() if w.isalpha() and w not in NON_OPINION_WORDS}


def sentence_sentiment(text: str) -> int:
    """1 / 0 / -1 from VADER's compound score (neutral band +-0.05)."""
    compound = _vader().polarity_scores(text)["compound"]
    return 1 if compound >= 0.05 else (-1 if compound <= -0.05 else 0)


def mine_features(
    texts: Iterable[str],
    min_feature_count: int = MIN_FEATURE_COUNT,
    max_features: int = MAX_FEATURES,
    min_head_ratio: float = 0.5,
    min_determiner_ratio: float = 0.1,
) -> List[str]:
    """Frequent aspect nouns of a corpus (step 2 of the module docstring), most frequent first."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lexicon = _vader().lexicon
    doc_freq, heads, total, anywhere = Counter(), Counter(), Counter(), Counter()
    for text in texts:
        tokens = tokenize(text)
        anywhere.update(tokens)
        seen = set()
        for i, det in enumerate(tokens[:-1]):
            word = tokens[i + 1]
            if det not in DETERMINERS or not word.isalpha() or len(word) < 3:
                continue
            if word in ENGLISH_STOP_WORDS or word in lexicon or word in GENERIC_NOUNS:
                continue
            nxt = tokens[i + 2] if i + 2 < len(tokens) else "."
            total[word] += 1
            heads[word] += nxt in ENGLISH_STOP_WORDS or not nxt[0].isalnum()
            seen.add(word)
        doc_freq.update(seen)
    ranked = sorted(doc_freq.items(), key=lambda kv: (-kv[1], kv[0]))
    keep = [
        w for w, n in ranked
        if n >= min_feature_count and heads[w] / total[w] >= min_head_ratio
        and total[w] / anywhere[w] >= min_determiner_ratio
    ]
    return keep[:max_features]


@dataclass(frozen=True)
class Explanation:
    """One extracted explanation: the feature, its opinion word, the sentence and its sentiment."""

    feature: str
    opinion: str
    explanation: str
    sentiment: int


def best_explanation(
    text: str, features: Iterable[str], max_words: int = MAX_SENTENCE_WORDS, window: int = OPINION_WINDOW
) -> Optional[Explanation]:
    """The review's best sentence that pairs a feature with a nearby opinion word (step 4), or None."""
    features = features if isinstance(features, (set, frozenset)) else frozenset(features)
    opinions = opinion_lexicon()
    best: Optional[Tuple[tuple, List[str], str, str]] = None
    for index, tokens in enumerate(split_sentences(text)):
        if len(tokens) > max_words:
            continue
        feat_pos = [i for i, t in enumerate(tokens) if t in features]
        op_pos = [i for i, t in enumerate(tokens) if t in opinions]
        pairs = [(abs(f - o), f, o) for f in feat_pos for o in op_pos if 0 < abs(f - o) <= window]
        if not pairs:
            continue
        dist, f, o = min(pairs)
        key = (dist, -abs(opinions[tokens[o]]), index)
        if best is None or key < best[0]:
            best = (key, tokens, tokens[f], tokens[o])
    if best is None:
        return None
    _, tokens, feature, opinion = best
    sentence = " ".join(tokens)
    return Explanation(feature, opinion, sentence, sentence_sentiment(sentence))
