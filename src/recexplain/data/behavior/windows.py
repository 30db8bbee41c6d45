"""Examples as windows over the users' encoded events: memory grows with the events, not with examples x history.

A split's events are encoded once, with Arrow and numpy (`encode_events`), and concatenated per user:

    history_item_ids      [E] int32        history_behavior_ids  [E] int32
    history_attr_ids      [E, A] int32     history_time_ids      [E] int32

A `WindowedExamples` row `i` is the event window `[starts[i], starts[i] + lengths[i])` plus its own small columns
(`user_ids`; for CTR rows `candidate_item_ids` `[N]`, `candidate_attr_ids` `[N, A]`, `labels` `[N]`). It is a map-style
torch `Dataset`: `Trainer` and `accelerate` sample and shard its row indices (each process of `accelerate launch` reads
only its own rows), and `dataset[i]` is the same dict as row `i` of the materialised table `to_dataset()`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from .sequences import arrow_dataset
from .collators import check_same_lengths
from .feature_map import FeatureMap

HISTORY_KEYS = ("history_item_ids", "history_attr_ids", "history_behavior_ids", "history_time_ids")
EVENT_COLUMNS = ("item_id", "behavior", "time_gap")
CANDIDATE_KEYS = ("candidate_item_ids", "candidate_attr_ids", "labels")


def encode_events(table: pa.Table, feature_map: FeatureMap) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """Every row's events (a sequences table: `dataset.with_format("arrow")[:]`) encoded and concatenated:
    (`{history key: [E] or [E, A] int32}`, row offsets `[R + 1]`).

    Raises `ValueError` naming the user when a row's per-event lists differ in length.
    """
    lengths = {k: pc.list_value_length(table[k]).to_numpy(zero_copy_only=False) for k in EVENT_COLUMNS}
    bad = np.flatnonzero(np.any([lengths[k] != lengths["item_id"] for k in EVENT_COLUMNS], axis=0))
    if bad.size:
        r = int(bad[0])
        check_same_lengths({k: table[k][r].as_py() for k in EVENT_COLUMNS}, f"user {table['user_id'][r].as_py()}")
    offsets = np.zeros(len(table) + 1, dtype=np.int64)
    np.cumsum(lengths["item_id"], out=offsets[1:])
    fm = feature_map
    items = pc.list_flatten(table["item_id"])
    events = {
        "history_item_ids": fm.encode_array("item_id", items),
        "history_attr_ids": fm.item_attr_array(items),  # each event's item's catalogue attributes
        "history_behavior_ids": fm.encode_array("behavior", pc.list_flatten(table["behavior"])),
        "history_time_ids": fm.encode_array("time_gap", pc.list_flatten(table["time_gap"])),
    }
    return events, offsets


def _list_array(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """Arrow list array; a 2-D `values` `[E, A]` gives a list of fixed-length lists."""
    if values.size >= 2**31:
        raise ValueError(f"{values.size} ids in one column exceed Arrow's 32-bit list offsets; "
                         "train from the WindowedExamples themselves, or use max_train_targets_per_user")
    if values.ndim == 2:
        inner_offsets = np.arange(0, values.size + 1, values.shape[1], dtype=np.int32)
        inner = pa.ListArray.from_arrays(pa.array(inner_offsets), pa.array(values.reshape(-1)))
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), inner)
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))


def _features(ctr: bool) -> datasets.Features:
    ids = datasets.List(datasets.Value("int32"))
    spec = {
        "user_ids": datasets.Value("int32"),
        "history_item_ids": ids, "history_attr_ids": datasets.List(ids),
        "history_behavior_ids": ids, "history_time_ids": ids,
    }
    if ctr:
        spec.update(candidate_item_ids=ids, candidate_attr_ids=datasets.List(ids),
                    labels=datasets.List(datasets.Value("float32")))
    return datasets.Features(spec)


class WindowedExamples(torch.utils.data.Dataset):
    """CTR or pre-training rows as windows over shared encoded events (module docstring).

    Args:
        events: `encode_events`' arrays, shared by every row (and by `select`ed subsets).
        starts, lengths: `[R]` each row's window into the events.
        user_ids: `[R]` int32.
        candidates: for CTR rows, `candidate_item_ids` `[R, N]`, `candidate_attr_ids` `[R, N, A]`, `labels` `[R, N]`.
    """

    def __init__(self, events: Dict[str, np.ndarray], starts: np.ndarray, lengths: np.ndarray, user_ids: np.ndarray,
                 candidates: Optional[Dict[str, np.ndarray]] = None):
        self.events = events
        self.starts, self.lengths = np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
        self.user_ids = np.asarray(user_ids, dtype=np.int32)
        self.candidates = candidates
        if not (len(self.starts) == len(self.lengths) == len(self.user_ids)):
            raise ValueError("WindowedExamples: starts, lengths and user_ids must have the same length")

    @property
    def column_names(self) -> List[str]:
        return ["user_ids", *HISTORY_KEYS, *(CANDIDATE_KEYS if self.candidates is not None else ())]

    def __len__(self) -> int:
        return len(self.starts)

    def _row(self, i: int) -> dict:
        s = int(self.starts[i])
        end = s + int(self.lengths[i])
        row = {"user_ids": int(self.user_ids[i])}
        row.update({k: self.events[k][s:end].tolist() for k in HISTORY_KEYS})
        if self.candidates is not None:
            row.update({k: self.candidates[k][i].tolist() for k in CANDIDATE_KEYS})
        return row

    def __getitem__(self, key):
        """`dataset[i]`: row `i` as a dict of lists; `dataset["user_ids"]` / `["labels"]`...: a column as a list."""
        if isinstance(key, str):
            if key == "user_ids":
                return self.user_ids.tolist()
            if self.candidates is not None and key in self.candidates:
                return self.candidates[key].tolist()
            if key in HISTORY_KEYS:
                return [self._row(i)[key] for i in range(len(self))]
            raise KeyError(f"WindowedExamples has no column {key!r}; columns: {self.column_names}")
        return self._row(int(key))

    def __getitems__(self, indices: Sequence[int]) -> List[dict]:
        """Rows of a batch (the DataLoader's batched fetch)."""
        return [self._row(int(i)) for i in indices]

    def select(self, indices: Sequence[int]) -> "WindowedExamples":
        """The rows `indices`, sharing the events."""
        idx = np.asarray(indices, dtype=np.int64)
        candidates = None if self.candidates is None else {k: v[idx] for k, v in self.candidates.items()}
        return WindowedExamples(self.events, self.starts[idx], self.lengths[idx], self.user_ids[idx], candidates)

    def to_dataset(self) -> datasets.Dataset:
        """The rows materialised as an Arrow-backed `datasets.Dataset` (every history copied: rows x L ids)."""
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        index = np.repeat(self.starts - offsets[:-1], self.lengths) + np.arange(offsets[-1])  # [sum(lengths)]
        columns = {"user_ids": pa.array(self.user_ids)}
        columns.update({k: _list_array(self.events[k][index], offsets) for k in HISTORY_KEYS})
        if self.candidates is not None:
            n = self.candidates["labels"].shape[1]
            per_row = np.arange(0, len(self) * n + 1, n, dtype=np.int64)
            for k in CANDIDATE_KEYS:
                values = self.candidates[k]
                columns[k] = _list_array(values.reshape(len(self) * n, *values.shape[2:]), per_row)
        features = _features(self.candidates is not None)
        table = pa.table({k: columns[k] for k in features})
        return arrow_dataset(table).cast(features) if table.schema != features.arrow_schema else arrow_dataset(table)

    def __repr__(self) -> str:
        events = len(self.events["history_item_ids"])
        return f"WindowedExamples(rows={len(self)}, events={events}, columns={self.column_names})"
