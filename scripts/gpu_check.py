"""GPU check: every training path for a few steps on CUDA with the `gpu_single.yaml` accelerate config (bf16).

    python scripts/gpu_check.py [--steps 20] [--output gpu_check.json]
    python scripts/gpu_check.py --config_file scripts/configs/cpu_single.yaml --steps 2   # the same steps on the CPU

Runs, each as `accelerate launch --config_file CONFIG scripts/<script>.py ...` on the built-in synthetic data:
SRP4CTR pre-training, CTR fine-tuning from it, PETER+ explainer training, the MINE estimator and two MMI PPO
updates. Prints, per step, its wall time, the trainer's samples/s where it reports one, and the peak GPU memory
(`nvidia-smi`, sampled every 0.2 s). Any failing step (a device or dtype error included) stops the check with
its log's tail and a non-zero exit; without a CUDA device a GPU config exits at once with exit code 2.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
THROUGHPUT = re.compile(r"'train_samples_per_second': '?([\d.]+)")


def steps(work: Path, n: int):
    """(name, script, arguments) of every step, tiny models on the synthetic data, `n` optimiser steps each."""
    explainer = work / "explainer" / "final"
    return [
        ("pretrain_srp4ctr", "pretrain_srp4ctr.py", ["--output_dir", work / "pretrain", "--max_steps", n]),
        ("finetune_ctr", "finetune_ctr.py", ["--model", "srp4ctr", "--pretrained_dir", work / "pretrain" / "final",
                                             "--output_dir", work / "ctr", "--max_steps", n]),
        ("train_explainer", "train_explainer.py", ["--output_dir", work / "explainer", "--model_type", "peter_plus",
                                                   "--hidden_size", 64, "--intermediate_size", 256, "--max_steps", n]),
        ("train_mi_estimator", "train_mi_estimator.py", ["--output_dir", work / "mine", "--tokenizer_name_or_path",
                                                         explainer, "--mine_epochs", 1]),
        ("mmi_ppo", "mmi_ppo.py", ["--sft_model_path", explainer, "--reward_model_path", work / "mine",
                                   "--reward_type", "rating", "--output_dir", work / "mmi", "--total_episodes", 128,
                                   "--per_device_train_batch_size", 64, "--num_ppo_epochs", 1]),
    ]


class GPUMemory(threading.Thread):
    """Peak `memory.used` (MiB) over all GPUs while running, from `nvidia-smi` (None without it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stopped = None, threading.Event()

    def run(self):
        while not self.stopped.wait(0.2):
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                used = sum(int(x) for x in out.split())
            except (OSError, ValueError, subprocess.SubprocessError):
                return
            self.peak = max(self.peak or 0, used)


def run_step(name, script, args, config: Path, log_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), str(SCRIPTS / script),
           *map(str, args)]
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
    memory = GPUMemory()
    memory.start()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    memory.stopped.set()
    log = log_dir / f"{name}.log"
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(f"gpu_check: step {name} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                         f"{(proc.stdout + proc.stderr)[-4000:]}\nfull log: {log}")
    found = THROUGHPUT.findall(proc.stdout + proc.stderr)
    return {"step": name, "seconds": round(seconds, 1), "samples_per_second": float(found[-1]) if found else None,
            "peak_gpu_memory_mib": memory.peak}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config_file", default=str(SCRIPTS / "configs" / "gpu_single.yaml"))
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps of each Trainer-based step")
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    parser.add_argument("--work_dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    config = Path(args.config_file)
    if "gpu" in config.name:
        import torch

        if not torch.cuda.is_available():
            print(f"gpu_check: no CUDA device here; {config.name} needs one (the GPU paths stay unverified)",
                  file=sys.stderr)
            return 2
        print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
              f"bf16 supported: {torch.cuda.is_bf16_supported()}", flush=True)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="gpu_check_"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for name, script, step_args in steps(work, args.steps):  # a failure exits here, keeping `work` and its logs
        result = run_step(name, script, step_args, config, work)
        results.append(result)
        throughput = f"{result['samples_per_second']:.1f} samples/s" if result["samples_per_second"] else "-"
        memory = f"{result['peak_gpu_memory_mib']} MiB" if result["peak_gpu_memory_mib"] is not None else "n/a"
        print(f"{name:20s} {result['seconds']:7.1f} s  {throughput:>20s}  peak GPU memory {memory}", flush=True)
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    report = {"config_file": config.name, "steps": args.steps, "results": results}
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"gpu_check: all {len(results)} steps passed with {config.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
