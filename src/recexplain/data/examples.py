"""Model-ready examples (token ids) from the splits: CTR examples and pre-training sequences.

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

Users' sequences are encoded once; each example refers to a window of them, and the Arrow
columns are assembled with numpy, so large example sets build quickly and compactly.
"""
from __future__ import annotations

import logging
import zlib
from typing import Dict, Iterable, List, Optional

import datasets
import numpy as np
import pyarrow as pa
from datasets import Features, List as DList, Value

from .behavior import iter_rows
from .collators import check_same_lengths
from .feature_map import OOV_ID, FeatureMap

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


def encode_sequence(row: dict, feature_map: FeatureMap) -> Dict[str, list]:
    """One user's events -> the four `history_*` id lists (full length, not yet capped)."""
    check_same_lengths({k: row[k] for k in ("item_id", "item_attr", "behavior", "time_gap")},
                       f"user {row.get('user_id', '?')}")
    return {
        "history_item_ids": feature_map.encode("item_id", row["item_id"]),
        "history_attr_ids": [feature_map.encode_attrs(a) for a in row["item_attr"]],
        "history_behavior_ids": feature_map.encode("behavior", row["behavior"]),
        "history_time_ids": feature_map.encode("time_gap", row["time_gap"]),
    }


class _EncodedSequences:
    """All users' encoded events concatenated (`[E]`, attrs `[E, A]`); windows are (start, length)."""

    def __init__(self, max_attrs: int):
        self.max_attrs = max_attrs
        self.columns: Dict[str, list] = {k: [] for k in HISTORY_KEYS}

    def add(self, encoded: Dict[str, list]) -> int:
        """Append one user's encoded events; returns the global offset of its first event."""
        base = len(self.columns["history_item_ids"])
        for k in HISTORY_KEYS:
            self.columns[k].extend(encoded[k])
        return base

    def history_arrays(self, starts: np.ndarray, lengths: np.ndarray) -> Dict[str, pa.Array]:
        """Arrow list columns for the windows `[starts[i], starts[i] + lengths[i])`."""
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        index = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])  # [sum(lengths)]
        out = {}
        for k in HISTORY_KEYS:
            values = np.asarray(self.columns[k], dtype=np.int32).reshape(-1, self.max_attrs) if k == "history_attr_ids" \
                else np.asarray(self.columns[k], dtype=np.int32)
            out[k] = _list_array(values[index], offsets)
        return out


def _list_array(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """Arrow list array; a 2-D `values` `[E, A]` gives a list of fixed-length lists."""
    if values.size >= 2**31:
        raise ValueError(f"{values.size} ids in one column exceed Arrow's 32-bit list offsets; "
                         "use grouped=True or max_train_targets_per_user")
    if values.ndim == 2:
        inner_offsets = np.arange(0, values.size + 1, values.shape[1], dtype=np.int32)
        inner = pa.ListArray.from_arrays(pa.array(inner_offsets), pa.array(values.reshape(-1)))
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), inner)
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))


def _to_dataset(columns: Dict[str, pa.Array], features: Features) -> datasets.Dataset:
    table = pa.table({k: columns[k] for k in features})
    return datasets.Dataset(table).cast(features) if table.schema != features.arrow_schema else datasets.Dataset(table)


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


