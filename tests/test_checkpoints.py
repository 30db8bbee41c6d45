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


def test_resume_checkpoint_refuses_another_run_and_moves_it_aside_on_request(tmp_path):
    import pytest

    from recexplain.training import resume_checkpoint

    args = {"model": "peter", "seed": 0}
    assert resume_checkpoint(tmp_path, args) is None  # a fresh folder: nothing to resume, the run is recorded
    (tmp_path / "checkpoint-5").mkdir()
    assert resume_checkpoint(tmp_path, args) == str(tmp_path / "checkpoint-5")
    with pytest.raises(ValueError, match=r"seed: 0 there, 1 now"):
        resume_checkpoint(tmp_path, {**args, "seed": 1})
    (tmp_path / "checkpoint-5").rmdir()
    (tmp_path / "lm_pretraining" / "final").mkdir(parents=True)  # a reusable stage counts like a checkpoint
    with pytest.raises(ValueError, match=r"lm_pretraining.*seed: 0 there, 1 now"):
        resume_checkpoint(tmp_path, {**args, "seed": 1}, stages=["lm_pretraining"])
    (tmp_path / "final").mkdir()
    assert resume_checkpoint(tmp_path, {**args, "seed": 1}, resume=False, stages=["lm_pretraining"]) is None
    assert (tmp_path / "previous-run-1" / "lm_pretraining" / "final").is_dir() and (tmp_path / "final").is_dir()
    (tmp_path / "run_arguments.json").unlink()
    (tmp_path / "checkpoint-7").mkdir()
    with pytest.raises(ValueError, match=r"no run_arguments\.json"):  # an unrecorded run is never guessed at
        resume_checkpoint(tmp_path, args)
