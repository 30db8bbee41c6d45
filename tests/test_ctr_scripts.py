"""SRP4CTR training scripts and the CTR benchmark: smoke runs with `python`, resume from the last checkpoint,
a 2-process data-parallel run under `accelerate launch`, encoder loading, the benchmark JSON and its plot.
Everything runs on the synthetic default with tiny models and a few steps."""
import json
import subprocess

import numpy as np
import pytest
import torch
from script_runs import PYTHON, REPO, run_script, script_env, accelerate_launch

TINY = ["--hidden_size", "16", "--intermediate_size", "32", "--num_hidden_layers", "1", "--max_seq_len", "10",
        "--disable_tqdm", "true", "--seed", "0"]
TINY_CTR = TINY + ["--max_train_targets_per_user", "1", "--num_eval_negatives", "4", "--n_bootstrap", "20",
                   "--eval_strategy", "steps", "--save_strategy", "steps", "--eval_steps", "2", "--save_steps", "2",
                   "--per_device_train_batch_size", "64", "--per_device_eval_batch_size", "64",
                   "--mlp_hidden_sizes", "16", "--attention_hidden_sizes", "8"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp("pre")
    log = run_script([PYTHON, "scripts/pretrain_srp4ctr.py", "--output_dir", str(out), "--max_steps", "3", *TINY])
    assert "world size 1" in log
    return out


@pytest.mark.slow
def test_pretrain_script_saves_model_and_feature_map(pretrained):
    from recexplain.data import FeatureMap
    from recexplain.models.srp4ctr import SRP4CTRForPreTraining

    final = pretrained / "final"
    for name in ("config.json", "model.safetensors", "feature_map.json", "eval_results.json", "README.md"):
        assert (final / name).exists(), name
    model = SRP4CTRForPreTraining.from_pretrained(final)
    fm = FeatureMap.from_pretrained(final)
    assert model.config.item_vocab_size == fm.vocab_size("item_id") and fm.max_seq_len == 10
    assert json.loads((final / "eval_results.json").read_text())["eval_loss"] > 0


@pytest.mark.slow
def test_finetune_script_trains_evaluates_and_resumes(pretrained, tmp_path):
    from recexplain.models.srp4ctr import AutoModelForCTRPrediction, SRP4CTRForCTRPrediction

    base = [PYTHON, "scripts/finetune_ctr.py", "--model", "srp4ctr", "--pretrained_dir", str(pretrained),
            "--output_dir", str(tmp_path), *TINY_CTR]
    run_script(base + ["--max_steps", "2"])
    assert (tmp_path / "checkpoint-2").is_dir()
    log = run_script(base + ["--max_steps", "4"])  # a second run continues from checkpoint-2
    assert f"resuming from {tmp_path / 'checkpoint-2'}" in log
    state = json.loads((tmp_path / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    final = tmp_path / "final"
    results = json.loads((final / "eval_results.json").read_text())
    assert 0.0 <= results["test_auc"] <= 1.0 and len(results["test_auc_ci"]) == 2 and results["label_mode"] == "sampled"
    assert "model-index" in (final / "README.md").read_text()
    model = AutoModelForCTRPrediction.from_pretrained(final)
    assert isinstance(model, SRP4CTRForCTRPrediction)


@pytest.mark.slow
def test_resume_never_continues_a_differentrun_script(tmp_path):
    din = [PYTHON, "scripts/finetune_ctr.py", "--output_dir", str(tmp_path), *TINY_CTR, "--max_steps", "2"]
    run_script(din + ["--model", "din"])
    assert (tmp_path / "checkpoint-2").is_dir() and (tmp_path / "run_arguments.json").is_file()
    proc = subprocess.run(din + ["--model", "bst"], cwd=REPO, env=script_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "holds a different run (checkpoint-2): model: 'din' there, 'bst' now" in proc.stderr
    assert "--resume false" in proc.stderr and (tmp_path / "checkpoint-2").is_dir()  # nothing lost
    log = run_script(din + ["--model", "bst", "--resume", "false"])  # starts over: the DIN run's checkpoints move aside
    assert "moved the previous run's checkpoint-2" in log
    assert (tmp_path / "previous-run-1" / "checkpoint-2" / "trainer_state.json").is_file()
    assert json.loads((tmp_path / "previous-run-1" / "run_arguments.json").read_text())["model"] == "din"
    assert json.loads((tmp_path / "run_arguments.json").read_text())["model"] == "bst"
    assert json.loads((tmp_path / "final" / "config.json").read_text())["model_type"] == "bst_ctr"
    log = run_script(din + ["--model", "bst", "--max_steps", "4"])  # the same run, longer: resumes its own checkpoint
    assert f"resuming from {tmp_path / 'checkpoint-2'}" in log


@pytest.mark.slow
def test_two_process_data_parallelrun_script(tmp_path):
    from recexplain.models.srp4ctr import AutoModelForCTRPrediction, DINForCTRPrediction

    log = run_script(accelerate_launch("scripts/finetune_ctr.py", "--model", "din", "--output_dir", str(tmp_path),
                                        "--max_steps", "2", *TINY_CTR), timeout=600)
    assert log.count("world size 2 (DistributedType.MULTI_CPU)") == 2, log[-3000:]  # both gloo workers
    assert "process 1" in log
    assert isinstance(AutoModelForCTRPrediction.from_pretrained(tmp_path / "final"), DINForCTRPrediction)


def test_build_ctr_model_loads_pretrained_encoders(tmp_path):
    from recexplain.data import FeatureMap, load_behavior_dataset, split_sequences
    from recexplain.training.ctr import CTRModelArguments, PretrainingModelArguments, build_ctr_model, build_pretraining_model

    data = load_behavior_dataset("synthetic", num_users=30, num_items=40, num_categories=4)
    fm = FeatureMap.build(split_sequences(data.sequences)["train"], data.item_attributes, max_seq_len=8)
    sizes = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1)
    for side in (True, False):
        pre = build_pretraining_model(PretrainingModelArguments(use_side_info=side, **sizes), fm)
        pre.save_pretrained(tmp_path / str(side))
        encoder = pre.srp4ctr.state_dict()
        for model in ("srp4ctr", "din_qformer"):
            args = CTRModelArguments(model=model, pretrained_dir=str(tmp_path / str(side)), freeze_encoder=True,
                                     use_side_info=True if model == "srp4ctr" else None, **sizes)
            ctr = build_ctr_model(args, fm)
            loaded = ctr.srp4ctr.state_dict()
            for name, value in encoder.items():  # every pre-trained encoder weight arrives unchanged
                torch.testing.assert_close(loaded[name], value, msg=name)
            assert not any(p.requires_grad for p in ctr.srp4ctr.parameters())
            if model == "srp4ctr":  # an item-id-only encoder gains side-information embeddings
                assert ctr.config.use_side_info and hasattr(ctr.srp4ctr.embeddings.fields, "attr_embeddings")
    assert build_ctr_model(CTRModelArguments(causal_attention=True, **sizes), fm).config.causal_attention
    for bad in (dict(model="din"), dict(pretrained_dir=str(tmp_path / "True"))):  # bidirectional encoders only
        with pytest.raises(ValueError, match="--causal_attention applies to srp4ctr trained from scratch"):
            CTRModelArguments(causal_attention=True, **bad)


def test_encoder_learning_rate_ratio(tmp_path):
    """`--encoder_learning_rate_ratio r`: the encoder's parameters (`srp4ctr.*`) train at r x the learning rate,
    every other trainable parameter at the learning rate, each exactly once; the schedule scales both."""
    from recexplain.models.srp4ctr import SRP4CTRConfig, SRP4CTRForCTRPrediction
    from recexplain.training.ctr import CTRTrainer, CTRTrainingArguments

    model = SRP4CTRForCTRPrediction(SRP4CTRConfig(item_vocab_size=20, attr_vocab_size=8, behavior_vocab_size=5,
                                                  time_vocab_size=6, user_vocab_size=5, max_seq_len=4, max_attrs=2,
                                                  hidden_size=16, num_hidden_layers=1, intermediate_size=32))
    plain = dict(output_dir=str(tmp_path), eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    args = CTRTrainingArguments(**plain, learning_rate=1e-3, encoder_learning_rate_ratio=0.1, warmup_steps=0,
                                lr_scheduler_type="linear")
    trainer = CTRTrainer(model=model, args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    lr_of = {id(p): g["lr"] for g in trainer.optimizer.param_groups for p in g["params"]}
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert len(lr_of) == sum(len(g["params"]) for g in trainer.optimizer.param_groups) == len(named)
    for name, param in named:
        assert lr_of[id(param)] == pytest.approx(1e-4 if name.startswith("srp4ctr.") else 1e-3), name
    trainer.lr_scheduler.step()  # linear decay: both groups at 9/10 of their start
    assert sorted({round(g["lr"], 9) for g in trainer.optimizer.param_groups}) == [9e-5, 9e-4]
    assert len(CTRTrainer(model=model, args=CTRTrainingArguments(**plain)).create_optimizer()
               .param_groups) == 2  # ratio 1: transformers' own two groups (decay / no decay)
    with pytest.raises(ValueError, match="encoder_learning_rate_ratio"):
        CTRTrainingArguments(**plain, encoder_learning_rate_ratio=0.0)


def test_benchmark_json_and_plot(tmp_path):
    from recexplain.training.ctr_benchmark import BENCHMARK_MODELS, QUICK, run_benchmark
    from recexplain.training.ctr_plots import ctr_benchmark_table, ctr_paired_table, plot_ctr_benchmark

    import dataclasses

    settings = dataclasses.replace(QUICK, max_seq_len=8, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   pretrain_steps=2, ctr_max_steps=2, max_train_targets_per_user=1,
                                   num_eval_negatives=4, max_validation_users=50, n_bootstrap=10, max_windows_per_user=1)
    out = tmp_path / "bench.json"
    jobs = []
    run_benchmark(["synthetic"], None, [0], settings, out, progress=jobs.append)
    result = json.loads(out.read_text())
    entry = result["datasets"]["synthetic"]
    assert entry["n_users"] == 500 and entry["n_test"] == 500 and entry["eval_candidates_per_row"] == 5
    assert list(entry["models"]) == list(BENCHMARK_MODELS) and result["seeds"] == [0]
    for scores in entry["models"].values():
        assert 0 <= scores["auc"] <= 1 and scores["auc_std"] == 0.0 and len(scores["auc_ci"]) == 2
        assert scores["train_seconds"] > 0 and {"gauc", "logloss"} <= set(scores)
        assert scores["runs"][0]["steps"] == 2 and scores["runs"][0]["best_step"] in (1, 2)
    assert len(jobs) == 1 + 2 + len(BENCHMARK_MODELS)
    png = plot_ctr_benchmark(out, tmp_path / "bench.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ctr_benchmark_table(out).count("| synthetic |") == len(BENCHMARK_MODELS)
    models, pairs = entry["models"], entry["paired"]  # every pair, paired bootstrap over the same test users
    assert len(pairs) == len(BENCHMARK_MODELS) * (len(BENCHMARK_MODELS) - 1) // 2
    fg = pairs["srp4ctr_fgbert-srp4ctr_bert"]
    assert fg["mean"] == pytest.approx(models["srp4ctr_fgbert"]["auc"] - models["srp4ctr_bert"]["auc"])
    assert fg["ci_low"] <= fg["ci_high"] and fg["per_seed"][0]["seed"] == 0
    assert {"srp4ctr_fgbert-srp4ctr_scratch", "din_qformer-din"} <= set(pairs)
    assert ctr_paired_table(out, pairs=["srp4ctr_fgbert-srp4ctr_bert"]).count("| synthetic |") == 1


@pytest.mark.slow
def test_benchmark_script_cli_and_merge(tmp_path):
    from recexplain.training.ctr_benchmark import merge_benchmark_results

    out = tmp_path / "bench.json"
    run_script([PYTHON, "scripts/benchmark_ctr.py", "--datasets", "synthetic", "--quick", "--models", "din",
          "--ctr_max_steps", "2", "--max_train_targets_per_user", "1", "--num_eval_negatives", "4",
          "--n_bootstrap", "10", "--max_test_users", "50", "--item_mask_prob", "0.3", "--output", str(out)])
    part = json.loads(out.read_text())
    assert part["command"].endswith(f"--output {out}") and part["models"] == ["din"] and part["seeds"] == [0]
    assert part["settings"]["max_test_users"] == 50 and part["datasets"]["synthetic"]["n_test"] == 50
    assert part["settings"]["item_mask_prob"] == 0.3
    other = json.loads(out.read_text())
    other["datasets"] = {"synthetic-copy": other["datasets"]["synthetic"]}
    (tmp_path / "other.json").write_text(json.dumps(other))
    run_script([PYTHON, "scripts/benchmark_ctr.py", "--merge", f"{out},{tmp_path / 'other.json'}",
          "--output", str(tmp_path / "all" / "merged.json"), "--plot", str(tmp_path / "merged.png")])
    merged = json.loads((tmp_path / "all" / "merged.json").read_text())
    assert list(merged["datasets"]) == ["synthetic", "synthetic-copy"] and len(merged["command"]) == 2
    assert (tmp_path / "merged.png").read_bytes()[:4] == b"\x89PNG"
    assert merged["settings"] == part["settings"] == merged["datasets"]["synthetic"]["settings"]
    other["settings"] = {**other["settings"], "max_test_users": 100}
    merged = merge_benchmark_results([part, other])
    assert merged["settings"] is None and merged["datasets"]["synthetic-copy"]["settings"]["max_test_users"] == 100
    with pytest.raises(ValueError, match="din seed 0 is in more than one part"):
        merge_benchmark_results([part, part])
    other["quick"] = not part["quick"]
    with pytest.raises(ValueError, match="quick"):
        merge_benchmark_results([part, other])


def test_merge_pools_the_seeds_and_models_of_one_dataset_run_apart():
    """Runs of one dataset from several parts (other seeds, other models) give the same summaries and paired
    differences as one run of everything: both are computed from the runs and their bootstrap replicates."""
    from recexplain.training.ctr_benchmark import merge_benchmark_results, paired_differences, summarize

    rng = np.random.default_rng(0)
    settings = {"n_bootstrap": 50}
    facts = {"n_users": 9, "n_items": 5, "n_test": 9, "label_mode": "rating", "eval_candidates_per_row": 2,
             "n_train_rows": 20, "n_validation_rows": 9}

    def run(seed, auc):
        return {"seed": seed, "auc": auc, "gauc": auc, "logloss": 0.6, "auc_ci": [auc - 0.01, auc + 0.01],
                "validation_auc": auc, "epochs": 1.0, "steps": 3, "best_step": 3, "train_seconds": 1.0,
                "auc_replicates": list(auc + rng.normal(0, 0.01, 50))}

    runs = {m: [run(seed, 0.6 + 0.01 * i + 0.001 * seed) for seed in (0, 1)]
            for i, m in enumerate(("din", "srp4ctr_bert", "srp4ctr_fgbert"))}

    def part(models, seeds, command):
        chosen = {m: [r for r in runs[m] if r["seed"] in seeds] for m in models}
        return {"command": command, "quick": False, "seeds": list(seeds), "models": list(models), "settings": settings,
                "datasets": {"d": {**facts, "data_seconds": 1.0, "models": {m: summarize(r) for m, r in chosen.items()},
                                   "paired": paired_differences(chosen)}}}

    whole = part(list(runs), (0, 1), "all")["datasets"]["d"]
    merged = merge_benchmark_results([part(["din", "srp4ctr_bert"], (0, 1), "a"), part(["srp4ctr_fgbert"], (0,), "b"),
                                      part(["srp4ctr_fgbert"], (1,), "c")])
    entry = merged["datasets"]["d"]
    assert merged["seeds"] == [0, 1] and merged["models"] == ["din", "srp4ctr_bert", "srp4ctr_fgbert"]
    assert entry["models"] == whole["models"] and entry["paired"] == whole["paired"] and entry["command"] == ["a", "b", "c"]
    assert entry["paired"]["srp4ctr_fgbert-srp4ctr_bert"]["per_seed"][1]["seed"] == 1
    with pytest.raises(ValueError, match="other settings"):
        merge_benchmark_results([part(["din"], (0,), "a"), {**part(["srp4ctr_bert"], (0,), "b"), "settings": {}}])
    old = part(["srp4ctr_bert"], (0,), "b")
    del old["datasets"]["d"]["models"]["srp4ctr_bert"]["runs"][0]["auc_replicates"]
    with pytest.raises(ValueError, match="no auc_replicates"):
        merge_benchmark_results([part(["din"], (0,), "a"), old])


def test_benchmark_script_runs_a_subset_of_an_ablation_grid(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_ctr_script", REPO / "scripts" / "benchmark_ctr.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    calls = []
    monkeypatch.setattr(script, "run_ablation", lambda *args, grid, **kwargs: calls.append(grid) or {})
    argv = ["--datasets", "synthetic", "--ablation", "mask_rates", "--output", str(tmp_path / "a.json")]

    def run(variants):
        parser = script.HfArgumentParser(script.BenchmarkArguments)
        script.run(script.parse_dataclasses(parser, argv + ["--variants", variants])[0], argv)

    run("item0.4,item0.1")
    models, variants = script.ABLATIONS["mask_rates"]
    assert calls == [(models, {"item0.4": variants["item0.4"], "item0.1": variants["item0.1"]})]
    with pytest.raises(ValueError, match="item0.9"):
        run("item0.9")


def test_ablation_grid_end_to_end(tmp_path):
    """A tiny grid on the synthetic data: every variant runs, is compared on validation AUC and kept."""
    from recexplain.training.ctr_ablation import ABLATIONS, ablation_table, run_ablation, variant_settings
    from recexplain.training.ctr_benchmark import FULL, QUICK, field_loss_weights

    import dataclasses

    settings = dataclasses.replace(QUICK, max_seq_len=8, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   pretrain_steps=2, ctr_max_steps=2, max_train_targets_per_user=1,
                                   num_eval_negatives=4, max_validation_users=50, n_bootstrap=10, max_windows_per_user=1)
    grid = (("srp4ctr_fgbert",), {"sum": {}, "no_behavior_time": ABLATIONS["loss_weights"][1]["no_behavior_time"],
                                  "log_vocab": {"loss_weights": "log_vocab"}})
    out = tmp_path / "ablation.json"
    result = run_ablation("tiny", ["synthetic"], None, [0], settings, out, grid=grid)
    assert json.loads(out.read_text()) == result and list(result["variants"]) == ["sum", "no_behavior_time", "log_vocab"]
    for variant in result["variants"]:
        scores = result["variants"][variant]["datasets"]["synthetic"]["srp4ctr_fgbert"]
        assert 0 <= scores["validation_auc"] <= 1 and scores["auc_per_seed"] == [pytest.approx(scores["auc"])]
        assert (tmp_path / f"ablation.{variant}.json").exists()
    assert result["variants"]["no_behavior_time"]["settings"]["behavior_mask_prob"] == 0.0
    best = result["best"]["synthetic"]["srp4ctr_fgbert"]
    assert best["validation_auc"] == max(v["datasets"]["synthetic"]["srp4ctr_fgbert"]["validation_auc"]
                                         for v in result["variants"].values())
    assert ablation_table(result).count("(best)") == 1
    half = ABLATIONS["pretrain_length"][1]["half"]
    assert variant_settings(QUICK, half).pretrain_steps == QUICK.pretrain_steps // 2  # QUICK: a step budget
    assert variant_settings(FULL, half).pretrain_epochs == FULL.pretrain_epochs / 2  # FULL: epochs
    assert variant_settings(FULL, half).pretrain_steps is None
    with pytest.raises(ValueError, match="unknown ablation"):
        run_ablation("nope", ["synthetic"], None, [0], settings, out)

    class Vocab:  # item ids 1000, behaviours 10
        def vocab_size(self, field):
            return {"item_id": 1000, "behavior": 10}.get(field, 100)

    weights = field_loss_weights("log_vocab", Vocab())
    assert weights["item_id_loss_weight"] == 1.0 and weights["behavior_loss_weight"] == pytest.approx(3.0)
    assert field_loss_weights({"behavior": 0}, Vocab()) == {"behavior_loss_weight": 0.0}
    with pytest.raises(ValueError, match="loss_weights"):
        field_loss_weights({"clicks": 1}, Vocab())


def test_paired_differences_over_seeds():
    from recexplain.training.ctr_benchmark import paired_differences

    rng = np.random.default_rng(0)
    base = {seed: 0.7 + rng.normal(0, 0.01, size=200) for seed in (0, 1)}  # shared draws: replicates move together
    replicates = {seed: {"din": base[seed], "srp4ctr_fgbert": base[seed] + 0.01 + rng.normal(0, 0.001, size=200),
                         "bst": base[seed] + rng.normal(0, 0.02, size=200)} for seed in (0, 1)}
    runs = {m: [{"seed": s, "auc": float(np.median(replicates[s][m])), "auc_replicates": replicates[s][m]}
                for s in (0, 1)] for m in replicates[0]}
    pairs = paired_differences(runs)
    assert list(pairs) == ["bst-din", "srp4ctr_fgbert-din", "srp4ctr_fgbert-bst"]  # later minus earlier
    fg = pairs["srp4ctr_fgbert-din"]
    assert fg["mean"] == pytest.approx(0.01, abs=1e-3) and fg["significant"] and fg["seeds_significant"] == 2
    assert fg["ci_high"] - fg["ci_low"] < 0.004 and fg["per_seed"][1]["seed"] == 1  # no shared spread (0.01 each)
    assert not pairs["bst-din"]["significant"] and pairs["bst-din"]["seeds_significant"] == 0


@pytest.mark.slow
def test_benchmark_script_side_by_side(tmp_path, shared_data_dir):
    out = tmp_path / "bench.json"
    run_script([PYTHON, "scripts/benchmark_ctr.py", "--data_dir", str(shared_data_dir), "--datasets",
          "synthetic,movielens-100k", "--workers", "2", "--quick", "--models", "din", "--ctr_max_steps", "2",
          "--max_train_targets_per_user", "1", "--num_eval_negatives", "4", "--n_bootstrap", "10",
          "--output", str(out)])
    merged = json.loads(out.read_text())
    assert list(merged["datasets"]) == ["synthetic", "movielens-100k"] and len(merged["command"]) == 2
    assert all("--workers 1" in command for command in merged["command"])
    assert (tmp_path / "bench.movielens-100k.json").exists() and (tmp_path / "bench.synthetic.log").exists()