class _CandidateTable:
    """Encoded ids and catalogue attributes of candidate items, addressed by catalogue index
    (items outside the catalogue are appended on first use)."""

    def __init__(self, feature_map: FeatureMap, catalogue: List[str]):
        self.fm, self.tokens = feature_map, list(catalogue)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def index_of(self, item: str) -> int:
        i = self.index.get(item)
        if i is None:
            i = self.index[item] = len(self.tokens)
            self.tokens.append(item)
        return i

    def lookup(self, indices: np.ndarray):
        """`indices` `[M]` -> (item ids `[M]`, attr ids `[M, A]`), int32."""
        ids = np.asarray(self.fm.encode("item_id", self.tokens), dtype=np.int32)
        attrs = np.asarray([self.fm.item_attr_ids(t) for t in self.tokens], dtype=np.int32).reshape(-1, self.fm.max_attrs)
        return ids[indices], attrs[indices]


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
    fm, L, A = feature_map, feature_map.max_seq_len, feature_map.max_attrs
    n_cand = 1 + num_negatives if label_mode == "sampled" else 1
    catalogue = list(fm.item_attributes)
    if split == "train":
        # Training negatives only from items that have their own id. An item never seen in training is
        # [OOV]; drawn as a training negative, [OOV] would only ever be a negative and the model would learn
        # "unseen item = no click", which is wrong at test time (Taobao: 54% of test positives are unseen).
        catalogue = [item for item, i in zip(catalogue, fm.encode("item_id", catalogue)) if i != OOV_ID]
    sampler = NegativeSampler(catalogue, seed) if catalogue else None
    table = _CandidateTable(fm, sampler.catalogue if sampler else [])
    if label_mode == "sampled":
        if sampler is None:
            raise ValueError("label_mode='sampled' needs an item catalogue (feature_map.item_attributes is empty)")
        full = list(splits["test"]["item_id"])  # whole sequences: negatives avoid every interacted item
    sequences = _EncodedSequences(A)
    starts, lengths, users, candidates, labels = [], [], [], [], []
    for r, row in enumerate(iter_rows(rows)):
        n = len(row["item_id"])
        targets = list(range(1, n)) if split == "train" else ([n - 1] if n >= 2 else [])
        if split == "train" and max_train_targets_per_user is not None:
            targets = targets[-max_train_targets_per_user:] if max_train_targets_per_user > 0 else []
        if not targets:
            continue
        base = sequences.add(encode_sequence(row, fm))
        user_id = fm.encode("user_id", row["user_id"])
        excluded = sampler.exclusion(full[r]) if label_mode == "sampled" else None
        for t in targets:
            start = max(0, t - L)
            starts.append(base + start)
            lengths.append(t - start)
            users.append(user_id)
            candidates.append(table.index_of(row["item_id"][t]))
            if label_mode == "threshold":
                labels.append(float(row["rating"][t] >= threshold))
            else:
                candidates.extend(sampler.sample_indices(row["user_id"], t, excluded, num_negatives))
                labels.extend([1.0] + [0.0] * num_negatives)
    if not starts:
        raise ValueError(f"build_ctr_examples: split {split!r} yields no examples")
    starts, lengths, users = np.asarray(starts), np.asarray(lengths), np.asarray(users, dtype=np.int32)
    per_row = n_cand if grouped else 1
    if not grouped and n_cand > 1:  # one row per candidate: repeat the history references
        starts, lengths, users = (np.repeat(x, n_cand) for x in (starts, lengths, users))
    rows_n = len(starts)
    cand_offsets = np.arange(0, rows_n * per_row + 1, per_row, dtype=np.int32)
    columns = sequences.history_arrays(starts, lengths)
    columns["user_ids"] = pa.array(users)
    cand_ids, cand_attrs = table.lookup(np.asarray(candidates, dtype=np.int64))
    columns["candidate_item_ids"] = _list_array(cand_ids, cand_offsets)
    columns["candidate_attr_ids"] = _list_array(cand_attrs, cand_offsets)
    columns["labels"] = _list_array(np.asarray(labels, dtype=np.float32), cand_offsets)
    logger.info("CTR %s examples (%s, %s): %d rows", split, label_mode, "grouped" if grouped else "flat", rows_n)
    return _to_dataset(columns, _features(True))


def build_pretraining_examples(
    train: datasets.Dataset, feature_map: FeatureMap, max_windows_per_user: int = 1,
) -> datasets.Dataset:
    """Pre-training sequences from the train split: per user the most recent `max_seq_len` events,
    plus up to `max_windows_per_user - 1` earlier non-overlapping windows."""
    if max_windows_per_user < 1:
        raise ValueError(f"max_windows_per_user must be >= 1, got {max_windows_per_user}")
    L = feature_map.max_seq_len
    sequences = _EncodedSequences(feature_map.max_attrs)
    starts, lengths, users = [], [], []
    dropped = 0
    for row in iter_rows(train):
        n = len(row["item_id"])
        if n == 0:
            dropped += 1
            continue
        base = sequences.add(encode_sequence(row, feature_map))
        user_id = feature_map.encode("user_id", row["user_id"])
        for w in range(max_windows_per_user):
            end = n - w * L
            if end <= 0:
                break
            starts.append(base + max(0, end - L))
            lengths.append(end - max(0, end - L))
            users.append(user_id)
    if dropped:
        logger.warning("build_pretraining_examples: %d users with an empty train sequence skipped", dropped)
    columns = sequences.history_arrays(np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64))
    columns["user_ids"] = pa.array(np.asarray(users, dtype=np.int32))
    return _to_dataset(columns, _features(False))
