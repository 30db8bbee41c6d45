"""How long every script takes to answer `--help` (start-up before any work), beside the import floor it cannot go
below: its argument dataclasses subclass `transformers.TrainingArguments` (or TRL's `PPOConfig`), whose import
alone loads torch, transformers and peft.

    python scripts/benchmark_startup.py --output results/startup.json [--repeats 3]

Each command runs `--repeats` times in fresh processes, one after another in this run (medians reported), so the
ratios to the floor compare like with like on a shared, noisy machine.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent
FLOORS = {
    "python": "pass",
    "transformers.TrainingArguments": "from transformers import TrainingArguments",
    "trl PPOConfig": "from trl.experimental.ppo import PPOConfig",
}


def wall_seconds(command: list, repeats: int) -> float:
    """Median wall time of `command` over `repeats` fresh processes (each must exit 0)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=SCRIPTS_DIR.parent)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/startup.json")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    floors = {name: wall_seconds([sys.executable, "-c", code], args.repeats) for name, code in FLOORS.items()}
    scripts = {path.name: wall_seconds([sys.executable, str(path), "--help"], args.repeats)
               for path in sorted(SCRIPTS_DIR.glob("*.py"))}
    floor = floors["transformers.TrainingArguments"]
    report = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "repeats": args.repeats,
              "floor_seconds": floors, "help_seconds": scripts,
              "help_over_training_arguments_floor": {name: t / floor for name, t in scripts.items()},
              "slowest_help_seconds": max(scripts.values())}
    for name, seconds in {**floors, **scripts}.items():
        print(f"{name:40s} {seconds:6.2f} s")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
