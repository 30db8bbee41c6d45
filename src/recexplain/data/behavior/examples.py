"""Model-ready examples (token ids) from the splits: CTR examples and pre-training sequences, as `WindowedExamples`.

CTR example row (one request = one history + N candidates; contracts.md "CTR examples"):

    user_ids              int
    history_item_ids      [L] int      (L <= max_seq_len, most recent events, oldest first)
    history_attr_ids      [L, A] int   (A = feature_map.max_attrs, PAD-filled)
    history_behavior_ids  [L] int
    history_time_ids      [L] int
    candidate_item_ids    [N] int      (grouped: positive first, then the negatives; flat: N = 1)
    candidate_attr_ids    [N, A] int   (the catalogue attributes of each candidate)
    labels                [N] float 0/1

Pre-training row: `user_ids` and the four `history_*` columns.

Users' sequences are encoded once, with Arrow and numpy; each example is a window of them (`windows.py`), so memory
grows with the events, not with examples x history length. `to_dataset()` materialises the rows as a table.
"""
from __future__ import annotations

import logging
import zlib
from typing import Dict, Iterable, List, Optional

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .collators import check_same_lengths
from .feature_map import OOV_ID, FeatureMap
from .windows import WindowedExamples, encode_events

logger = logging.getLogger(__name__)

LABEL_MODES = ("threshold", "sampled")
SPLITS = ("train", "validation", "test")


def encode_sequence(row: dict, feature_map: FeatureMap) -> Dict[str, list]:
    """One user's events -> the four `history_*` id lists (full length, not yet capped).

    `row["item_attr"]` (one attribute list per event) is optional: without it each event gets its item's catalogue
    attributes (`feature_map.item_attributes`), as for the loaders' sequences.
    """
    check_same_lengths({k: row[k] for k in ("item_id", "item_attr", "behavior", "time_gap") if k in row},
                       f"user {row.get('user_id', '?')}")
    attrs = ([feature_map.encode_attrs(a) for a in row["item_attr"]] if "item_attr" in row
             else [feature_map.item_attr_ids(item) for item in row["item_id"]])
    return {
        "history_item_ids": feature_map.encode("item_id", row["item_id"]),
        "history_attr_ids": attrs,
        "history_behavior_ids": feature_map.encode("behavior", row["behavior"]),
        "history_time_ids": feature_map.encode("time_gap", row["time_gap"]),
    }


