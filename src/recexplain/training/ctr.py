"""Model arguments, construction, training and evaluation of SRP4CTR pre-training and the CTR models.

Shared by `scripts/pretrain_srp4ctr.py`, `scripts/finetune_ctr.py` and `scripts/benchmark_ctr.py`
(which calls these functions in-process for every model).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

from ..data import CTRCollator, FeatureMap, PretrainingCollator
from ..models.srp4ctr import (
    CTR_MODELS,
    CTRTransformerConfig,
    BSTConfig,
    DINConfig,
    DINQFormerConfig,
    DINQFormerForCTRPrediction,
    SRP4CTRConfig,
    SRP4CTRForCTRPrediction,
    SRP4CTRForPreTraining,
)
from .checkpoints import atomic_output_dir
from .ctr_data import CTRExamples, PretrainingDataArguments, resolve_model_dir

logger = logging.getLogger(__name__)

PRETRAINED_MODELS = ("srp4ctr", "din_qformer")


def _sizes(text: str) -> list:
    return [int(s) for s in str(text).split(",") if s.strip()]


def _joined(sizes) -> str:
    return ",".join(str(s) for s in sizes)


def _config_default(name: str, config_class=CTRTransformerConfig) -> str:
    """' (default: the model config's, N)': how the help of an argument that defaults to None reads."""
    return f" (default: the model config's, {getattr(config_class, name)})"


@dataclass
class EncoderArguments:
    """Width and depth of the Transformer parts; unset = the model config's default (paper: 2 layers; BST: 1)."""

    hidden_size: Optional[int] = field(
        default=None, metadata={"help": "embedding and model width" + _config_default("hidden_size")})
    num_hidden_layers: Optional[int] = field(
        default=None, metadata={"help": "Transformer layers" + _config_default("num_hidden_layers") + "; BST: "
                                        f"{BSTConfig.num_hidden_layers}"})
    num_attention_heads: Optional[int] = field(
        default=None, metadata={"help": "attention heads" + _config_default("num_attention_heads")})
    intermediate_size: Optional[int] = field(
        default=None, metadata={"help": "feed-forward width" + _config_default("intermediate_size")})
    hidden_dropout_prob: Optional[float] = field(
        default=None, metadata={"help": "dropout on embeddings and hidden layers" + _config_default(
            "hidden_dropout_prob")})
    attention_probs_dropout_prob: Optional[float] = field(
        default=None, metadata={"help": "dropout on attention probabilities" + _config_default(
            "attention_probs_dropout_prob")})

    def encoder_kwargs(self) -> dict:
        """The encoder fields that were set."""
        names = (f.name for f in dataclasses.fields(EncoderArguments))
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass
class PretrainingModelArguments(EncoderArguments):
    """The FG-BERT encoder and its pre-training heads."""

    use_side_info: bool = field(
        default=SRP4CTRConfig.use_side_info,
        metadata={"help": "FG-BERT (item id + side information); false = plain item-id BERT ablation"},
    )
    item_loss: str = field(
        default=SRP4CTRConfig.item_loss, metadata={"help": "full_softmax or sampled_softmax (large catalogues)"})
    num_sampled_negatives: int = field(
        default=SRP4CTRConfig.num_sampled_negatives, metadata={"help": "sampled_softmax: negatives per batch"})
    attr_loss: str = field(
        default=SRP4CTRConfig.attr_loss, metadata={"help": "softmax (cross-entropy per masked attribute) or bce "
                                                           "(multi-label over the whole attribute vocabulary; worse "
                                                           "on Taobao validation)"})
    attribute_input: str = field(
        default=SRP4CTRConfig.attribute_input,
        metadata={"help": "how item attributes enter the encoder: sum (added to the event) or token (a separate "
                          "token after each event)"})
    item_id_loss_weight: float = field(default=1.0, metadata={"help": "weight of the masked item-id loss"})
    item_attr_loss_weight: float = field(default=1.0, metadata={"help": "weight of the masked attribute loss"})
    behavior_loss_weight: float = field(default=1.0, metadata={"help": "weight of the masked behaviour loss"})
    time_gap_loss_weight: float = field(default=1.0, metadata={"help": "weight of the masked time-gap loss"})

    def config(self, feature_map: FeatureMap) -> SRP4CTRConfig:
        weights = {"item_id": self.item_id_loss_weight, "item_attr": self.item_attr_loss_weight,
                   "behavior": self.behavior_loss_weight, "time_gap": self.time_gap_loss_weight}
        return SRP4CTRConfig.from_feature_map(
            feature_map, use_side_info=self.use_side_info, item_loss=self.item_loss,
            num_sampled_negatives=self.num_sampled_negatives, attr_loss=self.attr_loss,
            attribute_input=self.attribute_input, pretraining_loss_weights=weights, **self.encoder_kwargs())


