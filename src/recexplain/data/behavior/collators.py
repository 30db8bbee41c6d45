"""Batch collators: right-padded CTR batches and SRP4CTR's two-strategy masking for pre-training.

Both take rows of `build_ctr_examples` / `build_pretraining_examples` (lists of ids) and return
dicts of `torch.long` tensors (float `labels`), keys and shapes as in contracts.md.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch

from .feature_map import MASK_ID, PAD_ID, FeatureMap

IGNORE_INDEX = -100


def _ids(value) -> list:
    """A row value as a plain list (rows may come from a torch-formatted `datasets.Dataset`)."""
    return value.tolist() if isinstance(value, torch.Tensor) else value


def check_same_lengths(lists: Dict[str, Sequence], where: str) -> None:
    """Raise `ValueError` naming `where` and every field's length unless the per-event `lists` are equally long."""
    lengths = {key: len(value) for key, value in lists.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
        raise ValueError(f"{where}: the per-event lists differ in length ({shown}); every event needs one value in each")


def _pad_history(rows: Sequence[dict], max_attrs: int, max_len: int) -> Dict[str, torch.Tensor]:
    """Right-pad the `history_*` lists to the longest row (<= max_len, most recent kept)."""
    L = max(1, min(max_len, max(len(r["history_item_ids"]) for r in rows)))
    B = len(rows)
    out = {
        "history_item_ids": torch.full((B, L), PAD_ID, dtype=torch.long),
        "history_attr_ids": torch.full((B, L, max_attrs), PAD_ID, dtype=torch.long),
        "history_behavior_ids": torch.full((B, L), PAD_ID, dtype=torch.long),
        "history_time_ids": torch.full((B, L), PAD_ID, dtype=torch.long),
        "history_mask": torch.zeros((B, L), dtype=torch.long),
    }
    for b, r in enumerate(rows):
        r = {k: _ids(r[k]) for k in ("history_item_ids", "history_attr_ids", "history_behavior_ids", "history_time_ids")}
        check_same_lengths(r, f"batch row {b}")
        n = min(len(r["history_item_ids"]), L)
        if n == 0:
            continue
        for key in ("history_item_ids", "history_behavior_ids", "history_time_ids"):
            out[key][b, :n] = torch.as_tensor(r[key][-n:], dtype=torch.long)
        attrs = torch.as_tensor(r["history_attr_ids"][-n:], dtype=torch.long).reshape(n, -1)[:, :max_attrs]
        out["history_attr_ids"][b, :n, : attrs.shape[1]] = attrs
        out["history_mask"][b, :n] = 1
    return out


def _user_ids(rows: Sequence[dict]) -> torch.Tensor:
    return torch.as_tensor([int(r.get("user_ids", PAD_ID)) for r in rows], dtype=torch.long)


class CTRCollator:
    """Rows of CTR examples -> CTR batch:

    `history_item_ids/behavior_ids/time_ids/mask` `[B, L]`, `history_attr_ids` `[B, L, A]`,
    `candidate_item_ids` `[B, N]`, `candidate_attr_ids` `[B, N, A]`, `user_ids` `[B]`,
    `labels` `[B, N]` float (only when the rows have labels). All rows of a batch must have the
    same N. Rows without `candidate_attr_ids` get them from `feature_map.item_attr_table`.
    """

    def __init__(self, feature_map: FeatureMap):
        self.feature_map = feature_map

    def __call__(self, rows: List[dict]) -> Dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("CTRCollator: empty batch")
        fm = self.feature_map
        sizes = {len(r["candidate_item_ids"]) for r in rows}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"CTRCollator: all rows need the same number (>= 1) of candidates, got {sorted(sizes)}")
        batch = _pad_history(rows, fm.max_attrs, fm.max_seq_len)
        batch["user_ids"] = _user_ids(rows)
        cand = torch.as_tensor([_ids(r["candidate_item_ids"]) for r in rows], dtype=torch.long)
        batch["candidate_item_ids"] = cand
        if all("candidate_attr_ids" in r for r in rows):
            batch["candidate_attr_ids"] = torch.as_tensor([_ids(r["candidate_attr_ids"]) for r in rows], dtype=torch.long)
        else:
            batch["candidate_attr_ids"] = fm.item_attr_table[cand.clamp(0, fm.vocab_size("item_id") - 1)]
        if all("labels" in r for r in rows):
            batch["labels"] = torch.as_tensor([_ids(r["labels"]) for r in rows], dtype=torch.float)
        return batch


