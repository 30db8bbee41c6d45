"""MINE mutual-information estimator over explanations, and its TRL reward-model form.

MMI (Zhao et al., CIKM 2024, arXiv 2407.13274) estimates I(label; explanation)
with MINE (Belghazi et al., ICML 2018) and uses it as the RL reward. Here:

- explanation embedding `e`: mean of learned token embeddings over the explanation
  tokens (after `<bos>`, before the first `<eos>`); at position `t` the mean over the
  explanation tokens up to `t`, so every position carries the estimate for the prefix;
- statistics network `T(e, y)`: an MLP over `e` with one output per label, i.e. the
  scores of every rating (or feature) at once; the rating and the feature have their own
  encoder and network (two independent estimators in one model);
- pointwise MI `T(e, y) - log sum_y' p(y') exp T(e, y')` (no random negatives needed);
  with the DV optimum `T* = log p(e, y) / p(e)p(y) + c(e)` it equals `log p(y|e) / p(y)`.

The MINE training objective (Donsker-Varadhan bound with the moving-average bias
correction) lives with the trainer helpers in `recexplain.mmi.mine`.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_mi_estimator import MIEstimatorConfig


def log_prior(prior, num_labels: int, reference: torch.Tensor) -> torch.Tensor:
    """`log p(y)` as a tensor like `reference` (uniform when `prior` is None)."""
    if prior is None:
        return reference.new_full((num_labels,), -math.log(num_labels))
    return torch.log(reference.new_tensor(prior))


def pointwise_mutual_information(statistics: torch.Tensor, labels: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """`T(e, y) - logsumexp_y'(log p(y') + T(e, y'))`, finite for any finite scores.

    Args:
        statistics (`torch.Tensor` of shape `(..., num_labels)`): `T(e, y')` for every label.
        labels (`torch.LongTensor` of shape `(...)`): the label `y`; negative = no label (gives 0).
        log_p (`torch.Tensor` of shape `(num_labels,)`): log prior.
    Returns:
        `torch.Tensor` of shape `(...)`.
    """
    statistics = statistics.float()
    valid = labels >= 0
    joint = statistics.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    marginal = torch.logsumexp(statistics + log_p.float(), dim=-1)
    return torch.where(valid, joint - marginal, torch.zeros_like(joint))


def slot_labels(input_ids: torch.Tensor, start: torch.Tensor, slot: int, label_token_ids) -> torch.LongTensor:
    """Label index of the token at `start + slot` in each row (-100 when it is not a label token)."""
    if not label_token_ids:
        return torch.full_like(start, -100)
    position = (start + slot).clamp(max=input_ids.shape[1] - 1)
    tokens = input_ids.gather(1, position.unsqueeze(1))  # [B, 1]
    match = tokens == input_ids.new_tensor(label_token_ids).unsqueeze(0)  # [B, L]
    return torch.where(match.any(-1), match.long().argmax(-1), torch.full_like(start, -100))


@dataclass
class MIEstimatorOutput(ModelOutput):
    r"""
    Outputs of [`MIEstimatorModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`, or
            `2 * hidden_size` with a feature network): explanation embeddings `e_t` of the rating network (and of
            the feature network, concatenated) for the explanation prefix ending at each position (zeros before
            the first explanation token).
        rating_statistics (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_ratings)`):
            `T(e_t, r)` for every rating.
        feature_statistics (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_features)`, *optional*):
            `T(e_t, f)` for every feature (absent without feature tokens).
        pointwise_mi (`torch.FloatTensor` of shape `(batch_size, sequence_length, 2)`):
            pointwise MI of the query's rating and feature labels at each position (0 where a label is missing).
        rating_labels, feature_labels (`torch.LongTensor` of shape `(batch_size,)`):
            labels read from the query's slots (-100 where the slot holds no label token).
        explanation_mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): explanation tokens.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, with `output_hidden_states=True`):
            `last_hidden_state` and the reward inputs `(B, S, 3)`: `pointwise_mi` and the number of explanation
            tokens up to each position; the last one is what the reward head [`MIRewardHead`] reads (TRL's
            reward-model convention).
    """

    last_hidden_state: Optional[torch.FloatTensor] = None
    rating_statistics: Optional[torch.FloatTensor] = None
    feature_statistics: Optional[torch.FloatTensor] = None
    pointwise_mi: Optional[torch.FloatTensor] = None
    rating_labels: Optional[torch.LongTensor] = None
    feature_labels: Optional[torch.LongTensor] = None
    explanation_mask: Optional[torch.BoolTensor] = None
    hidden_states: Optional[Tuple[torch.FloatTensor, ...]] = None


@dataclass
class MIRewardOutput(ModelOutput):
    r"""
    Outputs of [`MIEstimatorForRewardModeling`].

    Args:
        logits (`torch.FloatTensor` of shape `(batch_size, 1)`): reward at the last non-padding token.
        token_rewards (`torch.FloatTensor` of shape `(batch_size, sequence_length)`): reward of each prefix.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): as in [`MIEstimatorOutput`].
    """

    logits: Optional[torch.FloatTensor] = None
    token_rewards: Optional[torch.FloatTensor] = None
    hidden_states: Optional[Tuple[torch.FloatTensor, ...]] = None


class MIStatisticsNetwork(nn.Module):
    """One MINE estimator: explanation encoder + statistics network `T(e, y)` for all labels at once.

    `e_t` = LayerNorm(mean, or element-wise max with `config.pooling == "max"`, of the token embeddings of the
    explanation tokens up to `t`) (zeros before the first explanation token); `T(e_t, .)` = MLP(e_t) ->
    `(..., num_labels)`. The rating and the feature get separate
    networks, so each can be trained (and early-stopped) on its own.
    """

    def __init__(self, config: MIEstimatorConfig, num_labels: int):
        super().__init__()
        self.pooling = config.pooling
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = nn.GELU()
        self.out = nn.Linear(config.intermediate_size, num_labels)

    def encode(self, input_ids: torch.LongTensor, explanation_mask: torch.Tensor) -> torch.Tensor:
        """Prefix explanation embeddings `(B, S, hidden_size)`."""
        tokens = self.embeddings(input_ids)  # [B, S, H]
        weights = explanation_mask.to(tokens.dtype).unsqueeze(-1)  # [B, S, 1]
        seen = weights.cumsum(1)  # [B, S, 1] explanation tokens up to t
        if self.pooling == "max":
            masked = tokens.masked_fill(weights == 0, torch.finfo(tokens.dtype).min)  # [B, S, H]
            pooled = masked.cummax(1).values.masked_fill(seen == 0, 0.0)  # [B, S, H]
        else:
            pooled = (tokens * weights).cumsum(1) / seen.clamp(min=1.0)  # [B, S, H]
        return self.dropout(self.norm(pooled)) * (seen > 0)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.dense(embedding)))  # [..., num_labels]


class MIEstimatorPreTrainedModel(PreTrainedModel):
    config_class = MIEstimatorConfig
    base_model_prefix = "backbone"
    main_input_name = "input_ids"

    def _init_weights(self, module):
        super()._init_weights(module)


class MIEstimatorModel(MIEstimatorPreTrainedModel):
    """Explanation encoder plus MINE statistics networks for the rating and (optionally) the feature."""

    def __init__(self, config: MIEstimatorConfig):
        super().__init__(config)
        self.rating_head = MIStatisticsNetwork(config, config.num_ratings)
        self.feature_head = MIStatisticsNetwork(config, config.num_features) if config.num_features else None
        self.post_init()

    def get_input_embeddings(self):
        return self.rating_head.embeddings

    def set_input_embeddings(self, value):
        self.rating_head.embeddings = value

    def explanation_mask(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor):
        """`(start, mask)`: first non-padding index `(B,)` and the explanation tokens `(B, S)`."""
        attention_mask = attention_mask.bool()
        start = attention_mask.long().argmax(-1)  # [B] first real token (queries are left-padded)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)  # [1, S]
        after_bos = positions > (start + self.config.bos_slot).unsqueeze(1)  # [B, S]
        is_eos = (input_ids == self.config.eos_token_id) & after_bos
        before_eos = is_eos.long().cumsum(-1) == 0  # up to (excluding) the first <eos>
        return start, attention_mask & after_bos & before_eos

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.LongTensor] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        use_cache: Optional[bool] = None,
        **kwargs,
    ) -> MIEstimatorOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): prompt-layout sequences.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*): 1 = real token;
                defaults to `input_ids != pad_token_id`.
            position_ids, use_cache: accepted for TRL's calling convention; unused (the encoder is order-free).
        """
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_token_id
        start, mask = self.explanation_mask(input_ids, attention_mask)
        length = input_ids.shape[1]
        rating_embedding = self.rating_head.encode(input_ids, mask)  # [B, S, H]
        rating_statistics = self.rating_head(rating_embedding)  # [B, S, R]
        rating_labels = slot_labels(input_ids, start, self.config.rating_slot, self.config.rating_token_ids)
        rating_pmi = pointwise_mutual_information(
            rating_statistics,
            rating_labels.unsqueeze(1).expand(-1, length),
            log_prior(self.config.rating_prior, self.config.num_ratings, rating_statistics),
        )  # [B, S]
        embedding, feature_statistics, feature_pmi = rating_embedding, None, torch.zeros_like(rating_pmi)
        feature_labels = slot_labels(input_ids, start, self.config.feature_slot, self.config.feature_token_ids)
        if self.feature_head is not None:
            feature_embedding = self.feature_head.encode(input_ids, mask)  # [B, S, H]
            embedding = torch.cat([rating_embedding, feature_embedding], dim=-1)  # [B, S, 2H]
            feature_statistics = self.feature_head(feature_embedding)  # [B, S, F]
            feature_pmi = pointwise_mutual_information(
                feature_statistics,
                feature_labels.unsqueeze(1).expand(-1, length),
                log_prior(self.config.feature_prior, self.config.num_features, feature_statistics),
            )  # [B, S]
        pointwise_mi = torch.stack([rating_pmi, feature_pmi], dim=-1)  # [B, S, 2]
        if output_hidden_states:
            seen = mask.to(pointwise_mi.dtype).cumsum(-1).unsqueeze(-1)  # [B, S, 1] explanation tokens up to t
            reward_inputs = torch.cat([pointwise_mi, seen], dim=-1)  # [B, S, 3]
        return MIEstimatorOutput(
            last_hidden_state=embedding,
            rating_statistics=rating_statistics,
            feature_statistics=feature_statistics,
            pointwise_mi=pointwise_mi,
            rating_labels=rating_labels,
            feature_labels=feature_labels,
            explanation_mask=mask,
            hidden_states=(embedding, reward_inputs) if output_hidden_states else None,
        )

    @staticmethod
    def last_index(attention_mask: torch.Tensor) -> torch.LongTensor:
        """Index of the last non-padding token of each row `(B,)`."""
        mask = attention_mask.long()
        return mask.shape[1] - 1 - mask.flip(-1).argmax(-1)

    def statistics(self, input_ids, attention_mask=None, label_type: str = "rating") -> torch.Tensor:
        """`T(e, y)` of the whole explanation for every label: `(batch_size, num_labels)`."""
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_token_id
        output = self(input_ids, attention_mask=attention_mask)
        scores = output.rating_statistics if label_type == "rating" else output.feature_statistics
        if scores is None:
            raise ValueError(f"this estimator has no {label_type!r} statistics")
        return scores[torch.arange(len(scores)), self.last_index(attention_mask)]

    def pointwise_mi(self, input_ids, attention_mask=None, labels=None, label_type: str = "rating") -> torch.Tensor:
        """Pointwise MI of the whole explanation with `labels` (default: the query's slot label): `(batch_size,)`."""
        if label_type not in ("rating", "feature"):
            raise ValueError(f"label_type must be 'rating' or 'feature', got {label_type!r}")
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_token_id
        statistics = self.statistics(input_ids, attention_mask, label_type)
        if labels is None:
            start = attention_mask.long().argmax(-1)
            slot = self.config.rating_slot if label_type == "rating" else self.config.feature_slot
            ids = self.config.rating_token_ids if label_type == "rating" else self.config.feature_token_ids
            labels = slot_labels(input_ids, start, slot, ids)
        prior = self.config.rating_prior if label_type == "rating" else self.config.feature_prior
        return pointwise_mutual_information(statistics, labels, log_prior(prior, statistics.shape[-1], statistics))


