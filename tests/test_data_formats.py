"""Issue 12 item 2: the formats users have. MovieLens of any size (RecBole `ml-<size>.*`, GroupLens 1M `.dat`,
20M+ `.csv`), any S3-Rec release by its file name, a folder of Parquet event shards; the same events give the same
sequences in every layout."""
from pathlib import Path

import pytest
from test_data_loaders import INTER, ITEM, write

from recexplain.data import DataFormatError, check_dataset_name, load_behavior_dataset, load_movielens, load_s3rec

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# INTER/ITEM's events and items in GroupLens's own layouts (movie 11 has no release year, as in ITEM)
RATINGS_DAT = "1::10::5::7200\n1::11::3::0\n2::10::4::100\n1::12::4::7200\n"
MOVIES_DAT = "10::A (1995)::Action|Comedy\n11::B::Drama\n12::C (1977)::Sci-Fi\n"
RATINGS_CSV = "userId,movieId,rating,timestamp\n" + RATINGS_DAT.replace("::", ",")
MOVIES_CSV = "movieId,title,genres\n10,\"A (1995)\",Action|Comedy\n11,B,Drama\n12,C (1977),Sci-Fi\n"


def _sequences(data):
    return data.sequences.to_list()


def test_movielens_any_size_in_every_layout_gives_the_same_sequences(tmp_path):
    recbole = tmp_path / "recbole"
    recbole.mkdir()
    write(recbole / "ml-1m.inter", INTER)
    write(recbole / "ml-1m.item", ITEM)
    dat = tmp_path / "ml-1m"  # GroupLens's archive folder name gives the size
    dat.mkdir()
    write(dat / "ratings.dat", RATINGS_DAT)
    write(dat / "movies.dat", MOVIES_DAT)
    csv = tmp_path / "ml-20m"
    csv.mkdir()
    write(csv / "ratings.csv.gz", RATINGS_CSV, gz=True)
    write(csv / "movies.csv", MOVIES_CSV)

    first = load_movielens(recbole)
    assert first.name == "movielens-1m" and first.sequences[0]["item_id"] == ["11", "10", "12"]
    for folder, name in ((dat, "movielens-1m"), (csv, "movielens-20m")):
        data = load_movielens(folder)
        assert data.name == name and data.has_ratings
        assert _sequences(data) == _sequences(first), folder.name
    assert _sequences(load_behavior_dataset("movielens-20m", tmp_path)) == _sequences(first)  # sub-folder by name


def test_ratings_dat_column_wise_equals_line_by_line(tmp_path, monkeypatch):
    """`ratings.dat`'s "::" goes through pyarrow's CSV reader too; it must give what the line-by-line reader gives."""
    from recexplain.data import _io
    from recexplain.data.behavior import movielens

    write(tmp_path / "ratings.dat", RATINGS_DAT)
    write(tmp_path / "movies.dat", MOVIES_DAT)
    assert _io.read_clean_table(tmp_path / "ratings.dat", list("abcd"), {}, "::") is not None  # the fast path
    columnar = load_movielens(tmp_path)
    monkeypatch.setattr(movielens, "read_clean_table", lambda *args, **kwargs: None)
    assert _sequences(load_movielens(tmp_path)) == _sequences(columnar)


