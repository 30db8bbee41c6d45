"""Explanation records <-> the MI estimator and the PPO prompt set.

Sequences use the explainer's prompt layout (docs/contracts.md): `<u_X> <i_Y> <r_R> <f_F> <bos>`
+ explanation + `<eos>`, left-padded. For PPO the query carries the rating *predicted* by the
policy's rating head, fixed when the prompt set is built.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch

from recexplain.data.reviews.collator import ExplanationCollator, encode_explanation_records
from recexplain.data.reviews.extraction import tokenize
from recexplain.data.reviews.tokenizer import EXPLANATION_WORDS, PROMPT_SLOTS, RATINGS, format_prompt, rating_token
from recexplain.mmi.mine import empirical_prior
from recexplain.models.mi_estimator import MIEstimatorConfig


def label_token_ids(tokenizer) -> Tuple[List[int], List[int]]:
    """`(rating_token_ids, feature_token_ids)`: `<r_1>..<r_5>` and every `<f_WORD>` token, in id order."""
    ratings = tokenizer.convert_tokens_to_ids([rating_token(r) for r in RATINGS])
    if tokenizer.unk_token_id in ratings:
        raise ValueError("the tokenizer has no <r_1>..<r_5> rating tokens")
    features = sorted(i for t, i in tokenizer.get_vocab().items() if t.startswith("<f_") and t.endswith(">"))
    return list(ratings), features


def mi_estimator_config_from_tokenizer(tokenizer, input_ids: Optional[torch.Tensor] = None, **kwargs) -> MIEstimatorConfig:
    """An `MIEstimatorConfig` for sequences of `tokenizer`; with `input_ids` the label priors are their
    (add-one smoothed) frequencies in the rating and feature slots."""
    ratings, features = label_token_ids(tokenizer)
    slots = {f"{name}_slot": PROMPT_SLOTS.index(name) for name in ("rating", "feature", "bos")}
    config = dict(vocab_size=len(tokenizer), rating_token_ids=ratings, feature_token_ids=features,
                  pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                  eos_token_id=tokenizer.eos_token_id, **slots)
    if input_ids is not None:
        mask = input_ids != tokenizer.pad_token_id
        start = mask.long().argmax(-1)
        for name, ids in (("rating", ratings), ("feature", features)):
            if not ids:
                continue
            tokens = input_ids.gather(1, (start + slots[f"{name}_slot"]).unsqueeze(1))
            match = tokens == torch.tensor(ids).unsqueeze(0)
            labels = torch.where(match.any(-1), match.long().argmax(-1), torch.full_like(start, -1))
            config[f"{name}_prior"] = empirical_prior(labels, len(ids))
    config.update(kwargs)
    return MIEstimatorConfig(**config)


def encode_sequences(tokenizer, records: Dict[str, list], max_explanation_length: int = EXPLANATION_WORDS):
    """Left-padded `(input_ids, attention_mask)` of records (columns `user, item, rating, feature, explanation`)."""
    encoded = encode_explanation_records(records, tokenizer, max_explanation_length)
    batch = ExplanationCollator(tokenizer)([{"input_ids": ids} for ids in encoded["input_ids"]])
    return batch["input_ids"], batch["attention_mask"]


def response_sequences(tokenizer, prompt_ids: torch.Tensor, responses: Sequence[Sequence[int]]):
    """Left-padded `(input_ids, attention_mask)` of prompts + generated token ids (cut at `<eos>`, which is kept)."""
    eos = tokenizer.eos_token_id
    rows = []
    for prompt, response in zip(prompt_ids.tolist(), responses):
        prompt = [t for t in prompt if t != tokenizer.pad_token_id]
        response = list(response)
        response = response[: response.index(eos) + 1] if eos in response else response + [eos]
        rows.append(prompt + [t for t in response if t != tokenizer.pad_token_id])
    batch = ExplanationCollator(tokenizer)([{"input_ids": r} for r in rows])
    return batch["input_ids"], batch["attention_mask"]


def prompt_texts(records: Dict[str, list], ratings: Optional[Sequence[float]] = None) -> List[str]:
    """The 5-token queries of records; `ratings` (e.g. predicted) replace the records' ratings (None: `<unk>`)."""
    n = len(records["user"])
    ratings = [None] * n if ratings is None else list(ratings)
    return [format_prompt(u, i, r, f) for u, i, r, f in zip(records["user"], records["item"], ratings,
                                                            records["feature"])]


def encode_prompts(tokenizer, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
    """Left-padded prompt batch (`input_ids`, `attention_mask`)."""
    return tokenizer(list(texts), add_special_tokens=False, padding=True, return_tensors="pt")


@torch.no_grad()
def predict_ratings(model, tokenizer, records: Dict[str, list], batch_size: int = 256) -> torch.Tensor:
    """The explainer's rating head on each record's user and item: `(N,)` floats in the rating range."""
    model.eval()
    out = []
    texts = prompt_texts(records)
    for start in range(0, len(texts), batch_size):
        batch = encode_prompts(tokenizer, texts[start : start + batch_size]).to(model.device)
        out.append(model.predict_rating(batch["input_ids"], attention_mask=batch["attention_mask"]).float().cpu())
    return torch.cat(out)


def mean_explanation_length(texts: Sequence[str], max_explanation_length: int) -> float:
    """Mean number of words of explanation `texts`, each cut at `max_explanation_length` as in training."""
    lengths = [min(len(tokenize(text)), max_explanation_length) for text in texts]
    if not lengths:
        raise ValueError("no explanations to measure the length of")
    return sum(lengths) / len(lengths)


def build_prompt_dataset(model, tokenizer, records, batch_size: int = 256):
    """PPO prompt set: one row per record with `input_ids` = the query carrying the *predicted* rating.

    Extra columns: `predicted_rating` (float), `feature`, `rating` (the true one), `explanation`.
    """
    import datasets

    columns = records.to_dict() if hasattr(records, "to_dict") else records
    predicted = predict_ratings(model, tokenizer, columns, batch_size).tolist()
    ids = tokenizer(prompt_texts(columns, predicted), add_special_tokens=False)["input_ids"]
    return datasets.Dataset.from_dict({
        "input_ids": ids, "predicted_rating": predicted, "feature": list(columns["feature"]),
        "rating": list(columns["rating"]), "explanation": list(columns["explanation"]),
    })


__all__ = [
    "label_token_ids", "mi_estimator_config_from_tokenizer", "encode_sequences",
    "response_sequences", "prompt_texts", "encode_prompts", "predict_ratings", "mean_explanation_length",
    "build_prompt_dataset",
]
