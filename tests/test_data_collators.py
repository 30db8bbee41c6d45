"""CTR and pre-training collators: contract keys/shapes, right padding, masking invariants."""
import pytest
import torch

from recexplain.data import (
    IGNORE_INDEX, MASK_ID, PAD_ID, CTRCollator, FeatureMap, PretrainingCollator, build_ctr_examples,
    build_pretraining_examples, make_synthetic_behavior, split_sequences,
)

CTR_KEYS = {"history_item_ids", "history_attr_ids", "history_behavior_ids", "history_time_ids", "history_mask",
            "candidate_item_ids", "candidate_attr_ids", "user_ids", "labels"}


@pytest.fixture(scope="module")
def setup():
    data = make_synthetic_behavior(num_users=30, num_items=50, num_categories=6, seed=1, min_length=4, max_length=30)
    splits = split_sequences(data.sequences)
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=12)
    return splits, fm


def test_ctr_batch(setup):
    splits, fm = setup
    test = build_ctr_examples(splits, fm, "test", num_negatives=3)
    rows = [test[i] for i in range(5)]
    batch = CTRCollator(fm)(rows)
    assert set(batch) == CTR_KEYS
    B, L, A = 5, max(len(r["history_item_ids"]) for r in rows), fm.max_attrs
    assert batch["history_item_ids"].shape == (B, L) and batch["history_attr_ids"].shape == (B, L, A)
    assert batch["candidate_item_ids"].shape == (B, 4) and batch["candidate_attr_ids"].shape == (B, 4, A)
    assert batch["labels"].dtype == torch.float and batch["labels"][:, 0].eq(1).all() and batch["user_ids"].shape == (B,)
    for b, r in enumerate(rows):  # right padding
        n = len(r["history_item_ids"])
        assert batch["history_mask"][b].tolist() == [1] * n + [0] * (L - n)
        assert batch["history_item_ids"][b, :n].tolist() == r["history_item_ids"]
        assert batch["history_item_ids"][b, n:].eq(PAD_ID).all() and batch["history_attr_ids"][b, n:].eq(PAD_ID).all()
    # bare candidate ids (inference request): attrs come from the feature map's item table, same values
    bare = [{k: v for k, v in r.items() if k not in ("candidate_attr_ids", "labels")} for r in rows]
    inferred = CTRCollator(fm)(bare)
    assert "labels" not in inferred
    known = batch["candidate_item_ids"] > 2  # OOV items get [OOV] from the table
    assert torch.equal(inferred["candidate_attr_ids"][known], batch["candidate_attr_ids"][known])
    with pytest.raises(ValueError, match="same number"):
        CTRCollator(fm)([rows[0], {**rows[1], "candidate_item_ids": [3], "candidate_attr_ids": [[3] * A], "labels": [1.0]}])


def test_dataloader_with_python_and_torch_formats(setup):
    splits, fm = setup
    train = build_ctr_examples(splits, fm, "train", num_negatives=1)
    for ds in (train, train.to_dataset(), train.to_dataset().with_format("torch")):
        batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8, collate_fn=CTRCollator(fm))))
        assert batch["candidate_item_ids"].shape == (8, 1) and batch["history_mask"].sum() > 0
    pre = build_pretraining_examples(splits["train"], fm).to_dataset().with_format("torch")
    batch = next(iter(torch.utils.data.DataLoader(pre, batch_size=4, collate_fn=PretrainingCollator(fm, 0.2, 0.2))))
    assert batch["labels_item_id"].shape == batch["history_item_ids"].shape


def test_pretraining_masking(setup):
    splits, fm = setup
    pre = build_pretraining_examples(splits["train"], fm)
    rows = [pre[i] for i in range(len(pre))]
    original = CTRCollator(fm)([{**r, "candidate_item_ids": [3]} for r in rows])
    batch = PretrainingCollator(fm, item_mask_prob=0.3, behavior_mask_prob=0.3, seed=0)(rows)
    real = original["history_mask"].bool()
    item_m = batch["history_item_ids"].eq(MASK_ID)
    beh_m = batch["history_behavior_ids"].eq(MASK_ID)
    assert item_m.any() and beh_m.any() and not (item_m & ~real).any() and not (beh_m & ~real).any()  # never pads
    assert ((item_m | beh_m).sum(1) >= 1).all()  # at least one masked position per sequence
    # item strategy: item id and every attr slot masked together; labels hold the originals
    assert torch.equal(batch["history_attr_ids"].eq(MASK_ID).all(-1), item_m)
    assert torch.equal(batch["labels_item_id"], torch.where(item_m, original["history_item_ids"], IGNORE_INDEX))
    attr_target = item_m.unsqueeze(-1) & original["history_attr_ids"].ne(PAD_ID)
    assert torch.equal(batch["labels_item_attr"], torch.where(attr_target, original["history_attr_ids"], IGNORE_INDEX))
    # behaviour strategy: behaviour and time gap together
    assert torch.equal(batch["history_time_ids"].eq(MASK_ID), beh_m)
    assert torch.equal(batch["labels_behavior"], torch.where(beh_m, original["history_behavior_ids"], IGNORE_INDEX))
    assert torch.equal(batch["labels_time_gap"], torch.where(beh_m, original["history_time_ids"], IGNORE_INDEX))
    # unmasked inputs unchanged
    assert torch.equal(batch["history_item_ids"][~item_m], original["history_item_ids"][~item_m])
    assert torch.equal(batch["history_behavior_ids"][~beh_m], original["history_behavior_ids"][~beh_m])
    assert set(batch) >= {"labels_item_id", "labels_item_attr", "labels_behavior", "labels_time_gap", "history_mask", "user_ids"}
    # seeded: reproducible
    again = PretrainingCollator(fm, 0.3, 0.3, seed=0)(rows)
    assert all(torch.equal(batch[k], again[k]) for k in batch)


def test_pretraining_guarantees_one_mask_with_tiny_probability(setup):
    splits, fm = setup
    rows = list(build_pretraining_examples(splits["train"], fm))
    batch = PretrainingCollator(fm, item_mask_prob=1e-9, behavior_mask_prob=0.0, seed=1)(rows)
    assert batch["labels_item_id"].ne(IGNORE_INDEX).sum(1).eq(1).all()
    assert batch["labels_behavior"].eq(IGNORE_INDEX).all()
    with pytest.raises(ValueError):
        PretrainingCollator(fm, 0.0, 0.0)
    with pytest.raises(ValueError):
        PretrainingCollator(fm, 1.5, 0.1)


def test_history_lists_of_different_lengths_are_rejected_naming_the_fields(setup):
    from recexplain.data.behavior.examples import encode_sequence

    splits, fm = setup
    row = dict(build_ctr_examples(splits, fm, "test", num_negatives=1)[0])
    row.update(history_item_ids=[3, 4, 5], history_attr_ids=[[3], [3], [3]], history_behavior_ids=[3],
               history_time_ids=[3])
    with pytest.raises(ValueError, match=r"batch row 0: .*history_item_ids: 3, .*history_behavior_ids: 1"):
        CTRCollator(fm)([row])
    events = {"user_id": "u7", "item_id": ["a", "b", "c"], "item_attr": [[], [], []], "behavior": ["pv"],
              "time_gap": ["none"]}
    with pytest.raises(ValueError, match=r"user u7: .*item_id: 3, item_attr: 3, behavior: 1, time_gap: 1"):
        encode_sequence(events, fm)