class NegativeSampler:
    """Seeded uniform negatives from the catalogue, excluding a user's items. The draw for
    (user, target position) depends only on `seed`, the user token and the position, so every
    model compared (and every `max_seq_len`) sees the same negatives."""

    def __init__(self, catalogue: Iterable[str], seed: int = 0):
        self.catalogue, self.seed = sorted(set(catalogue)), seed
        if not self.catalogue:
            raise ValueError("NegativeSampler: empty item catalogue")
        self.index = {item: i for i, item in enumerate(self.catalogue)}

    def exclusion(self, items: Iterable[str]) -> set:
        """Catalogue indices of `items` (compute once per user, pass to `sample_indices`)."""
        return {self.index[x] for x in items if x in self.index}

    def sample_indices(self, user: str, position: int, excluded: set, k: int) -> List[int]:
        """`k` distinct catalogue indices not in `excluded` (from `exclusion`), in draw order."""
        n = len(self.catalogue)
        if n - len(excluded) < k:
            raise ValueError(f"user {user!r}: only {n - len(excluded)} catalogue items outside the history, {k} negatives requested")
        rng = np.random.default_rng([self.seed, zlib.crc32(user.encode()), position])
        out: List[int] = []
        chosen = set()
        while len(out) < k:
            for j in rng.integers(0, n, size=2 * k + 8).tolist():
                if j not in excluded and j not in chosen:
                    chosen.add(j)
                    out.append(j)
                    if len(out) == k:
                        break
        return out

    def sample(self, user: str, position: int, exclude: Iterable[str], k: int) -> List[str]:
        """`k` distinct catalogue items not in `exclude` (tokens)."""
        return [self.catalogue[j] for j in self.sample_indices(user, position, self.exclusion(exclude), k)]


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
) -> WindowedExamples:
    """CTR examples for `split` ("train", "validation", "test") of `split_sequences(...)`, as windows over the split's
    encoded events (`to_dataset()` gives the materialised table).

    Targets: every train position with at least one earlier event (optionally only the latest
    `max_train_targets_per_user`), or the last event of a validation/test row. The history is
    the events before the target, capped at `feature_map.max_seq_len` most recent.

    label_mode:
      - "threshold": explicit ratings; one candidate (the target item), label = rating >= threshold.
        The target's rating/behaviour is never part of the history or the candidate.
      - "sampled": the target item is a positive, plus `num_negatives` seeded negatives from the
        catalogue (`feature_map.item_attributes`) that the user never interacted with (train: only
        items with an id of their own, never [OOV] ones).
    grouped: one row per target with N = 1 + num_negatives candidates (positive first), or one
      row per candidate (N = 1, the history repeated). Default: flat for "train", grouped otherwise.
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
    fm, L = feature_map, feature_map.max_seq_len
    table = rows.with_format("arrow")[:]
    events, offsets = encode_events(table, fm)
    n = np.diff(offsets)  # [R] events per row
    if split == "train":
        first = np.ones_like(n)
        if max_train_targets_per_user is not None:
            first = np.maximum(1, n - max_train_targets_per_user) if max_train_targets_per_user > 0 else n
    else:
        first = np.maximum(n - 1, 1)
    row_of, t = _positions(first, np.maximum(n - first, 0))  # targets: row r's events first[r] .. n[r] - 1
    if not len(t):
        raise ValueError(f"build_ctr_examples: split {split!r} yields no examples")
    start = np.maximum(0, t - L)
    starts, lengths = offsets[row_of] + start, t - start
    users = fm.encode_array("user_id", table["user_id"])[row_of]
    target = offsets[row_of] + t  # [T] global event index of each target
    cand_ids = events["history_item_ids"][target][:, None]  # [T, 1]
    cand_attrs = events["history_attr_ids"][target][:, None]  # [T, 1, A] the item's catalogue attributes
    if label_mode == "threshold":
        ratings = np.asarray(pc.list_flatten(table["rating"]), dtype=np.float32)
        labels = (ratings[target] >= threshold).astype(np.float32)[:, None]
    else:
        catalogue = list(fm.item_attributes)
        if split == "train":
            # Training negatives only from items that have their own id. An item never seen in training is
            # [OOV]; drawn as a training negative, [OOV] would only ever be a negative and the model would learn
            # "unseen item = no click", which is wrong at test time (Taobao: 54% of test positives are unseen).
            catalogue = [item for item, i in zip(catalogue, fm.encode("item_id", catalogue)) if i != OOV_ID]
        if not catalogue:
            raise ValueError("label_mode='sampled' needs an item catalogue (feature_map.item_attributes is empty)")
        sampler = NegativeSampler(catalogue, seed)
        negatives = _sample_negatives(sampler, splits["test"], table["user_id"].to_pylist(), row_of, t,
                                      num_negatives)  # [T, k]
        tokens = pa.array(sampler.catalogue, pa.string())
        cand_ids = np.concatenate([cand_ids, fm.encode_array("item_id", tokens)[negatives]], axis=1)
        cand_attrs = np.concatenate([cand_attrs, fm.item_attr_array(tokens)[negatives]], axis=1)
        labels = np.zeros(cand_ids.shape, dtype=np.float32)
        labels[:, 0] = 1.0
    if not grouped and cand_ids.shape[1] > 1:  # one row per candidate: repeat the history references
        k = cand_ids.shape[1]
        starts, lengths, users = (np.repeat(x, k) for x in (starts, lengths, users))
        cand_ids, labels = cand_ids.reshape(-1, 1), labels.reshape(-1, 1)
        cand_attrs = cand_attrs.reshape(-1, 1, fm.max_attrs)
    logger.info("CTR %s examples (%s, %s): %d rows", split, label_mode, "grouped" if grouped else "flat", len(starts))
    candidates = {"candidate_item_ids": cand_ids, "candidate_attr_ids": cand_attrs, "labels": labels}
    return WindowedExamples(events, starts, lengths, users, candidates)


def _positions(first: np.ndarray, counts: np.ndarray):
    """(row `[T]`, position `[T]`) of positions `first[r] .. first[r] + counts[r] - 1` of every row `r`."""
    row_of = np.repeat(np.arange(len(counts)), counts)
    return row_of, first[row_of] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _sample_negatives(sampler: NegativeSampler, full: datasets.Dataset, user_tokens: List[str], row_of: np.ndarray,
                      t: np.ndarray, k: int) -> np.ndarray:
    """`[T, k]` catalogue indices of the seeded negatives of each target (row `row_of`, position `t`), avoiding
    every item of the user's whole sequence (`full`, rows aligned with `user_tokens`)."""
    whole = full.with_format("arrow")[:]["item_id"].combine_chunks()
    catalogue_index = np.asarray(pc.fill_null(pc.index_in(whole.flatten(), value_set=pa.array(sampler.catalogue)), -1))
    bounds = whole.offsets.to_numpy() - whole.offsets[0].as_py()
    out = np.empty((len(t), k), dtype=np.int64)
    excluded, current = set(), -1
    for j, (r, position) in enumerate(zip(row_of.tolist(), t.tolist())):
        if r != current:
            current = r
            excluded = set(catalogue_index[bounds[r]:bounds[r + 1]].tolist()) - {-1}
        out[j] = sampler.sample_indices(user_tokens[r], position, excluded, k)
    return out


def build_pretraining_examples(
    train: datasets.Dataset, feature_map: FeatureMap, max_windows_per_user: int = 1,
) -> WindowedExamples:
    """Pre-training sequences from the train split: per user the most recent `max_seq_len` events,
    plus up to `max_windows_per_user - 1` earlier non-overlapping windows."""
    if max_windows_per_user < 1:
        raise ValueError(f"max_windows_per_user must be >= 1, got {max_windows_per_user}")
    L = feature_map.max_seq_len
    table = train.with_format("arrow")[:]
    events, offsets = encode_events(table, feature_map)
    n = np.diff(offsets)
    if (n == 0).any():
        logger.warning("build_pretraining_examples: %d users with an empty train sequence skipped", int((n == 0).sum()))
    windows = np.minimum(max_windows_per_user, -(-n // L))  # ceil(n / L), capped
    row_of, w = _positions(np.zeros_like(n), windows)
    end = n[row_of] - w * L
    start = np.maximum(0, end - L)
    users = feature_map.encode_array("user_id", table["user_id"])[row_of]
    return WindowedExamples(events, offsets[row_of] + start, end - start, users)
