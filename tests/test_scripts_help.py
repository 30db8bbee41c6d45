"""Every script answers `--help` (argument help texts are %-formatted by argparse: a stray `%` breaks it)."""
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "scripts").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help(script):
    proc = subprocess.run([sys.executable, f"scripts/{script}", "--help"], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--output" in proc.stdout or "--sft_model_path" in proc.stdout, proc.stdout[:500]
