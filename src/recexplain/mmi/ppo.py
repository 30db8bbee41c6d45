"""MMI's PPO run: models, prompt set, callbacks, training and saving (used by `scripts/mmi_ppo.py`
and `scripts/benchmark_mmi.py`).

Policy = the trained `RecExplainerForConditionalGeneration` (full fine-tuning, or LoRA through
`peft_config`), reference = its frozen copy (LoRA: the policy with adapters disabled), reward =
`MIEstimatorForRewardModeling`, value model = `RecExplainerForValueModeling` from the policy's backbone,
trainer = `trl.experimental.ppo.PPOTrainer` (trl 1.12.0, the last release with PPO).
"""
from __future__ import annotations

import copy
import json
import logging
import shutil
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from accelerate import PartialState
from transformers import AutoTokenizer, set_seed
from trl import ModelConfig, TrlParser, get_peft_config
from trl.import_utils import TRLExperimentalWarning

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS, VOCAB_FILE, decode_explanation
from recexplain.data.reviews.records import (
    SPLIT_SEED, load_explanation_records, review_dataset_name, split_explanation_records,
)
from recexplain.hub import push_model_folder, render_model_card
from recexplain.mmi.alignment import generate_responses
from recexplain.mmi.callbacks import AlignmentCallback, MIUpdateCallback
from recexplain.mmi.data import build_prompt_dataset, label_token_ids, mean_explanation_length
from recexplain.mmi.judge import RatingJudge, judge_training_data
from recexplain.mmi.mine import MINETrainingArguments
from recexplain.mmi.plots import plot_training_curves
from recexplain.models.explainer import RecExplainerForConditionalGeneration, RecExplainerForValueModeling
from recexplain.models.mi_estimator import MIEstimatorConfig, MIEstimatorForRewardModeling
from recexplain.training import atomic_output_dir
from recexplain.training.explainer import training_features

with warnings.catch_warnings():  # PPO lives in trl.experimental (trl 1.12.0): its import notice says nothing new
    warnings.simplefilter("ignore", TRLExperimentalWarning)
    from trl.experimental.ppo import PPOConfig, PPOTrainer

logger = logging.getLogger(__name__)

DEFAULT_LORA_TARGETS = {"peter": ["qkv_proj", "out_proj"], "causal_lm": "all-linear"}
BREVITY_REFERENCES = ("explanations", "policy")


@dataclass
class MMIScriptArguments:
    """Data, reward and tracking options of the MMI PPO run (the models come from `PPOConfig`:
    `--sft_model_path` = the trained explainer, `--reward_model_path` = the trained MI estimator)."""

    data_file: Optional[str] = field(
        default=None, metadata={"help": "Amazon review JSON lines or PETER reviews.pickle; synthetic when unset."}
    )
    split_seed: int = field(
        default=SPLIT_SEED, metadata={"help": "Seed of the 8:1:1 record split (as for the explainer)."})
    max_train_prompts: Optional[int] = field(default=None, metadata={"help": "Use at most this many training pairs."})
    num_eval_prompts: int = field(default=128, metadata={"help": "Validation prompts for the alignment curve."})
    judge_path: Optional[str] = field(
        default=None, metadata={"help": "Saved RatingJudge for the alignment curve (default: a TF-IDF judge fitted "
                                        "on the training reviews)."}
    )
    reward_type: Optional[str] = field(
        default=None, metadata={"help": "rating | feature | joint; overrides the reward model's config."}
    )
    eps: Optional[float] = field(default=None, metadata={"help": "Feature weight of the joint reward (paper: 0.2)."})
    brevity_weight: Optional[float] = field(
        default=None, metadata={"help": "Weight of the reward's brevity term, BLEU's log brevity penalty against the "
                                        "mean length of --brevity_reference; overrides the reward model's config."}
    )
    brevity_reference: str = field(
        default="explanations", metadata={"help": "Whose mean length the brevity term asks for: 'explanations' (the "
                                                  "training explanations) or 'policy' (the starting policy's own "
                                                  "explanations of the training prompts: keep the length)."}
    )
    alignment_eval_steps: int = field(default=10, metadata={"help": "PPO updates between alignment evaluations."})
    mi_update_steps: int = field(
        default=0, metadata={"help": "Retrain the MI estimator on generated explanations every N updates (0: never)."}
    )
    mi_update_samples: int = field(default=256, metadata={"help": "Generated explanations per MI update."})
    mi_update_epochs: int = field(default=1, metadata={"help": "MINE epochs per MI update."})
    keep_best: bool = field(
        default=True, metadata={"help": "Save the policy of the alignment evaluation with the best validation signal "
                                        "of the reward (Spearman / FMR) whose text score, BLEU-1, ROUGE-L and USR "
                                        "each stay within --text_tolerance of the start's (else: the last policy)."}
    )
    text_tolerance: float = field(
        default=0.1, metadata={"help": "Largest relative drop of each validation text metric (the text score, BLEU-1, "
                                       "ROUGE-L, USR) that --keep_best accepts."}
    )


