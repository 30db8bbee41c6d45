"""Alignment evaluation of an explainer, independent of the reward model.

- `rating_alignment_spearman` (the headline): Spearman rank correlation between the rating the explainer
  predicted for a user-item pair and the judge's expected rating sum_r r * p(r | E) of the generated
  explanation E (`RatingJudge`, a separate classifier trained on real training text). Defined as 0.0 when
  either side is constant: a single sentence for every pair (or a single predicted rating) cannot follow
  the ratings, whatever the judge makes of it.
- `rating_alignment_acc` / `_3class`: share of generated explanations whose judged rating equals the
  predicted rating (rounded; 5 classes / negative-neutral-positive), next to `constant_sentence_acc`:
  the best a single constant sentence can score on that accuracy (it gets one judged class), i.e. the
  share of the most frequent rounded predicted rating. An accuracy at that level shows no alignment.
- `mi_rating_normalized`: I(R; E) / H(R) between the predicted rating R and the generated
  explanation E, from MINE estimators trained afresh on the generated explanations
  (cross-fitted: each fold is scored by an estimator trained on the other folds).
- plus the explanation metrics (BLEU, ROUGE, USR, FMR, ...) and RMSE/MAE of the local
  `evaluate` modules, scored exactly as the explainer benchmark does (`explanation_scores`).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS, decode_explanation
from recexplain.mmi.data import encode_prompts, mi_estimator_config_from_tokenizer, predict_ratings, prompt_texts
from recexplain.mmi.data import response_sequences
from recexplain.mmi.judge import RatingJudge, rank_correlation, round_ratings, three_class
from recexplain.mmi.mine import MINETrainingArguments, collect_statistics, fit_mine, mi_from_statistics
from recexplain.models.mi_estimator import MIEstimatorModel
from recexplain.training.explainer_evaluation import explanation_scores

METRIC_KEYS = ("rating_alignment_spearman", "rating_alignment_acc", "constant_sentence_acc", "mi_rating_normalized",
               "fmr", "bleu1", "rougeL", "usr", "distinct2", "repeat_rate", "rmse",
               "rating_alignment_acc_3class", "bleu4", "distinct1", "empty_rate", "mae", "avg_length", "length_ratio",
               "phrase_precision")


def alignment_scores(judge: RatingJudge, texts: Sequence[str], predicted_ratings) -> Dict[str, float]:
    """`rating_alignment_spearman`, `rating_alignment_acc`, `_3class` and `constant_sentence_acc` of generated
    `texts` (`[N]`) against the explainer's `predicted_ratings` (`[N]` floats), as defined in the module docstring."""
    judged, expected = judge.summary(judge.predict_proba(texts))
    target = round_ratings(predicted_ratings)
    return {"rating_alignment_spearman": rank_correlation(predicted_ratings, expected),
            "rating_alignment_acc": float(np.mean(judged == target)),
            "rating_alignment_acc_3class": float(np.mean(three_class(judged) == three_class(target))),
            "constant_sentence_acc": float(np.bincount(target).max() / len(target))}


@torch.no_grad()
def generate_responses(model, tokenizer, prompts: Dict[str, torch.Tensor], max_new_tokens: int = EXPLANATION_TOKENS,
                       batch_size: int = 128, **generate_kwargs) -> List[List[int]]:
    """Generated token ids after each (left-padded, tokenized) prompt; greedy unless `generate_kwargs` say
    otherwise. (`training.explainer_evaluation.generate_explanations` writes the texts for records.)"""
    model.eval()
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=tokenizer.eos_token_id)
    kwargs.update(generate_kwargs)
    out = []
    for start in range(0, len(prompts["input_ids"]), batch_size):
        ids = prompts["input_ids"][start : start + batch_size].to(model.device)
        mask = prompts["attention_mask"][start : start + batch_size].to(model.device)
        sequences = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
        out.extend(sequences[:, ids.shape[1]:].tolist())
    return out


