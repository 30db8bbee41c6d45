"""CTR metrics as a local `evaluate` module: AUC, GAUC and LogLoss.

Self-contained (numpy + scikit-learn) so that the folder works on its own with
`evaluate.load("path/to/ctr")`; `recexplain.metrics` re-exports the functions.
"""
import datasets
import evaluate
import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

_DESCRIPTION = """
Click-through-rate metrics for probabilistic click predictions:

- `auc`: area under the ROC curve over all impressions (scikit-learn).
- `gauc`: group AUC (Zhou et al., DIN, KDD 2018): the per-user AUC averaged with
  weights equal to each user's number of impressions; users whose impressions
  are all clicks or all non-clicks are skipped. Only returned when `user_ids`
  is passed. `gauc_users` is the number of users that entered the average.
- `logloss`: binary cross-entropy with probabilities clipped to [eps, 1 - eps].
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): predicted click probabilities in [0, 1].
    references (`list` of `int`): labels, 1 = click, 0 = no click.
    user_ids (`list`, *optional*): one user id per impression; enables `gauc`.
        Pass it to `compute` (not to `add_batch`).
    eps (`float`, defaults to 1e-7): clipping for `logloss`.
Returns:
    `dict` with `auc`, `logloss` and, with `user_ids`, `gauc` and `gauc_users`.
    All values are fractions (not percentages).
Examples:
    >>> ctr = recexplain.metrics.load("ctr")
    >>> ctr.compute(predictions=[0.1, 0.9, 0.8, 0.3], references=[0, 1, 1, 0], user_ids=[1, 1, 2, 2])
    {'auc': 1.0, 'logloss': 0.1976..., 'gauc': 1.0, 'gauc_users': 2}
"""


def _check(preds, labels, user_ids=None):
    preds = np.asarray(preds, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if preds.shape != labels.shape:
        raise ValueError(f"predictions ({preds.size}) and references ({labels.size}) differ in length")
    if preds.size == 0:
        raise ValueError("no predictions given")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"references must be 0/1 labels, got values {sorted(set(labels.tolist()))[:5]}")
    if not np.isfinite(preds).all() or preds.min() < 0 or preds.max() > 1:
        raise ValueError("predictions must be probabilities in [0, 1] (apply a sigmoid to logits first)")
    if user_ids is not None:
        user_ids = np.asarray(user_ids).ravel()
        if user_ids.shape != preds.shape:
            raise ValueError(f"user_ids ({user_ids.size}) and predictions ({preds.size}) differ in length")
    return preds, labels.astype(np.int64), user_ids


def logloss(preds, labels, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy (scikit-learn's `log_loss`) with predictions clipped to [eps, 1 - eps]."""
    preds, labels, _ = _check(preds, labels)
    return float(log_loss(labels, np.clip(preds, eps, 1.0 - eps), labels=[0, 1]))


def gauc(preds, labels, user_ids) -> tuple:
    """Impression-weighted mean of per-user AUC, skipping one-class users.

    Returns `(gauc, n_users_used)`; `gauc` is NaN when no user has both classes.
    """
    preds, labels, user_ids = _check(preds, labels, user_ids)
    _, inverse = np.unique(user_ids, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    total, weight, used = 0.0, 0, 0
    for idx in np.split(order, bounds):
        y = labels[idx]
        if y.min() == y.max():
            continue
        total += len(idx) * roc_auc_score(y, preds[idx])
        weight += len(idx)
        used += 1
    return (total / weight if weight else float("nan")), used


def _weighted_auc(pos_w: np.ndarray, neg_w: np.ndarray) -> np.ndarray:
    """AUC per row from class weights per ascending score group (ties count 1/2).

    `pos_w`, `neg_w`: `[n_boot, n_groups]` total weight of positives/negatives
    whose score falls in each group of equal scores, sorted by score.
    """
    neg_below = np.cumsum(neg_w, axis=1) - neg_w
    num = (pos_w * (neg_below + 0.5 * neg_w)).sum(axis=1)
    den = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def auc_bootstrap(preds, labels, user_ids, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """AUC of `n_boot` bootstrap replicates resampling users: `[n_boot]`, NaN where a replicate has one class.

    Each replicate draws as many users as there are, with replacement, and
    computes the AUC over all impressions of the drawn users (a user drawn k
    times counts k times). The draws depend only on `seed` and the number of
    users, so two models scored on the same rows with the same seed get the
    same replicates: their difference is a paired bootstrap
    (`paired_bootstrap_ci`).
    """
    preds, labels, user_ids = _check(preds, labels, user_ids)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    _, user_idx = np.unique(user_ids, return_inverse=True)
    n_users = int(user_idx.max()) + 1
    _, group = np.unique(preds, return_inverse=True)  # ascending score groups
    n_groups = int(group.max()) + 1
    rng = np.random.default_rng(seed)
    aucs = []
    for start in range(0, n_boot, 64):  # chunks bound memory at 64 x n_groups
        draws = rng.integers(0, n_users, size=(min(64, n_boot - start), n_users))
        counts = np.stack([np.bincount(d, minlength=n_users) for d in draws])  # [b, n_users]
        w = counts[:, user_idx]  # [b, n_impressions]
        pos = np.stack([np.bincount(group, weights=row * labels, minlength=n_groups) for row in w])
        neg = np.stack([np.bincount(group, weights=row * (1 - labels), minlength=n_groups) for row in w])
        aucs.append(_weighted_auc(pos, neg))
    return np.concatenate(aucs)


def percentile_ci(values, alpha: float = 0.05) -> tuple:
    """`(low, high)`: the `alpha/2` and `1 - alpha/2` quantiles of bootstrap `values` (`[n_boot]`, NaN skipped)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("every bootstrap replicate had a single class; AUC undefined")
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def auc_bootstrap_ci(preds, labels, user_ids, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple:
    """Percentile bootstrap confidence interval of the AUC, resampling users (`auc_bootstrap`). Returns
    `(low, high)`, the `alpha/2` and `1 - alpha/2` quantiles (95% by default)."""
    return percentile_ci(auc_bootstrap(preds, labels, user_ids, n_boot=n_boot, seed=seed), alpha)


def paired_bootstrap_ci(replicates_a, replicates_b, alpha: float = 0.05) -> tuple:
    """Percentile confidence interval of AUC(a) - AUC(b) from the two models' `auc_bootstrap` replicates of the
    same rows and seed (`[n_boot]` each): `(low, high)`; the difference is significant when 0 lies outside."""
    replicates_a, replicates_b = np.asarray(replicates_a, dtype=float), np.asarray(replicates_b, dtype=float)
    if replicates_a.shape != replicates_b.shape:
        raise ValueError(f"replicates differ in shape: {replicates_a.shape} vs {replicates_b.shape}")
    return percentile_ci(replicates_a - replicates_b, alpha)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Ctr(evaluate.Metric):
    """AUC, GAUC and LogLoss for click predictions."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.roc_auc_score.html"],
        )

    def _compute(self, predictions, references, user_ids=None, eps: float = 1e-7):
        preds, labels, user_ids = _check(predictions, references, user_ids)
        if labels.min() == labels.max():
            raise ValueError("AUC is undefined when all references belong to one class")
        out = {"auc": float(roc_auc_score(labels, preds)), "logloss": logloss(preds, labels, eps)}
        if user_ids is not None:
            out["gauc"], out["gauc_users"] = gauc(preds, labels, user_ids)
        return out
