"""Behaviour-sequence data (loaders, feature map, splits, CTR/pre-training examples, collators,
the synthetic default) and explanation records. See docs/data.md."""
from .behavior import BehaviorData, sequences_from_events, time_gap_token
from .collators import BEHAVIOR_MASK_PROB, IGNORE_INDEX, ITEM_MASK_PROB, CTRCollator, PretrainingCollator
from .errors import DataFormatError
from .examples import NegativeSampler, build_ctr_examples, build_pretraining_examples, encode_sequence
from .windows import WindowedExamples, encode_events
from .feature_map import FEATURE_MAP_NAME, MASK_ID, OOV_ID, PAD_ID, FeatureMap
from .loading import BEHAVIOR_DATASETS, DATASET_NAMES, FAMILIES, check_dataset_name, load_behavior_dataset
from .movielens import load_movielens, load_movielens_grouplens, load_movielens_original, load_movielens_recbole
from .parquet_events import load_parquet_events
from .s3rec import load_s3rec, s3rec_names
from .splits import split_sequences
from .synthetic import SyntheticWorld, make_synthetic_behavior, make_synthetic_world
from .taobao import load_taobao
from .explanation_collator import ExplanationCollator, collate_prompts, tokenize_explanation_dataset
from .explanation_tokenizer import (
    build_explanation_tokenizer,
    decode_explanation,
    format_prompt,
    load_vocabularies,
    save_vocabularies,
)
from .reviews import (
    RECORD_FIELDS,
    load_explanation_records,
    read_peter_pickle,
    split_explanation_records,
    training_reviews,
)
from .synthetic_reviews import synthetic_explanation_records
