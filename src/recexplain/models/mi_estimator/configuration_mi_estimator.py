"""Configuration of the MINE mutual-information estimator used as MMI's reward model.

MMI: Zhao et al., "Aligning Explanations for Recommendation with Rating and
Feature via Maximizing Mutual Information", CIKM 2024 (arXiv 2407.13274).
"""
import math
from typing import Optional

from transformers import PretrainedConfig

REWARD_TYPES = ("rating", "feature", "joint")
POOLINGS = ("mean", "max")


def _check_prior(name, prior, size):
    if prior is None:
        return None
    prior = [float(p) for p in prior]
    if len(prior) != size:
        raise ValueError(f"{name} has {len(prior)} entries, expected {size}")
    if any(not math.isfinite(p) or p <= 0 for p in prior):
        raise ValueError(f"{name} must be strictly positive and finite (smooth zero counts)")
    total = sum(prior)
    if abs(total - 1.0) > 1e-4:
        raise ValueError(f"{name} must sum to 1, sums to {total}")
    return prior


class MIEstimatorConfig(PretrainedConfig):
    r"""
    Configuration of [`MIEstimatorModel`] and [`MIEstimatorForRewardModeling`].

    The estimator reads sequences in the explainer's prompt layout
    `<u_X> <i_Y> <r_R> <f_F> <bos> explanation <eos>` (queries may be left-padded,
    responses right-padded): the labels come from the rating and feature slots,
    the explanation is every token after `<bos>` up to the first `<eos>`.

    Args:
        vocab_size (`int`): size of the explainer's tokenizer vocabulary.
        hidden_size (`int`): width of the explanation embedding.
        intermediate_size (`int`): width of the statistics network's hidden layer.
        dropout (`float`): dropout on the explanation embedding during MINE training.
        pooling (`str`): how the explanation's token embeddings become one vector: `"mean"`, or `"max"`
            (element-wise: a word counts by its presence, no added word dilutes the others). Tried against MMI's
            shorter explanations and not adopted (docs/mmi.md: the reward has no systematic length pull).
        rating_token_ids (`list[int]`): token ids of `<r_1>` ... `<r_5>`; label `k` is rating `k + 1`.
        feature_token_ids (`list[int]`): token ids of the feature tokens `<f_WORD>`; label `k` is the
            `k`-th of them. Empty: no feature statistics (only `reward_type="rating"`).
        rating_prior (`list[float]`, *optional*): p(r) for the pointwise MI; uniform when `None`.
        feature_prior (`list[float]`, *optional*): p(f) for the pointwise MI; uniform when `None`.
        rating_slot (`int`), feature_slot (`int`), bos_slot (`int`): offsets of the rating, feature and
            `<bos>` tokens from the first non-padding token of the query.
        reward_type (`str`): `"rating"`, `"feature"` or `"joint"` = (1 - eps) * rating MI + eps * feature MI.
        eps (`float`): weight of the feature MI in the joint reward (the paper uses 0.2).
        brevity_weight (`float`): weight of a brevity term added to the reward, BLEU's log brevity penalty
            `min(0, 1 - reference_length / n)` of an explanation of `n` tokens (0: none). PPO searching the endings
            finds shorter ones the MI rewards more (docs/mmi.md); the term makes every missing word cost.
        reference_length (`float`, *optional*): the length `n` from which the brevity term is 0 (required when
            `brevity_weight > 0`; `mmi_ppo.py --brevity_reference` sets it to the mean length of the training
            explanations or of the starting policy's own explanations).
        initializer_range (`float`): std of the normal initialisation.
    """

    model_type = "recexplain_mi_estimator"

    def __init__(
        self,
        vocab_size: int = 64,
        hidden_size: int = 64,
        intermediate_size: int = 128,
        dropout: float = 0.1,
        pooling: str = "mean",
        rating_token_ids=None,
        feature_token_ids=None,
        rating_prior=None,
        feature_prior=None,
        rating_slot: int = 2,
        feature_slot: int = 3,
        bos_slot: int = 4,
        reward_type: str = "rating",
        eps: float = 0.2,
        brevity_weight: float = 0.0,
        reference_length: Optional[float] = None,
        initializer_range: float = 0.02,
        pad_token_id: int = 0,
        bos_token_id: int = 1,
        eos_token_id: int = 2,
        **kwargs,
    ):
        rating_token_ids = list(range(3, 8)) if rating_token_ids is None else [int(t) for t in rating_token_ids]
        feature_token_ids = [] if feature_token_ids is None else [int(t) for t in feature_token_ids]
        for name, value in (("vocab_size", vocab_size), ("hidden_size", hidden_size),
                            ("intermediate_size", intermediate_size)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if len(rating_token_ids) < 2:
            raise ValueError("rating_token_ids needs at least two rating tokens")
        ids = rating_token_ids + feature_token_ids
        if len(set(ids)) != len(ids):
            raise ValueError("rating_token_ids and feature_token_ids must be distinct token ids")
        if any(not 0 <= t < vocab_size for t in ids):
            raise ValueError(f"label token ids must lie in [0, vocab_size={vocab_size})")
        if not (0 <= rating_slot < bos_slot and 0 <= feature_slot < bos_slot and rating_slot != feature_slot):
            raise ValueError("rating_slot and feature_slot must be distinct offsets before bos_slot")
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}")
        if reward_type != "rating" and not feature_token_ids:
            raise ValueError(f"reward_type={reward_type!r} needs feature_token_ids")
        if not 0.0 <= eps <= 1.0:
            raise ValueError(f"eps must be in [0, 1], got {eps}")
        if not (math.isfinite(brevity_weight) and brevity_weight >= 0):
            raise ValueError(f"brevity_weight must be a finite number >= 0, got {brevity_weight}")
        if brevity_weight > 0 and not (reference_length is not None and math.isfinite(reference_length)
                                       and reference_length > 0):
            raise ValueError(f"brevity_weight > 0 needs a positive reference_length, got {reference_length}")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.dropout = dropout
        self.pooling = pooling
        self.rating_token_ids = rating_token_ids
        self.feature_token_ids = feature_token_ids
        self.rating_prior = _check_prior("rating_prior", rating_prior, len(rating_token_ids))
        self.feature_prior = _check_prior("feature_prior", feature_prior, len(feature_token_ids))
        self.rating_slot = rating_slot
        self.feature_slot = feature_slot
        self.bos_slot = bos_slot
        self.reward_type = reward_type
        self.eps = float(eps)
        self.brevity_weight = float(brevity_weight)
        self.reference_length = None if reference_length is None else float(reference_length)
        self.initializer_range = initializer_range
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)

    @property
    def num_ratings(self) -> int:
        return len(self.rating_token_ids)

    @property
    def num_features(self) -> int:
        return len(self.feature_token_ids)

    @property
    def reward_weights(self) -> tuple:
        """`(w_rating, w_feature)` of the reward: rating (1, 0), feature (0, 1), joint (1 - eps, eps)."""
        return {"rating": (1.0, 0.0), "feature": (0.0, 1.0), "joint": (1.0 - self.eps, self.eps)}[self.reward_type]
