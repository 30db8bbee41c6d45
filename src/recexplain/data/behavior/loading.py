"""`load_behavior_dataset(name, data_dir)`: one entry point for every behaviour dataset."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from .sequences import BehaviorData
from .movielens import load_movielens
from .parquet_events import load_parquet_events
from .s3rec import load_s3rec
from .synthetic import make_synthetic_behavior
from .taobao import load_taobao

# dataset name -> sub-folder of the shared data folder (`../shared/data` layout)
SUBFOLDERS = {"movielens-100k": "movielens-100k", "taobao": "taobao-userbehavior", "amazon-beauty": "amazon-beauty"}
BEHAVIOR_DATASETS = ("synthetic",) + tuple(SUBFOLDERS)
# any size / any release / any Parquet event folder, found in data_dir
FAMILIES = ("movielens", "movielens-SIZE", "s3rec", "s3rec-NAME", "parquet", "parquet-NAME")
DATASET_NAMES = ", ".join(BEHAVIOR_DATASETS + FAMILIES)  # for help texts and errors


def check_dataset_name(name: str) -> str:
    """`name` if `load_behavior_dataset` knows it, else a `ValueError` listing the names it takes."""
    if name not in BEHAVIOR_DATASETS and name.partition("-")[0] not in FAMILIES:
        raise ValueError(f"unknown behaviour dataset {name!r}; choose one of {DATASET_NAMES}")
    return name


def load_behavior_dataset(name: str, data_dir: Optional[Union[str, Path]] = None, **synthetic_kwargs) -> BehaviorData:
    """Load dataset `name`: one of `BEHAVIOR_DATASETS`, or `movielens` / `movielens-SIZE` (e.g. `movielens-1m`,
    `movielens-20m`: RecBole or GroupLens files), `s3rec` / `s3rec-NAME` (e.g. `s3rec-Sports_and_Outdoors`) or
    `parquet` / `parquet-NAME` (a folder of Parquet event shards, `data.parquet_events`; NAME names the dataset).

    `data_dir` is either the dataset's own folder or the shared data root holding the
    sub-folders `movielens-100k/`, `taobao-userbehavior/`, `amazon-beauty/` (or one named after `name`, or
    GroupLens's `ml-SIZE/`). "synthetic" needs no files; `synthetic_kwargs` go to `make_synthetic_behavior`.
    """
    if check_dataset_name(name) == "synthetic":
        return make_synthetic_behavior(**synthetic_kwargs)
    family, _, variant = name.partition("-")
    if data_dir is None:
        raise ValueError(f"dataset {name!r} needs data_dir (the folder holding its files)")
    data_dir = Path(data_dir)
    # GroupLens's archives unpack to ml-1m/, ml-20m/, ...
    for sub in (SUBFOLDERS.get(name, name), f"ml-{variant}" if family == "movielens" and variant else None):
        if sub and (data_dir / sub).is_dir():
            data_dir = data_dir / sub
            break
    if family == "movielens":
        return load_movielens(data_dir, variant or None)
    if name == "taobao":
        return load_taobao(data_dir)
    if family == "parquet":
        return load_parquet_events(data_dir, variant)
    return load_s3rec(data_dir, "Beauty" if name == "amazon-beauty" else variant or None)
