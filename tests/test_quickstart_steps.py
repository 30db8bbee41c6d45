"""The quickstart's step runner: a finished step is skipped, a run's final folder is published as the model
folder, a failing step stops the pipeline naming the step and its log, and leaves no model folder behind."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def quickstart(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("quickstart_script", REPO / "scripts" / "quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "SCRIPTS", tmp_path / "scripts")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "ok.py").write_text(
        "import pathlib, sys\nfinal = pathlib.Path(sys.argv[1]) / 'final'\nfinal.mkdir(parents=True)\n"
        "(final / 'config.json').write_text('{}')\nprint('trained')\n")
    (tmp_path / "scripts" / "fails.py").write_text("import sys\nprint('bad row 7')\nsys.exit(3)\n")
    return module


def test_step_publishes_final_folder_and_is_skipped_when_done(quickstart, tmp_path, capsys):
    target, run = tmp_path / "models" / "m", tmp_path / "runs" / "m"
    quickstart.run_step("m", "ok.py", [run], target, tmp_path / "logs", final=run / "final")
    assert (target / "config.json").read_text() == "{}"
    assert "trained" in (tmp_path / "logs" / "m.log").read_text()
    quickstart.run_step("m", "ok.py", [tmp_path / "elsewhere"], target, tmp_path / "logs", final=run / "final")
    assert "already done" in capsys.readouterr().out and not (tmp_path / "elsewhere").exists()


def test_failing_step_names_step_and_log(quickstart, tmp_path):
    target = tmp_path / "models" / "bad"
    with pytest.raises(SystemExit, match=r"step 'bad' failed \(exit 3\); see .*bad\.log"):
        quickstart.run_step("bad", "fails.py", [], target, tmp_path / "logs", final=tmp_path / "runs" / "bad")
    assert not target.exists() and "bad row 7" in (tmp_path / "logs" / "bad.log").read_text()