def load_models(script_args: MMIScriptArguments, training_args: PPOConfig, model_args: ModelConfig):
    """`(tokenizer, policy, ref_model, value_model, reward_model, peft_config)`."""
    tokenizer = AutoTokenizer.from_pretrained(training_args.sft_model_path)
    policy = RecExplainerForConditionalGeneration.from_pretrained(training_args.sft_model_path)
    # PPO has no rating loss: the rating head stays as trained (and DDP needs every trainable weight in the loss)
    policy.rating_head.requires_grad_(False)
    reward_model = MIEstimatorForRewardModeling.from_pretrained(training_args.reward_model_path)
    if script_args.reward_type is not None:
        reward_model.config.reward_type = script_args.reward_type
    if script_args.eps is not None:
        reward_model.config.eps = script_args.eps
    MIEstimatorConfig(**reward_model.config.to_dict())  # raises ValueError on invalid overrides
    ratings, features = label_token_ids(tokenizer)
    if (reward_model.config.vocab_size != len(tokenizer) or reward_model.config.rating_token_ids != ratings
            or reward_model.config.feature_token_ids != features):
        raise ValueError("the MI estimator was trained with a different tokenizer than the explainer's: train it "
                         "with --tokenizer_name_or_path pointing at the explainer")
    value_model = RecExplainerForValueModeling.from_generator(policy)
    peft_config = get_peft_config(model_args)
    if peft_config is not None:
        if not model_args.lora_target_modules:
            peft_config.target_modules = DEFAULT_LORA_TARGETS[policy.config.backbone]
        peft_config.exclude_modules = r".*rating_head.*"  # see above: no adapters on the rating head
    # The reference is a frozen copy; with LoRA in one process it is the policy with its adapters disabled
    # (ref_model=None). trl 1.12 reaches `self.model.policy` through the DDP wrapper in that case, which fails
    # with several processes, so there LoRA also gets an explicit frozen copy.
    shared_reference = peft_config is not None and PartialState().num_processes == 1
    ref_model = None if shared_reference else copy.deepcopy(policy).eval().requires_grad_(False)
    return tokenizer, policy, ref_model, value_model, reward_model, peft_config


def set_brevity_term(reward_model, script_args: MMIScriptArguments, policy, tokenizer, train_prompts,
                     response_length: int) -> None:
    """Give the reward `--brevity_weight` and, as its reference length, the mean length of the training
    explanations or of the policy's own greedy explanations of the training prompts `train_prompts`
    (`build_prompt_dataset`; `--brevity_reference`)."""
    if script_args.brevity_reference not in BREVITY_REFERENCES:
        raise ValueError(f"--brevity_reference must be one of {BREVITY_REFERENCES}, "
                         f"got {script_args.brevity_reference!r}")
    reward_model.config.brevity_weight = script_args.brevity_weight
    if script_args.brevity_weight > 0:
        if script_args.brevity_reference == "explanations":
            texts = train_prompts["explanation"]
        else:
            prompts = tokenizer.pad({"input_ids": train_prompts["input_ids"]}, return_tensors="pt")
            texts = [decode_explanation(tokenizer, r)
                     for r in generate_responses(policy, tokenizer, prompts, response_length)]
        reward_model.config.reference_length = mean_explanation_length(texts, response_length - 1)
    MIEstimatorConfig(**reward_model.config.to_dict())  # raises ValueError on invalid settings


