"""Train a CTR model (SRP4CTR, DIN, BST or DIN + SRP4CTR interest tokens), select it on validation AUC and
evaluate it on the test split (AUC, GAUC, LogLoss, 95% bootstrap CI of the AUC over test users).

    python scripts/finetune_ctr.py --model din --output_dir runs/din-synthetic                  # SYNTHETIC default
    python scripts/finetune_ctr.py --model srp4ctr --pretrained_dir runs/fgbert-ml --dataset movielens-100k \
        --data_dir ../shared/data --output_dir runs/srp4ctr-ml                                   # ratings >= 4 = click
    python scripts/finetune_ctr.py --model din_qformer --pretrained_dir runs/fgbert-taobao --freeze_encoder true \
        --dataset taobao --data_dir ../shared/data --output_dir runs/qformer-taobao             # sampled negatives
    accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/finetune_ctr.py --model bst --output_dir runs/bst
    ACCELERATE_USE_CPU=true OMP_NUM_THREADS=1 accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml \
        scripts/finetune_ctr.py --model srp4ctr --output_dir runs/srp4ctr                    # 2 data-parallel CPU processes
    python scripts/finetune_ctr.py config.yaml                                               # the same arguments as YAML keys

Labels: `--label_mode auto` uses ratings >= `--threshold` as clicks where the dataset has ratings (MovieLens) and the
target plus `--num_negatives` sampled negatives elsewhere; validation/test rows group the positive with
`--num_eval_negatives` negatives (the same for every model: they depend only on `--negative_seed`). With
`--pretrained_dir` the pre-training run's feature map is reused. Checkpoints go to `--output_dir` (a re-run resumes
from the last one; `--resume false` starts over); the best validation epoch is written atomically to
`OUTPUT_DIR/final`: model (`AutoModelForCTRPrediction`-loadable), `feature_map.json`, `eval_results.json`, README.md.
"""
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

from recexplain.data import FeatureMap
from recexplain.hub import push_model_folder, render_model_card
from recexplain.training.cli import RunArguments, parse_dataclasses, resume_point, start_run
from recexplain.training.ctr import (
    CTRModelArguments,
    CTRTrainingArguments,
    build_ctr_model,
    evaluate_ctr,
    save_model_folder,
    train_ctr,
    unwrap,
)
from recexplain.training.ctr_data import CTRDataArguments, build_ctr_splits, load_behavior_splits, resolve_model_dir

logger = logging.getLogger("finetune_ctr")


@dataclass
class ScriptArguments(RunArguments):
    """Run options that are neither data, model nor Trainer settings."""

    n_bootstrap: int = field(default=1000, metadata={"help": "bootstrap replicates of the test AUC's 95%% CI"})


def parse_args(argv=None):
    parser = HfArgumentParser((ScriptArguments, CTRDataArguments, CTRModelArguments, CTRTrainingArguments))
    return parse_dataclasses(parser, argv)


def main(argv=None):
    script_args, data_args, model_args, training_args = parse_args(argv)
    push = start_run(training_args)  # the final folder is pushed, never a checkpoint
    logger.info("world size %d (%s), process %d", training_args.world_size,
                training_args.distributed_state.distributed_type, training_args.process_index)

    pretrained_fm = None
    if model_args.pretrained_dir:
        pretrained_fm = FeatureMap.from_pretrained(resolve_model_dir(model_args.pretrained_dir))
    with training_args.main_process_first(desc="CTR examples"):
        data = load_behavior_splits(data_args, feature_map=pretrained_fm)
        examples = build_ctr_splits(data, data_args)
    model = build_ctr_model(model_args, data.feature_map)
    logger.info("%s on %s: %d parameters (%d trainable)", type(model).__name__, data.name, model.num_parameters(),
                model.num_parameters(only_trainable=True))
    resume = resume_point(script_args, data_args, model_args, training_args)
    trainer = train_ctr(model, data.feature_map, examples, training_args, resume_from_checkpoint=resume)
    validation = trainer.evaluate()
    test = evaluate_ctr(trainer, examples.test, n_boot=script_args.n_bootstrap, seed=training_args.seed)
    if not trainer.is_world_process_zero():
        return
    results = {**validation, **{f"test_{k}": v for k, v in test.items()}, "label_mode": examples.label_mode,
               "dataset": data.name, "n_users": data.n_users, "n_items": data.n_items, "seed": training_args.seed}
    logger.info("test: AUC %.4f (95%% CI %.4f-%.4f), GAUC %s, LogLoss %.4f on %d rows", test["auc"], *test["auc_ci"],
                test["gauc"], test["logloss"], test["n_rows"])

    final = Path(training_args.output_dir) / "final"
    save_model_folder(unwrap(trainer), data.feature_map, final, results)
    metrics = {k: test[k] for k in ("auc", "gauc", "logloss") if test[k] is not None}
    family = "srp4ctr" if model_args.model in ("srp4ctr", "din_qformer") else "ctr_baseline"
    render_model_card(
        family, final, metrics=metrics, dataset=data.name, command="python " + " ".join(sys.argv),
        base_model=model_args.pretrained_dir,
        extra={"model_class": type(unwrap(trainer)).__name__,
               "repo_id": training_args.hub_model_id,
               "notes": f"labels: {examples.label_mode}; test AUC 95% bootstrap CI over users "
                        f"{test['auc_ci'][0]:.4f}-{test['auc_ci'][1]:.4f} ({test['n_rows']} test rows)"},
    )
    logger.info("saved model, feature map, eval_results.json and model card to %s", final)
    if push:
        push_model_folder(final, training_args.hub_model_id or final.parent.name, token=training_args.hub_token)


if __name__ == "__main__":
    main()
