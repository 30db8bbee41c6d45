"""The embedded default: a deterministic SYNTHETIC behaviour dataset with planted structure.

Nothing here is real data; the dataset is always named "synthetic". The planted structure:

- every item has one category (`cat{c}`), a price band (`price{b}`) and a key feature word;
- every user has a preference distribution over categories concentrated on 3 preferred
  categories, and an engagement level (propensity for cart/fav/buy over pv);
- order: the next event stays in the current category with high probability (higher after
  cart/fav), jumps to a category drawn from the user's preferences otherwise, and moves on
  after a buy; within-category steps are minutes apart, jumps hours to days (time_gap signal);
- behaviour: cart/fav/buy are more likely on preferred categories and for engaged users.

So side information (category, behaviour, time gap) and order carry CTR signal. The latent parts
are exposed as `SyntheticWorld` (`make_synthetic_world`) so that other generators (e.g. synthetic
reviews) can reuse the same users and items.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from .sequences import BehaviorData, sequences_from_events

NAME = "synthetic"
BEHAVIORS = ("pv", "cart", "fav", "buy")
PRICE_BANDS = 3
FEATURE_WORDS = [
    "battery", "screen", "sound", "price", "design", "color", "size", "quality", "comfort", "taste",
    "smell", "texture", "material", "weight", "durability", "packaging", "service", "delivery", "style", "fit",
    "speed", "warranty", "scent", "grip", "finish", "capacity", "noise", "brightness", "strap", "lens",
]
FEATURES_PER_CATEGORY = 3
NUM_PREFERRED = 3


@dataclass
class SyntheticWorld:
    """Latent structure of the synthetic data (arrays indexed by user / item / category index).

    Attributes:
        user_tokens `[U]`, item_tokens `[I]`: the ids used in the sequences ("u0", "i0", ...).
        category_names `[C]`: attribute tokens ("cat0", ...).
        item_category `[I]` int, item_price_band `[I]` int, item_popularity `[I]` float (sums to 1 per category).
        item_key_feature `[I]` str: one word of `category_features[item_category[i]]`.
        category_features `[C][3]` str: feature words of each category.
        user_category_weights `[U, C]` float, rows sum to 1.
        user_preferred_categories `[U][3]` int, most preferred first.
        user_engagement `[U]` float in (0, 1).
    """

    num_users: int
    num_items: int
    num_categories: int
    seed: int
    user_tokens: List[str]
    item_tokens: List[str]
    category_names: List[str]
    item_category: np.ndarray
    item_price_band: np.ndarray
    item_popularity: np.ndarray
    item_key_feature: List[str]
    category_features: List[List[str]]
    user_category_weights: np.ndarray
    user_preferred_categories: List[List[int]]
    user_engagement: np.ndarray

    def affinity(self, user: int, item: int) -> float:
        """Preference of user index `user` for item index `item`, in [0, 1] (1 = favourite category)."""
        w = self.user_category_weights[user]
        return float(w[self.item_category[item]] / w.max())

    def item_attributes(self, item: int) -> List[str]:
        return [self.category_names[self.item_category[item]], f"price{self.item_price_band[item]}"]


def make_synthetic_world(num_users: int = 500, num_items: int = 300, num_categories: int = 20, seed: int = 0) -> SyntheticWorld:
    """Draw the latent users, items and categories (deterministic in `seed`)."""
    if num_categories < NUM_PREFERRED + 1 or num_items < num_categories or num_users < 1:
        raise ValueError(f"need num_categories > {NUM_PREFERRED}, num_items >= num_categories, num_users >= 1")
    rng = np.random.default_rng([seed, 0])
    item_category = np.concatenate([np.arange(num_categories), rng.integers(0, num_categories, num_items - num_categories)])
    rng.shuffle(item_category)
    popularity = rng.pareto(1.5, num_items) + 1.0
    for c in range(num_categories):
        members = item_category == c
        popularity[members] /= popularity[members].sum()
    words = np.array(FEATURE_WORDS)
    category_features = [list(rng.choice(words, FEATURES_PER_CATEGORY, replace=False)) for _ in range(num_categories)]
    item_key_feature = [category_features[c][rng.integers(FEATURES_PER_CATEGORY)] for c in item_category]
    weights = np.full((num_users, num_categories), 0.15 / num_categories)
    preferred = []
    for u in range(num_users):
        top = rng.choice(num_categories, NUM_PREFERRED, replace=False)
        share = np.sort(rng.dirichlet(np.full(NUM_PREFERRED, 2.0)))[::-1]
        weights[u, top] += 0.85 * share
        preferred.append([int(c) for c in top])
    return SyntheticWorld(
        num_users=num_users, num_items=num_items, num_categories=num_categories, seed=seed,
        user_tokens=[f"u{u}" for u in range(num_users)], item_tokens=[f"i{i}" for i in range(num_items)],
        category_names=[f"cat{c}" for c in range(num_categories)],
        item_category=item_category, item_price_band=rng.integers(0, PRICE_BANDS, num_items),
        item_popularity=popularity, item_key_feature=item_key_feature, category_features=category_features,
        user_category_weights=weights / weights.sum(1, keepdims=True), user_preferred_categories=preferred,
        user_engagement=rng.beta(2.0, 3.0, num_users),
    )


def _simulate_user(world: SyntheticWorld, u: int, length: int, rng: np.random.Generator, members: List[np.ndarray]):
    """One user's events: (item indices, behaviours, timestamps)."""
    w = world.user_category_weights[u]
    items, behaviors, times = [], [], []
    seen = np.ones(world.num_items)
    t = 1.7e9 + rng.uniform(0, 30 * 86400)
    category, last = int(rng.choice(world.num_categories, p=w)), "pv"
    for step in range(length):
        stay = {"pv": 0.55, "cart": 0.8, "fav": 0.8, "buy": 0.1}[last]
        if step > 0 and rng.random() >= stay:
            category = int(rng.choice(world.num_categories, p=w))
            t += rng.exponential(36 * 3600)  # a new session: hours to days later
        elif step > 0:
            t += rng.exponential(600)  # same session: minutes later
        pool = members[category]
        p = world.item_popularity[pool] * seen[pool]
        item = int(rng.choice(pool, p=p / p.sum()))
        seen[item] = 0.2  # revisits happen, but less often than new items
        strength = world.user_engagement[u] * w[category] / w.max()
        if rng.random() < 0.05 + 0.6 * strength:
            last = str(rng.choice(BEHAVIORS[1:], p=[0.45, 0.3, 0.25]))
        else:
            last = "pv"
        items.append(item)
        behaviors.append(last)
        times.append(int(t))
    return items, behaviors, times


