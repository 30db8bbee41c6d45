"""Checkpoint discovery and crash-safe saving.

A failed run must never overwrite a good model: everything is written to a
temporary sibling folder first and swapped in only when the writer finished.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Iterator, Optional, Union

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def last_checkpoint(output_dir: Union[str, Path]) -> Optional[str]:
    """Path of the highest-step `checkpoint-N` folder in `output_dir`, or None."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    steps = [(int(m.group(1)), p) for p in output_dir.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir()]
    return str(max(steps)[1]) if steps else None


@contextlib.contextmanager
def atomic_output_dir(target: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces `target` (kept files outside are untouched).

    Example::

        with atomic_output_dir(args.output_dir / "final") as tmp:
            model.save_pretrained(tmp)
            feature_map.save_pretrained(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
