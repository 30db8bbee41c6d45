import pytest

from recexplain.training import atomic_output_dir, last_checkpoint


def test_last_checkpoint_picks_highest_step(tmp_path):
    assert last_checkpoint(tmp_path / "missing") is None
    for step in (5, 40, 300):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-x").mkdir()
    assert last_checkpoint(tmp_path).endswith("checkpoint-300")


def test_failed_save_keeps_the_good_model(tmp_path):
    target = tmp_path / "model"
    with atomic_output_dir(target) as tmp:
        (tmp / "weights").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_output_dir(target) as tmp:
            (tmp / "weights").write_text("half written")
            raise RuntimeError("training diverged")
    assert (target / "weights").read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
