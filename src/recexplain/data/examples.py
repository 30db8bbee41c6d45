"""Model-ready examples (token ids) from the splits: CTR examples and pre-training sequences.

CTR example row (one request = one history + N candidates; contracts.md "CTR examples"):

    user_ids              int
    history_item_ids      [L] int      (L <= max_seq_len, most recent events, oldest first)
    history_attr_ids      [L, A] int   (A = feature_map.max_attrs, PAD-filled)
    history_behavior_ids  [L] int
    history_time_ids      [L] int
    candidate_item_ids    [N] int      (grouped: positive first, then the negatives; flat: N = 1)
    candidate_attr_ids    [N, A] int   (from the feature map's catalogue table)
    labels                [N] float 0/1

Pre-training row: `user_ids` and the four `history_*` columns.
"""
from __future__ import annotations

import logging
import zlib
from typing import Dict, Iterable, List, Optional

import datasets
import numpy as np
from datasets import Features, List as DList, Value

from .behavior import iter_rows
from .feature_map import FeatureMap

logger = logging.getLogger(__name__)

HISTORY_KEYS = ("history_item_ids", "history_attr_ids", "history_behavior_ids", "history_time_ids")
LABEL_MODES = ("threshold", "sampled")
SPLITS = ("train", "validation", "test")


def _features(ctr: bool) -> Features:
    ids = DList(Value("int32"))
    spec = {
        "user_ids": Value("int32"),
        "history_item_ids": ids, "history_attr_ids": DList(ids),
        "history_behavior_ids": ids, "history_time_ids": ids,
    }
    if ctr:
        spec.update(candidate_item_ids=ids, candidate_attr_ids=DList(ids), labels=DList(Value("float32")))
    return Features(spec)


class _RowBuffer:
    """Collects rows column-wise and converts them to Arrow every `chunk` rows, so that large
    example sets never hold millions of small Python lists at once."""

    def __init__(self, features: Features, chunk: int = 8192):
        self.features, self.chunk, self.parts, self.rows = features, chunk, [], 0
        self.columns: Dict[str, list] = {k: [] for k in features}

    def add(self, **row) -> None:
        for k, v in row.items():
            self.columns[k].append(v)
        self.rows += 1
        if len(self.columns["user_ids"]) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        if self.columns["user_ids"]:
            self.parts.append(datasets.Dataset.from_dict(self.columns, features=self.features))
            self.columns = {k: [] for k in self.features}

    def dataset(self) -> datasets.Dataset:
        self._flush()
        if not self.parts:
            return datasets.Dataset.from_dict({k: [] for k in self.features}, features=self.features)
        return self.parts[0] if len(self.parts) == 1 else datasets.concatenate_datasets(self.parts)


def encode_sequence(row: dict, feature_map: FeatureMap) -> Dict[str, list]:
    """One user's events -> the four `history_*` id lists (full length, not yet capped)."""
    return {
        "history_item_ids": feature_map.encode("item_id", row["item_id"]),
        "history_attr_ids": [feature_map.encode_attrs(a) for a in row["item_attr"]],
        "history_behavior_ids": feature_map.encode("behavior", row["behavior"]),
        "history_time_ids": feature_map.encode("time_gap", row["time_gap"]),
    }


def _window(encoded: Dict[str, list], start: int, end: int) -> Dict[str, list]:
    return {k: encoded[k][start:end] for k in HISTORY_KEYS}


class NegativeSampler:
    """Seeded uniform negatives from the catalogue, excluding a user's items. The draw for
    (user, target position) depends only on `seed`, the user token and the position, so every
    model compared (and every `max_seq_len`) sees the same negatives."""

    def __init__(self, catalogue: List[str], seed: int = 0):
        self.catalogue, self.seed = sorted(set(catalogue)), seed
        if not self.catalogue:
            raise ValueError("NegativeSampler: empty item catalogue")
        self._index = {item: i for i, item in enumerate(self.catalogue)}

    def sample(self, user: str, position: int, exclude: Iterable[str], k: int) -> List[str]:
        """`k` distinct catalogue items not in `exclude`, in draw order."""
        excluded = np.fromiter({self._index[x] for x in exclude if x in self._index}, dtype=np.int64)
        n = len(self.catalogue)
        if n - len(excluded) < k:
            raise ValueError(f"user {user!r}: only {n - len(excluded)} catalogue items outside the history, {k} negatives requested")
        rng = np.random.default_rng([self.seed, zlib.crc32(user.encode()), position])
        size = 2 * k + len(excluded)
        while True:
            draw = rng.integers(0, n, size=size)
            draw = draw[~np.isin(draw, excluded)]
            _, first = np.unique(draw, return_index=True)
            if len(first) >= k:
                return [self.catalogue[j] for j in draw[np.sort(first)[:k]]]
            size *= 2


