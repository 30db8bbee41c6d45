"""A folder of Parquet event shards, the form a distributed engine (Spark, Ray, Dask, a warehouse export) writes:
one row per event with `user_id`, `item_id`, `timestamp` and optionally `behavior` (a string; default "interact")
and `attributes` (a list of the item's attribute tokens). Read with pyarrow, every `*.parquet` file under the folder
in name order; the events are grouped into per-user sequences like every other format.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Union

from .behavior import BehaviorData, sequences_from_events
from .errors import DataFormatError

REQUIRED = ("user_id", "item_id", "timestamp")
OPTIONAL = ("behavior", "attributes")
BEHAVIOR = "interact"


def parquet_shards(folder: Union[str, Path]) -> List[Path]:
    """The `*.parquet` files under `folder` (recursively, as engines write `part-*.parquet` or `key=value/` trees)."""
    shards = sorted(Path(folder).rglob("*.parquet"))
    if not shards:
        raise DataFormatError(Path(folder) / "*.parquet", f"file not found (no Parquet shard under {folder})")
    return shards


def _columns(path: Path) -> Dict[str, list]:
    """One shard's event columns as Python lists, checked: required columns present, no nulls."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # noqa: BLE001: pyarrow raises several types for a corrupt file
        raise DataFormatError(path, f"not a readable Parquet file ({error})") from None
    for name in REQUIRED:
        if name not in table.column_names:
            raise DataFormatError(path, f"missing column {name!r}; the shard has {table.column_names}", None, name)
    columns = {}
    for name in REQUIRED + OPTIONAL:
        if name in table.column_names:
            values = table.column(name).to_pylist()
            if None in values:
                raise DataFormatError(path, f"row {values.index(None)} (0-based) is null", None, name)
            columns[name] = values
    return columns


def load_parquet_events(folder: Union[str, Path], name: str = "") -> BehaviorData:
    """Load every Parquet shard under `folder` as one event log; `name` defaults to the folder's name."""
    folder = Path(folder)
    users, items, behaviors, timestamps, attributes = [], [], [], [], {}
    for shard in parquet_shards(folder):
        columns = _columns(shard)
        users += [str(u) for u in columns["user_id"]]
        shard_items = [str(i) for i in columns["item_id"]]
        items += shard_items
        behaviors += [str(b) for b in columns.get("behavior", [BEHAVIOR] * len(shard_items))]
        try:
            timestamps += [float(t.timestamp() if hasattr(t, "timestamp") else t) for t in columns["timestamp"]]
        except (TypeError, ValueError) as error:
            raise DataFormatError(shard, f"timestamps must be numbers or datetimes ({error})", None, "timestamp") from None
        for item, tokens in zip(shard_items, columns.get("attributes", ())):
            attributes.setdefault(item, [str(t) for t in tokens])
    return sequences_from_events(name or folder.name, users, items, behaviors, attributes, timestamps=timestamps,
                                 source={"format": "parquet", "folder": str(folder)})
