"""Running the package's scripts in a subprocess from the tests: one CPU thread, no GPU, from the repository root."""
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TWO_PROCESS_CONFIG = "scripts/configs/cpu_ddp_2proc.yaml"


def script_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "true"}


def run_script(args, timeout=300) -> str:
    """Run `args` in the repository root; fails the test with the output's tail unless it exits 0; returns the log."""
    proc = subprocess.run(args, cwd=REPO, env=script_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(target, *args, config=TWO_PROCESS_CONFIG) -> list:
    """`accelerate launch --config_file config target args` on a free port; `target` and `config` are paths (relative
    to the repository root, or absolute); the default config runs 2 CPU processes (gloo)."""
    return [PYTHON, "-m", "accelerate.commands.launch", "--config_file", str(config),
            "--main_process_port", str(free_port()), str(target), *args]
