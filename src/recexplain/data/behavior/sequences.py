"""Per-user, time-ordered behaviour sequences: the common form every loader produces.

Each row of `BehaviorData.sequences` is one user; the list columns are aligned
per event (contracts.md, "Behaviour data"):

    user_id    str
    item_id    [T] str
    behavior   [T] str                (rating "1".."5", pv/cart/fav/buy, "interact")
    time_gap   [T] str                (log2-bucketed gap to the previous event, see `time_gap_token`)
    rating     [T] float              (only for explicit-rating data, e.g. MovieLens)

An event's item attributes are its item's entry of `BehaviorData.item_attributes` (the catalogue), stored once per
item rather than at every event (on MovieLens they would be 60% of the table's bytes).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List as TList, Optional, Sequence

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Features, List, Value

logger = logging.getLogger(__name__)

FIRST_EVENT = "first"
NO_TIME = "none"
MAX_GAP_BUCKET = 14  # 2**13 h ~ 341 days; longer gaps share the last bucket
GAP_TOKENS = [f"gap{k}" for k in range(MAX_GAP_BUCKET + 1)]


def time_gap_token(seconds: Optional[float]) -> str:
    """Bucket a gap to the previous event: `"gap0"` (< 1 h), `"gap{k}"` for 2**(k-1) <= hours < 2**k.

    `None` (dataset without timestamps) gives `"none"`; the first event of a user is `"first"`
    (see `sequences_from_events`). Negative gaps cannot occur after sorting.
    """
    return NO_TIME if seconds is None else GAP_TOKENS[int(_gap_buckets(np.array([seconds], dtype=float))[0])]


def _gap_buckets(seconds: np.ndarray) -> np.ndarray:
    """`time_gap_token`'s bucket numbers of gaps `[N]` in seconds (NaN gaps give an arbitrary bucket)."""
    hours = seconds / 3600.0
    under_an_hour = hours < 1
    with np.errstate(divide="ignore", invalid="ignore"):  # in place: a 20M-event log has 160 MB per float array
        np.log2(hours, out=hours)
        np.floor(hours, out=hours)
        hours += 1
        np.minimum(hours, MAX_GAP_BUCKET, out=hours)
        hours[under_an_hour] = 0
        return hours.astype(np.int8)


def iter_rows(ds: datasets.Dataset, columns: Optional[Sequence[str]] = None) -> Iterator[Dict[str, Any]]:
    """Rows of `ds` as dicts, read in Arrow batches (much faster than `for row in ds`)."""
    if columns is not None:
        ds = ds.select_columns(list(columns))
    for batch in ds.iter(batch_size=1024):
        keys = list(batch)
        for values in zip(*(batch[k] for k in keys)):
            yield dict(zip(keys, values))


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

    def attributes_of(self, items: Sequence[str]) -> TList[TList[str]]:
        """The catalogue attributes of each item token (`[]` for an item without an entry), e.g. of a row's events."""
        return [list(self.item_attributes.get(item, [])) for item in items]

    def statistics(self) -> Dict[str, Any]:
        """Users, items, events, attributes (of the items with events), behaviour counts and sequence lengths."""
        table = self.sequences.with_format("arrow")[:]
        lengths = pc.list_value_length(table["item_id"]).to_numpy(zero_copy_only=False)
        items = pc.unique(pc.list_flatten(table["item_id"])).to_pylist()
        behaviors = {p["values"]: p["counts"] for p in pc.value_counts(pc.list_flatten(table["behavior"])).to_pylist()}
        return {
            "dataset": self.name,
            "users": len(lengths),
            "items": len(items),
            "events": int(lengths.sum()),
            "attributes": len({a for item in items for a in self.item_attributes.get(item, [])}),
            "behaviors": dict(sorted(behaviors.items(), key=lambda kv: (-kv[1], kv[0]))),
            "mean_length": float(lengths.mean()) if len(lengths) else 0.0,
            "min_length": int(lengths.min()) if len(lengths) else 0,
            "max_length": int(lengths.max()) if len(lengths) else 0,
        }


def arrow_dataset(table: pa.Table) -> datasets.Dataset:
    """`datasets.Dataset` over an in-memory Arrow table, without hashing it: datasets' default fingerprint
    serialises the whole table (a transient copy as large as the data); a random fingerprint does not."""
    from datasets.fingerprint import generate_random_fingerprint

    return datasets.Dataset(table, fingerprint=generate_random_fingerprint())


def sequence_features(with_rating: bool) -> Features:
    """The `datasets.Features` of `BehaviorData.sequences`."""
    spec = {
        "user_id": Value("string"),
        "item_id": List(Value("string")),
        "behavior": List(Value("string")),
        "time_gap": List(Value("string")),
    }
    if with_rating:
        spec["rating"] = List(Value("float32"))
    return Features(spec)


