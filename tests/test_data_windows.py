"""Issue 12: examples are windows over shared encoded events (memory grows with events, not rows x history), each
row identical to the materialised table's, and `accelerate launch` with 2 CPU processes gives each process its own
rows."""
import re

import numpy as np
import pytest
from script_runs import accelerate_launch, run_script

from recexplain.data import (
    CTRCollator,
    FeatureMap,
    PretrainingCollator,
    WindowedExamples,
    build_ctr_examples,
    build_pretraining_examples,
    encode_sequence,
    make_synthetic_behavior,
    split_sequences,
)


@pytest.fixture(scope="module")
def prepared():
    data = make_synthetic_behavior(num_users=60, num_items=80, num_categories=8, seed=3)
    splits = split_sequences(data.sequences)
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=12, dataset_name="synthetic")
    return splits, fm


@pytest.mark.parametrize("kind", ["train_flat", "test_grouped", "pretraining"])
def test_rows_equal_the_materialised_table(prepared, kind):
    splits, fm = prepared
    rows = (build_pretraining_examples(splits["train"], fm, max_windows_per_user=3) if kind == "pretraining"
            else build_ctr_examples(splits, fm, kind.split("_")[0], num_negatives=2))
    table = rows.to_dataset()
    assert isinstance(rows, WindowedExamples) and len(rows) == len(table) > 0
    assert rows.column_names == table.column_names
    assert [rows[i] for i in range(len(rows))] == table.to_list()
    assert rows.__getitems__([3, 0]) == [table[3], table[0]]
    assert rows["user_ids"] == table["user_ids"] and rows["history_item_ids"] == table["history_item_ids"]
    subset = rows.select([5, 1])
    assert [subset[0], subset[1]] == [table[5], table[1]]
    collate = CTRCollator(fm) if kind != "pretraining" else PretrainingCollator(fm, seed=0)
    assert collate([rows[i] for i in range(4)]).keys() == collate([table[i] for i in range(4)]).keys()


def test_windows_share_the_events(prepared):
    """Every flat training row refers to the split's one encoded copy of the events: the windowed examples hold
    E events plus a few ids per row, the materialised table rows x history ids."""
    splits, fm = prepared
    rows = build_ctr_examples(splits, fm, "train", num_negatives=1)
    events = len(rows.events["history_item_ids"])
    assert events == sum(len(s) for s in splits["train"]["item_id"])
    assert int(rows.lengths.sum()) > 3 * events  # the histories overlap: materialising them multiplies the ids


def test_encoded_events_match_encode_sequence(prepared):
    splits, fm = prepared
    rows = build_pretraining_examples(splits["train"], fm, max_windows_per_user=100)
    first = splits["train"][0]
    n = len(first["item_id"])
    expected = encode_sequence(first, fm)
    window = {k: v[: n] for k, v in rows.events.items()}
    for key, ids in expected.items():
        np.testing.assert_array_equal(window[key], np.asarray(ids))


def test_unequal_event_lists_name_the_user(prepared):
    splits, fm = prepared
    bad = splits["train"].select(range(3)).to_dict()
    bad["behavior"][1] = bad["behavior"][1][:1]
    import datasets

    broken = datasets.Dataset.from_dict(bad, features=splits["train"].features)
    with pytest.raises(ValueError, match=rf"user {bad['user_id'][1]}: the per-event lists differ in length"):
        build_pretraining_examples(broken, fm)


PROBE = """
from accelerate import Accelerator
from torch.utils.data import DataLoader
from recexplain.data import FeatureMap, build_pretraining_examples, make_synthetic_behavior, split_sequences

data = make_synthetic_behavior(num_users=40, num_items=50, num_categories=5, seed=1)
splits = split_sequences(data.sequences)
fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=10)
rows = build_pretraining_examples(splits["train"], fm, max_windows_per_user=2)
key = lambda row: f"{row['user_ids']}:{hash(tuple(row['history_item_ids']))}"
acc = Accelerator()
loader = acc.prepare(DataLoader(rows, batch_size=4, collate_fn=lambda batch: [key(r) for r in batch]))
seen = [k for batch in loader for k in batch]
print(f"SHARD {acc.process_index} " + ",".join(seen), flush=True)
if acc.is_main_process:
    print("ALL " + ",".join(key(rows[i]) for i in range(len(rows))), flush=True)
acc.end_training()
"""


@pytest.mark.slow
def test_two_cpu_processes_read_their_own_rows(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    log = run_script(accelerate_launch(probe))
    shards = dict(re.findall(r"SHARD (\d) ([\d:,-]+)", log))
    every = re.search(r"ALL ([\d:,-]+)", log).group(1).split(",")
    first, second = shards["0"].split(","), shards["1"].split(",")
    assert len(set(every)) == len(every)  # the keys name the windows
    # each process read its own half of the windows, together every window (accelerate completes the last
    # batch by repeating windows from the start: at most 4 shared)
    assert set(first) | set(second) == set(every)
    assert len(first) == len(second) and len(set(first) & set(second)) <= 4
