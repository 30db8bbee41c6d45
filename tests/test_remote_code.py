"""Issue 6 item 1: every saved model loads with `trust_remote_code=True` in a process where `recexplain`
cannot be imported, and reproduces the original outputs exactly (one clean process for all models)."""
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
from remote_probes import PROBES
from tiny_models import save_tiny_models
from transformers import AutoModel

TESTS_DIR = Path(__file__).resolve().parent

# Runs in the clean process: argv[1] = the manifest (`TinyModel`s as dicts); prints "OK <name>" per model.
CLEAN_PROCESS = r'''
import json, sys
sys.modules["recexplain"] = None  # only transformers and its dependencies
try:
    import recexplain
except ImportError:
    pass
else:
    raise SystemExit("recexplain is importable")
import torch, transformers
from remote_probes import PROBES

for name, m in torch.load(sys.argv[1]).items():
    config = transformers.AutoConfig.from_pretrained(m["folder"], trust_remote_code=True)
    model = getattr(transformers, m["auto_class"]).from_pretrained(m["folder"], trust_remote_code=True).eval()
    for obj, cls in ((config, m["config_class"]), (model, m["model_class"])):
        assert type(obj).__name__ == cls and type(obj).__module__.startswith("transformers_modules."), (name, type(obj))
    outputs = PROBES[m["probe"]](model, m["inputs"])
    assert outputs.keys() == m["expected"].keys(), name
    for key, value in outputs.items():
        assert torch.equal(value, m["expected"][key]), (name, key, value, m["expected"][key])
    if m["texts"]:
        tokenizer = transformers.AutoTokenizer.from_pretrained(m["folder"], trust_remote_code=True)
        ids = tokenizer(m["texts"], return_tensors="pt", padding=True)["input_ids"]
        assert torch.equal(ids, m["text_ids"]), (name, ids)
    if m["feature_map"]:
        with open(m["folder"] + "/feature_map.json", encoding="utf-8") as f:
            vocabs = json.load(f)["vocabs"]
        assert len(vocabs["item_id"]) == config.item_vocab_size, name
        for field, (ids, tokens) in m["feature_map"].items():
            assert [vocabs[field][i] for i in ids] == tokens, (name, field)
    print("OK", name, flush=True)
leaked = sorted(k for k, v in sys.modules.items() if k.startswith("recexplain") and v is not None)
assert not leaked, leaked
'''

MODELS = {"srp4ctr_pretraining", "srp4ctr_pretraining_encoder", "srp4ctr_ctr", "srp4ctr_ctr_encoder", "din_ctr",
          "bst_ctr", "din_qformer_ctr", "explainer_peter_plus", "explainer_causal_lm", "mi_estimator"}


@pytest.mark.slow
def test_every_model_loads_without_recexplain(tmp_path):
    models = save_tiny_models(tmp_path / "models")
    # the natural call on a pre-training folder, AutoModel, gives its encoder, whose output the pre-training
    # model returned as last_hidden_state (issue 14 item 9)
    pre = models["srp4ctr_pretraining"]
    models["srp4ctr_pretraining_encoder"] = replace(
        pre, auto_class="AutoModel", model_class="SRP4CTRModel", probe="encoder", feature_map={},
        inputs={k: v for k, v in pre.inputs.items() if k.startswith("history_")},
        expected={"last_hidden_state": pre.expected["last_hidden_state"]})
    # and on an SRP4CTR CTR folder too, as `AutoModel` does in-process (transformers' base-model convention)
    ctr = models["srp4ctr_ctr"]
    history = {k: v for k, v in ctr.inputs.items() if k.startswith("history_")}
    encoder = AutoModel.from_pretrained(ctr.folder).eval()
    assert type(encoder).__name__ == "SRP4CTRModel"
    models["srp4ctr_ctr_encoder"] = replace(ctr, auto_class="AutoModel", model_class="SRP4CTRModel", probe="encoder",
                                            inputs=history, expected=PROBES["encoder"](encoder, history))
    assert set(models) == MODELS
    manifest = tmp_path / "manifest.pt"
    torch.save({name: asdict(m) for name, m in models.items()}, manifest)
    elsewhere = tmp_path / "cwd"  # outside the repository: no `src/` or `recexplain` next to the process
    elsewhere.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(TESTS_DIR),  # remote_probes only (torch); nothing of the package
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": str(torch.get_num_threads()),  # same kernels as here: outputs compared exactly
    }
    result = subprocess.run([sys.executable, "-c", CLEAN_PROCESS, str(manifest)], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split() == [w for name in models for w in ("OK", name)]
    # the code ran from the copies transformers made of each folder's modules
    copied = {p.name for p in (tmp_path / "modules" / "transformers_modules").rglob("modeling_*.py")}
    assert {"modeling_srp4ctr.py", "modeling_din.py", "modeling_bst.py", "modeling_din_qformer.py",
            "modeling_explainer.py", "modeling_mi_estimator.py"} <= copied
