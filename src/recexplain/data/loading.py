"""`load_behavior_dataset(name, data_dir)`: one entry point for every behaviour dataset."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from .behavior import BehaviorData
from .movielens import load_movielens
from .s3rec import load_s3rec
from .synthetic import make_synthetic_behavior
from .taobao import load_taobao

# dataset name -> sub-folder of the shared data folder (`../shared/data` layout)
SUBFOLDERS = {"movielens-100k": "movielens-100k", "taobao": "taobao-userbehavior", "amazon-beauty": "amazon-beauty"}
BEHAVIOR_DATASETS = ("synthetic",) + tuple(SUBFOLDERS)


def load_behavior_dataset(name: str, data_dir: Optional[Union[str, Path]] = None, **synthetic_kwargs) -> BehaviorData:
    """Load dataset `name` (one of `BEHAVIOR_DATASETS`).

    `data_dir` is either the dataset's own folder or the shared data root holding the
    sub-folders `movielens-100k/`, `taobao-userbehavior/`, `amazon-beauty/`. "synthetic" needs no
    files; `synthetic_kwargs` go to `make_synthetic_behavior`.
    """
    if name == "synthetic":
        return make_synthetic_behavior(**synthetic_kwargs)
    if name not in SUBFOLDERS:
        raise ValueError(f"unknown behaviour dataset {name!r}; choose one of {BEHAVIOR_DATASETS}")
    if data_dir is None:
        raise ValueError(f"dataset {name!r} needs data_dir (the folder holding its files)")
    data_dir = Path(data_dir)
    if (data_dir / SUBFOLDERS[name]).is_dir():
        data_dir = data_dir / SUBFOLDERS[name]
    if name == "movielens-100k":
        return load_movielens(data_dir)
    if name == "taobao":
        return load_taobao(data_dir)
    return load_s3rec(data_dir, "Beauty")
