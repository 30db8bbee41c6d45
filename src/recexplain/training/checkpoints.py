"""Checkpoint discovery and crash-safe saving.

A failed run must never overwrite a good model: everything is written to a
temporary sibling folder first and swapped in only when the writer finished.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

logger = logging.getLogger(__name__)
RUN_ARGUMENTS_FILE = "run_arguments.json"
# Settings that may change between a run and its resumption: where it writes, how it logs, what it publishes and how
# long it trains (a re-run with a larger --max_steps or --num_train_epochs extends the same run).
NOT_PART_OF_THE_RUN = frozenset({
    "max_steps", "num_train_epochs",
    "output_dir", "logging_dir", "resume", "resume_from_checkpoint", "overwrite_output_dir", "push_to_hub",
    "hub_model_id", "hub_token", "hub_strategy", "hub_private_repo", "report_to", "disable_tqdm", "logging_steps",
    "logging_first_step", "save_total_limit", "dataloader_num_workers", "n_bootstrap", "run_name",
})

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def _checkpoints(output_dir: Path) -> list:
    """`(step, path)` of every `checkpoint-N` folder in `output_dir` (empty when it does not exist)."""
    if not output_dir.is_dir():
        return []
    return [(int(m.group(1)), p) for p in output_dir.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir()]


def last_checkpoint(output_dir: Union[str, Path]) -> Optional[str]:
    """Path of the highest-step `checkpoint-N` folder in `output_dir` (transformers' `get_last_checkpoint`), or None
    (also when `output_dir` does not exist)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None


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


def run_arguments(*argument_dataclasses) -> dict:
    """The settings that define a run (JSON values), from its argument dataclasses (`NOT_PART_OF_THE_RUN` left out)."""
    merged = {}
    for arguments in argument_dataclasses:
        values = arguments.to_dict() if hasattr(arguments, "to_dict") else dataclasses.asdict(arguments)
        merged.update({k: v for k, v in values.items() if k not in NOT_PART_OF_THE_RUN and not k.startswith("_")})
    return json.loads(json.dumps(merged, default=str, sort_keys=True))


def resume_checkpoint(output_dir: Union[str, Path], arguments: dict, resume: bool = True,
                      is_main_process: bool = True, stages: Sequence[str] = ()) -> Optional[str]:
    """The checkpoint this run continues from, or None to start fresh; never one of a different run.

    Every run records `arguments` (`run_arguments(...)`) in `OUTPUT_DIR/run_arguments.json`. With `resume` and a
    `checkpoint-N` in `output_dir`, the recorded arguments must equal `arguments`, else `ValueError` lists what
    differs. Without `resume`, a previous run's checkpoints (and its record) are moved to `OUTPUT_DIR/previous-run-K`
    before this run writes any (`final/` stays where it is until this run replaces it atomically). `stages`: sub-folders
    that a re-run also reuses (e.g. the explainer's `lm_pretraining`): treated like checkpoints.
    """
    output_dir = Path(output_dir)
    checkpoint, record = last_checkpoint(output_dir), output_dir / RUN_ARGUMENTS_FILE
    reused = [output_dir / name for name in stages if (output_dir / name).is_dir()]
    if resume and (checkpoint or reused):
        found = Path(checkpoint or reused[0]).name  # for the messages; a stage alone is not a Trainer checkpoint
        recorded = json.loads(record.read_text()) if record.is_file() else None
        if recorded is None:
            raise ValueError(f"{output_dir} holds {found} but no {RUN_ARGUMENTS_FILE}, so it cannot be "
                             f"told apart from another run: pass --resume false to start over (its checkpoints are "
                             f"moved to {output_dir}/previous-run-N) or choose another --output_dir")
        differ = [k for k in sorted(set(recorded) | set(arguments)) if recorded.get(k) != arguments.get(k)]
        if differ:
            shown = "; ".join(f"{k}: {recorded.get(k)!r} there, {arguments.get(k)!r} now" for k in differ)
            raise ValueError(f"{output_dir} holds a different run ({found}): {shown}. Resume it with "
                             f"the same arguments, pass --resume false to start over (its checkpoints are moved to "
                             f"{output_dir}/previous-run-N, final/ is kept), or choose another --output_dir")
        logger.info("resuming from %s", checkpoint or reused[0])
        return checkpoint
    if is_main_process:
        old = [path for _, path in _checkpoints(output_dir)] + reused
        if old:
            number = 1 + max([int(p.name.rsplit("-", 1)[1]) for p in output_dir.glob("previous-run-*")
                              if p.name.rsplit("-", 1)[1].isdigit()] or [0])
            previous = output_dir / f"previous-run-{number}"
            previous.mkdir()
            for path in old + ([record] if record.is_file() else []):
                path.rename(previous / path.name)
            logger.info("starting over: moved the previous run's %s to %s", ", ".join(p.name for p in old), previous)
        output_dir.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{record.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(arguments, indent=1, sort_keys=True))
        os.replace(tmp, record)
    return None
