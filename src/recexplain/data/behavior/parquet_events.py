"""A folder of Parquet event shards, the form a distributed engine (Spark, Ray, Dask, a warehouse export) writes:
one row per event with `user_id`, `item_id`, `timestamp` and optionally `behavior` (a string; default "interact")
and `attributes` (a list of the item's attribute tokens). Read with pyarrow, every `*.parquet` file under the folder
in name order; the events are grouped into per-user sequences like every other format.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Union

from ..errors import DataFormatError
from .sequences import BehaviorData, sequences_from_events

REQUIRED = ("user_id", "item_id", "timestamp")
OPTIONAL = ("behavior", "attributes")
BEHAVIOR = "interact"


def parquet_shards(folder: Union[str, Path]) -> List[Path]:
    """The `*.parquet` files under `folder` (recursively, as engines write `part-*.parquet` or `key=value/` trees)."""
    shards = sorted(Path(folder).rglob("*.parquet"))
    if not shards:
        raise DataFormatError(Path(folder) / "*.parquet", f"file not found (no Parquet shard under {folder})")
    return shards


def _shard(path: Path):
    """One shard's event columns as a `pyarrow.Table` (`user_id`, `item_id` strings, `timestamp` seconds as float,
    `behavior`, and `attributes` when present), checked: required columns present, no nulls."""
    import pyarrow as pa
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
        if name not in table.column_names:
            continue
        column = table[name]
        if column.null_count:
            first = column.is_null().to_pylist().index(True)
            raise DataFormatError(path, f"row {first} (0-based) is null", None, name)
        if name == "timestamp":
            column = _seconds(path, column)
        elif name == "attributes":
            column = column.cast(pa.list_(pa.string()))
        else:
            column = column.cast(pa.string())
        columns[name] = column
    if "behavior" not in columns:
        columns["behavior"] = pa.array([BEHAVIOR] * len(table), pa.string())
    return pa.table(columns)


def _seconds(path: Path, column):
    """Timestamps as float seconds: numbers as they are, Arrow timestamps converted from their unit."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        per_second = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        return pa.array(column.cast(pa.int64()).to_numpy() / per_second)
    try:
        return column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise DataFormatError(path, f"timestamps must be numbers or datetimes ({error})", None, "timestamp") from None


def load_parquet_events(folder: Union[str, Path], name: str = "") -> BehaviorData:
    """Load every Parquet shard under `folder` as one event log; `name` defaults to the folder's name. An item's
    attributes are those of its first event (in shard order)."""
    import pyarrow as pa

    folder = Path(folder)
    table = pa.concat_tables([_shard(shard) for shard in parquet_shards(folder)], promote_options="permissive")
    attributes: Dict[str, List[str]] = {}
    if "attributes" in table.column_names:
        rows = pa.table({"item": table["item_id"], "row": pa.array(range(len(table)))})
        first = rows.group_by("item").aggregate([("row", "min")]).sort_by("row_min")
        tokens = table["attributes"].take(first["row_min"]).to_pylist()
        attributes = {item: values or [] for item, values in zip(first["item"].to_pylist(), tokens)}  # None: no column
    return sequences_from_events(name or folder.name, table["user_id"], table["item_id"], table["behavior"],
                                 attributes, timestamps=table["timestamp"],
                                 source={"format": "parquet", "folder": str(folder)})
