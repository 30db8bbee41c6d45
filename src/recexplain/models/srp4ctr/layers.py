"""Layers shared by the CTR models of this folder (FuxiCTR-style small building blocks).

Shapes: `B` batch, `L` history length, `A` attribute slots, `N` candidates, `H` hidden size,
`nh` heads, `hd = H / nh`.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `states [..., T, D]` over the positions where `mask [..., T]` is 1; zeros if none."""
    mask = mask.to(states.dtype).unsqueeze(-1)  # [..., T, 1]
    return (states * mask).sum(-2) / mask.sum(-2).clamp(min=1.0)  # [..., D]


def extended_attention_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`mask [B, T]` (1 = attend) -> additive mask `[B, 1, 1, T]` (0 or the dtype's minimum)."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class PReLU(nn.Module):
    """PReLU with one learnable slope per feature of the LAST dimension (init 0.25)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.full((num_features,), 0.25))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.weight * x)


class Dice(nn.Module):
    """Dice activation (DIN paper): `p * x + (1 - p) * alpha * x`, `p = sigmoid(BN(x))` per feature."""

    def __init__(self, num_features: int, eps: float = 1e-8):
        super().__init__()
        self.norm = nn.BatchNorm1d(num_features, eps=eps, affine=False)
        self.alpha = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(self.norm(x.reshape(-1, x.shape[-1])).reshape(x.shape))  # [..., D]
        return p * x + (1.0 - p) * self.alpha * x


def build_activation(name: str, num_features: int) -> nn.Module:
    """`"relu"`, `"prelu"` (one slope per feature) or `"dice"`."""
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return PReLU(num_features)
    if name == "dice":
        return Dice(num_features)
    raise ValueError(f"unknown activation {name!r}")


class MLP(nn.Module):
    """`[..., input_size]` -> Linear/activation/dropout per hidden size -> optional Linear to `output_size`."""

    def __init__(self, input_size, hidden_sizes, activation="prelu", dropout=0.0, output_size=None):
        super().__init__()
        sizes = [input_size, *hidden_sizes]
        self.linears = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.activations = nn.ModuleList(build_activation(activation, o) for o in sizes[1:])
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(sizes[-1], output_size) if output_size is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for linear, activation in zip(self.linears, self.activations):
            x = self.dropout(activation(linear(x)))
        return self.output(x) if self.output is not None else x


class FieldEmbeddings(nn.Module):
    """Embeddings of the event fields, fused by summation (all `[*, H]`).

    An item is `item_id` + the mean of its attribute embeddings (PAD slots ignored; [MASK] slots
    count, so a masked position reveals neither the attributes nor their number). An event adds
    the behaviour and time-gap embeddings. With `config.use_side_info=False` only item ids are used.
    `hidden_size` overrides `config.hidden_size` (DIN inside `DINQFormerForCTRPrediction`).
    """

    def __init__(self, config, hidden_size=None):
        super().__init__()
        size, pad = hidden_size or config.hidden_size, config.pad_token_id
        self.use_side_info, self.pad_token_id = config.use_side_info, pad
        self.item_embeddings = nn.Embedding(config.item_vocab_size, size, padding_idx=pad)
        if self.use_side_info:
            self.attr_embeddings = nn.Embedding(config.attr_vocab_size, size, padding_idx=pad)
            self.behavior_embeddings = nn.Embedding(config.behavior_vocab_size, size, padding_idx=pad)
            self.time_embeddings = nn.Embedding(config.time_vocab_size, size, padding_idx=pad)

    def items(self, item_ids: torch.Tensor, attr_ids: torch.Tensor = None, with_attributes: bool = True) -> torch.Tensor:
        """`item_ids [*]`, `attr_ids [*, A]` -> `[*, H]` (`with_attributes=False`: the item id's alone)."""
        embeds = self.item_embeddings(item_ids)  # [*, H]
        if self.use_side_info and with_attributes:
            embeds = embeds + self.attributes(attr_ids)  # [*, H]
        return embeds

    def attributes(self, attr_ids: torch.Tensor) -> torch.Tensor:
        """`attr_ids [*, A]` -> the mean of their embeddings `[*, H]` (PAD slots ignored)."""
        if attr_ids is None:
            raise ValueError("attr_ids are required when config.use_side_info=True")
        return masked_mean(self.attr_embeddings(attr_ids), attr_ids != self.pad_token_id)

    def events(self, item_ids, attr_ids=None, behavior_ids=None, time_ids=None, with_attributes: bool = True):
        """History events `[B, L]` (+ `attr_ids [B, L, A]`) -> `[B, L, H]`."""
        embeds = self.items(item_ids, attr_ids, with_attributes)  # [B, L, H]
        if self.use_side_info:
            if behavior_ids is None or time_ids is None:
                raise ValueError("behavior_ids and time_ids are required when config.use_side_info=True")
            embeds = embeds + self.behavior_embeddings(behavior_ids) + self.time_embeddings(time_ids)
        return embeds


class ResidualAttention(nn.Module):
    """Multi-head attention with explicit `query`/`key`/`value`/`output` Linear layers, then dropout,
    residual and LayerNorm (post-LN, BERT style).

    Self-attention by default; cross-attention with `key_value_states`; or attention over
    precomputed `key_value=(k, v)` (each `[B, nh, T, hd]`), which is how the SRP4CTR tower reuses
    the encoder's per-layer K/V. `project_key_value=False` builds a query-only module for that case.
    """

    def __init__(self, hidden_size, num_heads, attention_dropout=0.0, hidden_dropout=0.0, layer_norm_eps=1e-12,
                 project_key_value=True):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, hidden_size // num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        if project_key_value:
            self.key = nn.Linear(hidden_size, hidden_size)
            self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        self.attention_dropout = nn.Dropout(attention_dropout)
        self.dropout = nn.Dropout(hidden_dropout)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.num_heads, self.head_dim).transpose(1, 2)  # [B, nh, T, hd]

    def key_value(self, states: torch.Tensor):
        """`states [B, T, H]` -> `(k, v)`, each `[B, nh, T, hd]`."""
        return self._split_heads(self.key(states)), self._split_heads(self.value(states))

    def forward(self, hidden_states, attention_mask=None, key_value_states=None, key_value=None):
        """`hidden_states [B, Q, H]`, additive `attention_mask [B, 1, 1, T]` -> (`[B, Q, H]`, `(k, v)`)."""
        if key_value is None:
            key_value = self.key_value(hidden_states if key_value_states is None else key_value_states)
        k, v = key_value  # [B, nh, T, hd]
        q = self._split_heads(self.query(hidden_states))  # [B, nh, Q, hd]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # [B, nh, Q, T]
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = self.attention_dropout(scores.softmax(-1))  # [B, nh, Q, T]
        context = (probs @ v).transpose(1, 2).flatten(2)  # [B, Q, H]
        return self.LayerNorm(hidden_states + self.dropout(self.output(context))), key_value


class ResidualFeedForward(nn.Module):
    """`H -> intermediate -> H` feed-forward with dropout, residual and LayerNorm."""

    def __init__(self, hidden_size, intermediate_size, hidden_act="gelu", hidden_dropout=0.0, layer_norm_eps=1e-12):
        super().__init__()
        self.intermediate = nn.Linear(hidden_size, intermediate_size)
        self.act = ACT2FN[hidden_act]
        self.output = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(hidden_dropout)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(hidden_states + self.dropout(self.output(self.act(self.intermediate(hidden_states)))))


def _attention(config, project_key_value=True) -> ResidualAttention:
    return ResidualAttention(config.hidden_size, config.num_attention_heads, config.attention_probs_dropout_prob,
                             config.hidden_dropout_prob, config.layer_norm_eps, project_key_value)


def _feed_forward(config) -> ResidualFeedForward:
    return ResidualFeedForward(config.hidden_size, config.intermediate_size, config.hidden_act,
                               config.hidden_dropout_prob, config.layer_norm_eps)


class TransformerLayer(GradientCheckpointingLayer):
    """Bidirectional self-attention block (SRP4CTR encoder, BST)."""

    def __init__(self, config):
        super().__init__()
        self.attention = _attention(config)
        self.feed_forward = _feed_forward(config)

    def forward(self, hidden_states, attention_mask=None):
        """`[B, T, H]` -> (`[B, T, H]`, this layer's `(k, v)` of its input, each `[B, nh, T, hd]`)."""
        hidden_states, key_value = self.attention(hidden_states, attention_mask)
        return self.feed_forward(hidden_states), key_value


class TargetAttentionLayer(GradientCheckpointingLayer):
    """Uni-directional cross-attention block: candidates `[B, N, H]` attend to a sequence through
    precomputed `(k, v)`; it owns only its query/output projections, LayerNorms and FFN."""

    def __init__(self, config):
        super().__init__()
        self.attention = _attention(config, project_key_value=False)
        self.feed_forward = _feed_forward(config)

    def forward(self, hidden_states, key_value, attention_mask=None):
        """`hidden_states [B, N, H]`, `key_value` `[B, nh, L, hd]` each -> `[B, N, H]`."""
        hidden_states, _ = self.attention(hidden_states, attention_mask, key_value=key_value)
        return self.feed_forward(hidden_states)


class QueryLayer(GradientCheckpointingLayer):
    """Querying-transformer block: queries self-attend, cross-attend to encoder states (own K/V), FFN."""

    def __init__(self, config):
        super().__init__()
        self.self_attention = _attention(config)
        self.cross_attention = _attention(config)
        self.feed_forward = _feed_forward(config)

    def forward(self, queries, encoder_states, encoder_attention_mask=None):
        """`queries [B, K, H]`, `encoder_states [B, L, H]`, additive mask `[B, 1, 1, L]` -> `[B, K, H]`."""
        queries, _ = self.self_attention(queries)
        queries, _ = self.cross_attention(queries, encoder_attention_mask, key_value_states=encoder_states)
        return self.feed_forward(queries)


class ActivationUnit(nn.Module):
    """DIN's local activation unit: for every (candidate, history event) pair an MLP over
    `[q, k, q - k, q * k]` gives an attention weight (not softmax-normalised, as in the paper).

    The first layer is evaluated in its folded form: `W [q; k; q-k; q*k] = (Wq + Wd) q + (Wk - Wd) k
    + Wp (q * k)`, so only the `q * k` term is computed per pair (same parameters and output as the
    concatenation, about 4x fewer first-layer FLOPs).
    """

    def __init__(self, hidden_size, hidden_sizes, activation="prelu", dropout=0.0):
        super().__init__()
        self.first = nn.Linear(4 * hidden_size, hidden_sizes[0])
        self.first_activation = build_activation(activation, hidden_sizes[0])
        self.mlp = MLP(hidden_sizes[0], hidden_sizes[1:], activation, dropout, output_size=1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, mask):
        """`queries [B, N, D]`, `keys [B, L, D]`, `mask [B, L]` -> weights `[B, N, L]` (0 at padding)."""
        w_q, w_k, w_d, w_p = self.first.weight.chunk(4, dim=1)  # each [h, D]
        query_part = queries @ (w_q + w_d).T + self.first.bias  # [B, N, h]
        key_part = keys @ (w_k - w_d).T  # [B, L, h]
        pair_part = (queries[:, :, None, :] * keys[:, None, :, :]) @ w_p.T  # [B, N, L, h]
        hidden = pair_part + query_part[:, :, None, :] + key_part[:, None, :, :]  # [B, N, L, h]
        hidden = self.dropout(self.first_activation(hidden))
        weights = self.mlp(hidden).squeeze(-1)  # [B, N, L]
        return weights * mask[:, None, :].to(weights.dtype)


class DINInterest(nn.Module):
    """DIN's interest pooling + click MLP on given embeddings (shared by DIN and DIN + interest tokens).

    Input of the MLP: `[candidate ; attention-pooled history ; user]`, all of width `D`, then
    `extra_size` per-candidate features (`DINQFormerForCTRPrediction`: its read-out of the interest tokens).
    """

    def __init__(self, hidden_size, attention_hidden_sizes, mlp_hidden_sizes, activation, dropout, extra_size=0):
        super().__init__()
        self.activation_unit = ActivationUnit(hidden_size, attention_hidden_sizes, activation, dropout)
        self.mlp = MLP(3 * hidden_size + extra_size, mlp_hidden_sizes, activation, dropout, output_size=1)

    def forward(self, history, history_mask, candidates, users, extra=None):
        """`history [B, L, D]`, `history_mask [B, L]`, `candidates [B, N, D]`, `users [B, D]`, optional
        `extra [B, N, extra_size]` -> logits `[B, N]`."""
        weights = self.activation_unit(candidates, history, history_mask)  # [B, N, L]
        interest = weights @ history  # [B, N, D]
        users = users[:, None, :].expand_as(candidates)  # [B, N, D]
        features = [candidates, interest, users] + ([extra] if extra is not None else [])
        return self.mlp(torch.cat(features, dim=-1)).squeeze(-1)  # [B, N]


@dataclass
class CTRPredictionOutput(ModelOutput):
    """
    Output of every `*ForCTRPrediction` model.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` are passed):
            mean binary cross-entropy of the click logits against `labels`.
        logits (`torch.FloatTensor` of shape `(batch_size, num_candidates)`):
            click logits (apply a sigmoid for probabilities).
    """

    loss: Optional[torch.FloatTensor] = None
    logits: Optional[torch.FloatTensor] = None


def click_loss(logits: torch.Tensor, labels: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Mean BCE-with-logits over `[B, N]`; None without labels."""
    if labels is None:
        return None
    return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class CTRPredictionMixin:
    """The `forward` of every `*ForCTRPrediction` model (put it before the `PreTrainedModel` base).

    It declares exactly the CTR batch keys (no `**kwargs`: an unknown key is a TypeError), fills the
    default `history_mask` and adds the loss; the model computes the logits in `click_logits`, which
    takes the same arguments (without `labels`, with `history_mask` filled in) and returns `[B, N]`.
    """

    def forward(
        self,
        history_item_ids: torch.LongTensor,
        history_attr_ids: Optional[torch.LongTensor] = None,
        history_behavior_ids: Optional[torch.LongTensor] = None,
        history_time_ids: Optional[torch.LongTensor] = None,
        history_mask: Optional[torch.Tensor] = None,
        candidate_item_ids: torch.LongTensor = None,
        candidate_attr_ids: Optional[torch.LongTensor] = None,
        user_ids: torch.LongTensor = None,
        labels: Optional[torch.FloatTensor] = None,
    ) -> CTRPredictionOutput:
        """
        Args:
            history_item_ids `[B, L]`, history_attr_ids `[B, L, A]`, history_behavior_ids `[B, L]`,
            history_time_ids `[B, L]`: the user's behaviour sequence (field ids).
            history_mask `[B, L]`: 1 = real event, 0 = padding (default: `history_item_ids != PAD`).
            candidate_item_ids `[B, N]`, candidate_attr_ids `[B, N, A]`: items to score.
            user_ids `[B]`: user ids.
            labels `[B, N]`: 0/1 clicks; the loss is the mean BCE.
        Returns: `CTRPredictionOutput` with `logits [B, N]`.
        """
        if history_mask is None:
            history_mask = history_item_ids != self.config.pad_token_id
        logits = self.click_logits(history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids,
                                   history_mask, candidate_item_ids, candidate_attr_ids, user_ids)  # [B, N]
        return CTRPredictionOutput(loss=click_loss(logits, labels), logits=logits)

    def click_logits(self, history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids, history_mask,
                     candidate_item_ids, candidate_attr_ids, user_ids) -> torch.Tensor:
        raise NotImplementedError


class CTRPreTrainedModel(PreTrainedModel):
    """Weight init shared by the CTR models (subclasses set `config_class` and `base_model_prefix`; their configs
    validate themselves when built and saved)."""

    main_input_name = "history_item_ids"
    base_model_class = None  # the class `AutoModel` gives for this config; None: the model itself

    def save_pretrained(self, save_directory, **kwargs):
        """`PreTrainedModel.save_pretrained`; with remote code on (`register_for_auto_class`), the saved `auto_map`
        also names `base_model_class` under `AutoModel`, as the package registers it in-process."""
        if self._auto_class is not None:
            base = self.base_model_class or type(self)
            self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}),
                                    "AutoModel": f"{base.__module__.rsplit('.', 1)[-1]}.{base.__name__}"}
        return super().save_pretrained(save_directory, **kwargs)

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (MLP, ActivationUnit)):  # CTR MLPs: Glorot init (0.02 std would starve deep MLPs)
            for linear in module.modules():
                if isinstance(linear, nn.Linear):
                    init.xavier_uniform_(linear.weight)
                    init.zeros_(linear.bias)
        elif isinstance(module, PReLU):
            init.constant_(module.weight, 0.25)
        elif isinstance(module, Dice):
            init.zeros_(module.alpha)
