"""Leave-one-out splits per user: last event = test, second-to-last = validation, rest = train."""
from __future__ import annotations

import logging

import datasets

logger = logging.getLogger(__name__)

MIN_EVENTS = 3
SEQUENCE_COLUMNS = ("item_id", "item_attr", "behavior", "time_gap", "rating")


def split_sequences(sequences: datasets.Dataset, min_events: int = MIN_EVENTS) -> datasets.DatasetDict:
    """Split per-user sequences (rows of `BehaviorData.sequences`) into a `DatasetDict`:

    - `train`: events `[:-2]` of each user (what pre-training and the feature map see);
    - `validation`: events `[:-1]`, the last one being the validation target;
    - `test`: all events, the last one being the test target.

    Users with fewer than `min_events` (>= 3) events are excluded (count logged).
    """
    if min_events < MIN_EVENTS:
        raise ValueError(f"min_events must be >= {MIN_EVENTS}, got {min_events}")
    lengths = [len(x) for x in sequences["item_id"]]
    keep = [i for i, n in enumerate(lengths) if n >= min_events]
    if len(keep) < len(lengths):
        logger.warning("split_sequences: %d of %d users have fewer than %d events and are excluded from the splits",
                       len(lengths) - len(keep), len(lengths), min_events)
    if not keep:
        raise ValueError(f"split_sequences: no user has at least {min_events} events")
    kept = sequences.select(keep) if len(keep) < len(lengths) else sequences
    columns = [c for c in SEQUENCE_COLUMNS if c in kept.column_names]

    def cut(k: int):
        return lambda row: {c: row[c][:-k] for c in columns}

    return datasets.DatasetDict({
        "train": kept.map(cut(2), desc="train split"),
        "validation": kept.map(cut(1), desc="validation split"),
        "test": kept,
    })