# The masking defaults of SRP4CTR pre-training (scripts, benchmark and collator read them from here). The item
# rate was chosen on FG-BERT's validation AUC at convergence on Amazon Beauty: 0.4 over 0.2 on seeds 0 and 1
# (docs/ctr_benchmark.md, "At convergence on Amazon Beauty").
ITEM_MASK_PROB = 0.4
BEHAVIOR_MASK_PROB = 0.2


class PretrainingCollator:
    """Rows of pre-training sequences -> masked batch (SRP4CTR, two masking strategies).

    Item strategy (prob `item_mask_prob` per real position): `item_id` and all `item_attr` slots
    become [MASK]. Behaviour strategy (prob `behavior_mask_prob`, drawn independently): `behavior`
    and `time_gap` become [MASK]. Padding is never masked; a sequence with nothing masked gets one
    random position masked (item strategy if `item_mask_prob > 0`, else behaviour). Masked inputs
    are always replaced (no keep/random variants), so masked values are not in the inputs.

    Output: the `history_*` keys of the CTR batch, `user_ids`, and labels `labels_item_id` `[B, L]`,
    `labels_item_attr` `[B, L, A]` (original attr ids, -100 at pad slots), `labels_behavior` `[B, L]`,
    `labels_time_gap` `[B, L]`: -100 wherever not masked.
    """

    def __init__(self, feature_map: FeatureMap, item_mask_prob: float = ITEM_MASK_PROB,
                 behavior_mask_prob: float = BEHAVIOR_MASK_PROB,
                 seed: Optional[int] = None):
        for name, p in (("item_mask_prob", item_mask_prob), ("behavior_mask_prob", behavior_mask_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        if item_mask_prob == 0 and behavior_mask_prob == 0:
            raise ValueError("at least one of item_mask_prob, behavior_mask_prob must be > 0")
        self.feature_map, self.item_mask_prob, self.behavior_mask_prob = feature_map, item_mask_prob, behavior_mask_prob
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, rows: List[dict]) -> Dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("PretrainingCollator: empty batch")
        if any(len(r["history_item_ids"]) == 0 for r in rows):
            raise ValueError("PretrainingCollator: a row has an empty history")
        batch = _pad_history(rows, self.feature_map.max_attrs, self.feature_map.max_seq_len)
        batch["user_ids"] = _user_ids(rows)
        real = batch["history_mask"].bool()  # [B, L]
        item_mask = (torch.rand(real.shape, generator=self.generator) < self.item_mask_prob) & real
        beh_mask = (torch.rand(real.shape, generator=self.generator) < self.behavior_mask_prob) & real
        # guarantee one masked position per sequence: a random real position of the empty rows
        empty = ~(item_mask | beh_mask).any(dim=1)
        if empty.any():
            pick = torch.multinomial(real[empty].float(), 1, generator=self.generator).squeeze(1)  # [E]
            target = item_mask if self.item_mask_prob > 0 else beh_mask
            target[empty.nonzero().squeeze(1), pick] = True

        items, attrs = batch["history_item_ids"], batch["history_attr_ids"]
        batch["labels_item_id"] = torch.where(item_mask, items, IGNORE_INDEX)
        attr_target = item_mask.unsqueeze(-1) & (attrs != PAD_ID)
        batch["labels_item_attr"] = torch.where(attr_target, attrs, IGNORE_INDEX)
        batch["labels_behavior"] = torch.where(beh_mask, batch["history_behavior_ids"], IGNORE_INDEX)
        batch["labels_time_gap"] = torch.where(beh_mask, batch["history_time_ids"], IGNORE_INDEX)

        batch["history_item_ids"] = items.masked_fill(item_mask, MASK_ID)
        batch["history_attr_ids"] = attrs.masked_fill(item_mask.unsqueeze(-1), MASK_ID)
        batch["history_behavior_ids"] = batch["history_behavior_ids"].masked_fill(beh_mask, MASK_ID)
        batch["history_time_ids"] = batch["history_time_ids"].masked_fill(beh_mask, MASK_ID)
        return batch