def cross_fitted_mi(tokenizer, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    args: Optional[MINETrainingArguments] = None, folds: int = 5, seed: int = 0,
                    **config_kwargs) -> Dict[str, float]:
    """I(R; E) of sequences (rating in the query slot, explanation after `<bos>`) by fresh MINE estimators.

    Each fold's statistics come from an estimator trained on the other folds, so the estimate is never
    computed on the estimator's own training rows. Returns `mi_rating` (DV bound, nats), `mi_rating_pointwise`,
    `h_rating` (nats) and `mi_rating_normalized` = `mi_rating / h_rating` (0 when H(R) = 0).
    """
    args = args or MINETrainingArguments(mine_epochs=10, mine_feature=False, mine_keep_best=False)
    order = torch.randperm(len(input_ids), generator=torch.Generator().manual_seed(seed))
    scores, labels = [], []
    for fold in range(folds):
        held = order[fold::folds]
        train = order[torch.isin(order, held, invert=True)]
        torch.manual_seed(seed + fold)
        config = mi_estimator_config_from_tokenizer(tokenizer, input_ids[train], **config_kwargs)
        estimator = MIEstimatorModel(config)
        fit_mine(estimator, input_ids[train], attention_mask[train], args, seed=seed + fold)
        s, y = collect_statistics(estimator, input_ids[held], attention_mask[held])["rating"]
        scores.append(s)
        labels.append(y)
    mi = mi_from_statistics(torch.cat(scores), torch.cat(labels))
    h = mi["entropy"]
    return {"mi_rating": mi["dv"], "mi_rating_pointwise": mi["pointwise"], "h_rating": h,
            "mi_rating_normalized": mi["dv"] / h if h > 0 else 0.0}


def explain_records(model, tokenizer, columns: Dict[str, list], max_new_tokens: int = EXPLANATION_TOKENS,
                    batch_size: int = 128):
    """The explanations a user gets for record `columns`: the rating head's predictions written into the queries,
    then greedy decoding. Returns `(predicted [N] floats, prompts, responses [N] token-id lists, texts [N])`."""
    predicted = predict_ratings(model, tokenizer, columns, batch_size)  # [N]
    prompts = encode_prompts(tokenizer, prompt_texts(columns, predicted.tolist()))
    responses = generate_responses(model, tokenizer, prompts, max_new_tokens, batch_size)
    return predicted, prompts, responses, [decode_explanation(tokenizer, r) for r in responses]


def evaluate_explainer(model, tokenizer, records, judge: RatingJudge, feature_vocab: Optional[Sequence[str]] = None,
                       max_new_tokens: int = EXPLANATION_TOKENS, batch_size: int = 128,
                       mine_args: Optional[MINETrainingArguments] = None, seed: int = 0,
                       num_samples: int = 10, mi_folds: int = 5) -> Dict:
    """All MMI metrics of `model` on `records` (a `datasets.Dataset` or dict of columns, e.g. the test split).

    The rating is predicted by the model's rating head (written into the query), then an explanation is
    generated greedily. Returns the `METRIC_KEYS` (BLEU/ROUGE in %, ratios as fractions), MI details and
    `samples` (the first `num_samples` generated explanations next to the real ones).
    """
    columns = records.to_dict() if hasattr(records, "to_dict") else records
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    predicted, prompts, responses, texts = explain_records(model, tokenizer, columns, max_new_tokens, batch_size)
    scores = explanation_scores(texts, predicted.tolist(), rows, feature_vocab or sorted(set(columns["feature"])))
    ids, mask = response_sequences(tokenizer, prompts["input_ids"], responses)
    mi = cross_fitted_mi(tokenizer, ids, mask, mine_args, folds=mi_folds, seed=seed)
    result = {
        **alignment_scores(judge, texts, predicted.numpy()), **mi, **{k: float(v) for k, v in scores.items()},
        "num_examples": len(texts),
        "samples": [{"user": r["user"], "item": r["item"], "feature": r["feature"], "rating": r["rating"],
                     "predicted_rating": round(float(p), 3), "real": r["explanation"], "generated": t}
                    for r, p, t in zip(rows[:num_samples], predicted.tolist(), texts)],
    }
    return result


__all__ = ["METRIC_KEYS", "alignment_scores", "generate_responses", "explain_records", "cross_fitted_mi",
           "evaluate_explainer"]
