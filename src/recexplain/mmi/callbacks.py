"""`TrainerCallback`s for MMI's PPO run: alignment tracking and MI-estimator updates between rounds."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import torch
from transformers import TrainerCallback

from recexplain.data.explanation_tokenizer import decode_explanation
from recexplain.metrics import feature_matching_ratio
from recexplain.mmi.alignment import alignment_scores, generate_explanations
from recexplain.mmi.data import response_sequences
from recexplain.mmi.judge import RatingJudge
from recexplain.mmi.mine import MINETrainingArguments, fit_mine


class _TrainerBound(TrainerCallback):
    """A callback that needs the trainer (set with `attach`) to reach the live policy."""

    trainer = None

    def attach(self, trainer) -> "_TrainerBound":
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def policy(self):
        return self.trainer.accelerator.unwrap_model(self.trainer.model).policy


class AlignmentCallback(_TrainerBound):
    """Every `eval_steps` PPO updates (and at the start and the end), generate greedily for fixed held-out
    prompts and record `alignment_scores` (judge vs the prompt's predicted rating: Spearman, accuracy, `_3class`,
    `constant_sentence_acc`) and `fmr`.

    Runs on the main process only; `history` holds one dict per evaluation.
    """

    def __init__(self, judge: RatingJudge, tokenizer, prompts: Dict[str, torch.Tensor], predicted_ratings,
                 features: List[str], eval_steps: int = 10, max_new_tokens: int = 20):
        self.judge, self.tokenizer, self.prompts = judge, tokenizer, prompts
        self.predicted = np.asarray(predicted_ratings, dtype=float)
        self.features = list(features)
        self.eval_steps, self.max_new_tokens = max(1, eval_steps), max_new_tokens
        self.history: List[Dict] = []

    def evaluate(self, step: int) -> Dict:
        policy = self.policy()
        was_training = policy.training
        responses = generate_explanations(policy, self.tokenizer, self.prompts, self.max_new_tokens)
        policy.train(was_training)
        texts = [decode_explanation(self.tokenizer, r) for r in responses]
        record = {"step": step, **alignment_scores(self.judge, texts, self.predicted),
                  "fmr": feature_matching_ratio([t.split() for t in texts], self.features)}
        self.history.append(record)
        self.trainer.log({f"alignment/{k}": v for k, v in record.items() if k != "step"})
        return record

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.evaluate(0)

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and state.global_step % self.eval_steps == 0:
            self.evaluate(state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and (not self.history or self.history[-1]["step"] != state.global_step):
            self.evaluate(state.global_step)


class MIUpdateCallback(_TrainerBound):
    """MMI's alternating scheme: every `update_steps` PPO updates, sample explanations from the current policy
    for `num_samples` training prompts and train the reward model's MI estimator on them (MINE, with the
    prompt's predicted rating / feature as labels) before the next rollout.

    Runs in every process (each on its own prompts); `fit_mine` averages the gradients across processes so
    the reward-model copies stay identical.
    """

    def __init__(self, reward_model, tokenizer, prompts: Dict[str, torch.Tensor], update_steps: int,
                 num_samples: int = 256, mine_args: Optional[MINETrainingArguments] = None,
                 max_new_tokens: int = 20, temperature: float = 0.7, seed: int = 0):
        self.reward_model, self.tokenizer, self.prompts = reward_model, tokenizer, prompts
        self.update_steps, self.num_samples = max(1, update_steps), num_samples
        self.mine_args = mine_args or MINETrainingArguments(mine_epochs=1, mine_keep_best=False)
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        self.history: List[Dict] = []

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.update_steps != 0:
            return
        accelerator = self.trainer.accelerator
        generator = torch.Generator().manual_seed(self.seed + 1000 * state.global_step + accelerator.process_index)
        pick = torch.randperm(len(self.prompts["input_ids"]), generator=generator)[: self.num_samples]
        prompts = {k: v[pick] for k, v in self.prompts.items()}
        policy = self.policy()
        was_training = policy.training
        responses = generate_explanations(policy, self.tokenizer, prompts, self.max_new_tokens, do_sample=True,
                                          temperature=self.temperature, top_k=0, top_p=1.0)
        policy.train(was_training)
        ids, mask = response_sequences(self.tokenizer, prompts["input_ids"], responses)
        history = fit_mine(self.reward_model.backbone, ids, mask, self.mine_args, seed=self.seed + state.global_step,
                           accelerator=accelerator)
        record = {"step": state.global_step, **{k: v for k, v in history[-1].items() if k.startswith("mi_")}}
        self.history.append(record)
        self.trainer.log({f"mi_update/{k}": v for k, v in record.items() if k != "step"})
