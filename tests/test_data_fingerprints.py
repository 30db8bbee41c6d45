"""Issue 12: the columnar grouping gives, row for row, the sequences the line-by-line code gave on the three real
datasets, and the windowed examples the rows the materialised tables had (SHA-256 of every row as sorted-key JSON,
recorded with the earlier implementations)."""
import hashlib
import json
from pathlib import Path

import pytest

from recexplain.data import load_behavior_dataset
from recexplain.training.ctr_data import (
    CTRDataArguments,
    PretrainingDataArguments,
    build_ctr_splits,
    build_pretraining_splits,
    load_behavior_splits,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BEFORE_COLUMNAR = {
    "movielens-100k": "509f122c705cc950d624fad07fffc9a42730c37a228c12df73c8e95cda66ffab",
    "taobao": "6c81c5694ce56c7294aab4661b8982f189a7df7fb81d6e4861c60d03d5770dc4",
    "amazon-beauty": "3d5b558fbdfaee153f657984336d927074df088a689009bcc053a8f51ebe9590",
}


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
@pytest.mark.parametrize("name", sorted(BEFORE_COLUMNAR))
def test_sequences_unchanged_row_for_row(name):
    digest = hashlib.sha256()
    data = load_behavior_dataset(name, SHARED)
    for row in data.sequences.to_list():  # item_attr was a column then, now the catalogue holds it once per item
        row["item_attr"] = data.attributes_of(row["item_id"])
        digest.update(json.dumps(row, sort_keys=True).encode())
    assert digest.hexdigest() == BEFORE_COLUMNAR[name]


@pytest.mark.skipif(not (SHARED / "taobao-userbehavior").is_dir(), reason="needs ../shared/data")
def test_taobao_columnar_reader_matches_the_line_by_line_one(tmp_path, monkeypatch):
    """A clean Taobao file (the shared sample without its truncated last line) goes through pyarrow's CSV reader;
    it must give exactly what the line-by-line reader gives."""
    import gzip

    from recexplain.data.behavior import taobao

    lines = gzip.decompress((SHARED / "taobao-userbehavior" / "UserBehavior.csv.gz").read_bytes()).splitlines()
    (tmp_path / "UserBehavior.csv.gz").write_bytes(gzip.compress(b"\n".join(lines[:-1]) + b"\n"))
    assert taobao._read_clean_columns(tmp_path / "UserBehavior.csv.gz") is not None  # the fast path is taken
    columnar = taobao.load_taobao(tmp_path)
    monkeypatch.setattr(taobao, "_read_clean_columns", lambda path: None)
    line_by_line = taobao.load_taobao(tmp_path)
    assert columnar.sequences.to_list() == line_by_line.sequences.to_list()
    assert list(columnar.item_attributes.items()) == list(line_by_line.item_attributes.items())  # same order too


# CTR splits and pre-training windows as the CTR benchmark builds them (full protocol for MovieLens, the quick
# protocol's history length, target and user caps for the two larger datasets), recorded with the materialised tables
QUICK = dict(max_seq_len=30, max_train_targets_per_user=20, max_validation_users=1000, max_test_users=3000)
BEFORE_WINDOWS = {
    "movielens-100k": ({}, 4, {
        "train": "42b716aaf34a4639e8233db5b0a366b66e4610d8e6a1b896a21e241941f6c598",
        "validation": "95e77d617c9a77182b68e4351a5d416a665795fb937a5c6e71b27c239f10e753",
        "test": "34e049afcf8e4242b2bfa72bbae2fb42f441862c39738339e657ea3dcd99fdff",
        "pretraining": "9daa648f8f346dc0591ec8b30c605b421dbf7963696f0a27a18b4683f5e4222e"}),
    "taobao": (QUICK, 2, {
        "train": "87552751923576a4c1cbcaae258a9efabb1bd27dce33a28b727a54a8d48c7f62",
        "validation": "8108b589fd03dad1fbcae4db7b3b4eb3ca15c6fe64c46e0528b2c50a03f48b80",
        "test": "13eb59d3cb9a850208872323c85e88bb8da39f862a036863c10187b7f889509e",
        "pretraining": "21ee44a7619c7b7cd792a92dc88adcf165f1d8f4c58ef40901bf2dceb64158af"}),
    "amazon-beauty": (QUICK, 2, {
        "train": "510c487164a16a52b88d6c508363b20cdbd1156bdba64d38ac85d9dd45a18596",
        "validation": "2fa7fa2ee004a31cef78fa866180946cf2595687d2fb7aab05535b2365ab5aa4",
        "test": "1678e5fcaefd91483ed4cf0833af87b2ff8cf415fcf3d2ce313b8cd9acd0bc52",
        "pretraining": "c34f6b0d70a73b16f858ede4e26b2ca67ce1814312080e8b395a2deda6009119"}),
}


def _digest(rows) -> str:
    digest = hashlib.sha256()
    for i in range(len(rows)):
        digest.update(json.dumps(rows[i], sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
@pytest.mark.parametrize("name", sorted(BEFORE_WINDOWS))
def test_windowed_examples_unchanged_row_for_row(name):
    settings, windows, expected = BEFORE_WINDOWS[name]
    args = CTRDataArguments(dataset=name, data_dir=str(SHARED), **settings)
    data = load_behavior_splits(args)
    examples = build_ctr_splits(data, args)
    pre_args = PretrainingDataArguments(dataset=name, data_dir=str(SHARED), max_seq_len=args.max_seq_len,
                                        max_windows_per_user=windows)
    got = {split: _digest(getattr(examples, split)) for split in ("train", "validation", "test")}
    got["pretraining"] = _digest(build_pretraining_splits(data, pre_args))
    assert got == expected