class MIRewardHead(nn.Module):
    """The reward `(B, S, 1)` of every prefix from the reward inputs `(B, S, 3)` (pointwise MIs of the rating and
    the feature, explanation length `n`): the MIs mixed by `config.reward_type`, plus
    `config.brevity_weight * min(0, 1 - config.reference_length / n)` when the weight is positive."""

    def __init__(self, config: MIEstimatorConfig):
        super().__init__()
        self.config = config

    def forward(self, reward_inputs: torch.Tensor) -> torch.Tensor:
        pointwise_mi, length = reward_inputs[..., :2], reward_inputs[..., 2:]  # [B, S, 2], [B, S, 1]
        reward = (pointwise_mi * pointwise_mi.new_tensor(self.config.reward_weights)).sum(-1, keepdim=True)
        if self.config.brevity_weight > 0:
            brevity = (1.0 - self.config.reference_length / length.clamp(min=1.0)).clamp(max=0.0)  # [B, S, 1]
            reward = reward + self.config.brevity_weight * brevity
        return reward


class MIEstimatorForRewardModeling(MIEstimatorPreTrainedModel):
    """The estimator behind TRL's reward-model convention.

    `getattr(model, model.base_model_prefix)` is the [`MIEstimatorModel`]; its `hidden_states[-1]` holds the
    pointwise MIs and the explanation length of every prefix and `model.score` maps them to the reward
    `(B, S, 1)`, which `trl.experimental.utils.get_reward` reads at the last non-padding token. Reward = pointwise
    MI of the query's rating (`reward_type="rating"`), feature (`"feature"`) or `(1 - eps) * rating + eps *
    feature`, plus the brevity term of `config.brevity_weight`.
    """

    def __init__(self, config: MIEstimatorConfig):
        super().__init__(config)
        self.backbone = MIEstimatorModel(config)
        self.score = MIRewardHead(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.backbone.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.backbone.set_input_embeddings(value)

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.LongTensor] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        **kwargs,
    ) -> MIRewardOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): query + response.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*).
        Returns:
            [`MIRewardOutput`] with `logits` `(batch_size, 1)`: the reward of each full explanation.
        """
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_token_id
        output = self.backbone(input_ids, attention_mask=attention_mask, output_hidden_states=True)
        token_rewards = self.score(output.hidden_states[-1]).squeeze(-1)  # [B, S]
        last = MIEstimatorModel.last_index(attention_mask)  # [B]
        logits = token_rewards[torch.arange(len(last), device=last.device), last].unsqueeze(-1)  # [B, 1]
        bad = ~torch.isfinite(logits.squeeze(-1))  # [B]
        if bad.any():  # PPO would turn a NaN reward into NaN advantages and NaN policy weights
            raise FloatingPointError(
                f"MI reward is NaN or infinite for {int(bad.sum())} of {len(bad)} responses (first: response "
                f"{int(bad.nonzero()[0])}); check the reward model's weights and inputs")
        return MIRewardOutput(
            logits=logits,
            token_rewards=token_rewards,
            hidden_states=output.hidden_states if output_hidden_states else None,
        )


__all__ = [
    "MIEstimatorPreTrainedModel", "MIEstimatorModel", "MIEstimatorForRewardModeling", "MIEstimatorOutput",
    "MIRewardOutput", "MIRewardHead", "MIStatisticsNetwork", "pointwise_mutual_information", "log_prior",
]
