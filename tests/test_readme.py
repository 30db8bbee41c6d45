"""The README's Python snippets run as written, against model folders laid out as the quickstart writes them
(tiny models from `tiny_models`, built on the synthetic data, stand in for the quickstart's trained ones)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import save_tiny_models

from recexplain.quickstart import CTR_FOLDERS, EXPLAINER_FOLDERS

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)
# each folder of the quickstart's models/ (recexplain.quickstart) and the tiny model that stands in for it
QUICKSTART_FOLDERS = {**{folder: f"{model}_ctr" for folder, model in CTR_FOLDERS.items()},
                      **{folder: "explainer_peter_plus" for folder in EXPLAINER_FOLDERS}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    save_tiny_models(root / "tiny")
    for name, tiny in QUICKSTART_FOLDERS.items():
        shutil.copytree(root / "tiny" / tiny, root / "outputs" / "quickstart" / "models" / name)
    return root


def test_readme_has_the_snippets():
    assert len(SNIPPETS) >= 3
    assert any("AutoModelForCTRPrediction" in s for s in SNIPPETS)
    assert any(".generate(" in s for s in SNIPPETS)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(workdir, index):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}
    proc = subprocess.run([sys.executable, "-c", SNIPPETS[index]], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"README snippet {index} failed:\n{SNIPPETS[index]}\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), "every README snippet prints its result"
