"""Bad input: each error names the file, the line and the field (DataFormatError, a ValueError)."""
import json

import pytest

from recexplain.data import DataFormatError, load_movielens, load_s3rec, load_taobao

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
ITEM = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n10\tA\t1995\tAction\n"


def movielens(tmp_path, inter, item=ITEM):
    (tmp_path / "ml-100k.inter").write_text(inter)
    (tmp_path / "ml-100k.item").write_text(item)
    return tmp_path


def test_is_a_value_error():
    assert issubclass(DataFormatError, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter.*file not found"):
        load_movielens(tmp_path)
    (tmp_path / "ml-100k.inter").write_text(HEADER + "1\t10\t5\t0\n")
    with pytest.raises(DataFormatError, match=r"ml-100k\.item.*file not found"):
        load_movielens(tmp_path)
    with pytest.raises(DataFormatError, match=r"UserBehavior\.csv.*file not found"):
        load_taobao(tmp_path)
    with pytest.raises(DataFormatError, match=r"Beauty\.txt.*file not found"):
        load_s3rec(tmp_path, "Beauty")


def test_missing_or_misnamed_column(tmp_path):
    bad = HEADER.replace("timestamp:float", "time:float")
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter, line 1, field 'timestamp': missing column") as e:
        load_movielens(movielens(tmp_path, bad + "1\t10\t5\t0\n"))
    assert e.value.line == 1 and e.value.field == "timestamp"
    item = ITEM.replace("class:token_seq", "genre:token_seq")
    with pytest.raises(DataFormatError, match=r"ml-100k\.item, line 1, field 'class'"):
        load_movielens(movielens(tmp_path, HEADER + "1\t10\t5\t0\n", item))


def test_malformed_row(tmp_path):
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter, line 3: expected 4 fields \['user_id', 'item_id', "
                                              r"'rating', 'timestamp'\], found 3: \['1', '10', '5'\]"):
        load_movielens(movielens(tmp_path, HEADER + "1\t10\t5\t0\n1\t10\t5\n"))
    (tmp_path / "UserBehavior.csv").write_text("1,2,pv,10\n1,2,pv,11\n")  # category_id removed: not blamed on the timestamp
    with pytest.raises(DataFormatError, match=r"UserBehavior\.csv, line 1: expected 5 fields .*, found 4: "
                                              r"\['1', '2', 'pv', '10'\] \(a field is missing\)"):
        load_taobao(tmp_path)
    with pytest.raises(DataFormatError, match=r"line 2, field '<extra field 5>'"):
        load_movielens(movielens(tmp_path, HEADER + "1\t10\t5\t0\t9\n"))
    (tmp_path / "UserBehavior.csv").write_text("1,2,3,pv,10\n1,2,3,pv,10,7\n1,2,3,pv,11\n")
    with pytest.raises(DataFormatError, match=r"UserBehavior\.csv, line 2, field '<extra field 6>'"):
        load_taobao(tmp_path)
    (tmp_path / "UserBehavior.csv").write_text("1,2,3,click,10\n")
    with pytest.raises(DataFormatError, match=r"line 1, field 'behavior_type'"):
        load_taobao(tmp_path)


def test_empty_history(tmp_path):
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter, line 2, field 'user_id': no events"):
        load_movielens(movielens(tmp_path, HEADER))
    (tmp_path / "UserBehavior.csv").write_text("")
    with pytest.raises(DataFormatError, match=r"UserBehavior\.csv, line 1, field 'user_id': no events"):
        load_taobao(tmp_path)
    (tmp_path / "Beauty.txt").write_text("1 5 6\n2\n")
    (tmp_path / "Beauty_item2attributes.json").write_text(json.dumps({"5": [1]}))
    with pytest.raises(DataFormatError, match=r"Beauty\.txt, line 2, field 'item_1': user 2 has an empty history"):
        load_s3rec(tmp_path)


@pytest.mark.parametrize("row,line,field", [
    ("x1,2,3,pv,10", 2, "user_id"),
    ("1,2.5,3,pv,10", 2, "item_id"),
    ("1,2,cat,pv,10", 2, "category_id"),
    ("1,2,3,pv,2017-11-25", 2, "timestamp"),
])
def test_non_integer_id_taobao(tmp_path, row, line, field):
    (tmp_path / "UserBehavior.csv").write_text("1,2,3,pv,10\n" + row + "\n")
    with pytest.raises(DataFormatError, match=rf"UserBehavior\.csv, line {line}, field '{field}': expected an integer"):
        load_taobao(tmp_path)


def test_non_integer_id_s3rec_and_movielens(tmp_path):
    (tmp_path / "Beauty.txt").write_text("1 5 6\n2 7 abc\n")
    (tmp_path / "Beauty_item2attributes.json").write_text(json.dumps({"5": [1]}))
    with pytest.raises(DataFormatError, match=r"Beauty\.txt, line 2, field 'item_2': expected an integer"):
        load_s3rec(tmp_path)
    (tmp_path / "Beauty.txt").write_text("1 5 6\n")
    (tmp_path / "Beauty_item2attributes.json").write_text(json.dumps({"5": [1, "brand"]}))
    with pytest.raises(DataFormatError, match=r"item2attributes\.json, line 1, field 'item 5'"):
        load_s3rec(tmp_path)
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter, line 2, field 'timestamp': expected a number"):
        load_movielens(movielens(tmp_path, HEADER + "1\t10\t5\tyesterday\n"))
    (tmp_path / "ml-100k.inter").unlink()
    (tmp_path / "u.data").write_text("1\t10\t5\t0\n1\tten\t5\t0\n")
    (tmp_path / "u.item").write_text("10|A|01-Jan-1995||u|" + "|".join(["0"] * 19) + "\n")
    with pytest.raises(DataFormatError, match=r"u\.data, line 2, field 'item_id': expected an integer"):
        load_movielens(tmp_path)


def test_truncated_gzip_names_the_file(tmp_path):
    import gzip

    data = gzip.compress("".join(f"{u},{i},3,pv,{10 + i}\n" for u in range(50) for i in range(40)).encode())
    (tmp_path / "UserBehavior.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"UserBehavior\.csv\.gz, line \d+: the gzip data is truncated"):
        load_taobao(tmp_path)
