"""The accelerate configs in scripts/configs parse, and the CPU ones really launch."""
import re
from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType
from script_runs import accelerate_launch, run_script

CONFIGS = Path(__file__).resolve().parents[1] / "scripts" / "configs"
EXPECTED = {  # file: (distributed_type, num_processes, use_cpu, mixed_precision)
    "cpu_single.yaml": (DistributedType.NO, 1, True, "no"),
    "cpu_ddp_2proc.yaml": (DistributedType.MULTI_GPU, 2, True, "no"),  # torchrun launcher; workers run MULTI_CPU
    "gpu_single.yaml": (DistributedType.NO, 1, False, "bf16"),
    "gpu_multi.yaml": (DistributedType.MULTI_GPU, 2, False, "bf16"),
    "deepspeed_zero2.yaml": (DistributedType.DEEPSPEED, 2, False, "bf16"),
}
PROBE = """
import torch
from accelerate import Accelerator
acc = Accelerator()
total = acc.reduce(torch.tensor([acc.process_index + 1.0]), reduction="sum")
print(f"PROBE {acc.distributed_type.value} {acc.num_processes} {acc.process_index} {total.item():.1f}", flush=True)
acc.end_training()  # destroys the gloo process group; without it a worker can abort at exit ("terminate called")
"""


def test_every_config_is_covered():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_parses(name):
    config = load_config_from_file(str(CONFIGS / name))  # raises on unknown keys
    assert (config.distributed_type, config.num_processes, config.use_cpu, config.mixed_precision) == EXPECTED[name]
    if name == "deepspeed_zero2.yaml":
        assert config.deepspeed_config["zero_stage"] == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, expected",
    [("cpu_single.yaml", {"NO 1 0 1.0"}), ("cpu_ddp_2proc.yaml", {"MULTI_CPU 2 0 3.0", "MULTI_CPU 2 1 3.0"})],
)
def test_cpu_config_launches(tmp_path, name, expected):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    log = run_script(accelerate_launch(probe, config=CONFIGS / name), timeout=240)
    # the workers share stdout, so lines can interleave: match the records, not lines
    assert set(re.findall(r"PROBE (\w+ \d \d \d\.\d)", log)) == expected
