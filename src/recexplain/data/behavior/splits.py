"""Leave-one-out splits per user: last event = test, second-to-last = validation, rest = train."""
from __future__ import annotations

import logging

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .sequences import arrow_dataset

logger = logging.getLogger(__name__)

MIN_EVENTS = 3
SEQUENCE_COLUMNS = ("item_id", "behavior", "time_gap", "rating")


def split_sequences(sequences: datasets.Dataset, min_events: int = MIN_EVENTS) -> datasets.DatasetDict:
    """Split per-user sequences (rows of `BehaviorData.sequences`) into a `DatasetDict`:

    - `train`: events `[:-2]` of each user (what pre-training and the feature map see);
    - `validation`: events `[:-1]`, the last one being the validation target;
    - `test`: all events, the last one being the test target.

    Users with fewer than `min_events` (>= 3) events are excluded (count logged).
    """
    if min_events < MIN_EVENTS:
        raise ValueError(f"min_events must be >= {MIN_EVENTS}, got {min_events}")
    table = sequences.with_format("arrow")[:]  # a pyarrow.Table (any index mapping applied)
    lengths = pc.list_value_length(table["item_id"]).to_numpy(zero_copy_only=False)
    keep = lengths >= min_events
    if not keep.all():
        logger.warning("split_sequences: %d of %d users have fewer than %d events and are excluded from the splits",
                       int((~keep).sum()), len(lengths), min_events)
    if not keep.any():
        raise ValueError(f"split_sequences: no user has at least {min_events} events")
    kept = table.filter(pa.array(keep)) if not keep.all() else table
    columns = [c for c in SEQUENCE_COLUMNS if c in kept.column_names]

    return datasets.DatasetDict({
        "train": arrow_dataset(_without_last(kept, columns, 2)),
        "validation": arrow_dataset(_without_last(kept, columns, 1)),
        "test": arrow_dataset(kept),
    })


def _without_last(table: pa.Table, columns, k: int) -> pa.Table:
    """`table` with every list column of `columns` (aligned: the same lengths per row) cut by its last `k` elements
    per row (rows have more than `k`), with Arrow and numpy: one mask of the kept elements, the offsets recomputed."""
    lengths = pc.list_value_length(table[columns[0]]).to_numpy(zero_copy_only=False).astype(np.int64)
    ends = np.cumsum(lengths)
    keep = np.ones(int(ends[-1]) if len(ends) else 0, dtype=bool)
    keep[(ends[:, None] - np.arange(1, k + 1)).ravel()] = False
    keep = pa.array(keep)
    new_offsets = pa.array(np.concatenate([[0], ends - k * np.arange(1, len(ends) + 1)]), pa.int32())
    for name in columns:
        column = table[name].combine_chunks()
        cut = pa.ListArray.from_arrays(new_offsets, column.flatten().filter(keep), type=column.type)
        table = table.set_column(table.column_names.index(name), name, cut)
    return table