@dataclass
class CTRModelArguments(EncoderArguments):
    """Which CTR model to train, and from which pre-trained encoder."""

    model: str = field(default="srp4ctr", metadata={"help": f"one of {', '.join(CTR_MODELS)}"})
    pretrained_dir: Optional[str] = field(
        default=None,
        metadata={"help": "srp4ctr / din_qformer: SRP4CTR pre-training output (its feature map is reused); "
                          "absent = from scratch"},
    )
    freeze_encoder: Optional[bool] = field(
        default=None, metadata={"help": "keep the (pre-trained) encoder fixed (default: the model config's: "
                                        f"{DINQFormerConfig.freeze_encoder} for din_qformer, "
                                        f"{SRP4CTRConfig.freeze_encoder} for srp4ctr; a CTR checkpoint keeps its own)"})
    use_side_info: Optional[bool] = field(
        default=None,
        metadata={"help": "use attributes/behaviour/time gaps (default: true; with --pretrained_dir: the "
                          "checkpoint's; true on an item-id-only checkpoint adds fresh side-info embeddings)"},
    )
    mlp_hidden_sizes: str = field(
        default=_joined(CTRTransformerConfig.mlp_hidden_sizes), metadata={"help": "click MLP sizes, comma-separated"})
    attention_hidden_sizes: str = field(
        default=_joined(DINConfig.attention_hidden_sizes), metadata={"help": "DIN activation unit sizes"})
    num_query_tokens: int = field(
        default=SRP4CTRConfig.num_query_tokens, metadata={"help": "din_qformer: K learnable queries / interest tokens"})
    num_query_layers: int = field(
        default=SRP4CTRConfig.num_query_layers, metadata={"help": "din_qformer: querying-transformer layers"})
    causal_attention: bool = field(
        default=SRP4CTRConfig.causal_attention,
        metadata={"help": "srp4ctr from scratch: a unidirectional (SASRec-style) encoder, each event attending only "
                          "to earlier ones"})

    def __post_init__(self):
        if self.model not in CTR_MODELS:
            raise ValueError(f"model must be one of {tuple(CTR_MODELS)}, got {self.model!r}")
        if self.pretrained_dir and self.model not in PRETRAINED_MODELS:
            raise ValueError(f"--pretrained_dir applies to {PRETRAINED_MODELS} only, not {self.model!r}")
        if self.causal_attention and (self.model != "srp4ctr" or self.pretrained_dir):
            raise ValueError("--causal_attention applies to srp4ctr trained from scratch (the pre-trained encoders "
                             f"are bidirectional), not to {self.model!r}" + (" with --pretrained_dir" * bool(
                                 self.pretrained_dir)))


def build_pretraining_model(args: PretrainingModelArguments, feature_map: FeatureMap) -> SRP4CTRForPreTraining:
    return SRP4CTRForPreTraining(args.config(feature_map))


def build_ctr_model(args: CTRModelArguments, feature_map: FeatureMap):
    """A new CTR model for `feature_map`, or one whose encoder comes from `args.pretrained_dir`."""
    heads = dict(mlp_hidden_sizes=_sizes(args.mlp_hidden_sizes))
    if args.freeze_encoder is not None:
        heads["freeze_encoder"] = args.freeze_encoder
    if args.use_side_info is not None:
        heads["use_side_info"] = args.use_side_info
    if args.pretrained_dir:
        path = resolve_model_dir(args.pretrained_dir)
        if args.model == "srp4ctr":
            return SRP4CTRForCTRPrediction.from_pretrained(path, **heads)
        return DINQFormerForCTRPrediction.from_pretrained_encoder(
            path, attention_hidden_sizes=_sizes(args.attention_hidden_sizes), num_query_tokens=args.num_query_tokens,
            num_query_layers=args.num_query_layers, **heads)
    kwargs = {**args.encoder_kwargs(), **heads}
    if args.model == "srp4ctr":
        return SRP4CTRForCTRPrediction(SRP4CTRConfig.from_feature_map(
            feature_map, causal_attention=args.causal_attention, **kwargs))
    if args.model == "din_qformer":
        return DINQFormerForCTRPrediction(DINQFormerConfig.from_feature_map(
            feature_map, attention_hidden_sizes=_sizes(args.attention_hidden_sizes),
            num_query_tokens=args.num_query_tokens, num_query_layers=args.num_query_layers, **kwargs))
    kwargs.pop("freeze_encoder", None)
    if args.model == "bst":
        return CTR_MODELS["bst"](BSTConfig.from_feature_map(feature_map, **kwargs))
    din = {k: kwargs[k] for k in ("hidden_size", "hidden_dropout_prob", "mlp_hidden_sizes", "use_side_info")
           if k in kwargs}
    return CTR_MODELS["din"](DINConfig.from_feature_map(
        feature_map, attention_hidden_sizes=_sizes(args.attention_hidden_sizes), **din))


