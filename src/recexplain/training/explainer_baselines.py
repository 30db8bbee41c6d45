"""Non-neural baselines for the explanation benchmark, computed on the same split as the models."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np


def item_retrieval(train_records: Sequence[Dict], test_records: Sequence[Dict]) -> List[str]:
    """For each test pair, the training explanation of the same item closest to the user's own training explanations.

    Closeness: cosine of TF-IDF vectors (fit on the training explanations), against the mean vector of the
    user's training explanations. Every test item is in training (the split guarantees it).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["explanation"] for r in train_records]
    vectors = TfidfVectorizer(token_pattern=r"\S+", lowercase=False).fit_transform(texts)  # [N, V], rows L2-normed
    by_user, by_item = defaultdict(list), defaultdict(list)
    for index, r in enumerate(train_records):
        by_user[r["user"]].append(index)
        by_item[r["item"]].append(index)
    out = []
    for r in test_records:
        candidates = by_item.get(r["item"])
        if not candidates:
            raise ValueError(f"test item {r['item']!r} has no training explanation")
        profile = np.asarray(vectors[by_user[r["user"]]].mean(axis=0)) if by_user.get(r["user"]) else None
        if profile is None:
            out.append(texts[candidates[0]])
            continue
        scores = np.asarray(vectors[candidates] @ profile.T).ravel()  # [C]
        out.append(texts[candidates[int(scores.argmax())]])
    return out


def mean_rating(train_records: Sequence[Dict], test_records: Sequence[Dict]) -> List[float]:
    """The training mean rating for every test pair."""
    mean = float(np.mean([r["rating"] for r in train_records]))
    return [mean] * len(test_records)


def bias_rating(
    train_records: Sequence[Dict], test_records: Sequence[Dict], reg: float = 5.0, iterations: int = 10
) -> List[float]:
    """Mean + user bias + item bias (ridge-regularised, alternating least squares) for every test pair."""
    ratings = np.array([r["rating"] for r in train_records], dtype=np.float64)
    users = [r["user"] for r in train_records]
    items = [r["item"] for r in train_records]
    mean = ratings.mean()
    b_user, b_item = defaultdict(float), defaultdict(float)
    for _ in range(iterations):
        for keys, own, other, other_keys in ((users, b_user, b_item, items), (items, b_item, b_user, users)):
            sums, counts = defaultdict(float), defaultdict(int)
            for key, other_key, rating in zip(keys, other_keys, ratings):
                sums[key] += rating - mean - other[other_key]
                counts[key] += 1
            for key in sums:
                own[key] = sums[key] / (counts[key] + reg)
    return [mean + b_user[r["user"]] + b_item[r["item"]] for r in test_records]
