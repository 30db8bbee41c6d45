"""Explanation records -> token ids, and left-padded training / prompt batches.

Training example: `input_ids` = the 5 prompt tokens `<u_X> <i_Y> <r_R> <f_F> <bos>`, then at most
`max_explanation_length` explanation word ids, then `<eos>`; `rating_labels` = the rating (float).
Batch: left-padded `input_ids`, `attention_mask` (0 on pads), `labels` = `input_ids` with -100 on
pads and on the 5 prompt tokens (the model shifts: the `<bos>` position predicts the first word),
`rating_labels` `[B]` float.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch

from ..behavior.collators import IGNORE_INDEX
from .tokenizer import EXPLANATION_WORDS, PROMPT_LENGTH, format_prompt


def encode_explanation_records(
    batch: Dict[str, list], tokenizer, max_explanation_length: int = EXPLANATION_WORDS
) -> Dict[str, list]:
    """Batched `datasets.map` function: records -> `input_ids`, `rating_labels` (see module docstring)."""
    prompts = [format_prompt(*row) for row in zip(batch["user"], batch["item"], batch["rating"], batch["feature"])]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    word_ids = tokenizer(list(batch["explanation"]), add_special_tokens=False)["input_ids"]
    for index, ids in enumerate(prompt_ids):
        if len(ids) != PROMPT_LENGTH:
            raise ValueError(f"prompt {prompts[index]!r} encodes to {len(ids)} tokens, expected {PROMPT_LENGTH}")
    return {
        "input_ids": [p + w[:max_explanation_length] + [tokenizer.eos_token_id] for p, w in zip(prompt_ids, word_ids)],
        "rating_labels": [float(r) for r in batch["rating"]],
    }


def tokenize_explanation_dataset(
    dataset, tokenizer, max_explanation_length: int = EXPLANATION_WORDS, keep_columns: Sequence[str] = ()
):
    """`dataset.map` of `encode_explanation_records`; record columns are dropped except `keep_columns`."""
    drop = [c for c in dataset.column_names if c not in keep_columns]
    return dataset.map(
        encode_explanation_records, batched=True, remove_columns=drop,
        fn_kwargs={"tokenizer": tokenizer, "max_explanation_length": max_explanation_length},
        desc="tokenizing explanations",
    )


def _left_pad(sequences: List[List[int]], pad_id: int, multiple_of: int = 1):
    length = max(len(s) for s in sequences)
    length = -(-length // multiple_of) * multiple_of
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if seq:
            ids[row, length - len(seq):] = torch.as_tensor(seq, dtype=torch.long)
            mask[row, length - len(seq):] = 1
    return ids, mask


class ExplanationCollator:
    """Left-padded training batches (`input_ids, attention_mask, labels, rating_labels`).

    Features are dicts with `input_ids` (prompt + words + `<eos>`) and optionally `rating_labels`;
    other keys are ignored.
    """

    def __init__(self, tokenizer, pad_to_multiple_of: int = 1):
        self.pad_token_id = tokenizer.pad_token_id
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: List[Dict]) -> Dict[str, torch.Tensor]:
        sequences = [list(f["input_ids"]) for f in features]
        for index, seq in enumerate(sequences):
            if len(seq) <= PROMPT_LENGTH:
                raise ValueError(f"example {index} has {len(seq)} tokens: needs the {PROMPT_LENGTH}-token prompt and <eos>")
        input_ids, attention_mask = _left_pad(sequences, self.pad_token_id, self.pad_to_multiple_of)
        labels = input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)
        starts = input_ids.shape[1] - torch.as_tensor([len(s) for s in sequences])
        prompt = torch.arange(input_ids.shape[1])[None, :] < (starts + PROMPT_LENGTH)[:, None]
        labels = labels.masked_fill(prompt, IGNORE_INDEX)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        if "rating_labels" in features[0]:
            batch["rating_labels"] = torch.tensor([float(f["rating_labels"]) for f in features], dtype=torch.float)
        return batch


def collate_prompts(tokenizer, records: Sequence[Dict]) -> Dict[str, torch.Tensor]:
    """Left-padded 5-token prompts (`input_ids`, `attention_mask`) for generation from records."""
    prompts = [format_prompt(r["user"], r["item"], r["rating"], r["feature"]) for r in records]
    return tokenizer(prompts, add_special_tokens=False, padding=True, return_tensors="pt")
