"""Behaviour-sequence data: loaders (MovieLens, Taobao, S3-Rec, Parquet shards, the synthetic default), per-user
sequences, splits, the feature map, CTR and pre-training examples and their collators. See docs/data.md."""
from .collators import BEHAVIOR_MASK_PROB, IGNORE_INDEX, ITEM_MASK_PROB, CTRCollator, PretrainingCollator
from .examples import NegativeSampler, build_ctr_examples, build_pretraining_examples, encode_sequence
from .feature_map import FEATURE_MAP_NAME, MASK_ID, OOV_ID, PAD_ID, FeatureMap
from .loading import BEHAVIOR_DATASETS, DATASET_NAMES, FAMILIES, check_dataset_name, load_behavior_dataset
from .movielens import load_movielens, load_movielens_grouplens, load_movielens_original, load_movielens_recbole
from .parquet_events import load_parquet_events
from .s3rec import load_s3rec, s3rec_names
from .sequences import BehaviorData, sequences_from_events, time_gap_token
from .splits import split_sequences
from .synthetic import SyntheticWorld, make_synthetic_behavior, make_synthetic_world
from .taobao import load_taobao
from .windows import WindowedExamples, encode_events
