"""SYNTHETIC explanation records for the synthetic users and items of `recexplain.data.behavior.synthetic`.

Nothing here is real data. Planted structure, so that models have something to learn:

- the rating depends on user and item: `1 + 1.5 * affinity(user, item) + 3 * quality(item)`
  plus small noise, rounded and clipped to 1-5 (`affinity` is the synthetic world's
  category preference, `quality` a per-item draw);
- the explanation mentions the item's key feature (otherwise, 20% of the time, another
  feature of its category) with an opinion word whose polarity follows the rating
  ("excellent" for 5 ... "terrible" for 1), in one of several sentence templates;
- users review items mostly from their preferred categories, some at random.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from ..behavior.synthetic import make_synthetic_world
from .extraction import sentence_sentiment

OPINIONS = {
    5: ("excellent", "great", "amazing", "perfect", "wonderful"),
    4: ("good", "nice", "solid", "pleasant"),
    3: ("fine", "acceptable", "fair"),
    2: ("poor", "weak", "disappointing"),
    1: ("terrible", "awful", "horrible", "bad"),
}
TEMPLATES = (
    "the {f} is {a}",
    "{a} {f}",
    "the {f} is really {a}",
    "i found the {f} {a}",
    "this one has a {a} {f}",
    "overall the {f} feels {a}",
    "the {f} turned out {a}",
    "{a} {f} for what it is",
)


def synthetic_explanation_records(
    num_users: int = 200,
    num_items: int = 100,
    num_categories: int = 10,
    reviews_per_user: int = 12,
    seed: int = 0,
) -> List[Dict]:
    """Records `user, item, rating, feature, opinion, explanation, sentiment` (SYNTHETIC, deterministic in `seed`)."""
    if reviews_per_user > num_items:
        raise ValueError(f"reviews_per_user ({reviews_per_user}) exceeds num_items ({num_items})")
    world = make_synthetic_world(num_users, num_items, num_categories, seed)
    rng = np.random.default_rng([seed, 7])
    quality = rng.uniform(0.0, 1.0, num_items)
    item_weight = world.item_popularity[None, :] * world.user_category_weights[:, world.item_category]
    records = []
    for u in range(num_users):
        p = 0.7 * item_weight[u] / item_weight[u].sum() + 0.3 / num_items
        for i in rng.choice(num_items, reviews_per_user, replace=False, p=p):
            score = 1.0 + 1.5 * world.affinity(u, i) + 3.0 * quality[i] + rng.normal(0.0, 0.3)
            rating = int(np.clip(np.rint(score), 1, 5))
            feature = world.item_key_feature[i]
            if rng.random() < 0.2:
                feature = str(rng.choice(world.category_features[world.item_category[i]]))
            opinion = str(rng.choice(OPINIONS[rating]))
            sentence = str(rng.choice(TEMPLATES)).format(f=feature, a=opinion)
            records.append({
                "user": world.user_tokens[u], "item": world.item_tokens[i], "rating": rating,
                "feature": feature, "opinion": opinion, "explanation": sentence,
                "sentiment": sentence_sentiment(sentence),
            })
    return records
