"""Generating explanations with a trained explainer and scoring them (PETER's metrics)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ..data.explanation_collator import collate_prompts
from ..data.explanation_tokenizer import decode_explanation


@torch.no_grad()
def generate_explanations(
    model, tokenizer, records: Sequence[Dict], max_new_tokens: int = 16, batch_size: int = 256, **generation_kwargs
) -> Tuple[List[str], List[float]]:
    """Greedy explanations and predicted ratings for records (the rating slot is left `<unk>`: it is predicted);
    `generation_kwargs` go to `generate` (e.g. `no_repeat_ngram_size=3`)."""
    model.eval()
    texts, ratings = [], []
    for start in range(0, len(records), batch_size):
        chunk = [dict(r, rating=None) for r in records[start:start + batch_size]]
        batch = {k: v.to(model.device) for k, v in collate_prompts(tokenizer, chunk).items()}
        ratings += model.predict_rating(**batch).float().tolist()
        output = model.generate(
            **batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **generation_kwargs,
        )
        texts += [decode_explanation(tokenizer, row) for row in output[:, batch["input_ids"].shape[1]:].tolist()]
    return texts, ratings


def explanation_scores(
    predictions: List[str], ratings: Optional[List[float]], records: Sequence[Dict], feature_vocab: Sequence[str]
) -> Dict[str, float]:
    """`rmse, mae` (when `ratings` is given) and `bleu1 ... div` of predictions against the records."""
    from .. import metrics

    out = {}
    if ratings is not None:
        out.update(metrics.load("rating").compute(predictions=ratings, references=[float(r["rating"]) for r in records]))
    out.update(
        metrics.load("explanation").compute(
            predictions=predictions, references=[r["explanation"] for r in records],
            features=[r["feature"] for r in records], feature_vocab=list(feature_vocab),
        )
    )
    return out
