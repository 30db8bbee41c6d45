"""Does an MI reward estimator pay for shorter explanations? Scores an explainer's greedy explanations (from its
predicted ratings, as the MMI evaluation decodes) with each estimator, and compares the reward of every explanation
of at least 4 words with the rewards of its own prefixes, i.e. what PPO would get had the explanation ended earlier.

    python scripts/diagnose_reward_length.py --data_file reviews.json.gz --explainer runs/mmi/seed_0/peter_plus \
        --estimators runs/mmi/seed_0/mi_estimator,runs/other/seed_0/mi_estimator --output length.json

Per estimator: `gain_dropping_last_word` and `gain_cutting_to_70pct` (mean reward change; `reward_std` for
scale: a systematic pull towards short text shows here), and `share_shorter_better` / `mean_gain_by_truncating`
(share of explanations whose best-rewarded ending of >= 2 words is shorter than the whole, and that ending's mean
gain: what an optimiser searching over endings can exploit even without a systematic pull).
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer, HfArgumentParser

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS
from recexplain.training.cli import comma_list, parse_dataclasses
from recexplain.training.explainer import ExplanationDataArguments, load_explanation_splits


@dataclass
class DiagnosisArguments:
    explainer: str = field(metadata={"help": "saved explainer folder"})
    estimators: str = field(metadata={"help": "comma-separated saved MI estimator folders (same tokenizer)"})
    output: str = field(metadata={"help": "result JSON: estimator folder -> figures"})
    split: str = field(default="validation", metadata={"help": "train, validation or test"})
    max_new_tokens: int = field(
        default=EXPLANATION_TOKENS, metadata={"help": "explanation tokens generated (the words + <eos>)"})


def ending_rewards(token_rewards: np.ndarray, explanation_mask: np.ndarray) -> dict:
    """Figures of the module docstring from per-prefix rewards `[N, S]` and the explanation tokens `[N, S]`."""
    rows = []
    for rewards, mask in zip(token_rewards, explanation_mask):
        r = rewards[mask.nonzero()[0]]  # reward of the explanation ended after each of its n words
        n = len(r)
        if n < 4:
            continue
        best = int(np.argmax(r[1:])) + 2  # words of the best-rewarded ending (>= 2 words)
        rows.append((r[-1], n - best, r[1:].max() - r[-1], r[-2] - r[-1], r[int(np.ceil(0.7 * n)) - 1] - r[-1]))
    full, dropped, gain, last, cut = map(np.array, zip(*rows))
    return {"n": len(rows), "mean_reward": float(full.mean()), "reward_std": float(full.std()),
            "gain_dropping_last_word": float(last.mean()), "gain_cutting_to_70pct": float(cut.mean()),
            "share_shorter_better": float((dropped > 0).mean()), "mean_words_dropped": float(dropped.mean()),
            "mean_gain_by_truncating": float(gain.mean())}


def main():
    import torch

    from recexplain.mmi.alignment import explain_records
    from recexplain.mmi.data import response_sequences
    from recexplain.models.explainer import RecExplainerForConditionalGeneration
    from recexplain.models.mi_estimator import MIEstimatorForRewardModeling

    args, data = parse_dataclasses(HfArgumentParser((DiagnosisArguments, ExplanationDataArguments)))
    records = load_explanation_splits(data)[args.split]
    tokenizer = AutoTokenizer.from_pretrained(args.explainer)
    explainer = RecExplainerForConditionalGeneration.from_pretrained(args.explainer)
    _, prompts, responses, _ = explain_records(explainer, tokenizer, records.to_dict(), args.max_new_tokens)
    ids, mask = response_sequences(tokenizer, prompts["input_ids"], responses)
    results = {}
    for path in comma_list(args.estimators):
        estimator = MIEstimatorForRewardModeling.from_pretrained(path).eval()
        with torch.no_grad():
            rewards = estimator(ids, attention_mask=mask).token_rewards  # [N, S]
        explanation = estimator.backbone.explanation_mask(ids, mask)[1]  # [N, S]
        results[path] = {"pooling": estimator.config.pooling,
                         **ending_rewards(rewards.numpy(), explanation.numpy())}
        print(path, json.dumps(results[path]))
    Path(args.output).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
