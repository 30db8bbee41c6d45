"""Train the MINE mutual-information estimator (MMI's reward model) on real explanations.

The estimator learns T(e, y) for the rating and the feature of the training split's real
explanations (Donsker-Varadhan bound, moving-average bias correction, shuffled-label
negatives), logs I(R;E) and I(F;E) on the validation split after every epoch, and is saved
as an `MIEstimatorForRewardModeling` (+ the tokenizer), ready for `scripts/mmi_ppo.py`.
Use the tokenizer of the explainer you will fine-tune (`--tokenizer_name_or_path`), so the
token ids agree.

    python scripts/train_mi_estimator.py \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz \\
        --tokenizer_name_or_path runs/explainer --output_dir runs/mi_estimator --mine_epochs 20

    accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml scripts/train_mi_estimator.py \\
        --tokenizer_name_or_path runs/explainer --output_dir runs/mi_estimator

Without `--data_file` the synthetic explanation records are used; arguments can also come
from a YAML file (`--config mi.yaml`).
"""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Optional

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from transformers import AutoTokenizer
from trl import TrlParser

from recexplain.data.explanation_tokenizer import build_explanation_tokenizer
from recexplain.data.reviews import load_explanation_records, split_explanation_records
from recexplain.mmi.data import encode_sequences, mi_estimator_config_from_tokenizer
from recexplain.mmi.mine import MINETrainingArguments, fit_mine
from recexplain.models.mi_estimator import MIEstimatorForRewardModeling
from recexplain.training import atomic_output_dir

logger = logging.getLogger(__name__)


@dataclass
class MIEstimatorScriptArguments:
    """Data, model size and output of the MI estimator."""

    output_dir: str = field(metadata={"help": "Where the estimator, tokenizer and history are saved."})
    data_file: Optional[str] = field(
        default=None, metadata={"help": "Amazon review JSON lines or PETER reviews.pickle; synthetic when unset."}
    )
    tokenizer_name_or_path: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer of the explainer (its output folder); built from train if unset."}
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the 8:1:1 record split (same as the explainer)."})
    max_explanation_length: int = field(default=20, metadata={"help": "Explanation words kept per record."})
    hidden_size: int = field(default=64, metadata={"help": "Width of the explanation embedding."})
    intermediate_size: int = field(default=128, metadata={"help": "Hidden width of the statistics networks."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout on the explanation embedding."})
    reward_type: str = field(default="rating", metadata={"help": "Saved reward: rating, feature or joint."})
    eps: float = field(default=0.2, metadata={"help": "Feature weight of the joint reward."})
    seed: int = field(default=0, metadata={"help": "Random seed."})


def load_splits(data_file: Optional[str], split_seed: int):
    records = load_explanation_records(data_file)
    return split_explanation_records(records, seed=split_seed)


def main(script_args: MIEstimatorScriptArguments, mine_args: MINETrainingArguments) -> dict:
    accelerator = Accelerator()
    set_seed(script_args.seed)
    with accelerator.main_process_first():
        splits = load_splits(script_args.data_file, script_args.split_seed)
    if script_args.tokenizer_name_or_path:
        tokenizer = AutoTokenizer.from_pretrained(script_args.tokenizer_name_or_path)
    else:
        tokenizer = build_explanation_tokenizer(splits["train"])
    train_ids, train_mask = encode_sequences(tokenizer, splits["train"].to_dict(), script_args.max_explanation_length)
    eval_ids, eval_mask = encode_sequences(tokenizer, splits["validation"].to_dict(),
                                           script_args.max_explanation_length)
    config = mi_estimator_config_from_tokenizer(
        tokenizer, train_ids, hidden_size=script_args.hidden_size, intermediate_size=script_args.intermediate_size,
        dropout=script_args.dropout, reward_type=script_args.reward_type, eps=script_args.eps,
    )
    set_seed(script_args.seed)  # identical initial weights in every process
    model = MIEstimatorForRewardModeling(config).to(accelerator.device)

    def log(record):
        if accelerator.is_main_process:
            nats = {k: round(v, 4) for k, v in record.items() if k.startswith("mi_") and isinstance(v, float)}
            logger.info("epoch %d loss %.4f %s", record["epoch"], record["loss"], nats)

    history = fit_mine(model.backbone, train_ids, train_mask, mine_args, eval_ids, eval_mask,
                       seed=script_args.seed, log=log, progress=True, accelerator=accelerator)
    best = max(history, key=lambda r: r.get("mi_rating_dv", -math.inf)) if mine_args.mine_keep_best else history[-1]
    summary = {"num_train": len(train_ids), "num_eval": len(eval_ids), "selected_epoch": best["epoch"],
               "mi_rating": best.get("mi_rating_dv"), "h_rating": best.get("mi_rating_entropy"),
               "mi_feature": best.get("mi_feature_dv"), "h_feature": best.get("mi_feature_entropy"),
               "history": history}
    if accelerator.is_main_process:
        with atomic_output_dir(script_args.output_dir) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "mine_history.json").write_text(json.dumps(summary, indent=1))
        logger.info("saved the MI estimator to %s (validation I(R;E) = %.4f nats of H(R) = %.4f)",
                    script_args.output_dir, summary["mi_rating"], summary["h_rating"])
    accelerator.wait_for_everyone()
    return summary


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = TrlParser((MIEstimatorScriptArguments, MINETrainingArguments))
    main(*parser.parse_args_and_config())
