"""Reading plain or gzipped text files line by line, with line numbers for error messages."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Iterator, List, Tuple, Union

from .errors import DataFormatError


def find_file(data_dir: Union[str, Path], *names: str) -> Path:
    """First of `names` (each also tried with/without `.gz`) that exists in `data_dir`."""
    data_dir = Path(data_dir)
    for name in names:
        for candidate in (name, name[:-3] if name.endswith(".gz") else name + ".gz"):
            if (data_dir / candidate).is_file():
                return data_dir / candidate
    raise DataFormatError(data_dir / names[0], f"file not found (looked for {', '.join(names)} in {data_dir})")


def read_lines(path: Union[str, Path], encoding: str = "utf-8") -> Iterator[Tuple[int, str]]:
    """Yield `(line_number, line)` (1-based, newline stripped); gzip is detected by the `.gz` suffix."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    number = 0
    try:
        with opener(path, "rt", encoding=encoding, newline="") as f:
            for number, line in enumerate(f, start=1):
                yield number, line.rstrip("\r\n")
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:  # a truncated or corrupt download
        raise DataFormatError(path, f"the gzip data is truncated or corrupt after {number} complete lines ({error}); "
                                    f"download or copy the file again", number + 1) from None


UNIT_SEPARATOR = "\x1f"


def read_clean_table(path: Path, names: List[str], types: dict, delimiter: str = ",", skip_rows: int = 0):
    """The file as a `pyarrow.Table` with columns `names` of `types`, read column-wise by pyarrow's multi-threaded
    CSV reader, or None when it is not clean: a row with too few or too many fields, a value that does not convert,
    a missing value, a corrupt `.gz`, no rows. Callers then read it line by line, whose errors name the line.
    A multi-character `delimiter` (GroupLens's `::`) is replaced by one in memory first."""
    import pyarrow as pa
    from pyarrow import csv

    invalid = []
    source = path
    try:
        if len(delimiter) > 1:  # pyarrow splits on one character: map GroupLens's "::" to one absent from the data
            data = pa.input_stream(str(path), compression="detect").read()
            if UNIT_SEPARATOR.encode() in data:
                return None
            source, delimiter = pa.BufferReader(data.replace(delimiter.encode(), UNIT_SEPARATOR.encode())), UNIT_SEPARATOR
        table = csv.read_csv(
            source, read_options=csv.ReadOptions(column_names=names, skip_rows=skip_rows),
            parse_options=csv.ParseOptions(delimiter=delimiter, quote_char=False,
                                           invalid_row_handler=lambda row: invalid.append(row) or "skip"),
            convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=False))
    except (pa.ArrowException, OSError, EOFError):
        return None
    if invalid or len(table) == 0 or any(column.null_count for column in table.columns):
        return None
    return table


def split_row(path: Path, number: int, line: str, sep: str, names: List[str]) -> List[str]:
    """Split one delimited row, raising `DataFormatError` when the field count is wrong."""
    return check_fields(path, number, line.split(sep), names)


def check_fields(path: Path, number: int, values: List[str], names: List[str]) -> List[str]:
    """`values` (one row's fields), or a `DataFormatError` when there are more or fewer than `names`."""
    if len(values) < len(names):  # which field is missing cannot be known: show what is there
        raise DataFormatError(path, f"expected {len(names)} fields {names}, found {len(values)}: {values} "
                                    f"(a field is missing)", number)
    if len(values) > len(names):
        raise DataFormatError(path, f"expected {len(names)} fields {names}, found {len(values)}", number,
                              f"<extra field {len(names) + 1}>")
    return values


def parse_int(path: Path, number: int, field: str, value: str) -> int:
    """`int(value)` or a `DataFormatError` naming the file, line and field."""
    try:
        return int(value)
    except ValueError:
        raise DataFormatError(path, f"expected an integer, found {value!r}", number, field) from None


def parse_float(path: Path, number: int, field: str, value: str) -> float:
    """`float(value)` or a `DataFormatError` naming the file, line and field."""
    try:
        return float(value)
    except ValueError:
        raise DataFormatError(path, f"expected a number, found {value!r}", number, field) from None