@dataclass
class CTRTrainingArguments(TrainingArguments):
    """`TrainingArguments` with CTR defaults: Adam 1e-3, validation AUC every epoch, best epoch kept."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    num_train_epochs: float = field(default=5.0, metadata={"help": "epochs"})
    per_device_train_batch_size: int = field(default=256, metadata={"help": "training rows (candidates) per device"})
    per_device_eval_batch_size: int = field(default=32, metadata={"help": "grouped evaluation rows per device"})
    eval_strategy: str = field(default="epoch", metadata={"help": "when to evaluate on the validation split"})
    save_strategy: str = field(default="epoch", metadata={"help": "when to write checkpoints"})
    save_total_limit: Optional[int] = field(default=2, metadata={"help": "checkpoints kept (the best one is kept)"})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "end with the best validation epoch"})
    metric_for_best_model: Optional[str] = field(default="auc", metadata={"help": "validation metric for selection"})
    greater_is_better: Optional[bool] = field(default=True, metadata={"help": "higher metric is better"})
    logging_steps: float = field(default=50, metadata={"help": "log every N steps"})
    report_to: Optional[str] = field(default="none", metadata={"help": "experiment trackers (none, tensorboard, ...)"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "the collator needs every column"})
    dataloader_pin_memory: bool = field(default=False, metadata={"help": "pin memory (only useful on GPUs)"})
    early_stopping_patience: int = field(
        default=2, metadata={"help": "stop after N validations without improvement (0 = off)"}
    )
    encoder_learning_rate_ratio: float = field(
        default=1.0, metadata={"help": "learning rate of the SRP4CTR encoder's parameters (a pre-trained one's) as a "
                                       "fraction of --learning_rate; the CTR tower and heads keep --learning_rate"})

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.encoder_learning_rate_ratio <= 1e3:
            raise ValueError(f"encoder_learning_rate_ratio must be in (0, 1000], got {self.encoder_learning_rate_ratio} "
                             "(freeze the encoder with --freeze_encoder true instead of a ratio of 0)")


class CTRTrainer(Trainer):
    """`Trainer` whose optimiser gives the SRP4CTR encoder's parameters (`srp4ctr.*`) the learning rate times
    `args.encoder_learning_rate_ratio` (the schedule scales both alike)."""

    def create_optimizer(self, model=None):
        new = self.optimizer is None
        optimizer = super().create_optimizer(model)
        ratio = getattr(self.args, "encoder_learning_rate_ratio", 1.0)
        if new and ratio != 1.0:
            encoder = {id(p) for n, p in (model or self.model).named_parameters() if n.startswith("srp4ctr.")}
            groups = []
            for group in optimizer.param_groups:  # no state yet: regroup each (decay / no decay) group in two
                for params, scale in (([p for p in group["params"] if id(p) in encoder], ratio),
                                      ([p for p in group["params"] if id(p) not in encoder], 1.0)):
                    if params:
                        groups.append({**group, "params": params, "lr": group["lr"] * scale})
            optimizer.param_groups = groups
        return optimizer


# Pre-training length (also the benchmark's): on Amazon Beauty at convergence, 4x and 8x the benchmark's former 600
# steps (3.4 epochs there) raised validation AUC by +0.008 and +0.018 (docs/ctr_benchmark.md).
PRETRAIN_EPOCHS = 30.0


@dataclass
class PretrainingTrainingArguments(TrainingArguments):
    """`TrainingArguments` with pre-training defaults (Adam 1e-3, checkpoints every epoch)."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    num_train_epochs: float = field(default=PRETRAIN_EPOCHS, metadata={"help": "epochs over the train-split windows"})
    per_device_train_batch_size: int = field(default=128, metadata={"help": "sequences per device"})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "sequences per device"})
    warmup_steps: float = field(default=0.05, metadata={"help": "warm-up (a float < 1 is a share of the steps)"})
    save_strategy: str = field(default="epoch", metadata={"help": "when to write checkpoints"})
    save_total_limit: Optional[int] = field(default=2, metadata={"help": "checkpoints kept"})
    logging_steps: float = field(default=20, metadata={"help": "log every N steps"})
    report_to: Optional[str] = field(default="none", metadata={"help": "experiment trackers (none, tensorboard, ...)"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "the collator needs every column"})
    dataloader_pin_memory: bool = field(default=False, metadata={"help": "pin memory (only useful on GPUs)"})