def arrow_array(values, type_: Optional[pa.DataType] = None) -> pa.Array:
    """`values` (a list or an Arrow array) as one Arrow array of `type_` (None: as it is, or inferred from a list)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        return pa.array(values, type_)
    return values if type_ is None else values.cast(type_)


def _gap_tokens(times: np.ndarray, starts: np.ndarray) -> pa.Array:
    """`time_gap` of events already sorted per user: "first" at each user's first event, `time_gap_token` of the
    gap to the previous event elsewhere, "none" next to an event without a timestamp (NaN). Vectorized."""
    gaps = np.empty_like(times)  # np.diff(times, prepend=nan) without its concatenated copy
    gaps[0] = np.nan
    np.subtract(times[1:], times[:-1], out=gaps[1:])
    no_time = np.isnan(gaps)
    codes = _gap_buckets(gaps)
    del gaps
    codes[no_time] = MAX_GAP_BUCKET + 1
    codes[starts] = MAX_GAP_BUCKET + 2
    tokens = pa.array(GAP_TOKENS + [NO_TIME, FIRST_EVENT])
    return pa.DictionaryArray.from_arrays(pa.array(codes), tokens).cast(pa.string())


def _gather_codes(values, take: Optional[pa.Array]) -> pa.DictionaryArray:
    """`values` (a list or an Arrow array of any type) at the positions `take` (None: as they are),
    dictionary-encoded with a string dictionary: the positions gather int32 codes, and each distinct value is
    written as a string once."""
    values = arrow_array(values)
    codes = values if isinstance(values, pa.DictionaryArray) else values.dictionary_encode()
    indices = codes.indices if take is None else codes.indices.take(take)
    return pa.DictionaryArray.from_arrays(indices, codes.dictionary.cast(pa.string()))


def _user_time_order(user_index: np.ndarray, times: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Stable order of events `[N]` by user, then time (ties: file order; NaN after every time; `times` None: file
    order within a user), or None when the events are already in that order (no gathers needed). Whole-number times
    sort as one int64 key `user << b | time - min` (half the time of `np.lexsort` on 20M events); other times fall
    back to `np.lexsort`."""
    if times is None:
        return np.argsort(user_index, kind="stable")
    timed = times[~np.isnan(times)]
    if timed.size == 0:
        return np.argsort(user_index, kind="stable")
    low, high = timed.min(), timed.max()
    time_bits = 62 - int(user_index.max(initial=0)).bit_length()
    if high - low + 1 >= 2.0 ** time_bits or not np.array_equal(timed, np.floor(timed)):
        return np.lexsort((times, user_index))
    del timed
    key = np.nan_to_num(times - low, copy=False, nan=high - low + 1).astype(np.int64)
    key |= user_index.astype(np.int64) << time_bits
    if (key[1:] >= key[:-1]).all():  # already in order, as released files are (grouped by user, in time order)
        return None
    return np.argsort(key, kind="stable")


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
    `item_attributes` (the item then has no attributes) are counted in the log. The inputs may be lists or Arrow
    arrays (user and item ids of any type, written as strings); grouping, sorting and the time gaps are Arrow/numpy
    operations (no Python object per event), and the sequences are built as Arrow list arrays from their offsets.
    """
    n = len(users)
    if not (len(items) == len(behaviors) == n) or (timestamps is not None and len(timestamps) != n):
        raise ValueError("users, items, behaviors (and timestamps) must have the same length")
    user_codes = arrow_array(users).dictionary_encode()  # ids of any type; dictionary in order of first appearance
    user_index = user_codes.indices.to_numpy(zero_copy_only=False)
    times = None if timestamps is None else arrow_array(timestamps, pa.float64()).to_numpy(zero_copy_only=False)
    order = _user_time_order(user_index, times)  # None: already in order
    counts = np.bincount(user_index, minlength=len(user_codes.dictionary))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    starts = offsets.to_numpy()[:-1]
    take = None if order is None else pa.array(order)
    item_codes = _gather_codes(items, take)
    known = pc.is_in(item_codes.dictionary, value_set=pa.array(list(item_attributes), pa.string())).to_numpy(False)
    item_counts = np.bincount(item_codes.indices.to_numpy(), minlength=len(known))
    missing_attr = int(item_counts[~known].sum())
    if timestamps is None:
        gaps = pa.array([NO_TIME]).take(pa.array(np.zeros(n, dtype=np.int32)))
    else:
        sorted_times = times if order is None else times[order]
        del times
        gaps = _gap_tokens(sorted_times, starts)
    columns = {
        "user_id": user_codes.dictionary.cast(pa.string()),
        "item_id": pa.ListArray.from_arrays(offsets, item_codes.cast(pa.string())),
        "behavior": pa.ListArray.from_arrays(offsets, _gather_codes(behaviors, take).cast(pa.string())),
        "time_gap": pa.ListArray.from_arrays(offsets, gaps),
    }
    if ratings is not None:
        rating = arrow_array(ratings, pa.float32())
        columns["rating"] = pa.ListArray.from_arrays(offsets, rating if take is None else rating.take(take))
    if missing_attr:
        logger.warning("%s: %d of %d events refer to items without attributes (kept; they have no attributes)", name, missing_attr, n)
    sequences = arrow_dataset(pa.table(columns).cast(sequence_features(ratings is not None).arrow_schema))
    logger.info("%s: %d users, %d events", name, len(sequences), n)
    return BehaviorData(name=name, sequences=sequences, item_attributes=dict(item_attributes), source=dict(source or {}))
