"""Data arguments and preparation shared by the SRP4CTR scripts and the CTR benchmark.

One `BehaviorSplits` (dataset, leave-last-out splits, feature map) feeds both pre-training and
CTR fine-tuning, so that every model of a comparison sees the same splits, ids and negatives.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import datasets
import numpy as np

from ..data import (
    BEHAVIOR_MASK_PROB,
    DATASET_NAMES,
    ITEM_MASK_PROB,
    FeatureMap,
    build_ctr_examples,
    build_pretraining_examples,
    check_dataset_name,
    load_behavior_dataset,
    split_sequences,
)

logger = logging.getLogger(__name__)

LABEL_MODES = ("auto", "threshold", "sampled")


@dataclass
class BehaviorDataArguments:
    """Which behaviour dataset to read and how long the histories are."""

    dataset: str = field(default="synthetic", metadata={"help": f"one of {DATASET_NAMES}"})
    data_dir: Optional[str] = field(
        default=None, metadata={"help": "the dataset's folder or the shared data root (not needed for synthetic)"}
    )
    max_seq_len: int = field(default=50, metadata={"help": "most recent history events kept (paper: 200)"})

    def __post_init__(self):
        check_dataset_name(self.dataset)
        if self.max_seq_len < 1:
            raise ValueError(f"max_seq_len must be >= 1, got {self.max_seq_len}")


@dataclass
class PretrainingDataArguments(BehaviorDataArguments):
    """`BehaviorDataArguments` plus the masking of SRP4CTR pre-training."""

    item_mask_prob: float = field(
        default=ITEM_MASK_PROB, metadata={"help": "share of positions whose item fields are masked"}
    )
    behavior_mask_prob: float = field(
        default=BEHAVIOR_MASK_PROB, metadata={"help": "share of positions whose behaviour + time-gap fields are masked"}
    )
    max_windows_per_user: int = field(
        default=4, metadata={"help": "non-overlapping max_seq_len windows per user (most recent first)"}
    )


@dataclass
class CTRDataArguments(BehaviorDataArguments):
    """`BehaviorDataArguments` plus how CTR examples and labels are made."""

    label_mode: str = field(
        default="auto",
        metadata={"help": "threshold (explicit ratings: click = rating >= threshold), sampled (positive + sampled "
                          "negatives) or auto (threshold when the dataset has ratings)"},
    )
    threshold: float = field(default=4.0, metadata={"help": "threshold mode: ratings >= this are clicks"})
    num_negatives: int = field(default=1, metadata={"help": "sampled mode: negatives per training positive"})
    num_eval_negatives: int = field(
        default=99, metadata={"help": "sampled mode: negatives per validation/test positive (grouped rows)"}
    )
    max_train_targets_per_user: Optional[int] = field(
        default=None, metadata={"help": "train on each user's latest N targets only (default: all)"}
    )
    max_validation_users: Optional[int] = field(
        default=None, metadata={"help": "validate on a seeded random subset of users (default: all); test uses all"}
    )
    max_test_users: Optional[int] = field(
        default=None, metadata={"help": "test on a seeded random subset of users (default: all; for quick runs)"}
    )
    negative_seed: int = field(default=0, metadata={"help": "seed of the sampled negatives (same for every model)"})

    def __post_init__(self):
        super().__post_init__()
        if self.label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {self.label_mode!r}")
        if self.num_negatives < 1 or self.num_eval_negatives < 1:
            raise ValueError("num_negatives and num_eval_negatives must be >= 1")


@dataclass
class BehaviorSplits:
    """A loaded dataset, its leave-last-out splits and the feature map of the train split."""

    name: str
    splits: datasets.DatasetDict
    feature_map: FeatureMap
    has_ratings: bool

    @property
    def n_users(self) -> int:
        return len(self.splits["test"])

    @property
    def n_items(self) -> int:
        return len(self.feature_map.item_attributes)


def load_behavior_splits(args: BehaviorDataArguments, feature_map: Optional[FeatureMap] = None) -> BehaviorSplits:
    """Load `args.dataset`, split it and build (or check and reuse) the feature map.

    A given `feature_map` (e.g. the one saved with a pre-trained encoder) is reused so that ids match
    the checkpoint; it must have been built for the same dataset.
    """
    data = load_behavior_dataset(args.dataset, data_dir=args.data_dir)
    splits = split_sequences(data.sequences)
    if feature_map is None:
        feature_map = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=args.max_seq_len,
                                       dataset_name=data.name)
    elif feature_map.dataset_name and feature_map.dataset_name != data.name:
        raise ValueError(f"the feature map was built for {feature_map.dataset_name!r}, not {data.name!r}")
    elif feature_map.max_seq_len != args.max_seq_len:
        logger.warning("max_seq_len %d from the saved feature map overrides --max_seq_len %d",
                       feature_map.max_seq_len, args.max_seq_len)
    return BehaviorSplits(data.name, splits, feature_map, data.has_ratings)


def resolve_label_mode(args: CTRDataArguments, has_ratings: bool) -> str:
    if args.label_mode == "auto":
        return "threshold" if has_ratings else "sampled"
    if args.label_mode == "threshold" and not has_ratings:
        raise ValueError("label_mode=threshold needs a dataset with explicit ratings (movielens-100k)")
    return args.label_mode


def _subsample_users(splits: datasets.DatasetDict, limit: Optional[int], seed: int) -> datasets.DatasetDict:
    """The same seeded subset of users (rows) in every split (rows of the splits are aligned)."""
    n = len(splits["test"])
    if limit is None or limit >= n:
        return splits
    keep = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
    return datasets.DatasetDict({name: part.select(keep) for name, part in splits.items()})


@dataclass
class CTRExamples:
    """CTR example rows of the three splits (validation/test grouped: one row per target)."""

    train: datasets.Dataset
    validation: datasets.Dataset
    test: datasets.Dataset
    label_mode: str


def build_ctr_splits(data: BehaviorSplits, args: CTRDataArguments) -> CTRExamples:
    """Train rows (flat, N = 1), validation and test rows (grouped: positive + `num_eval_negatives`, or
    N = 1 in threshold mode). Negatives depend only on `args.negative_seed`, never on the model."""
    mode = resolve_label_mode(args, data.has_ratings)
    common = dict(label_mode=mode, threshold=args.threshold, seed=args.negative_seed)
    train = build_ctr_examples(data.splits, data.feature_map, "train", num_negatives=args.num_negatives,
                               max_train_targets_per_user=args.max_train_targets_per_user, **common)
    subset = _subsample_users(data.splits, args.max_validation_users, args.negative_seed)
    validation = build_ctr_examples(subset, data.feature_map, "validation", num_negatives=args.num_eval_negatives, **common)
    subset = _subsample_users(data.splits, args.max_test_users, args.negative_seed + 1)
    test = build_ctr_examples(subset, data.feature_map, "test", num_negatives=args.num_eval_negatives, **common)
    logger.info("%s CTR examples (%s): train %d, validation %d, test %d rows", data.name, mode, len(train),
                len(validation), len(test))
    return CTRExamples(train, validation, test, mode)


def build_pretraining_splits(data: BehaviorSplits, args: PretrainingDataArguments) -> datasets.Dataset:
    """Pre-training windows of the TRAIN split only (validation/test targets are never seen)."""
    return build_pretraining_examples(data.splits["train"], data.feature_map,
                                      max_windows_per_user=args.max_windows_per_user)


def resolve_model_dir(path) -> Path:
    """A model folder, or a training output folder holding the final model in `final/`."""
    path = Path(path)
    if not (path / "config.json").exists() and (path / "final" / "config.json").exists():
        return path / "final"
    return path
