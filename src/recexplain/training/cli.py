"""Command-line parsing shared by the scripts."""
import sys

from transformers import HfArgumentParser


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
