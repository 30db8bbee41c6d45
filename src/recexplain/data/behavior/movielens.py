"""MovieLens loaders, any size: RecBole atomic files (`ml-<size>.inter[.gz]` + `ml-<size>.item`) or GroupLens's own
layouts: 100K `u.data` + `u.item`, 1M/10M `ratings.dat` + `movies.dat` (`::`-separated), 20M/25M/32M
`ratings.csv` + `movies.csv` (CSV with a header, `|`-separated genres).

Events: `item_attr` = genres + a release-decade token (`decade_1990`), `behavior` = the rating
as a token ("1".."5", "4.5"), `rating` kept as a float column, `time_gap` from the timestamps.
"""
from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import pyarrow as pa

from .._io import check_fields, find_file, parse_float, parse_int, read_clean_table, read_lines, split_row
from ..errors import DataFormatError
from .sequences import BehaviorData, arrow_array, sequences_from_events

logger = logging.getLogger(__name__)

NAME = "movielens-100k"
GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]
RECBOLE_INTER = re.compile(r"^ml-(?P<size>[\w.]+)\.inter(\.gz)?$")
GROUPLENS_FOLDER = re.compile(r"^ml-(?P<size>[\w.]+)$")  # GroupLens's archives unpack to ml-1m/, ml-20m/, ...
# ratings file -> (movies file, separator, header line, size when neither the caller nor the folder says)
GROUPLENS = {"ratings.dat": ("movies.dat", "::", False, "1m"), "ratings.csv": ("movies.csv", ",", True, None)}
NO_GENRE = "(no genres listed)"


def load_movielens(data_dir: Union[str, Path], size: Optional[str] = None) -> BehaviorData:
    """Load MovieLens from `data_dir`, in RecBole atomic form if present, else a GroupLens layout.

    `size` ("100k", "1m", "20m", ...) picks `ml-<size>.inter` when the folder holds several RecBole datasets and
    names the result `movielens-<size>`; without it the folder must hold one (GroupLens layouts take the size
    from a folder named `ml-<size>`, else 100K for `u.data`, 1M for `ratings.dat`, none for `ratings.csv`).
    """
    data_dir = Path(data_dir)
    recbole = sorted({m["size"] for p in (data_dir.iterdir() if data_dir.is_dir() else ())
                      if (m := RECBOLE_INTER.match(p.name))})
    if size in recbole or (size is None and len(recbole) == 1):
        size = size or recbole[0]
        return load_movielens_recbole(find_file(data_dir, f"ml-{size}.inter"), find_file(data_dir, f"ml-{size}.item"),
                                      f"movielens-{size}")
    if size is None and len(recbole) > 1:
        raise DataFormatError(data_dir / f"ml-{recbole[0]}.inter", f"{len(recbole)} MovieLens datasets in {data_dir} "
                              f"({', '.join(f'ml-{s}' for s in recbole)}): choose one with --dataset movielens-SIZE")
    folder = GROUPLENS_FOLDER.match(data_dir.name)
    size = size or (folder["size"] if folder else None)
    if any((data_dir / n).is_file() for n in ("u.data", "u.data.gz")):
        return load_movielens_original(data_dir)
    for ratings, (movies, sep, header, default_size) in GROUPLENS.items():
        if any((data_dir / n).is_file() for n in (ratings, ratings + ".gz")):
            name = "movielens" + (f"-{size or default_size}" if size or default_size else "")
            return load_movielens_grouplens(find_file(data_dir, ratings), find_file(data_dir, movies), sep, header, name)
    wanted = f"ml-{size}.inter[.gz]" if size else "ml-*.inter[.gz]"
    raise DataFormatError(data_dir / f"ml-{size or '100k'}.inter", f"file not found (looked for {wanted}, u.data, "
                          f"ratings.dat or ratings.csv in {data_dir})")


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


def load_movielens_recbole(inter_path: Union[str, Path], item_path: Union[str, Path], name: str = NAME) -> BehaviorData:
    """RecBole `.inter` (`user_id item_id rating timestamp`) + `.item` (`item_id ... release_year class`)."""
    inter_path, item_path = Path(inter_path), Path(item_path)
    col, rows = _recbole_rows(item_path, ["item_id", "class"])
    attributes: Dict[str, List[str]] = {}
    unknown = [0]
    for number, r in rows:
        year = _decade(r[col["release_year"]], unknown) if "release_year" in col else []
        attributes[r[col["item_id"]]] = r[col["class"]].split() + year
    _log_unknown_years(item_path, unknown)
    source = {"format": "recbole", "inter": str(inter_path), "item": str(item_path)}
    header = next(read_lines(inter_path), (1, ""))[1]
    names = [h.split(":", 1)[0] for h in header.split("\t")]
    if {"user_id", "item_id", "rating", "timestamp"} <= set(names):
        types = {"user_id": pa.string(), "item_id": pa.string(), "rating": pa.float64(), "timestamp": pa.float64()}
        table = read_clean_table(inter_path, names, types, "\t", skip_rows=1)
        if table is not None:
            return _rating_sequences(name, table["user_id"], table["item_id"], table["rating"], table["timestamp"],
                                     attributes, source)
    col, rows = _recbole_rows(inter_path, ["user_id", "item_id", "rating", "timestamp"])
    if not rows:
        raise DataFormatError(inter_path, "no events (empty history)", 2, "user_id")
    users, items, ratings, times = [], [], [], []
    for number, r in rows:
        users.append(r[col["user_id"]])
        items.append(r[col["item_id"]])
        ratings.append(parse_float(inter_path, number, "rating", r[col["rating"]]))
        times.append(parse_float(inter_path, number, "timestamp", r[col["timestamp"]]))
    return _rating_sequences(name, users, items, ratings, times, attributes, source)


