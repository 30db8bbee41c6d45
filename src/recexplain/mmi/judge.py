"""An independent rating judge for explanations: TF-IDF + logistic regression (scikit-learn).

It is trained on held-out *real* explanation sentences with their real ratings and never sees
the reward model, so "the judged rating of a generated explanation equals the predicted
rating" measures alignment without trusting the MI estimator that PPO optimised.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Dict, Sequence, Union

import numpy as np


def three_class(ratings) -> np.ndarray:
    """Sentiment class of ratings: 0 = negative (1-2), 1 = neutral (3), 2 = positive (4-5)."""
    r = np.rint(np.asarray(ratings, dtype=float)).clip(1, 5)
    return np.where(r <= 2, 0, np.where(r == 3, 1, 2))


def round_ratings(ratings) -> np.ndarray:
    """Ratings rounded and clipped to the integers 1-5 (predicted ratings are floats)."""
    return np.rint(np.asarray(ratings, dtype=float)).clip(1, 5).astype(int)


class RatingJudge:
    """5-class rating classifier of explanation text.

    Args:
        C (`float`): inverse regularisation strength of the logistic regression.
        class_weight (`str` or `None`): `"balanced"` (default) weighs the rare low ratings up, so that the judge
            reads sentiment words instead of answering the majority rating for every sentence.
        ngram_range (`tuple`): word n-grams of the TF-IDF features.
    """

    def __init__(self, C: float = 2.0, class_weight="balanced", ngram_range=(1, 2)):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(token_pattern=r"\S+", ngram_range=ngram_range, sublinear_tf=True, lowercase=True),
            LogisticRegression(C=C, class_weight=class_weight, max_iter=2000),
        )

    def fit(self, texts: Sequence[str], ratings) -> "RatingJudge":
        self.pipeline.fit(list(texts), round_ratings(ratings))
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Judged rating 1-5 of each text."""
        return self.pipeline.predict(list(texts)).astype(int)

    def agreement(self, texts: Sequence[str], ratings) -> Dict[str, float]:
        """Share of texts whose judged rating equals `ratings` (rounded), on 5 and on 3 classes."""
        judged, target = self.predict(texts), round_ratings(ratings)
        return {"acc": float(np.mean(judged == target)),
                "acc_3class": float(np.mean(three_class(judged) == three_class(target)))}

    def save(self, path: Union[str, Path]) -> None:
        with open(path, "wb") as f:
            pickle.dump(self.pipeline, f)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "RatingJudge":
        """Load a judge written by `save` (a pickle: only open files you trust)."""
        judge = cls.__new__(cls)
        with open(path, "rb") as f:
            judge.pipeline = pickle.load(f)
        return judge
