"""Per-user, time-ordered behaviour sequences: the common form every loader produces.

Each row of `BehaviorData.sequences` is one user; the list columns are aligned
per event (contracts.md, "Behaviour data"):

    user_id    str
    item_id    [T] str
    item_attr  [T, <=max_attrs] str   (the item's attributes at that event)
    behavior   [T] str                (rating "1".."5", pv/cart/fav/buy, "interact")
    time_gap   [T] str                (log2-bucketed gap to the previous event, see `time_gap_token`)
    rating     [T] float              (only for explicit-rating data, e.g. MovieLens)
"""
from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List as TList, Optional, Sequence

import datasets
from datasets import Features, List, Value

logger = logging.getLogger(__name__)

FIRST_EVENT = "first"
NO_TIME = "none"
MAX_GAP_BUCKET = 14  # 2**13 h ~ 341 days; longer gaps share the last bucket


def time_gap_token(seconds: Optional[float]) -> str:
    """Bucket a gap to the previous event: `"gap0"` (< 1 h), `"gap{k}"` for 2**(k-1) <= hours < 2**k.

    `None` (dataset without timestamps) gives `"none"`; the first event of a user is `"first"`
    (see `sequences_from_events`). Negative gaps cannot occur after sorting.
    """
    if seconds is None:
        return NO_TIME
    hours = seconds / 3600.0
    bucket = 0 if hours < 1 else min(int(math.floor(math.log2(hours))) + 1, MAX_GAP_BUCKET)
    return f"gap{bucket}"


def iter_rows(ds: datasets.Dataset, columns: Optional[Sequence[str]] = None) -> Iterator[Dict[str, Any]]:
    """Rows of `ds` as dicts, read in Arrow batches (much faster than `for row in ds`)."""
    if columns is not None:
        ds = ds.select_columns(list(columns))
    for batch in ds.iter(batch_size=1024):
        keys = list(batch)
        for values in zip(*(batch[k] for k in keys)):
            yield dict(zip(keys, values))


def _gap(before: Optional[float], after: Optional[float]) -> str:
    return NO_TIME if before is None or after is None else time_gap_token(after - before)


@dataclass
class BehaviorData:
    """A behaviour dataset: per-user sequences plus the item catalogue's attribute table.

    Attributes:
        name: dataset name (`"synthetic"` for the built-in generator).
        sequences: `datasets.Dataset`, one row per user (columns in the module docstring).
        item_attributes: item token -> attribute tokens, for every item of the catalogue.
        latent: the planted structure for synthetic data (`SyntheticWorld`), else None.
    """

    name: str
    sequences: datasets.Dataset
    item_attributes: Dict[str, TList[str]]
    latent: Any = None
    source: Dict[str, str] = field(default_factory=dict)

    @property
    def has_ratings(self) -> bool:
        return "rating" in self.sequences.column_names

    def statistics(self) -> Dict[str, Any]:
        """Users, items, events, attributes, behaviour counts and sequence lengths."""
        items, attrs, behaviors, lengths = set(), set(), Counter(), []
        for row in iter_rows(self.sequences, ["item_id", "item_attr", "behavior"]):
            items.update(row["item_id"])
            behaviors.update(row["behavior"])
            lengths.append(len(row["item_id"]))
            for a in row["item_attr"]:
                attrs.update(a)
        return {
            "dataset": self.name,
            "users": len(lengths),
            "items": len(items),
            "events": sum(lengths),
            "attributes": len(attrs),
            "behaviors": dict(sorted(behaviors.items(), key=lambda kv: (-kv[1], kv[0]))),
            "mean_length": sum(lengths) / max(len(lengths), 1),
            "min_length": min(lengths, default=0),
            "max_length": max(lengths, default=0),
        }


def sequence_features(with_rating: bool) -> Features:
    """The `datasets.Features` of `BehaviorData.sequences`."""
    spec = {
        "user_id": Value("string"),
        "item_id": List(Value("string")),
        "item_attr": List(List(Value("string"))),
        "behavior": List(Value("string")),
        "time_gap": List(Value("string")),
    }
    if with_rating:
        spec["rating"] = List(Value("float32"))
    return Features(spec)


def sequences_from_events(
    name: str,
    users: Sequence[str],
    items: Sequence[str],
    behaviors: Sequence[str],
    item_attributes: Dict[str, TList[str]],
    timestamps: Optional[Sequence[Optional[float]]] = None,
    ratings: Optional[Sequence[float]] = None,
    source: Optional[Dict[str, str]] = None,
) -> BehaviorData:
    """Group a flat event log (in file order) into per-user sequences sorted by time (ties: file order).

    Users keep their order of first appearance. A `None` timestamp (e.g. a truncated last row)
    sorts after the user's timed events and gets time_gap "none". Events whose item has no entry in
    `item_attributes` keep an empty attribute list; their number is logged.
    """
    n = len(users)
    if not (len(items) == len(behaviors) == n) or (timestamps is not None and len(timestamps) != n):
        raise ValueError("users, items, behaviors (and timestamps) must have the same length")
    by_user: Dict[str, TList[int]] = defaultdict(list)
    for i, u in enumerate(users):
        by_user[u].append(i)
    columns: Dict[str, list] = {k: [] for k in sequence_features(ratings is not None)}
    missing_attr = 0
    for user, idx in by_user.items():
        if timestamps is not None:
            # stable sort: ties keep file order; events without a timestamp (None) go last
            idx = sorted(idx, key=lambda i: (timestamps[i] is None, timestamps[i] or 0))
            gaps = [FIRST_EVENT] + [_gap(timestamps[a], timestamps[b]) for a, b in zip(idx, idx[1:])]
        else:
            gaps = [NO_TIME] * len(idx)
        seq_items = [items[i] for i in idx]
        attrs = []
        for it in seq_items:
            a = item_attributes.get(it)
            if a is None:
                missing_attr += 1
                a = []
            attrs.append(list(a))
        columns["user_id"].append(user)
        columns["item_id"].append(seq_items)
        columns["item_attr"].append(attrs)
        columns["behavior"].append([behaviors[i] for i in idx])
        columns["time_gap"].append(gaps)
        if ratings is not None:
            columns["rating"].append([float(ratings[i]) for i in idx])
    if missing_attr:
        logger.warning("%s: %d of %d events refer to items without attributes (kept, empty item_attr)", name, missing_attr, n)
    sequences = datasets.Dataset.from_dict(columns, features=sequence_features(ratings is not None))
    logger.info("%s: %d users, %d events", name, len(sequences), n)
    return BehaviorData(name=name, sequences=sequences, item_attributes=dict(item_attributes), source=dict(source or {}))
