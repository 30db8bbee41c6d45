"""scripts/gpu_check.py: without CUDA its GPU config refuses clearly; with the CPU config every step runs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"
CPU_CONFIG = SCRIPT.parent / "configs" / "cpu_single.yaml"


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the real check applies")
def test_gpu_config_without_cuda_exits_2():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "no CUDA device" in out.stderr


@pytest.mark.slow
def test_every_step_runs_with_the_cpu_config(tmp_path):
    report = tmp_path / "gpu_check.json"
    out = subprocess.run([sys.executable, str(SCRIPT), "--config_file", str(CPU_CONFIG), "--steps", "1",
                          "--output", str(report)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    assert [r["step"] for r in results] == ["pretrain_srp4ctr", "finetune_ctr", "train_explainer",
                                            "train_mi_estimator", "mmi_ppo"]
    assert results[0]["samples_per_second"] > 0