def build_ctr_examples(
    splits: datasets.DatasetDict,
    feature_map: FeatureMap,
    split: str,
    label_mode: str = "sampled",
    num_negatives: int = 4,
    threshold: float = 4.0,
    grouped: Optional[bool] = None,
    max_train_targets_per_user: Optional[int] = None,
    seed: int = 0,
) -> datasets.Dataset:
    """CTR examples for `split` ("train", "validation", "test") of `split_sequences(...)`.

    Targets: every train position with at least one earlier event (optionally only the latest
    `max_train_targets_per_user`), or the last event of a validation/test row. The history is
    the events before the target, capped at `feature_map.max_seq_len` most recent.

    label_mode:
      - "threshold": explicit ratings; one candidate (the target item), label = rating >= threshold.
        The target's rating/behaviour is never part of the history or the candidate.
      - "sampled": the target item is a positive, plus `num_negatives` seeded negatives from the
        catalogue (`feature_map.item_attributes`) that the user never interacted with.
    grouped: one row per target with N = 1 + num_negatives candidates (positive first), or one
      row per candidate (N = 1). Default: flat for "train", grouped otherwise.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    rows = splits[split]
    if label_mode == "threshold" and "rating" not in rows.column_names:
        raise ValueError("label_mode='threshold' needs explicit ratings (a 'rating' column); use label_mode='sampled'")
    if label_mode == "sampled" and num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    grouped = (split != "train") if grouped is None else grouped
    sampler = NegativeSampler(list(feature_map.item_attributes), seed) if label_mode == "sampled" else None
    full = list(splits["test"]["item_id"]) if sampler else None
    L = feature_map.max_seq_len
    out = _RowBuffer(_features(True))

    def emit(user_id: int, history: Dict[str, list], items: List[str], labels: List[float]):
        out.add(user_ids=user_id, **history, candidate_item_ids=feature_map.encode("item_id", items),
                candidate_attr_ids=[feature_map.item_attr_ids(i) for i in items], labels=labels)

    for r, row in enumerate(iter_rows(rows)):
        n = len(row["item_id"])
        targets = list(range(1, n)) if split == "train" else ([n - 1] if n >= 2 else [])
        if split == "train" and max_train_targets_per_user is not None:
            targets = targets[-max_train_targets_per_user:] if max_train_targets_per_user > 0 else []
        if not targets:
            continue
        encoded = encode_sequence(row, feature_map)
        user_id = feature_map.encode("user_id", row["user_id"])
        exclude = set(full[r]) if sampler else None
        for t in targets:
            history = _window(encoded, max(0, t - L), t)
            target = row["item_id"][t]
            if label_mode == "threshold":
                emit(user_id, history, [target], [float(row["rating"][t] >= threshold)])
                continue
            items = [target] + sampler.sample(row["user_id"], t, exclude, num_negatives)
            labels = [1.0] + [0.0] * num_negatives
            if grouped:
                emit(user_id, history, items, labels)
            else:
                for item, label in zip(items, labels):
                    emit(user_id, history, [item], [label])
    if not out.rows:
        raise ValueError(f"build_ctr_examples: split {split!r} yields no examples")
    logger.info("CTR %s examples (%s, %s): %d rows", split, label_mode, "grouped" if grouped else "flat", out.rows)
    return out.dataset()


def build_pretraining_examples(
    train: datasets.Dataset, feature_map: FeatureMap, max_windows_per_user: int = 1,
) -> datasets.Dataset:
    """Pre-training sequences from the train split: per user the most recent `max_seq_len` events,
    plus up to `max_windows_per_user - 1` earlier non-overlapping windows."""
    if max_windows_per_user < 1:
        raise ValueError(f"max_windows_per_user must be >= 1, got {max_windows_per_user}")
    L = feature_map.max_seq_len
    out = _RowBuffer(_features(False))
    dropped = 0
    for row in iter_rows(train):
        n = len(row["item_id"])
        if n == 0:
            dropped += 1
            continue
        encoded = encode_sequence(row, feature_map)
        user_id = feature_map.encode("user_id", row["user_id"])
        for w in range(max_windows_per_user):
            end = n - w * L
            if end <= 0:
                break
            out.add(user_ids=user_id, **_window(encoded, max(0, end - L), end))
    if dropped:
        logger.warning("build_pretraining_examples: %d users with an empty train sequence skipped", dropped)
    return out.dataset()
