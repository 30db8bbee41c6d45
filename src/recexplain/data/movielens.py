"""MovieLens-100K loader: RecBole atomic files (`ml-100k.inter[.gz]`, `ml-100k.item`) or the
original GroupLens layout (`u.data`, `u.item`).

Events: `item_attr` = genres + a release-decade token (`decade_1990`), `behavior` = the rating
as a token ("1".."5"), `rating` kept as a float column, `time_gap` from the timestamps.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Tuple, Union

from ._io import find_file, parse_float, parse_int, read_lines, split_row
from .behavior import BehaviorData, sequences_from_events
from .errors import DataFormatError

logger = logging.getLogger(__name__)

NAME = "movielens-100k"
GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]


def load_movielens(data_dir: Union[str, Path]) -> BehaviorData:
    """Load MovieLens-100K from `data_dir`, in RecBole atomic form if present, else the original layout."""
    data_dir = Path(data_dir)
    try:
        inter = find_file(data_dir, "ml-100k.inter")
    except DataFormatError:
        if any((data_dir / n).is_file() for n in ("u.data", "u.data.gz")):
            return load_movielens_original(data_dir)
        raise DataFormatError(data_dir / "ml-100k.inter", f"file not found (neither ml-100k.inter[.gz] nor u.data in {data_dir})") from None
    return load_movielens_recbole(inter, find_file(data_dir, "ml-100k.item"))


def _decade(year: str, unknown: List[int]) -> List[str]:
    """`["decade_1990"]` for "1995"; a blank or non-numeric year (e.g. "unkonwn" in RecBole's
    ml-100k.item) gives no token and is counted in `unknown`."""
    year = year.strip()
    if not year.isdigit():
        unknown[0] += 1
        return []
    return [f"decade_{int(year) // 10 * 10}"]


def _log_unknown_years(path: Path, unknown: List[int]) -> None:
    if unknown[0]:
        logger.info("%s: %d items without a numeric release year (no decade token)", path, unknown[0])


def _recbole_rows(path: Path, required: List[str]) -> Tuple[Dict[str, int], list]:
    """Parse a RecBole atomic file: typed header `name:type` then tab-separated rows."""
    lines = read_lines(path)
    try:
        _, header = next(lines)
    except StopIteration:
        raise DataFormatError(path, "empty file (no header)", 1) from None
    names = [h.split(":", 1)[0] for h in header.split("\t")]
    for col in required:
        if col not in names:
            raise DataFormatError(path, f"missing column {col!r}; header has {names}", 1, col)
    rows, blank = [], 0
    for number, line in lines:
        if not line.strip():
            blank += 1
            continue
        rows.append((number, split_row(path, number, line, "\t", names)))
    if blank:
        logger.info("%s: skipped %d blank lines", path, blank)
    return {n: i for i, n in enumerate(names)}, rows


def load_movielens_recbole(inter_path: Union[str, Path], item_path: Union[str, Path]) -> BehaviorData:
    """RecBole `.inter` (`user_id item_id rating timestamp`) + `.item` (`item_id ... release_year class`)."""
    inter_path, item_path = Path(inter_path), Path(item_path)
    col, rows = _recbole_rows(item_path, ["item_id", "class"])
    attributes: Dict[str, List[str]] = {}
    unknown = [0]
    for number, r in rows:
        year = _decade(r[col["release_year"]], unknown) if "release_year" in col else []
        attributes[r[col["item_id"]]] = r[col["class"]].split() + year
    _log_unknown_years(item_path, unknown)
    col, rows = _recbole_rows(inter_path, ["user_id", "item_id", "rating", "timestamp"])
    if not rows:
        raise DataFormatError(inter_path, "no events (empty history)", 2, "user_id")
    users, items, ratings, times = [], [], [], []
    for number, r in rows:
        users.append(r[col["user_id"]])
        items.append(r[col["item_id"]])
        ratings.append(parse_float(inter_path, number, "rating", r[col["rating"]]))
        times.append(parse_float(inter_path, number, "timestamp", r[col["timestamp"]]))
    return sequences_from_events(
        NAME, users, items, [f"{x:g}" for x in ratings], attributes, timestamps=times, ratings=ratings,
        source={"format": "recbole", "inter": str(inter_path), "item": str(item_path)},
    )


def load_movielens_original(data_dir: Union[str, Path]) -> BehaviorData:
    """GroupLens layout: `u.data` (tab: user item rating timestamp), `u.item` (pipe, 19 genre flags)."""
    data_dir = Path(data_dir)
    data_path, item_path = find_file(data_dir, "u.data"), find_file(data_dir, "u.item")
    item_fields = ["movie_id", "title", "release_date", "video_release_date", "imdb_url"] + [f"genre:{g}" for g in GENRES]
    attributes: Dict[str, List[str]] = {}
    unknown = [0]
    for number, line in read_lines(item_path, encoding="latin-1"):
        if not line.strip():
            continue
        r = split_row(item_path, number, line, "|", item_fields)
        item = str(parse_int(item_path, number, "movie_id", r[0]))
        genres = []
        for g, flag in zip(GENRES, r[5:]):
            if flag not in ("0", "1"):
                raise DataFormatError(item_path, f"genre flag must be 0 or 1, found {flag!r}", number, f"genre:{g}")
            if flag == "1":
                genres.append(g)
        attributes[item] = genres + _decade(r[2].strip()[-4:], unknown)
    _log_unknown_years(item_path, unknown)
    users, items, ratings, times = [], [], [], []
    fields = ["user_id", "item_id", "rating", "timestamp"]
    for number, line in read_lines(data_path):
        if not line.strip():
            continue
        r = split_row(data_path, number, line, "\t", fields)
        users.append(str(parse_int(data_path, number, "user_id", r[0])))
        items.append(str(parse_int(data_path, number, "item_id", r[1])))
        ratings.append(float(parse_int(data_path, number, "rating", r[2])))
        times.append(parse_int(data_path, number, "timestamp", r[3]))
    if not users:
        raise DataFormatError(data_path, "no events (empty history)", 1, "user_id")
    return sequences_from_events(
        NAME, users, items, [f"{x:g}" for x in ratings], attributes, timestamps=times, ratings=ratings,
        source={"format": "grouplens", "inter": str(data_path), "item": str(item_path)},
    )
