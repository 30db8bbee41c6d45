"""Command-line parsing and run set-up shared by the training scripts."""
import logging
import sys
from dataclasses import dataclass, field
from typing import Optional, Sequence

from transformers import HfArgumentParser


@dataclass
class RunArguments:
    """Run options of every training script that are neither data, model nor Trainer settings (a script adds its own
    by subclassing)."""

    resume: bool = field(default=True, metadata={"help": "resume from the last checkpoint in --output_dir if any"})


def parse_dataclasses(parser: HfArgumentParser, argv=None) -> tuple:
    """Parse `argv` (default `sys.argv[1:]`) into the parser's dataclasses: a single `*.yaml`/`*.yml`
    or `*.json` argument is read as a file of the same arguments, anything else as command-line flags."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith((".yaml", ".yml")):
        return parser.parse_yaml_file(argv[0])
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(argv[0])
    return parser.parse_args_into_dataclasses(argv)


def comma_list(text: str) -> list:
    """`"a, b,,c"` -> `["a", "b", "c"]`: a comma-separated argument's non-empty items, stripped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def start_run(training_args) -> bool:
    """Logging, transformers' verbosity and the seed of a training script; returns whether to push to the Hub,
    which the script does with the final folder only (`training_args.push_to_hub` is switched off, so that no
    checkpoint is pushed)."""
    import transformers

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    transformers.set_seed(training_args.seed)
    push, training_args.push_to_hub = training_args.push_to_hub, False
    return push


def resume_point(script_args, data_args, model_args, training_args, stages: Sequence[str] = ()) -> Optional[str]:
    """The checkpoint a training script continues from (`--resume_from_checkpoint`, else `checkpoints.resume_checkpoint`
    with the run's arguments: never one of a different run), decided by the main process first."""
    from .checkpoints import resume_checkpoint, run_arguments

    with training_args.main_process_first(desc="run record"):
        return training_args.resume_from_checkpoint or resume_checkpoint(
            training_args.output_dir, run_arguments(script_args, data_args, model_args, training_args),
            script_args.resume, training_args.process_index == 0, stages=stages)
