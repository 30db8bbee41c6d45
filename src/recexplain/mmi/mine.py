"""MINE training of the MI estimator: Donsker-Varadhan bound, moving-average bias correction.

Belghazi et al., "Mutual Information Neural Estimation", ICML 2018:
`I(E; Y) >= E_joint[T(e, y)] - log E_marginal[exp T(e, y')]`. Negatives are made by
shuffling the labels within a batch. The gradient of the log term,
`E[exp(T) grad T] / E[exp(T)]`, has a biased mini-batch denominator; MINE replaces it
by a moving average (rate 0.01). Everything is computed in log space, so extreme
scores never overflow.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch

from recexplain.models.mi_estimator import MIEstimatorModel, pointwise_mutual_information

LABEL_TYPES = ("rating", "feature")


class MINELoss:
    """Stateful MINE loss for one label type (keeps the moving average of `E[exp T]` in log space).

    Args:
        ema_rate (`float`): weight of the current batch in the moving average (MINE uses 0.01).
    """

    def __init__(self, ema_rate: float = 0.01):
        if not 0.0 < ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1], got {ema_rate}")
        self.ema_rate = ema_rate
        self.log_ema: Optional[torch.Tensor] = None

    def __call__(self, statistics: torch.Tensor, labels: torch.Tensor, generator=None):
        """`(loss, dv_estimate)` for scores `statistics` `(B, L)` and labels `(B,)` (negatives: shuffled labels)."""
        keep = labels >= 0
        statistics, labels = statistics[keep].float(), labels[keep]
        bad = (~torch.isfinite(statistics)).any(-1)  # [B]
        if bad.any():  # a NaN loss would silently turn every weight into NaN at the next step
            raise FloatingPointError(
                f"MINE statistics are NaN or infinite for {int(bad.sum())} of {len(bad)} samples of this batch (first: "
                f"sample {int(bad.nonzero()[0])}); stopping before the estimator's weights become NaN")
        if len(labels) < 2:
            raise ValueError("MINE needs at least two labelled samples per batch")
        shuffled = labels[torch.randperm(len(labels), generator=generator).to(labels.device)]
        joint = statistics.gather(1, labels.unsqueeze(1)).squeeze(1)  # [B]
        marginal = statistics.gather(1, shuffled.unsqueeze(1)).squeeze(1)  # [B]
        log_mean_exp = torch.logsumexp(marginal, 0) - math.log(len(marginal))  # log E_marginal[exp T]
        current = log_mean_exp.detach()
        if self.log_ema is None or self.ema_rate == 1.0:
            self.log_ema = current
        else:  # log((1 - a) * ema + a * current)
            self.log_ema = torch.logaddexp(self.log_ema + math.log1p(-self.ema_rate),
                                           current + math.log(self.ema_rate))
        # exp(log_mean_exp - log_ema) <= 1 / ema_rate, so this never overflows; its gradient is
        # E[exp(T) grad T] / ema, the bias-corrected gradient of the log term.
        corrected = torch.exp(log_mean_exp - self.log_ema)
        loss = -(joint.mean() - corrected)
        return loss, (joint.mean() - log_mean_exp).detach()


def label_entropy(labels: torch.Tensor, num_labels: int) -> float:
    """Empirical entropy H(Y) in nats of non-negative `labels`."""
    counts = torch.bincount(labels[labels >= 0], minlength=num_labels).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def empirical_prior(labels, num_labels: int, smoothing: float = 1.0) -> List[float]:
    """Add-`smoothing` label frequencies (strictly positive, sums to 1) for `MIEstimatorConfig.*_prior`."""
    labels = torch.as_tensor(labels)
    counts = torch.bincount(labels[labels >= 0], minlength=num_labels).double() + smoothing
    return (counts / counts.sum()).tolist()


@torch.no_grad()
def collect_statistics(model: MIEstimatorModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       batch_size: int = 512) -> Dict[str, tuple]:
    """`{label_type: (scores (N, L), labels (N,))}` of whole explanations (labels from the query slots)."""
    was_training = model.training
    model.eval()
    parts = {name: ([], []) for name in LABEL_TYPES}
    for start in range(0, len(input_ids), batch_size):
        ids, mask = input_ids[start : start + batch_size], attention_mask[start : start + batch_size]
        output = model(ids, attention_mask=mask)
        rows, last = torch.arange(len(ids)), MIEstimatorModel.last_index(mask)
        for name in LABEL_TYPES:
            scores = getattr(output, f"{name}_statistics")
            if scores is not None:
                parts[name][0].append(scores[rows, last])
                parts[name][1].append(getattr(output, f"{name}_labels"))
    model.train(was_training)
    return {name: (torch.cat(s), torch.cat(y)) for name, (s, y) in parts.items() if s}


def mi_from_statistics(scores: torch.Tensor, labels: torch.Tensor) -> Dict[str, float]:
    """MI estimates (nats) from `T(e_i, y)` `(N, L)` and labels `(N,)`, with the product of the sample's
    empirical marginals as the reference distribution.

    `dv` = Donsker-Varadhan bound `mean T(e_i, y_i) - log mean_i sum_y p(y) exp T(e_i, y)`; `pointwise` =
    mean pointwise MI `mean [T(e_i, y_i) - log sum_y p(y) exp T(e_i, y)]` (also a lower bound, and never
    below `dv` by Jensen); `entropy` = H(Y). Rows with a negative label are ignored.
    """
    keep = labels >= 0
    scores, labels = scores[keep].double(), labels[keep]
    if len(labels) == 0:
        raise ValueError("no labelled rows")
    counts = torch.bincount(labels, minlength=scores.shape[1]).double()
    log_p = torch.log(counts / counts.sum())  # -inf for absent labels: they drop out of the sums
    marginal = torch.logsumexp(scores + log_p, dim=1)  # [N] log sum_y p(y) exp T(e_i, y)
    joint = scores.gather(1, labels.unsqueeze(1)).squeeze(1)
    dv = joint.mean() - (torch.logsumexp(marginal, 0) - math.log(len(marginal)))
    pointwise = pointwise_mutual_information(scores, labels, log_p).mean()
    return {"dv": float(dv), "pointwise": float(pointwise), "entropy": label_entropy(labels, scores.shape[1])}


def estimate_mi(model: MIEstimatorModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                batch_size: int = 512) -> Dict[str, Dict[str, float]]:
    """`{label_type: mi_from_statistics(...)}` of `model` on a data set (label types with labelled rows)."""
    collected = collect_statistics(model, input_ids, attention_mask, batch_size)
    return {name: mi_from_statistics(s, y) for name, (s, y) in collected.items() if (y >= 0).any()}


@dataclass
class MINETrainingArguments:
    """Optimisation settings of `fit_mine` (also the MINE part of the scripts' command line)."""

    mine_epochs: int = field(default=10, metadata={"help": "Epochs over the training explanations."})
    mine_batch_size: int = field(default=128, metadata={"help": "Batch size (the shuffled negatives come from it)."})
    mine_learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate."})
    mine_weight_decay: float = field(default=0.1, metadata={"help": "AdamW (decoupled) weight decay."})
    mine_ema_rate: float = field(default=0.01, metadata={"help": "Moving-average rate of the bias correction."})
    mine_feature: bool = field(default=True, metadata={"help": "Also train the feature statistics network."})
    mine_keep_best: bool = field(
        default=True, metadata={"help": "Keep the epoch with the best held-out estimate (needs eval data)."}
    )


def fit_mine(
    model: MIEstimatorModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    args: MINETrainingArguments,
    eval_input_ids: Optional[torch.Tensor] = None,
    eval_attention_mask: Optional[torch.Tensor] = None,
    seed: int = 0,
    log: Optional[Callable[[Dict], None]] = None,
    progress: bool = False,
    accelerator=None,
) -> List[Dict]:
    """Train `model` with the MINE objective; returns the per-epoch history of MI estimates (nats).

    The estimates of each epoch are computed on the eval data when given (else on the training data);
    with `args.mine_keep_best` each statistics network (rating, feature) keeps the weights of its epoch with
    the best held-out DV estimate.
    With an `accelerate.Accelerator` over several processes, every process must call this with the same
    `input_ids` and the same initial weights: each takes its share of every batch (negatives are shuffled
    within the share) and the gradients are averaged across processes, so the copies stay identical.
    """
    world = accelerator.num_processes if accelerator is not None else 1
    rank = accelerator.process_index if accelerator is not None else 0
    device = model.device
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.mine_learning_rate, weight_decay=args.mine_weight_decay)
    train_types = [t for t in LABEL_TYPES if t == "rating" or (args.mine_feature and model.feature_head is not None)]
    losses = {name: MINELoss(args.mine_ema_rate) for name in train_types}
    has_eval = eval_input_ids is not None
    best = {name: (-math.inf, None) for name in train_types}  # label type -> (held-out DV, head weights)
    history = []
    epochs = range(1, args.mine_epochs + 1)
    if progress and rank == 0:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="MINE")
    for epoch in epochs:
        model.train()
        order = torch.randperm(len(input_ids), generator=generator)
        total, batches = 0.0, 0
        for start in range(0, len(order), args.mine_batch_size):
            idx = order[start : start + args.mine_batch_size]
            if len(idx) < 2 * world:
                continue
            idx = idx[rank::world]  # this process's share of the batch
            ids, mask = input_ids[idx].to(device), attention_mask[idx].to(device)
            output = model(ids, attention_mask=mask)
            last = MIEstimatorModel.last_index(mask)
            rows = torch.arange(len(idx), device=device)
            loss = None
            for name in train_types:
                scores = getattr(output, f"{name}_statistics")[rows, last]  # [B, L]
                labels = getattr(output, f"{name}_labels")
                if int((labels >= 0).sum()) < 2:
                    continue
                part, _ = losses[name](scores, labels, generator=generator)
                loss = part if loss is None else loss + part
            optimizer.zero_grad()
            if loss is not None:
                loss.backward()
                total, batches = total + float(loss.detach()), batches + 1
            if world > 1:  # average gradients (every process takes part in every reduction)
                for param in model.parameters():
                    if param.grad is None:
                        param.grad = torch.zeros_like(param)
                    param.grad = accelerator.reduce(param.grad, reduction="mean")
            optimizer.step()
        estimates = (estimate_mi(model, eval_input_ids.to(device), eval_attention_mask.to(device)) if has_eval
                     else estimate_mi(model, input_ids.to(device), attention_mask.to(device)))
        record = {"epoch": epoch, "loss": total / max(batches, 1), "split": "eval" if has_eval else "train"}
        for name, values in estimates.items():
            record.update({f"mi_{name}_{key}": value for key, value in values.items()})
        history.append(record)
        if log is not None:
            log(record)
        for name in train_types if has_eval and args.mine_keep_best else ():
            score = record.get(f"mi_{name}_dv", -math.inf)
            if score > best[name][0]:
                best[name] = (score, copy.deepcopy(getattr(model, f"{name}_head").state_dict()))
                record[f"best_{name}"] = True
    for name, (_, state) in best.items():
        if state is not None:
            getattr(model, f"{name}_head").load_state_dict(state)
    model.eval()
    return history
