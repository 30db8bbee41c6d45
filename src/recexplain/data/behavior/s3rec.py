"""S3-Rec format loader (Amazon Beauty and the other released datasets): `{name}.txt` has one line per user,
`user_id item_1 item_2 ...` in time order (no timestamps); `{name}_item2attributes.json` maps
item id -> [attribute id, ...].

Events: `item_attr` = the item's attribute ids, `behavior` = "interact", `time_gap` = "none".
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Union

from .._io import find_file, parse_int, read_lines
from ..errors import DataFormatError
from .sequences import BehaviorData, sequences_from_events

NAMES = {"Beauty": "amazon-beauty"}  # dataset names of the releases this package benchmarks; others keep their own
ATTRIBUTES_FILE = re.compile(r"^(.+)_item2attributes\.json(\.gz)?$")
BEHAVIOR = "interact"


def load_item_attributes(path: Union[str, Path]) -> Dict[str, List[str]]:
    """Read `{item_id: [attribute_id, ...]}`; ids must be integers."""
    path = Path(path)
    text = "\n".join(line for _, line in read_lines(path))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, f"invalid JSON: {e.msg}", e.lineno) from None
    if not isinstance(raw, dict):
        raise DataFormatError(path, f"expected a JSON object item_id -> [attribute ids], found {type(raw).__name__}", 1)
    table = {}
    for key, values in raw.items():
        item = str(parse_int(path, 1, f"item {key!r} (key)", key))
        if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise DataFormatError(path, f"attributes must be a list of integers, found {values!r}", 1, f"item {key}")
        table[item] = [str(v) for v in values]
    return table


def s3rec_names(data_dir: Union[str, Path]) -> List[str]:
    """Names of the S3-Rec datasets in `data_dir`: every `{name}_item2attributes.json[.gz]` beside a `{name}.txt[.gz]`."""
    data_dir = Path(data_dir)
    found = {m[1] for p in (data_dir.iterdir() if data_dir.is_dir() else ()) if (m := ATTRIBUTES_FILE.match(p.name))}
    return sorted(n for n in found if any((data_dir / f"{n}.txt{gz}").is_file() for gz in ("", ".gz")))


def load_s3rec(data_dir: Union[str, Path], name: Optional[str] = None) -> BehaviorData:
    """Load `{name}.txt[.gz]` + `{name}_item2attributes.json[.gz]` from `data_dir` (any S3-Rec release: Beauty,
    Sports_and_Outdoors, Toys_and_Games, Yelp, ...); without `name`, the folder's one S3-Rec dataset."""
    data_dir = Path(data_dir)
    if name is None:
        names = s3rec_names(data_dir)
        if len(names) != 1:
            raise DataFormatError(data_dir / "NAME.txt", f"{'no' if not names else len(names)} S3-Rec datasets "
                                  f"({', '.join(names) or 'looked for NAME.txt beside NAME_item2attributes.json'}) "
                                  f"in {data_dir}: pass the name, e.g. --dataset s3rec-Beauty")
        name = names[0]
    seq_path = find_file(data_dir, f"{name}.txt")
    attributes = load_item_attributes(find_file(data_dir, f"{name}_item2attributes.json"))
    users, items = [], []
    for number, line in read_lines(seq_path):
        fields = line.split()
        if not fields:
            raise DataFormatError(seq_path, "blank line (expected 'user_id item_1 item_2 ...')", number, "user_id")
        user = str(parse_int(seq_path, number, "user_id", fields[0]))
        if len(fields) < 2:
            raise DataFormatError(seq_path, f"user {user} has an empty history", number, "item_1")
        for k, value in enumerate(fields[1:], start=1):
            users.append(user)
            items.append(str(parse_int(seq_path, number, f"item_{k}", value)))
    if not users:
        raise DataFormatError(seq_path, "no events (empty history)", 1, "user_id")
    return sequences_from_events(
        NAMES.get(name, name), users, items, [BEHAVIOR] * len(items), attributes,
        source={"format": "s3rec", "sequences": str(seq_path)},
    )
