"""Loaders on tiny in-test files: MovieLens (RecBole + original layout), Taobao, S3-Rec; dispatcher."""
import gzip
import logging
import json

import numpy as np
import pyarrow as pa
import pytest

from recexplain.data import (
    DataFormatError, load_behavior_dataset, load_movielens, load_taobao, time_gap_token,
)
from recexplain.data.behavior.sequences import _user_time_order

INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "1\t10\t5\t7200\n"
    "1\t11\t3\t0\n"
    "2\t10\t4\t100\n"
    "1\t12\t4\t7200\n"  # tie with item 10: file order kept (10 before 12)
)
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "10\tA\t1995\tAction Comedy\n"
    "11\tB\tunkonwn\tDrama\n"
    "12\tC\t1977\tSci-Fi\n"
)


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_time_gap_buckets():
    assert time_gap_token(None) == "none"
    assert time_gap_token(0) == "gap0" and time_gap_token(3599) == "gap0"
    assert time_gap_token(3600) == "gap1" and time_gap_token(2 * 3600) == "gap2" and time_gap_token(3 * 3600) == "gap2"
    assert time_gap_token(10**9) == "gap14"


@pytest.mark.parametrize("times", ["whole", "negative", "fractional", "huge", "missing", "none"])
def test_event_order_is_lexsort_by_user_then_time(times):
    """The one-key sort gives exactly `np.lexsort`'s stable order (ties and NaN included); other times fall back."""
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 2000).astype(np.int32)
    values = {"whole": rng.integers(0, 30, 2000).astype(float), "negative": rng.integers(-10**9, 10**9, 2000) * 1.0,
              "fractional": rng.integers(0, 30, 2000) / 4, "huge": rng.integers(0, 2, 2000) * 1e300,
              "missing": np.where(rng.random(2000) < 0.2, np.nan, rng.integers(0, 30, 2000)),
              "none": np.full(2000, np.nan)}[times]
    np.testing.assert_array_equal(_user_time_order(users, values), np.lexsort((values, users)))
    np.testing.assert_array_equal(_user_time_order(users, None), np.argsort(users, kind="stable"))
    released = np.lexsort((values, users))  # the same events already in (user, time) order, as released files are
    order = _user_time_order(users[released], values[released])  # None: already in order, nothing to gather
    assert order is None if times in ("whole", "negative", "missing") else np.array_equal(order, np.arange(len(users)))


@pytest.mark.parametrize("gz", [False, True])
def test_movielens_recbole_sorted_with_ties_in_file_order(tmp_path, gz):
    write(tmp_path / ("ml-100k.inter.gz" if gz else "ml-100k.inter"), INTER, gz)
    write(tmp_path / "ml-100k.item", ITEM)
    data = load_movielens(tmp_path)
    assert data.name == "movielens-100k" and data.has_ratings
    u1 = data.sequences[0]
    assert u1["user_id"] == "1"
    assert u1["item_id"] == ["11", "10", "12"]
    assert u1["behavior"] == ["3", "5", "4"] and u1["rating"] == [3.0, 5.0, 4.0]
    assert u1["time_gap"] == ["first", "gap2", "gap0"]
    assert data.attributes_of(u1["item_id"]) == [["Drama"], ["Action", "Comedy", "decade_1990"], ["Sci-Fi", "decade_1970"]]
    stats = data.statistics()
    assert stats["events"] == 4 and stats["users"] == 2 and (stats["min_length"], stats["max_length"]) == (1, 3)
    assert stats["attributes"] == 6 and stats["items"] == 3  # Drama, Action, Comedy, Sci-Fi and two decades


def test_movielens_original_layout(tmp_path):
    write(tmp_path / "u.data", "1\t10\t5\t7200\n1\t11\t3\t0\n2\t10\t4\t100\n")
    flags = ["0"] * 19
    action = flags.copy(); action[1] = "1"; action[5] = "1"
    drama = flags.copy(); drama[8] = "1"
    (tmp_path / "u.item").write_bytes(
        ("10|A (1995)|01-Jan-1995||http://x|" + "|".join(action) + "\n"
         "11|B \xe9 (1996)|||http://y|" + "|".join(drama) + "\n").encode("latin-1"))
    data = load_behavior_dataset("movielens-100k", tmp_path)
    assert data.sequences[0]["item_id"] == ["11", "10"]
    assert data.item_attributes == {"10": ["Action", "Comedy", "decade_1990"], "11": ["Drama"]}


TAOBAO = "1,100,7,pv,1000\n1,101,8,buy,500\n2,100,7,cart,10\n1,102,8,fav,1000\n"


def test_taobao(tmp_path):
    write(tmp_path / "UserBehavior.csv.gz", TAOBAO, gz=True)
    data = load_taobao(tmp_path)
    assert data.name == "taobao" and not data.has_ratings
    u1 = data.sequences[0]
    assert u1["item_id"] == ["101", "100", "102"] and u1["behavior"] == ["buy", "pv", "fav"]
    assert data.attributes_of(u1["item_id"]) == [["8"], ["7"], ["8"]]
    assert u1["time_gap"] == ["first", "gap0", "gap0"]
    assert data.statistics()["behaviors"] == {"pv": 1, "buy": 1, "cart": 1, "fav": 1}


