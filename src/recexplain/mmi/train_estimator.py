"""Training the MINE estimator on real explanations (used by `scripts/train_mi_estimator.py` and
`scripts/benchmark_mmi.py`): data, tokenizer, `fit_mine`, atomic save with the per-epoch history."""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from accelerate import Accelerator
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from recexplain.data.reviews.tokenizer import EXPLANATION_WORDS, build_explanation_tokenizer
from recexplain.data.reviews.records import (
    SPLIT_SEED,
    load_explanation_records,
    review_dataset_name,
    split_explanation_records,
    training_reviews,
)
from recexplain.hub import push_model_folder, render_model_card
from recexplain.mmi.data import encode_sequences, mi_estimator_config_from_tokenizer
from recexplain.mmi.mine import MINETrainingArguments, fit_mine
from recexplain.models.mi_estimator import MIEstimatorForRewardModeling
from recexplain.models.mi_estimator.configuration_mi_estimator import POOLINGS
from recexplain.training import atomic_output_dir
from recexplain.training.explainer import sentence_records, training_features

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
    split_seed: int = field(
        default=SPLIT_SEED, metadata={"help": "Seed of the 8:1:1 record split (same as the explainer)."})
    max_explanation_length: int = field(
        default=EXPLANATION_WORDS, metadata={"help": "Explanation words kept (as the explainer)."})
    hidden_size: int = field(default=32, metadata={"help": "Width of the explanation embedding."})
    intermediate_size: int = field(default=64, metadata={"help": "Hidden width of the statistics networks."})
    dropout: float = field(default=0.3, metadata={"help": "Dropout on the explanation embedding."})
    pooling: str = field(
        default="mean", metadata={"help": f"Token embeddings -> explanation embedding, one of {POOLINGS} (see "
                                          "MIEstimatorConfig)."}
    )
    review_sentences: bool = field(
        default=True, metadata={"help": "Also train on every sentence of the training split's reviews (with the "
                                        "review's rating; ~8x more text: validation I(R;E) 0.058 vs 0.036 nats on "
                                        "Musical Instruments), not only on the extracted explanations."}
    )
    reward_type: str = field(default="rating", metadata={"help": "Saved reward: rating, feature or joint."})
    eps: float = field(default=0.2, metadata={"help": "Feature weight of the joint reward."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    push_to_hub: bool = field(default=False, metadata={"help": "Push the saved folder to the hub."})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "Hub repo id (default: the folder name)."})
    hub_token: Optional[str] = field(default=None, metadata={"help": "Hub token (default: the logged-in one)."})


def main(script_args: MIEstimatorScriptArguments, mine_args: MINETrainingArguments, splits=None) -> dict:
    """Train and save the estimator; returns the summary (selected epoch, MI estimates, history).

    `splits`: the record `DatasetDict` when already loaded (else read from `script_args.data_file`).
    """
    accelerator = Accelerator()
    logger.info("world size %d (%s), process %d", accelerator.num_processes, accelerator.distributed_type,
                accelerator.process_index)
    set_seed(script_args.seed)
    if splits is None:
        with accelerator.main_process_first():
            splits = split_explanation_records(load_explanation_records(script_args.data_file),
                                               seed=script_args.split_seed)
    if script_args.tokenizer_name_or_path:
        tokenizer = AutoTokenizer.from_pretrained(script_args.tokenizer_name_or_path)
    else:
        tokenizer = build_explanation_tokenizer(splits["train"])
    train = splits["train"].to_dict()
    if script_args.review_sentences and script_args.data_file:  # synthetic: the sentences are the explanations
        sentences = sentence_records(training_reviews(script_args.data_file, splits), training_features(splits),
                                     script_args.max_explanation_length)
        train = {key: train[key] + list(sentences[key]) for key in ("user", "item", "rating", "feature", "explanation")}
        logger.info("MI estimator: %d explanations + %d review sentences", len(splits["train"]), len(sentences))
    train_ids, train_mask = encode_sequences(tokenizer, train, script_args.max_explanation_length)
    eval_ids, eval_mask = encode_sequences(tokenizer, splits["validation"].to_dict(),
                                           script_args.max_explanation_length)
    config = mi_estimator_config_from_tokenizer(
        tokenizer, train_ids, hidden_size=script_args.hidden_size, intermediate_size=script_args.intermediate_size,
        dropout=script_args.dropout, pooling=script_args.pooling, reward_type=script_args.reward_type,
        eps=script_args.eps,
    )
    set_seed(script_args.seed)  # identical initial weights in every process
    model = MIEstimatorForRewardModeling(config).to(accelerator.device)

    def log(record):
        if accelerator.is_main_process:
            nats = {k: round(v, 4) for k, v in record.items() if k.startswith("mi_") and isinstance(v, float)}
            logger.info("epoch %d loss %.4f %s", record["epoch"], record["loss"], nats)

    history = fit_mine(model.backbone, train_ids, train_mask, mine_args, eval_ids, eval_mask,
                       seed=script_args.seed, log=log, progress=True, accelerator=accelerator)
    summary = {"num_train": len(train_ids), "num_eval": len(eval_ids), "history": history}
    for name in ("rating", "feature"):
        rows = [r for r in history if f"mi_{name}_dv" in r]
        if rows:  # the epoch whose weights were kept for this statistics network
            kept = max(rows, key=lambda r: r[f"mi_{name}_dv"]) if mine_args.mine_keep_best else rows[-1]
            summary.update({f"{name}_epoch": kept["epoch"], f"mi_{name}": kept[f"mi_{name}_dv"],
                            f"h_{name}": kept[f"mi_{name}_entropy"]})
    if accelerator.is_main_process:
        with atomic_output_dir(script_args.output_dir) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "mine_history.json").write_text(json.dumps(summary, indent=1))
            render_model_card(
                "mi_estimator", tmp, metrics={k: summary[k] for k in ("mi_rating", "mi_feature") if k in summary},
                dataset=review_dataset_name(script_args.data_file), command="python " + " ".join(sys.argv),
                extra={"model_name": script_args.hub_model_id or Path(script_args.output_dir).name,
                       "split": "validation", "model_class": "MIEstimatorForRewardModeling",
                       "notes": "results are Donsker-Varadhan MI estimates in nats on the validation split's real "
                                "explanations (the selected epoch), not test metrics"},
            )
        logger.info("saved the MI estimator to %s (validation I(R;E) = %.4f nats of H(R) = %.4f)",
                    script_args.output_dir, summary["mi_rating"], summary["h_rating"])
        if script_args.push_to_hub:
            output = Path(script_args.output_dir)
            push_model_folder(output, script_args.hub_model_id or output.name, token=script_args.hub_token)
    accelerator.wait_for_everyone()
    return summary