@dataclass
class MMIRun:
    """Everything `build_run` prepares: the trainer and the callbacks whose histories are saved."""

    trainer: PPOTrainer
    tokenizer: object
    reward_model: MIEstimatorForRewardModeling
    alignment: AlignmentCallback
    mi_updates: Optional[MIUpdateCallback]
    peft: bool


def build_run(script_args: MMIScriptArguments, training_args: PPOConfig, model_args: ModelConfig,
              splits=None, judge: Optional[RatingJudge] = None) -> MMIRun:
    """Load the models, build the prompt sets (predicted ratings), the judge and the `PPOTrainer`.

    `splits`: the record `DatasetDict` when already loaded (else read from `script_args.data_file`).
    `judge`: the fitted judge of the alignment curve (else `--judge_path`, else TF-IDF on the training reviews).
    """
    if training_args.sft_model_path is None or training_args.reward_model_path is None:
        raise ValueError("pass --sft_model_path (the trained explainer) and --reward_model_path (the MI estimator)")
    if training_args.stop_token is None and training_args.stop_token_id is None:
        training_args.stop_token = "eos"  # explanations end at <eos>; the reward is read there
    set_seed(training_args.seed)  # the value head is initialised here, before PPOTrainer seeds its own steps
    tokenizer, policy, ref_model, value_model, reward_model, peft_config = load_models(
        script_args, training_args, model_args)
    if splits is None:
        with PartialState().local_main_process_first():
            splits = split_explanation_records(load_explanation_records(script_args.data_file),
                                               seed=script_args.split_seed)
    train_records = splits["train"]
    if script_args.max_train_prompts:
        train_records = train_records.shuffle(seed=training_args.seed).select(
            range(min(script_args.max_train_prompts, len(train_records))))
    eval_records = splits["validation"].select(range(min(script_args.num_eval_prompts, len(splits["validation"]))))
    train_prompts = build_prompt_dataset(policy, tokenizer, train_records)
    if script_args.brevity_weight is not None:
        set_brevity_term(reward_model, script_args, policy, tokenizer, train_prompts, training_args.response_length)
    eval_prompts = build_prompt_dataset(policy, tokenizer, eval_records)
    if judge is None:
        judge = (RatingJudge.load(script_args.judge_path) if script_args.judge_path else
                 RatingJudge(encoder="tfidf").fit(*judge_training_data(script_args.data_file, splits)))

    trainer = PPOTrainer(
        args=training_args, processing_class=tokenizer, model=policy, ref_model=ref_model,
        reward_model=reward_model, value_model=value_model,
        train_dataset=train_prompts.select_columns(["input_ids"]),
        eval_dataset=eval_prompts.select_columns(["input_ids"]), peft_config=peft_config,
    )
    max_new = training_args.response_length
    alignment = AlignmentCallback(
        judge, tokenizer, tokenizer.pad({"input_ids": eval_prompts["input_ids"]}, return_tensors="pt"),
        eval_prompts["predicted_rating"], eval_records.to_list(), training_features(splits),
        script_args.alignment_eval_steps, max_new, reward_model.config.reward_type, reward_model.config.eps,
        script_args.text_tolerance if script_args.keep_best else None,
    ).attach(trainer)
    mi_updates = None
    if script_args.mi_update_steps > 0:
        mi_updates = MIUpdateCallback(
            reward_model, tokenizer, tokenizer.pad({"input_ids": train_prompts["input_ids"]}, return_tensors="pt"),
            script_args.mi_update_steps, script_args.mi_update_samples,
            MINETrainingArguments(mine_epochs=script_args.mi_update_epochs, mine_keep_best=False),
            max_new, training_args.temperature, training_args.seed,
        ).attach(trainer)
    return MMIRun(trainer, tokenizer, reward_model, alignment, mi_updates, peft_config is not None)


def brevity_note(run: MMIRun) -> str:
    """The model card's words for the reward's brevity term (empty without one)."""
    config = run.reward_model.config
    if config.brevity_weight <= 0:
        return ""
    return (f" and a brevity term (weight {config.brevity_weight:g}, reference length "
            f"{config.reference_length:.1f} words)")