def test_taobao_items_with_several_categories_keep_them_in_order_of_first_appearance(tmp_path, monkeypatch):
    """The columnar reader gives the catalogue of the line-by-line reader: every category of an item, in the order
    they first appear (one linear pass when each item has one category, else an Arrow group-by of the pairs)."""
    from recexplain.data.behavior import taobao

    rows = "1,10,5,pv,1\n2,11,3,pv,2\n1,10,2,pv,3\n3,12,9,buy,4\n2,10,5,pv,5\n3,11,8,fav,6\n1,10,7,pv,7\n"
    write(tmp_path / "UserBehavior.csv", rows)
    assert taobao._read_clean_columns(tmp_path / "UserBehavior.csv") is not None  # the fast path is taken
    columnar = load_taobao(tmp_path).item_attributes
    assert list(columnar.items()) == [("10", ["5", "2", "7"]), ("11", ["3", "8"]), ("12", ["9"])]
    items = pa.array([10, 11, 10, 12]).dictionary_encode()
    assert taobao._first_categories(items, pa.chunked_array([[5, 3, 2, 9]])) is None  # item 10: two categories
    assert taobao._first_categories(items, pa.chunked_array([[5, 3, 5, 9]])) == {"10": ["5"], "11": ["3"], "12": ["9"]}
    monkeypatch.setattr(taobao, "_read_clean_columns", lambda path: None)
    assert list(load_taobao(tmp_path).item_attributes.items()) == list(columnar.items())


@pytest.mark.parametrize("policy,events", [("keep", 5), ("drop", 4)])
def test_taobao_truncated_last_line(tmp_path, policy, events, caplog):
    path = write(tmp_path / "UserBehavior.csv", TAOBAO + "1,103,9,pv")
    data = load_taobao(path, truncated_last_line=policy)
    assert data.statistics()["events"] == events
    assert "line 5" in caplog.text and "truncated" in caplog.text
    if policy == "keep":
        assert data.sequences[0]["item_id"][-1] == "103" and data.sequences[0]["time_gap"][-1] == "none"
    with pytest.raises(DataFormatError, match=r"line 5: expected 5 fields .*, found 4: .*'pv'\] \(a field is missing\)"):
        load_taobao(path, truncated_last_line="error")


def test_taobao_short_row_in_the_middle_is_an_error(tmp_path):
    path = write(tmp_path / "UserBehavior.csv", "1,103,9,pv\n" + TAOBAO)
    with pytest.raises(DataFormatError, match=r"line 1: expected 5 fields .*, found 4"):
        load_taobao(path)


def test_s3rec(tmp_path):
    write(tmp_path / "Beauty.txt.gz", "1 5 6 7\n2 6 8\n", gz=True)
    write(tmp_path / "Beauty_item2attributes.json.gz", json.dumps({"5": [1, 2], "6": [3], "7": [], "8": [1]}), gz=True)
    data = load_behavior_dataset("amazon-beauty", tmp_path)
    assert data.name == "amazon-beauty"
    assert data.sequences[0]["item_id"] == ["5", "6", "7"]  # given order = time order
    assert data.attributes_of(data.sequences[0]["item_id"]) == [["1", "2"], ["3"], []]
    assert set(data.sequences[0]["time_gap"]) == {"none"} and set(data.sequences[0]["behavior"]) == {"interact"}


def test_dispatcher_accepts_shared_root_layout(tmp_path):
    (tmp_path / "taobao-userbehavior").mkdir()
    write(tmp_path / "taobao-userbehavior" / "UserBehavior.csv", TAOBAO)
    assert load_behavior_dataset("taobao", tmp_path).statistics()["events"] == 4
    with pytest.raises(ValueError, match="unknown behaviour dataset"):
        load_behavior_dataset("imdb", tmp_path)
    with pytest.raises(DataFormatError, match=r"ml-1m\.inter: file not found"):  # a known family, files missing
        load_behavior_dataset("movielens-1m", tmp_path)
    with pytest.raises(ValueError, match="needs data_dir"):
        load_behavior_dataset("taobao")


def test_command_line_statistics(capsys):
    from recexplain.data.__main__ import main

    stats = main(["--dataset", "synthetic", "--max_seq_len", "20"])
    assert stats["dataset"] == "synthetic" and "SYNTHETIC" in stats["note"]
    assert stats["users"] == 500 and stats["vocab_sizes"]["behavior"] == 3 + 4
    assert '"events": %d' % stats["events"] in capsys.readouterr().out


def test_items_without_attributes_are_kept_and_counted(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    write(tmp_path / "ml-100k.inter", INTER + "2\t99\t4\t200\n")  # item 99 is not in ml-100k.item
    write(tmp_path / "ml-100k.item", ITEM)
    data = load_movielens(tmp_path)
    assert data.sequences[1]["item_id"] == ["10", "99"] and data.attributes_of(["99"]) == [[]]
    assert "1 of 5 events refer to items without attributes" in caplog.text
    assert "1 items without a numeric release year" in caplog.text
