"""`TrainerCallback`s for MMI's PPO run: alignment tracking and MI-estimator updates between rounds."""
from __future__ import annotations

import functools
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from transformers import TrainerCallback

from recexplain.data.reviews.tokenizer import decode_explanation
from recexplain.mmi.alignment import alignment_scores, generate_responses
from recexplain.mmi.data import response_sequences
from recexplain.mmi.judge import RatingJudge
from recexplain.mmi.mine import MINETrainingArguments, fit_mine
from recexplain.training.explainer_evaluation import MAX_REPEAT_RATE, explanation_scores, text_score


class _TrainerBound(TrainerCallback):
    """A callback that needs the trainer (set with `attach`) to reach the live policy."""

    trainer = None

    def attach(self, trainer) -> "_TrainerBound":
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def policy(self):
        return self.trainer.accelerator.unwrap_model(self.trainer.model).policy


REWARD_TARGETS = {  # reward type -> validation signal that the run's best policy is chosen on
    "rating": lambda record, eps: record["rating_alignment_spearman"],
    "feature": lambda record, eps: record["fmr"],
    "joint": lambda record, eps: (1 - eps) * record["rating_alignment_spearman"] + eps * record["fmr"],
}
TEXT_KEYS = ("bleu1", "rougeL", "usr", "distinct2", "phrase_precision", "repeat_rate", "fmr")
GUARDED_TEXT_KEYS = ("text_score", "bleu1", "rougeL", "usr")  # keep-best: none may fall beyond the tolerance


class AlignmentCallback(_TrainerBound):
    """Every `eval_steps` PPO updates (and at the start and the end), generate greedily for fixed held-out
    (validation) prompts and record `alignment_scores` (judge vs the prompt's predicted rating: Spearman,
    accuracy, `_3class`, `constant_sentence_acc`), the text metrics `TEXT_KEYS` against the real explanations
    of `records`, their `text_score`, and `target` (the reward's own validation signal, `REWARD_TARGETS`).

    Keep-best (`text_tolerance` not None): the policy weights of the evaluation with the highest `target` among
    those whose text score, BLEU-1, ROUGE-L and USR (`GUARDED_TEXT_KEYS`) each stay within `text_tolerance` of
    the start's (no metric traded for another: the mean score alone let BLEU-1 fall 20% while ROUGE-L held) and
    whose repeat rate stays under
    `MAX_REPEAT_RATE` (or the start's, if higher) are kept in `best_state` (step 0 = the unchanged policy always
    qualifies), so PPO cannot trade the text for the reward: `best_record` (`best_step`) says which evaluation won.
    Runs on the main process only; `history` holds one dict per evaluation.
    """

    def __init__(self, judge: RatingJudge, tokenizer, prompts: Dict[str, torch.Tensor], predicted_ratings,
                 records: Sequence[Dict], feature_vocab: Sequence[str], eval_steps: int = 10,
                 max_new_tokens: int = 20, reward_type: str = "rating", eps: float = 0.2,
                 text_tolerance: Optional[float] = 0.1):
        self.judge, self.tokenizer, self.prompts = judge, tokenizer, prompts
        self.predicted = np.asarray(predicted_ratings, dtype=float)
        self.records, self.feature_vocab = list(records), list(feature_vocab)
        self.eval_steps, self.max_new_tokens = max(1, eval_steps), max_new_tokens
        self.target = functools.partial(REWARD_TARGETS[reward_type], eps=eps)
        self.text_tolerance = text_tolerance
        self.history: List[Dict] = []
        self.best_record: Optional[Dict] = None
        self.best_state: Optional[Dict[str, torch.Tensor]] = None

    def evaluate(self, step: int) -> Dict:
        policy = self.policy()
        was_training = policy.training
        responses = generate_responses(policy, self.tokenizer, self.prompts, self.max_new_tokens)
        policy.train(was_training)
        texts = [decode_explanation(self.tokenizer, r) for r in responses]
        text = explanation_scores(texts, None, self.records, self.feature_vocab)
        record = {"step": step, **alignment_scores(self.judge, texts, self.predicted),
                  **{k: float(text[k]) for k in TEXT_KEYS}, "text_score": text_score(text)}
        record["target"] = self.target(record)
        self.history.append(record)
        self.trainer.log({f"alignment/{k}": v for k, v in record.items() if k != "step"})
        self.consider(record, policy)
        return record

    def consider(self, record: Dict, policy: torch.nn.Module) -> None:
        """Keep `policy`'s weights as `best_state` when `record` (already in `history`) is the best so far."""
        if self.text_tolerance is not None and self.keeps_text(record) and (
                self.best_record is None or record["target"] > self.best_record["target"]):
            self.best_record = record
            self.best_state = {k: v.detach().clone() for k, v in policy.state_dict().items()}

    @property
    def best_step(self) -> Optional[int]:
        return self.best_record["step"] if self.best_record is not None else None

    def keeps_text(self, record: Dict) -> bool:
        """Whether `record`'s text is within `text_tolerance` of the first evaluation's (see the class docstring)."""
        start = self.history[0]
        return (all(record[k] >= (1 - self.text_tolerance) * start[k] for k in GUARDED_TEXT_KEYS)
                and record["repeat_rate"] <= max(MAX_REPEAT_RATE, start["repeat_rate"]))

    def restore_best(self) -> None:
        """Load `best_state` into the policy (no-op without keep-best or when the last evaluation won)."""
        if self.best_state is not None and self.best_step != self.history[-1]["step"]:
            self.policy().load_state_dict(self.best_state)

    @property
    def saved_record(self) -> Dict:
        """The evaluation of the policy that `save_run` saves: the best with keep-best, else the last."""
        return self.best_record or self.history[-1]

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
        responses = generate_responses(policy, self.tokenizer, prompts, self.max_new_tokens, do_sample=True,
                                       temperature=self.temperature, top_k=0, top_p=1.0)
        policy.train(was_training)
        ids, mask = response_sequences(self.tokenizer, prompts["input_ids"], responses)
        history = fit_mine(self.reward_model.backbone, ids, mask, self.mine_args, seed=self.seed + state.global_step,
                           accelerator=accelerator)
        record = {"step": state.global_step, **{k: v for k, v in history[-1].items() if k.startswith("mi_")}}
        self.history.append(record)
        self.trainer.log({f"mi_update/{k}": v for k, v in record.items() if k != "step"})