def save_run(run: MMIRun, script_args: MMIScriptArguments, training_args: PPOConfig) -> dict:
    """Save the policy (`--keep_best`: the best evaluation's weights; LoRA merged), tokenizer, vocabularies, history
    and the training plot (main process)."""
    trainer = run.trainer
    if script_args.keep_best:
        run.alignment.restore_best()
    history = {
        "log_history": trainer.state.log_history, "alignment": run.alignment.history,
        "selected_step": run.alignment.saved_record["step"],
        "mi_updates": run.mi_updates.history if run.mi_updates else [],
        "reward_type": run.reward_model.config.reward_type, "eps": run.reward_model.config.eps,
        "brevity_weight": run.reward_model.config.brevity_weight,
        "reference_length": run.reward_model.config.reference_length,
        "script_args": asdict(script_args), "peft": run.peft,
    }
    if trainer.accelerator.is_main_process:
        trained = trainer.accelerator.unwrap_model(trainer.model).policy
        if run.peft:
            trained = trained.merge_and_unload()
        with atomic_output_dir(training_args.output_dir) as tmp:
            trained.save_pretrained(tmp)
            run.tokenizer.save_pretrained(tmp)
            vocab = Path(training_args.sft_model_path) / VOCAB_FILE
            if vocab.is_file():
                shutil.copy(vocab, tmp / VOCAB_FILE)
            (tmp / "mmi_history.json").write_text(json.dumps(history, indent=1, default=str))
            final = {k: v for k, v in run.alignment.saved_record.items() if k != "step"}
            render_model_card(
                "explainer", tmp, metrics=final, dataset=review_dataset_name(script_args.data_file),
                command="python " + " ".join(sys.argv), base_model=training_args.sft_model_path,
                extra={"model_name": training_args.hub_model_id or Path(training_args.output_dir).name,
                       "split": "validation",
                       "model_class": "RecExplainerForConditionalGeneration",
                       "notes": f"MMI PPO with the {run.reward_model.config.reward_type} reward{brevity_note(run)}; "
                                f"results are the held-out alignment of the validation prompts at the saved policy "
                                f"(PPO update {history['selected_step']})"},
            )
            plot_training_curves(trainer.state.log_history, run.alignment.history, tmp / "mmi_training.png",
                                 title=f"MMI PPO ({run.reward_model.config.reward_type} reward)")
        logger.info("saved the MMI policy to %s; alignment %s", training_args.output_dir, run.alignment.saved_record)
    trainer.accelerator.wait_for_everyone()
    return history


def main(script_args: MMIScriptArguments, training_args: PPOConfig, model_args: ModelConfig, splits=None,
         judge: Optional[RatingJudge] = None) -> dict:
    """Build, train and save one MMI PPO run (and push the saved folder with `--push_to_hub`); returns its history.
    `splits`, `judge`: see `build_run`."""
    push, training_args.push_to_hub = training_args.push_to_hub, False  # push the saved folder only
    run = build_run(script_args, training_args, model_args, splits, judge)
    run.trainer.train()
    history = save_run(run, script_args, training_args)
    if push and run.trainer.accelerator.is_main_process:
        output = Path(training_args.output_dir)
        push_model_folder(output, training_args.hub_model_id or output.name, token=training_args.hub_token)
    return history


# The PPO settings chosen on the validation alignment of seed 0 (results/mmi_ppo_settings_validation.json, docs/mmi.md:
# KL 0.02 let PPO drift to a lower Spearman, 0.2 raised it), the defaults of `mmi_ppo.py` and `benchmark_mmi.py`.
PPO_DEFAULTS = {"learning_rate": 2e-4, "per_device_train_batch_size": 64, "num_ppo_epochs": 4, "kl_coef": 0.2}


def make_parser() -> TrlParser:
    """`TrlParser((MMIScriptArguments, PPOConfig, ModelConfig))` with defaults for explanations and CPU runs."""
    parser = TrlParser((MMIScriptArguments, PPOConfig, ModelConfig))
    # explanations: the explainer's words + <eos>; CPU runs: no saves or sample generations during training
    parser.set_defaults(response_length=EXPLANATION_TOKENS, missing_eos_penalty=1.0, save_strategy="no",
                        num_sample_generations=0, logging_steps=1, sft_model_path=None, reward_model_path=None,
                        report_to="none", bf16=False, **PPO_DEFAULTS)
    return parser
