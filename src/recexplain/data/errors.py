"""The one error type raised for bad input files."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


class DataFormatError(ValueError):
    """A data file is missing or malformed; the message names the file, line and field.

    Attributes: `path`, `line` (1-based, None for whole-file problems), `field`.
    """

    def __init__(self, path: Union[str, Path], message: str, line: Optional[int] = None, field: Optional[str] = None):
        self.path, self.line, self.field = str(path), line, field
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")
