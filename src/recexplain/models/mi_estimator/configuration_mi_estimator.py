"""Configuration of the MINE mutual-information estimator used as MMI's reward model.

MMI: Zhao et al., "Aligning Explanations for Recommendation with Rating and
Feature via Maximizing Mutual Information", CIKM 2024 (arXiv 2407.13274).
"""
import math
from transformers import PreTrainedConfig

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


class MIEstimatorConfig(PreTrainedConfig):
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

    vocab_size: int = 64
    hidden_size: int = 64
    intermediate_size: int = 128
    dropout: float = 0.1
    pooling: str = "mean"
    rating_token_ids: list[int] | None = None
    feature_token_ids: list[int] | None = None
    rating_prior: list[float] | None = None
    feature_prior: list[float] | None = None
    rating_slot: int = 2
    feature_slot: int = 3
    bos_slot: int = 4
    reward_type: str = "rating"
    eps: float = 0.2
    brevity_weight: float = 0.0
    reference_length: float | None = None
    initializer_range: float = 0.02
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2

    def __post_init__(self, **kwargs):
        self.rating_token_ids = (list(range(3, 8)) if self.rating_token_ids is None
                                 else [int(t) for t in self.rating_token_ids])
        self.feature_token_ids = [int(t) for t in self.feature_token_ids or []]
        self.eps, self.brevity_weight = float(self.eps), float(self.brevity_weight)
        if self.reference_length is not None:
            self.reference_length = float(self.reference_length)
        super().__post_init__(**kwargs)
        self.validate()

    def validate(self):
        """Raise `ValueError` on inconsistent settings (also run when saving)."""
        super().validate()
        for name in ("vocab_size", "hidden_size", "intermediate_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if len(self.rating_token_ids) < 2:
            raise ValueError("rating_token_ids needs at least two rating tokens")
        ids = self.rating_token_ids + self.feature_token_ids
        if len(set(ids)) != len(ids):
            raise ValueError("rating_token_ids and feature_token_ids must be distinct token ids")
        if any(not 0 <= t < self.vocab_size for t in ids):
            raise ValueError(f"label token ids must lie in [0, vocab_size={self.vocab_size})")
        self.rating_prior = _check_prior("rating_prior", self.rating_prior, len(self.rating_token_ids))
        self.feature_prior = _check_prior("feature_prior", self.feature_prior, len(self.feature_token_ids))
        if not (0 <= self.rating_slot < self.bos_slot and 0 <= self.feature_slot < self.bos_slot
                and self.rating_slot != self.feature_slot):
            raise ValueError("rating_slot and feature_slot must be distinct offsets before bos_slot")
        if self.reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {self.reward_type!r}")
        if self.reward_type != "rating" and not self.feature_token_ids:
            raise ValueError(f"reward_type={self.reward_type!r} needs feature_token_ids")
        if not 0.0 <= self.eps <= 1.0:
            raise ValueError(f"eps must be in [0, 1], got {self.eps}")
        if not (math.isfinite(self.brevity_weight) and self.brevity_weight >= 0):
            raise ValueError(f"brevity_weight must be a finite number >= 0, got {self.brevity_weight}")
        if self.brevity_weight > 0 and not (self.reference_length is not None and math.isfinite(self.reference_length)
                                            and self.reference_length > 0):
            raise ValueError(f"brevity_weight > 0 needs a positive reference_length, got {self.reference_length}")

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
