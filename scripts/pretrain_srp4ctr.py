"""Pre-train the SRP4CTR FG-BERT encoder (masked item fields + masked behaviour fields) on the train split.

    python scripts/pretrain_srp4ctr.py --output_dir runs/fgbert-synthetic                     # SYNTHETIC default
    python scripts/pretrain_srp4ctr.py --dataset movielens-100k --data_dir ../shared/data --output_dir runs/fgbert-ml
    python scripts/pretrain_srp4ctr.py --dataset taobao --data_dir ../shared/data --output_dir runs/bert-taobao \
        --use_side_info false                                                                # item-id BERT ablation
    accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/pretrain_srp4ctr.py --output_dir runs/fgbert
    ACCELERATE_USE_CPU=true OMP_NUM_THREADS=1 accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml \
        scripts/pretrain_srp4ctr.py --output_dir runs/fgbert                                 # 2 data-parallel CPU processes
    python scripts/pretrain_srp4ctr.py config.yaml                                           # the same arguments as YAML keys

Checkpoints go to `--output_dir` (a re-run resumes from the last one; `--resume false` starts over); the final
model (`SRP4CTRForPreTraining`, `save_pretrained`), `feature_map.json` and `eval_results.json` (masked-field losses
on the validation windows) are written atomically to `OUTPUT_DIR/final`, which `finetune_ctr.py --pretrained_dir`
accepts. Validation and test targets are never seen in pre-training.
"""
import logging
import sys
from pathlib import Path

from transformers import HfArgumentParser, set_seed

from recexplain.data import build_pretraining_examples
from recexplain.hub import push_model_folder, render_model_card
from recexplain.training.cli import RunArguments, parse_dataclasses, resume_point, start_run
from recexplain.training.ctr import (
    PretrainingModelArguments,
    PretrainingTrainingArguments,
    build_pretraining_model,
    pretrain_srp4ctr,
    save_model_folder,
    unwrap,
)
from recexplain.training.ctr_data import PretrainingDataArguments, build_pretraining_splits, load_behavior_splits

logger = logging.getLogger("pretrain_srp4ctr")


def parse_args(argv=None):
    parser = HfArgumentParser((RunArguments, PretrainingDataArguments, PretrainingModelArguments,
                               PretrainingTrainingArguments))
    return parse_dataclasses(parser, argv)


def main(argv=None):
    script_args, data_args, model_args, training_args = parse_args(argv)
    push = start_run(training_args)  # the final folder is pushed, never a checkpoint
    logger.info("world size %d (%s), process %d", training_args.world_size,
                training_args.distributed_state.distributed_type, training_args.process_index)

    with training_args.main_process_first(desc="behaviour data"):
        data = load_behavior_splits(data_args)
        train = build_pretraining_splits(data, data_args)
        validation = build_pretraining_examples(data.splits["validation"], data.feature_map)
    logger.info("%s: %d users, %d items, %d pre-training windows", data.name, data.n_users, data.n_items, len(train))
    model = build_pretraining_model(model_args, data.feature_map)
    resume = resume_point(script_args, data_args, model_args, training_args)
    trainer = pretrain_srp4ctr(model, data.feature_map, train, data_args, training_args,
                               resume_from_checkpoint=resume, eval_dataset=validation)
    set_seed(training_args.seed)  # the same validation masks for every run
    results = trainer.evaluate()
    logger.info("validation (masked fields of each user's latest window): %s", results)
    if not trainer.is_world_process_zero():
        return

    final = Path(training_args.output_dir) / "final"
    save_model_folder(unwrap(trainer), data.feature_map, final, results)
    metrics = {"masked_field_loss": results["eval_loss"]}
    render_model_card(
        "srp4ctr", final, metrics=metrics, dataset=data.name, command="python " + " ".join(sys.argv),
        extra={"model_class": "SRP4CTRForPreTraining", "auto_class": "AutoModelForPreTraining",
               "repo_id": training_args.hub_model_id, "split": "validation",
               "notes": "metrics are masked-field losses (nats) on each user's latest window (validation split), "
                        "not click metrics; fine-tune with scripts/finetune_ctr.py --pretrained_dir"},
    )
    logger.info("saved the pre-trained model and feature map to %s", final)
    if push:
        push_model_folder(final, training_args.hub_model_id or final.parent.name, token=training_args.hub_token)


if __name__ == "__main__":
    main()
