"""Train the personalized explanation generator (PETER, PETER+ or a causal LM with LoRA) on review data.

    python scripts/train_explainer.py --output_dir runs/explainer            # SYNTHETIC reviews (default)
    python scripts/train_explainer.py --output_dir runs/mi-peter-plus --model_type peter_plus \
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz
    python scripts/train_explainer.py --output_dir runs/tripadvisor --data_file TripAdvisor/reviews.pickle
    python scripts/train_explainer.py --output_dir runs/lm --model_type causal_lm --use_peft true
    accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml scripts/train_explainer.py --output_dir runs/explainer
    python scripts/train_explainer.py config.yaml                            # the same arguments as YAML keys

Writes checkpoints to `--output_dir` (a re-run resumes from the last one; `--resume false` starts over) and the
final model to `OUTPUT_DIR/final`, written atomically: model + generation config, tokenizer,
`explanation_vocab.json` (users, items, features, words), `eval_results.json` (validation metrics, with the saved
decoding) and `decoding_choice.json` (the decodings tried on validation; the best is the generation config's default).
"""
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

from recexplain.data.reviews.tokenizer import save_vocabularies
from recexplain.data.reviews.records import review_dataset_name
from recexplain.hub import push_model_folder, render_model_card
from recexplain.training import atomic_output_dir
from recexplain.training.cli import RunArguments, parse_dataclasses, resume_point, start_run
from recexplain.training.explainer import (
    ExplainerModelArguments,
    ExplainerTrainingArguments,
    ExplanationDataArguments,
    build_explainer,
    prepare_explanation_data,
    set_generation_defaults,
    train_explainer,
    training_features,
    unwrap_explainer,
)
from recexplain.training.explainer_evaluation import explanation_scores, generate_explanations, saved_decoding

logger = logging.getLogger("train_explainer")


@dataclass
class ScriptArguments(RunArguments):
    """Run options that are neither data, model nor Trainer settings."""

    num_samples: int = field(default=10, metadata={"help": "validation explanations printed next to the real ones"})
    choose_decoding: bool = field(
        default=True, metadata={"help": "save the greedy decoding (no_repeat_ngram_size / repetition_penalty / "
                                        "min_new_tokens) with "
                                        "the best validation text score and under 5 percent looping explanations as the "
                                        "generation config's defaults (table: final/decoding_choice.json)"}
    )
    early_stopping_patience: int = field(
        default=0, metadata={"help": "stop after this many evaluations without a better metric_for_best_model (0: off)"}
    )


def parse_args():
    parser = HfArgumentParser(
        (ScriptArguments, ExplanationDataArguments, ExplainerModelArguments, ExplainerTrainingArguments)
    )
    return parse_dataclasses(parser)


def main():
    script_args, data_args, model_args, training_args = parse_args()
    push = start_run(training_args)  # the final folder is pushed, never a checkpoint

    with training_args.main_process_first(desc="explanation data"):
        splits, tokenizer, tokenized = prepare_explanation_data(
            data_args, model_args.max_explanation_length, lm_pretraining=training_args.lm_pretraining_epochs > 0
        )
    model = build_explainer(model_args, tokenizer)
    resume = resume_point(script_args, data_args, model_args, training_args, stages=["lm_pretraining"])
    trainer = train_explainer(
        model, tokenizer, tokenized, training_args, resume_from_checkpoint=resume,
        early_stopping_patience=script_args.early_stopping_patience, splits=splits,
        max_new_tokens=model_args.max_explanation_length + 1,
    )
    eval_results = trainer.evaluate()
    if not trainer.is_world_process_zero():
        return

    model = unwrap_explainer(trainer.model)
    max_new_tokens = model_args.max_explanation_length + 1
    decodings = set_generation_defaults(model, tokenizer, splits, max_new_tokens, choose=script_args.choose_decoding)
    valid = splits["validation"].to_list()
    vocab_features = training_features(splits)
    predictions, ratings = generate_explanations(model, tokenizer, valid, max_new_tokens,
                                                 **saved_decoding(model.generation_config))
    eval_results.update({f"eval_{k}": v for k, v in explanation_scores(predictions, ratings, valid, vocab_features).items()})
    logger.info("validation: %s", json.dumps(eval_results, indent=1))
    for record, text in list(zip(valid, predictions))[: script_args.num_samples]:
        logger.info("real: %s\n    generated: %s", record["explanation"], text)

    with atomic_output_dir(Path(training_args.output_dir) / "final") as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_vocabularies(tokenizer, tmp)
        (tmp / "eval_results.json").write_text(json.dumps(eval_results, indent=1), encoding="utf-8")
        if decodings:
            (tmp / "decoding_choice.json").write_text(json.dumps(decodings, indent=1), encoding="utf-8")
        metrics = {k[len("eval_"):]: v for k, v in eval_results.items()
                   if k[len("eval_"):] in ("rmse", "mae", "bleu1", "bleu4", "rougeL", "usr", "distinct2",
                                             "repeat_rate", "fmr", "fcr", "div")}
        render_model_card(
            "explainer", tmp, metrics=metrics, dataset=review_dataset_name(data_args.data_file),
            command="python " + " ".join(sys.argv), extra={
                "model_name": training_args.hub_model_id or Path(training_args.output_dir).name, "split": "validation",
                "model_class": "RecExplainerForConditionalGeneration",
                "notes": "the results are on the validation split (the split used for model selection)"},
        )
    final = Path(training_args.output_dir) / "final"
    logger.info("saved model, tokenizer, vocabularies and model card to %s", final)
    if push:
        push_model_folder(final, training_args.hub_model_id or final.parent.name, token=training_args.hub_token)


if __name__ == "__main__":
    main()
