"""Issue 12: the columnar grouping gives, row for row, the sequences the line-by-line code gave on the three real
datasets (SHA-256 of every sequence row as sorted-key JSON, recorded with the earlier implementation)."""
import hashlib
import json
from pathlib import Path

import pytest

from recexplain.data import load_behavior_dataset

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
    for row in load_behavior_dataset(name, SHARED).sequences.to_list():
        digest.update(json.dumps(row, sort_keys=True).encode())
    assert digest.hexdigest() == BEFORE_COLUMNAR[name]


@pytest.mark.skipif(not (SHARED / "taobao-userbehavior").is_dir(), reason="needs ../shared/data")
def test_taobao_columnar_reader_matches_the_line_by_line_one(tmp_path, monkeypatch):
    """A clean Taobao file (the shared sample without its truncated last line) goes through pyarrow's CSV reader;
    it must give exactly what the line-by-line reader gives."""
    import gzip

    from recexplain.data import taobao

    lines = gzip.decompress((SHARED / "taobao-userbehavior" / "UserBehavior.csv.gz").read_bytes()).splitlines()
    (tmp_path / "UserBehavior.csv.gz").write_bytes(gzip.compress(b"\n".join(lines[:-1]) + b"\n"))
    assert taobao._read_clean_columns(tmp_path / "UserBehavior.csv.gz") is not None  # the fast path is taken
    columnar = taobao.load_taobao(tmp_path)
    monkeypatch.setattr(taobao, "_read_clean_columns", lambda path: None)
    line_by_line = taobao.load_taobao(tmp_path)
    assert columnar.sequences.to_list() == line_by_line.sequences.to_list()
    assert list(columnar.item_attributes.items()) == list(line_by_line.item_attributes.items())  # same order too