def pretrain_srp4ctr(model, feature_map, train, data_args: PretrainingDataArguments, training_args,
                     resume_from_checkpoint=None, eval_dataset=None) -> Trainer:
    """Masked-field pre-training with `transformers.Trainer`; returns the trainer (model trained)."""
    collator = PretrainingCollator(feature_map, item_mask_prob=data_args.item_mask_prob,
                                   behavior_mask_prob=data_args.behavior_mask_prob)
    trainer = Trainer(model=model, args=training_args, train_dataset=train, eval_dataset=eval_dataset,
                      data_collator=collator)
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return trainer


@functools.lru_cache(maxsize=1)
def _ctr_metric():
    from .. import metrics

    return metrics.load("ctr")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def ctr_scores(logits, labels, user_ids, n_boot: int = 0, seed: int = 0, keep_replicates: bool = False) -> dict:
    """AUC, GAUC (NaN -> None when no user has both classes), LogLoss of `[R, N]` logits/labels of
    grouped rows whose users are `user_ids [R]`; with `n_boot`, `auc_ci` (95% bootstrap over users) and, with
    `keep_replicates`, the replicates' AUCs `auc_replicates [n_boot]` (for paired comparisons)."""
    logits, labels = np.asarray(logits).reshape(len(user_ids), -1), np.asarray(labels).reshape(len(user_ids), -1)
    probs, refs = _sigmoid(logits).ravel(), labels.ravel().astype(np.int64)
    users = np.repeat(np.asarray(user_ids), logits.shape[1])
    scores = _ctr_metric().compute(predictions=probs, references=refs, user_ids=users)
    out = {"auc": scores["auc"], "gauc": scores["gauc"] if math.isfinite(scores["gauc"]) else None,
           "logloss": scores["logloss"], "gauc_users": scores["gauc_users"]}
    if n_boot:
        from ..metrics import auc_bootstrap, percentile_ci

        replicates = auc_bootstrap(probs, refs, users, n_boot=n_boot, seed=seed)
        out["auc_ci"] = list(percentile_ci(replicates))
        if keep_replicates:
            out["auc_replicates"] = replicates
    return out


def ctr_compute_metrics(dataset):
    """`compute_metrics` for `Trainer` evaluating on the grouped rows of `dataset`."""
    users = np.asarray(dataset["user_ids"])

    def compute(prediction) -> dict:
        scores = ctr_scores(prediction.predictions, prediction.label_ids, users)
        return {k: v for k, v in scores.items() if v is not None}

    return compute


def train_ctr(model, feature_map, examples: CTRExamples, training_args: CTRTrainingArguments,
              resume_from_checkpoint=None) -> Trainer:
    """Train on `examples.train`, validate every epoch on `examples.validation` (best epoch kept,
    optional early stopping); returns the trainer."""
    callbacks = []
    if getattr(training_args, "early_stopping_patience", 0) and training_args.load_best_model_at_end:
        callbacks.append(EarlyStoppingCallback(training_args.early_stopping_patience))
    trainer = CTRTrainer(model=model, args=training_args, train_dataset=examples.train,
                         eval_dataset=examples.validation, data_collator=CTRCollator(feature_map),
                         compute_metrics=ctr_compute_metrics(examples.validation), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return trainer


def evaluate_ctr(trainer: Trainer, dataset, n_boot: int = 1000, seed: int = 0, keep_replicates: bool = False) -> dict:
    """Test metrics of the trainer's model on grouped rows: `auc, gauc, logloss, auc_ci, n_rows` (and
    `auc_replicates`, see `ctr_scores`)."""
    compute, trainer.compute_metrics = trainer.compute_metrics, None
    try:
        output = trainer.predict(dataset)
    finally:
        trainer.compute_metrics = compute
    scores = ctr_scores(output.predictions, output.label_ids, np.asarray(dataset["user_ids"]),
                        n_boot=n_boot if trainer.is_world_process_zero() else 0, seed=seed,
                        keep_replicates=keep_replicates)
    scores["n_rows"] = len(dataset)
    return scores


def save_model_folder(model, feature_map: FeatureMap, output_dir, results: Optional[dict] = None) -> Path:
    """Atomically write `model` (`save_pretrained`), `feature_map.json` and `eval_results.json`."""
    output_dir = Path(output_dir)
    with atomic_output_dir(output_dir) as tmp:
        model.save_pretrained(tmp)
        feature_map.save_pretrained(tmp)
        if results is not None:
            (tmp / "eval_results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return output_dir


def unwrap(trainer: Trainer):
    """The trained model without DDP/accelerate wrappers."""
    return trainer.accelerator.unwrap_model(trainer.model)
