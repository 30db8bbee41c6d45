"""Taobao UserBehavior loader (Tianchi CSV, no header): `user_id,item_id,category_id,behavior_type,timestamp`.

Events: `item_attr` = [category id], `behavior` in pv/cart/fav/buy, `time_gap` from timestamps.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional, Union

from .._io import find_file, parse_int, read_clean_table, read_lines, split_row
from ..errors import DataFormatError
from .sequences import BehaviorData, sequences_from_events

logger = logging.getLogger(__name__)

NAME = "taobao"
FIELDS = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
BEHAVIORS = ("pv", "cart", "fav", "buy")


TRUNCATION_POLICIES = ("keep", "drop", "error")


def load_taobao(data_dir: Union[str, Path], filename: str = "UserBehavior.csv", truncated_last_line: str = "keep") -> BehaviorData:
    """Load `UserBehavior.csv[.gz]` from `data_dir` (or pass a file path as `data_dir`).

    A malformed row raises `DataFormatError`, except one case: the file's *last* line missing only
    its `timestamp` (a file cut off mid-row, as in the shared 84,476-event sample). Then
    `truncated_last_line` decides: "keep" (default; the event is kept without a timestamp, placed
    after the user's other events with time_gap "none"), "drop", or "error"; "keep"/"drop" log a warning.
    Within a user, Taobao rows are in time order, so "keep" puts the event where it belongs.
    """
    if truncated_last_line not in TRUNCATION_POLICIES:
        raise ValueError(f"truncated_last_line must be one of {TRUNCATION_POLICIES}, got {truncated_last_line!r}")
    path = Path(data_dir)
    if not path.is_file():
        path = find_file(path, filename)
    columns = _read_clean_columns(path)
    if columns is not None:
        return sequences_from_events(NAME, *columns, source={"format": "taobao-csv", "events": str(path)})
    users, items, behaviors, times = [], [], [], []
    categories: Dict[str, List[str]] = {}
    blank, pending = 0, None  # pending: (number, values) of a row missing only its timestamp
    for number, line in read_lines(path):
        if pending is not None:  # the short row was not the last line: malformed
            split_row(path, pending[0], pending[1], ",", FIELDS)
        if not line.strip():
            blank += 1
            continue
        if line.count(",") == len(FIELDS) - 2 and truncated_last_line != "error":
            pending = (number, line)
            continue
        _append(path, number, split_row(path, number, line, ",", FIELDS), users, items, behaviors, times, categories)
    if pending is not None:
        number, line = pending
        logger.warning("%s, line %d: last line is truncated (no timestamp): %s", path, number,
                       "kept without timestamp (time_gap 'none')" if truncated_last_line == "keep" else "dropped (1 event)")
        if truncated_last_line == "keep":
            _append(path, number, line.split(",") + [None], users, items, behaviors, times, categories)
    if blank:
        logger.info("%s: skipped %d blank lines", path, blank)
    if not users:
        raise DataFormatError(path, "no events (empty history)", 1, "user_id")
    _warn_multi_category(path, categories)
    return sequences_from_events(NAME, users, items, behaviors, categories, timestamps=times, source={"format": "taobao-csv", "events": str(path)})


def _read_clean_columns(path: Path) -> Optional[tuple]:
    """`(users, items, behaviors, categories, timestamps)` of a clean file, read column-wise by pyarrow's CSV reader
    (multi-threaded, no Python object per event), or None when the file is not clean: any short or long row
    (the truncated last line included), a non-integer or missing value, an unknown behaviour type, a corrupt
    `.gz`. The line-by-line reader then handles it and names the file, line and field."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # the four behaviour types dictionary-encoded as they are parsed (no string hash table over every event later)
    table = read_clean_table(path, FIELDS, {**{f: pa.int64() for f in FIELDS},
                                            "behavior_type": pa.dictionary(pa.int32(), pa.string())})
    if table is None:
        return None
    behaviors = table["behavior_type"].unify_dictionaries().combine_chunks()
    if not pc.all(pc.is_in(behaviors.dictionary, pa.array(BEHAVIORS))).as_py():
        return None
    items = table["item_id"].combine_chunks().dictionary_encode()  # codes in order of first appearance
    attributes = _first_categories(items, table["category_id"])
    if attributes is None:  # some item has more than one category: every (item, category) pair, in file order
        pairs = pa.table({"item": table["item_id"], "category": table["category_id"], "row": pa.array(np.arange(len(table)))})
        first = pairs.group_by(["item", "category"]).aggregate([("row", "min")]).sort_by("row_min")
        attributes = {}
        for item, category in zip(first["item"].cast(pa.string()).to_pylist(), first["category"].cast(pa.string()).to_pylist()):
            attributes.setdefault(item, []).append(category)
    _warn_multi_category(path, attributes)
    return table["user_id"], items, behaviors, attributes, table["timestamp"]


def _first_categories(items, categories) -> Optional[Dict[str, List[str]]]:
    """`{item: [category]}` in order of first appearance when every event of an item has the same category (as in
    the released file), else None. `items` is dictionary-encoded in order of first appearance, so an item's first
    row is where the running maximum of the codes grows: linear passes over the events, no hash table of pairs
    (Arrow's two-key `group_by` took 1.4 s of 20M events' 8 s; its hash table outgrows the CPU caches)."""
    import numpy as np
    import pyarrow as pa

    codes = items.indices.to_numpy()
    if len(codes) == 0:
        return {}
    seen = np.maximum.accumulate(codes)
    first_rows = np.flatnonzero(np.concatenate([[True], codes[1:] > seen[:-1]]))  # row of code 0, 1, 2, ...
    del seen
    values = categories.combine_chunks().to_numpy()
    first = values[first_rows]
    if not np.array_equal(values, first[codes]):
        return None
    names = items.dictionary.cast(pa.string()).to_pylist()
    return {item: [category] for item, category in zip(names, pa.array(first).cast(pa.string()).to_pylist())}


def _warn_multi_category(path: Path, categories: Dict[str, List[str]]) -> None:
    multi = sum(len(c) > 1 for c in categories.values())
    if multi:
        logger.warning("%s: %d items appear with more than one category (all kept as attributes)", path, multi)


def _append(path: Path, number: int, r: list, users: list, items: list, behaviors: list, times: list, categories: dict) -> None:
    """Validate one row (`r[4]` None = truncated timestamp) and append it to the column lists."""
    user = str(parse_int(path, number, "user_id", r[0]))
    item = str(parse_int(path, number, "item_id", r[1]))
    category = str(parse_int(path, number, "category_id", r[2]))
    if r[3] not in BEHAVIORS:
        raise DataFormatError(path, f"behavior_type must be one of {BEHAVIORS}, found {r[3]!r}", number, "behavior_type")
    times.append(None if r[4] is None else parse_int(path, number, "timestamp", r[4]))
    users.append(user)
    items.append(item)
    behaviors.append(r[3])
    cats = categories.setdefault(item, [])
    if category not in cats:
        cats.append(category)