def make_synthetic_behavior(
    num_users: int = 500, num_items: int = 300, num_categories: int = 20, seed: int = 0,
    min_length: int = 20, max_length: int = 40,
) -> BehaviorData:
    """The SYNTHETIC default dataset (name "synthetic"): `num_users` sequences of
    `min_length..max_length` events; `BehaviorData.latent` holds the `SyntheticWorld`."""
    if not 3 <= min_length <= max_length:
        raise ValueError(f"need 3 <= min_length <= max_length, got {min_length}, {max_length}")
    world = make_synthetic_world(num_users, num_items, num_categories, seed)
    rng = np.random.default_rng([seed, 1])
    members = [np.flatnonzero(world.item_category == c) for c in range(num_categories)]
    users, items, behaviors, times = [], [], [], []
    for u in range(num_users):
        it, be, ti = _simulate_user(world, u, int(rng.integers(min_length, max_length + 1)), rng, members)
        users += [world.user_tokens[u]] * len(it)
        items += [world.item_tokens[i] for i in it]
        behaviors += be
        times += ti
    attributes = {world.item_tokens[i]: world.item_attributes(i) for i in range(num_items)}
    data = sequences_from_events(NAME, users, items, behaviors, attributes, timestamps=times,
                                 source={"format": "synthetic", "seed": str(seed)})
    data.latent = world
    return data