def _rating_sequences(name: str, users, items, ratings, timestamps, attributes: Dict[str, List[str]],
                      source: Dict[str, str]) -> BehaviorData:
    """`sequences_from_events` for explicit ratings (lists or Arrow arrays): each event's behaviour token is its
    rating, `f"{rating:g}"` ("4", "4.5"), formatted once per distinct rating."""
    codes = arrow_array(ratings, pa.float64()).dictionary_encode()
    behaviors = pa.DictionaryArray.from_arrays(codes.indices, pa.array([f"{x:g}" for x in codes.dictionary.to_pylist()]))
    return sequences_from_events(name, users, items, behaviors, attributes, timestamps=timestamps, ratings=ratings,
                                 source=source)


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
    return _rating_sequences(NAME, users, items, ratings, times, attributes,
                             {"format": "grouplens", "inter": str(data_path), "item": str(item_path)})


def _delimited_rows(path: Path, sep: str, names: List[str], header: bool, encoding: str) -> Iterator[Tuple[int, list]]:
    """`(line number, values)` of a `sep`-separated file (`","`: CSV quoting, as in movies.csv titles), skipping
    blank lines and, with `header`, checking that the first line names `names` (in GroupLens's spelling)."""
    lines = read_lines(path, encoding=encoding)
    if header:
        try:
            _, first = next(lines)
        except StopIteration:
            raise DataFormatError(path, "empty file (no header)", 1) from None
        found = [h.strip() for h in first.split(sep)]
        if len(found) != len(names):
            raise DataFormatError(path, f"header {found}: expected {len(names)} columns like {names}", 1)
    for number, line in lines:
        if not line.strip():
            continue
        values = next(csv.reader([line])) if sep == "," else line.split(sep)
        yield number, check_fields(path, number, values, names)


def load_movielens_grouplens(ratings_path: Union[str, Path], movies_path: Union[str, Path], sep: str, header: bool,
                             name: str) -> BehaviorData:
    """GroupLens 1M/10M (`ratings.dat` `UserID::MovieID::Rating::Timestamp`, `movies.dat` `MovieID::Title::Genres`)
    or 20M/25M/32M (`ratings.csv` `userId,movieId,rating,timestamp`, `movies.csv` `movieId,title,genres`); genres
    are `|`-separated, the release year is the title's trailing `(YYYY)`."""
    ratings_path, movies_path = Path(ratings_path), Path(movies_path)
    encoding = "latin-1" if sep == "::" else "utf-8"
    attributes: Dict[str, List[str]] = {}
    unknown = [0]
    for number, (movie, title, genres) in _delimited_rows(movies_path, sep, ["movie_id", "title", "genres"], header,
                                                          encoding):
        year = re.search(r"\((\d{4})\)\s*$", title)
        attributes[str(parse_int(movies_path, number, "movie_id", movie))] = (
            [g for g in genres.split("|") if g and g != NO_GENRE] + _decade(year[1] if year else "", unknown))
    _log_unknown_years(movies_path, unknown)
    fields = ["user_id", "item_id", "rating", "timestamp"]
    source = {"format": "grouplens", "inter": str(ratings_path), "item": str(movies_path)}
    table = read_clean_table(ratings_path, fields, dict(zip(fields, (pa.int64(), pa.int64(), pa.float64(), pa.int64()))),
                             sep, skip_rows=int(header))
    if table is not None:  # clean: read column-wise
        return _rating_sequences(name, table["user_id"], table["item_id"], table["rating"], table["timestamp"],
                                 attributes, source)
    users, items, ratings, times = [], [], [], []
    for number, r in _delimited_rows(ratings_path, sep, fields, header, encoding):
        users.append(str(parse_int(ratings_path, number, "user_id", r[0])))
        items.append(str(parse_int(ratings_path, number, "item_id", r[1])))
        ratings.append(parse_float(ratings_path, number, "rating", r[2]))
        times.append(parse_int(ratings_path, number, "timestamp", r[3]))
    if not users:
        raise DataFormatError(ratings_path, "no events (empty history)", 1 + header, "user_id")
    return _rating_sequences(name, users, items, ratings, times, attributes, source)
