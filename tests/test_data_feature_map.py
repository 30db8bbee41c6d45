"""FeatureMap: vocabularies from train only, OOV for unknowns, item table, JSON round trip."""
import json
from collections import Counter

import pyarrow as pa
import pytest
import torch

from recexplain.data import FEATURE_MAP_NAME, MASK_ID, OOV_ID, PAD_ID, FeatureMap, sequences_from_events, split_sequences


@pytest.fixture
def data():
    users = ["a"] * 4 + ["b"] * 3 + ["c"] * 2
    items = ["1", "2", "1", "9", "2", "3", "8", "1", "2"]
    attrs = {"1": ["x", "y"], "2": ["y"], "3": ["z", "y", "w"], "8": ["q"], "9": ["r"]}
    return sequences_from_events("tiny", users, items, ["pv", "buy", "pv", "pv", "cart", "pv", "fav", "pv", "pv"], attrs,
                                 timestamps=list(range(9)))


def test_build_from_train_split(data, caplog):
    splits = split_sequences(data.sequences)
    assert "1 of 3 users have fewer than 3 events" in caplog.text  # user c
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=5, dataset_name="tiny")
    assert fm.vocabs["item_id"] == ["[PAD]", "[MASK]", "[OOV]", "2", "1"]  # train = a:[1,2], b:[2]; most frequent first
    assert fm.vocabs["user_id"][3:] == ["a", "b"]
    assert fm.vocabs["behavior"][3:] == ["buy", "cart", "pv"]  # ties by token
    assert fm.max_attrs == 2 and fm.vocab_size("item_attr") == 3 + 2  # x, y
    assert fm.encode("item_id", "9") == OOV_ID and fm.encode("item_id", ["1", "nope"]) == [4, OOV_ID]
    assert fm.encode("user_id", "c") == OOV_ID
    assert fm.decode("item_id", [3, 4]) == ["2", "1"]
    assert fm.item_attr_ids("1") == [fm.encode("item_attr", "x"), fm.encode("item_attr", "y")]
    assert fm.item_attr_ids("3") == [OOV_ID, fm.encode("item_attr", "y")]  # z unknown; truncated to max_attrs
    assert fm.item_attr_ids("unknown-item") == [OOV_ID, PAD_ID]


def test_item_attr_table(data):
    fm = FeatureMap.build(split_sequences(data.sequences)["train"], data.item_attributes, max_seq_len=5, max_attrs=3)
    table = fm.item_attr_table
    assert table.shape == (fm.vocab_size("item_id"), 3) and table.dtype == torch.long
    assert table[PAD_ID].tolist() == [PAD_ID] * 3 and table[MASK_ID].tolist() == [MASK_ID] * 3
    assert table[OOV_ID].tolist() == [OOV_ID, PAD_ID, PAD_ID]
    assert table[fm.encode("item_id", "2")].tolist() == fm.item_attr_ids("2")


def test_save_load_round_trip(data, tmp_path):
    fm = FeatureMap.build(split_sequences(data.sequences)["train"], data.item_attributes, max_seq_len=7, dataset_name="tiny")
    path = fm.save_pretrained(tmp_path)
    assert path.endswith(FEATURE_MAP_NAME)
    saved = json.loads((tmp_path / FEATURE_MAP_NAME).read_text())
    assert saved["vocab_sizes"]["item_id"] == fm.vocab_size("item_id") and saved["max_seq_len"] == 7
    loaded = FeatureMap.from_pretrained(tmp_path)
    assert loaded == fm and loaded.dataset_name == "tiny"
    assert loaded.encode("item_attr", ["x", "zzz"]) == fm.encode("item_attr", ["x", "zzz"])
    assert FeatureMap.from_json(fm.to_json()) == fm
    with pytest.raises(FileNotFoundError):
        FeatureMap.from_pretrained(tmp_path / "missing")


def test_validation():
    with pytest.raises(ValueError, match="must start with"):
        FeatureMap({f: ["a"] for f in ("item_id", "item_attr", "behavior", "time_gap", "user_id")}, {}, 5, 1)
    with pytest.raises(ValueError, match="missing vocabulary"):
        FeatureMap({}, {}, 5, 1)


@pytest.mark.parametrize("tokens", [
    ["17", "3", "17", "0", "3", "17"],  # canonical integers: counted directly
    ["7", "007", "7"],  # "007" and "7" are different tokens
    ["0x10", "16", "16"], ["-4", "4"], ["-0", "0"], ["5", "pv", "5"], ["4", "4.5"], ["", "1"],  # counted by Arrow
    ["1", "99999999999", "1"],  # a sparse range
    [],
])
def test_value_counts_count_every_distinct_token(tokens):
    from recexplain.data.behavior.feature_map import _value_counts

    counts = _value_counts(pa.chunked_array([pa.array(tokens, pa.string())]))
    assert sorted(zip(counts["token"].to_pylist(), counts["count"].to_pylist())) == sorted(Counter(tokens).items())
