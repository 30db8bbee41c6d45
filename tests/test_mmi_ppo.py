"""MMI PPO with the real classes: one tiny step changes the policy and not the reference; save/reload/generate."""
import os
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
import torch

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from recexplain.data.reviews.tokenizer import build_explanation_tokenizer  # noqa: E402
from recexplain.data.reviews.records import load_explanation_records, split_explanation_records  # noqa: E402
from recexplain.mmi import ppo  # noqa: E402
from recexplain.mmi.alignment import explain_records  # noqa: E402
from recexplain.mmi.data import build_prompt_dataset, encode_sequences, mi_estimator_config_from_tokenizer  # noqa: E402
from recexplain.models.explainer import RecExplainerConfig, RecExplainerForConditionalGeneration  # noqa: E402
from recexplain.models.mi_estimator import MIEstimatorForRewardModeling  # noqa: E402


SYNTHETIC = dict(num_users=30, num_items=20, reviews_per_user=6)


def tiny_explainer(tokenizer, backbone: str):
    vocab = tokenizer.get_vocab()
    entities = [i for t, i in vocab.items() if t[:3] in ("<r_", "<u_", "<i_", "<f_")]
    ids = dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, visible_prefix_slots="peter_plus")
    if backbone == "peter":
        config = RecExplainerConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=64, dropout=0.0, **ids)
        return RecExplainerForConditionalGeneration(config)
    from transformers import GPT2Config, GPT2LMHeadModel

    lm = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id))
    return RecExplainerForConditionalGeneration.from_causal_lm(
        lm, vocab_size=len(tokenizer), entity_token_start=min(entities), num_entity_tokens=len(entities), **ids)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A tokenizer, two untrained tiny explainers (both backbones) and a tiny MI estimator, saved."""
    root = tmp_path_factory.mktemp("mmi")
    splits = split_explanation_records(load_explanation_records(None, **SYNTHETIC))
    tokenizer = build_explanation_tokenizer(splits["train"])
    paths = {}
    for backbone in ("peter", "causal_lm"):
        torch.manual_seed(0)
        paths[backbone] = root / backbone
        tiny_explainer(tokenizer, backbone).save_pretrained(paths[backbone])
        tokenizer.save_pretrained(paths[backbone])
    ids, _ = encode_sequences(tokenizer, splits["train"].to_dict())
    estimator = MIEstimatorForRewardModeling(mi_estimator_config_from_tokenizer(
        tokenizer, ids, hidden_size=16, intermediate_size=16, reward_type="joint"))
    paths["reward"] = root / "reward"
    estimator.save_pretrained(paths["reward"])
    return paths, tokenizer, splits


def parse(tmp_path, paths, backbone, *extra):
    argv = ["--sft_model_path", str(paths[backbone]), "--reward_model_path", str(paths["reward"]),
            "--output_dir", str(tmp_path / f"out_{backbone}"), "--total_episodes", "8",
            "--per_device_train_batch_size", "8", "--num_ppo_epochs", "1", "--response_length", "6",
            "--learning_rate", "1e-2", "--max_train_prompts", "16", "--num_eval_prompts", "8",
            "--alignment_eval_steps", "1", "--seed", "0", *extra]
    return ppo.make_parser().parse_args_and_config(argv)


@pytest.mark.parametrize("backbone,extra", [("peter", ()), ("causal_lm", ("--use_peft", "--lora_r", "4"))])
def test_one_ppo_step_updates_policy_not_reference(tmp_path, artifacts, backbone, extra):
    paths, tokenizer, splits = artifacts
    script_args, training_args, model_args = parse(tmp_path, paths, backbone, *extra)
    run = ppo.build_run(script_args, training_args, model_args, splits)
    trainer = run.trainer
    policy = trainer.accelerator.unwrap_model(trainer.model).policy
    trainable = {n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad}
    reference = trainer.ref_model if trainer.ref_model is not None else None
    ref_before = ({n: p.detach().clone() for n, p in reference.named_parameters()} if reference is not None
                  else {n: p.detach().clone() for n, p in policy.named_parameters() if not p.requires_grad})
    reward_before = {n: p.detach().clone() for n, p in run.reward_model.named_parameters()}
    trainer.train()

    changed = [n for n, p in policy.named_parameters() if p.requires_grad and not torch.equal(p, trainable[n])]
    assert changed, "PPO did not update the policy"
    if reference is not None:  # full fine-tuning: the frozen copy is untouched
        assert all(torch.equal(p, ref_before[n]) for n, p in reference.named_parameters())
    else:  # LoRA: the base weights (the reference with adapters disabled) are untouched
        assert all(torch.equal(p, ref_before[n]) for n, p in policy.named_parameters() if not p.requires_grad)
        assert all("lora_" in n or "modules_to_save" in n for n in changed)
    assert all(torch.equal(p, reward_before[n]) for n, p in run.reward_model.named_parameters())
    rating_head = [n for n in trainable if "rating_head" in n]
    assert not rating_head, f"the rating head must stay frozen during PPO: {rating_head}"
    logs = [r for r in trainer.state.log_history if "objective/scores" in r]
    assert logs and all(torch.isfinite(torch.tensor(r["objective/scores"])) for r in logs)
    assert [r["step"] for r in run.alignment.history] == [0, 1]

    history = ppo.save_run(run, script_args, training_args)
    out = Path(training_args.output_dir)
    assert (out / "mmi_training.png").stat().st_size > 1000 and (out / "mmi_history.json").is_file()
    assert history["reward_type"] == "joint" and history["brevity_weight"] == 0.0
    card = ModelCard.load(out / "README.md")
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["fmr"] == run.alignment.saved_record["fmr"] and "reward" in card.text
    assert "brevity" not in card.text  # no brevity term by default
    assert history["selected_step"] == run.alignment.best_step  # --keep_best is the default
    reloaded = RecExplainerForConditionalGeneration.from_pretrained(out).eval()
    trained = trainer.accelerator.unwrap_model(trainer.model).policy
    trained = trained.merge_and_unload() if run.peft else trained
    prompts = build_prompt_dataset(reloaded, tokenizer, {"user": ["u1", "u2"], "item": ["i1", "i2"],
                                                          "feature": ["x", "y"], "rating": [5, 1],
                                                          "explanation": ["a", "b"]})
    batch = tokenizer.pad({"input_ids": prompts["input_ids"]}, return_tensors="pt")
    generated = reloaded.generate(**batch, max_new_tokens=5, do_sample=False)
    assert generated.shape[0] == 2 and generated.shape[1] > batch["input_ids"].shape[1]
    with torch.no_grad():  # the saved weights are the trained ones
        torch.testing.assert_close(reloaded(**batch).logits, trained.eval()(**batch).logits)


@pytest.mark.parametrize("reference", ["explanations", "policy"])
def test_brevity_weight_reaches_the_reward_with_the_reference_length(tmp_path, artifacts, reference):
    paths, tokenizer, splits = artifacts
    script_args, training_args, model_args = parse(tmp_path, paths, "peter", "--brevity_weight", "0.5",
                                                   "--brevity_reference", reference)
    run = ppo.build_run(script_args, training_args, model_args, splits)
    train = splits["train"].shuffle(seed=0).select(range(16))  # --max_train_prompts 16
    if reference == "explanations":
        texts = train["explanation"]
    else:  # the untrained policy's greedy explanations (--response_length 6)
        policy = RecExplainerForConditionalGeneration.from_pretrained(paths["peter"])
        texts = explain_records(policy, tokenizer, train.to_dict(), max_new_tokens=6)[3]
    lengths = [min(len(text.split()), 5) for text in texts]
    assert run.reward_model.config.brevity_weight == 0.5
    assert run.reward_model.config.reference_length == pytest.approx(sum(lengths) / len(lengths))
    assert ppo.brevity_note(run).startswith(" and a brevity term (weight 0.5, reference length ")  # model card
    with pytest.raises(ValueError, match="brevity_reference"):
        ppo.build_run(*parse(tmp_path, paths, "peter", "--brevity_weight", "0.5", "--brevity_reference", "gold"),
                      splits)


def test_mi_update_callback_trains_reward_model(tmp_path, artifacts):
    paths, _, splits = artifacts
    script_args, training_args, model_args = parse(
        tmp_path, paths, "peter", "--mi_update_steps", "1", "--mi_update_samples", "16", "--alignment_eval_steps", "5")
    run = ppo.build_run(script_args, training_args, model_args, splits)
    before = {n: p.detach().clone() for n, p in run.reward_model.named_parameters()}
    run.trainer.train()
    assert len(run.mi_updates.history) == 1
    assert any(not torch.equal(p, before[n]) for n, p in run.reward_model.named_parameters())


def test_same_seed_same_policy_whatever_the_global_random_state(tmp_path, artifacts):
    paths, _, splits = artifacts
    weights = []
    for run in range(2):
        torch.manual_seed(100 + run)  # the caller's random state must not leak into the run (value head init)
        args = parse(tmp_path / f"run{run}", paths, "peter", "--total_episodes", "16", "--keep_best", "false")
        ppo.main(*args, splits=splits)
        weights.append(RecExplainerForConditionalGeneration.from_pretrained(args[1].output_dir).state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_keep_best_picks_the_best_target_among_evaluations_that_keep_the_text():
    from recexplain.mmi.callbacks import AlignmentCallback

    callback = AlignmentCallback(None, None, {}, [], [], [], reward_type="rating", text_tolerance=0.1)
    policy = torch.nn.Linear(1, 1, bias=False)
    for step, (spearman, text, repeat, bleu1) in enumerate([
            (0.2, 10.0, 0.0, 10.0), (0.3, 9.5, 0.01, 9.5), (0.9, 8.0, 0.0, 8.0), (0.8, 9.2, 0.2, 9.2),
            (0.7, 9.5, 0.0, 8.5), (0.25, 10.0, 0.0, 10.0)]):
        record = {"step": step, "rating_alignment_spearman": spearman, "fmr": 0.0, "text_score": text,
                  "repeat_rate": repeat, "bleu1": bleu1, "rougeL": 2 * text - bleu1, "usr": 0.5}
        record["target"] = callback.target(record)
        callback.history.append(record)
        policy.weight.data.fill_(step)
        callback.consider(record, policy)
    # step 2 loses 20% of the text score, step 3 loops, step 4 keeps the mean score but loses 15% of BLEU-1 (ROUGE-L
    # up): step 1 is the best that keeps the text
    assert callback.best_step == 1 and callback.best_state["weight"].item() == 1.0