def test_movielens_csv_quoting_half_stars_and_no_genre(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,10,4.5,5\n1,11,3.0,9\n")
    write(tmp_path / "movies.csv", 'movieId,title,genres\n10,"Lock, Stock (1998)",Comedy|Crime\n'
                                   "11,Untitled (2019),(no genres listed)\n")
    data = load_movielens(tmp_path)
    assert data.name == "movielens"  # neither the caller nor the folder says which size
    row = data.sequences[0]
    assert row["behavior"] == ["4.5", "3"] and row["rating"] == [4.5, 3.0]
    assert data.attributes_of(row["item_id"]) == [["Comedy", "Crime", "decade_1990"], ["decade_2010"]]


def test_movielens_errors_name_file_line_and_field(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,10,4.5,5\n1,ten,3.0,9\n")
    write(tmp_path / "movies.csv", "movieId,title,genres\n10,A (1998),Comedy\n")
    with pytest.raises(DataFormatError, match=r"ratings\.csv, line 3, field 'item_id': expected an integer"):
        load_movielens(tmp_path)
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,10,4.5\n")
    with pytest.raises(DataFormatError, match=r"ratings\.csv, line 2: expected 4 fields .* \(a field is missing\)"):
        load_movielens(tmp_path)
    write(tmp_path / "ml-1m.inter", INTER)
    write(tmp_path / "ml-1m.item", ITEM)
    write(tmp_path / "ml-10m.inter", INTER)
    with pytest.raises(DataFormatError, match=r"2 MovieLens datasets .*\(ml-10m, ml-1m\).*--dataset movielens-SIZE"):
        load_movielens(tmp_path)
    assert load_movielens(tmp_path, "1m").name == "movielens-1m"
    with pytest.raises(DataFormatError, match=r"ml-1m\.item|ml-10m\.item"):
        load_movielens(tmp_path, "10m")  # its .item is missing
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=r"ml-100k\.inter: file not found \(looked for ml-\*\.inter\[\.gz\], u\.data"):
        load_movielens(empty)


def test_any_s3rec_release_by_its_file_name(tmp_path):
    folder = tmp_path / "s3rec-Sports_and_Outdoors"
    folder.mkdir()
    write(folder / "Sports_and_Outdoors.txt", "1 5 6\n2 6 7\n")
    write(folder / "Sports_and_Outdoors_item2attributes.json", '{"5": [1], "6": [1, 2], "7": [3]}')
    data = load_s3rec(folder)
    assert data.name == "Sports_and_Outdoors" and data.sequences[0]["item_id"] == ["5", "6"]
    assert _sequences(load_behavior_dataset("s3rec-Sports_and_Outdoors", tmp_path)) == _sequences(data)
    assert _sequences(load_behavior_dataset("s3rec", folder)) == _sequences(data)
    write(folder / "Toys_and_Games.txt", "1 5\n")
    write(folder / "Toys_and_Games_item2attributes.json", '{"5": [1]}')
    with pytest.raises(DataFormatError, match=r"2 S3-Rec datasets \(Sports_and_Outdoors, Toys_and_Games\)"):
        load_s3rec(folder)
    assert load_s3rec(folder, "Toys_and_Games").sequences[0]["item_id"] == ["5"]
    with pytest.raises(DataFormatError, match=r"no S3-Rec datasets"):
        load_s3rec(tmp_path)
    with pytest.raises(ValueError, match=r"unknown behaviour dataset 'imdb'.*movielens-SIZE.*s3rec-NAME"):
        check_dataset_name("imdb")


@pytest.mark.skipif(not (SHARED / "movielens-100k").is_dir(), reason="needs ../shared/data")
def test_real_movielens_found_by_family_name_is_the_same_dataset():
    named = load_behavior_dataset("movielens-100k", SHARED)
    found = load_behavior_dataset("movielens", SHARED / "movielens-100k")
    assert found.name == named.name == "movielens-100k"
    assert found.sequences["item_id"] == named.sequences["item_id"]


def test_parquet_event_shards_from_a_distributed_engine(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from recexplain.data import load_parquet_events

    folder = tmp_path / "events" / "date=2026-12-01"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"user_id": [1, 1], "item_id": [10, 11], "timestamp": [7200, 0],
                             "behavior": ["pv", "buy"], "attributes": [["Action"], ["Drama"]]}),
                   folder / "part-00000.parquet")
    pq.write_table(pa.table({"user_id": [2, 1], "item_id": [10, 12], "timestamp": [100, 7200],
                             "behavior": ["pv", "pv"], "attributes": [["Action"], []]}), folder / "part-00001.parquet")
    data = load_behavior_dataset("parquet-clicks", tmp_path / "events")
    assert data.name == "clicks"
    u1 = data.sequences[0]
    assert u1["item_id"] == ["11", "10", "12"] and u1["behavior"] == ["buy", "pv", "pv"]
    assert data.attributes_of(u1["item_id"]) == [["Drama"], ["Action"], []] and u1["time_gap"] == ["first", "gap2", "gap0"]
    assert load_parquet_events(tmp_path / "events").name == "events"
    seconds = tmp_path / "seconds"  # Arrow timestamps (as Spark writes them) in their own unit: 7.2 s, not 2 h
    seconds.mkdir()
    pq.write_table(pa.table({"user_id": ["1", "1", "1"], "item_id": ["11", "10", "12"],
                             "timestamp": pa.array([0, 7200, 7200], pa.timestamp("ms"))}),
                   seconds / "part-0.parquet")
    assert load_parquet_events(seconds).sequences[0]["time_gap"] == ["first", "gap0", "gap0"]

    pq.write_table(pa.table({"user_id": [3], "item": [10], "timestamp": [5]}), folder / "part-00002.parquet")
    with pytest.raises(DataFormatError, match=r"part-00002\.parquet, field 'item_id': missing column 'item_id'"):
        load_parquet_events(tmp_path / "events")
    pq.write_table(pa.table({"user_id": [3, None], "item_id": [10, 11], "timestamp": [5, 6]}),
                   folder / "part-00002.parquet")
    with pytest.raises(DataFormatError, match=r"part-00002\.parquet, field 'user_id': row 1 \(0-based\) is null"):
        load_parquet_events(tmp_path / "events")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"no Parquet shard"):
        load_parquet_events(tmp_path / "empty")
