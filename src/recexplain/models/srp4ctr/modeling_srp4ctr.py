"""SRP4CTR (Han et al., "SRP4CTR: Sequential Recommendation Pre-training for CTR", 2024).

- `SRP4CTRModel`: FG-BERT encoder; each position sums item id, pooled attributes, behaviour,
  time gap and position embeddings; bidirectional Transformer.
- `SRP4CTRForPreTraining`: one prediction head per masked field, weighted sum of losses.
- `SRP4CTRForCTRPrediction`: uni-directional cross-attention tower that reuses the encoder's input
  embeddings and per-layer K/V; scores `N` candidates per user with the user side computed once.
- `SRP4CTRQueryingTransformer`: `K` learnable queries -> `K` interest tokens for another CTR model.

Shapes: `B` batch, `L` history length, `A` attribute slots, `N` candidates, `H` hidden size,
`M` masked positions, `S` sampled negatives.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.utils import ModelOutput

from .configuration_srp4ctr import SRP4CTRConfig
from .layers import (
    MLP,
    CTRPredictionMixin,
    CTRPreTrainedModel,
    FieldEmbeddings,
    QueryLayer,
    TargetAttentionLayer,
    TransformerLayer,
    extended_attention_mask,
    masked_mean,
)

IGNORE_INDEX = -100  # the collators' (restated: a remote-code model file imports nothing from recexplain)


@dataclass
class SRP4CTRModelOutput(ModelOutput):
    """
    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, seq_len, hidden_size)`): final states.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, with `output_hidden_states=True`):
            `num_hidden_layers + 1` tensors `(batch_size, seq_len, hidden_size)`: the input of every layer
            (embeddings first), then the final states.
        key_values (`tuple(tuple(torch.FloatTensor))`, *optional*, with `output_key_values=True`):
            per layer `(key, value)`, each `(batch_size, num_heads, seq_len, head_dim)`: that layer's
            K/V projections of its input states (what the CTR tower attends to).
    """

    last_hidden_state: Optional[torch.FloatTensor] = None
    hidden_states: Optional[tuple[torch.FloatTensor, ...]] = None
    key_values: Optional[tuple[tuple[torch.FloatTensor, torch.FloatTensor], ...]] = None


@dataclass
class SRP4CTRForPreTrainingOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when any `labels_*` is passed):
            `sum_f config.pretraining_loss_weights[f] * loss_f` over the fields with targets in the batch.
        item_id_loss / item_attr_loss / behavior_loss / time_gap_loss (`torch.FloatTensor` of shape `()`, *optional*):
            per-field losses (None when the field has no masked position in the batch or no head).
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, seq_len, hidden_size)`): encoder states.
    """

    loss: Optional[torch.FloatTensor] = None
    item_id_loss: Optional[torch.FloatTensor] = None
    item_attr_loss: Optional[torch.FloatTensor] = None
    behavior_loss: Optional[torch.FloatTensor] = None
    time_gap_loss: Optional[torch.FloatTensor] = None
    last_hidden_state: Optional[torch.FloatTensor] = None


class SRP4CTRPreTrainedModel(CTRPreTrainedModel):
    config_class = SRP4CTRConfig
    base_model_prefix = "srp4ctr"
    supports_gradient_checkpointing = True  # encoder, tower and query layers

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, TiedPredictionHead):
            init.zeros_(module.bias)
        elif isinstance(module, SRP4CTRQueryingTransformer):
            init.normal_(module.query_tokens, std=self.config.initializer_range)


class FrozenEncoderMixin:
    """For CTR models holding the encoder as `self.srp4ctr`: `config.freeze_encoder=True` turns off
    its gradients and keeps it in eval mode (no dropout) even under `model.train()`."""

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        # loading replaces the parameters (and their requires_grad flags): freeze again afterwards
        model = super().from_pretrained(*args, **kwargs)
        model.freeze_encoder_if_configured()
        return model

    def freeze_encoder_if_configured(self):
        if self.config.freeze_encoder:
            self.srp4ctr.requires_grad_(False)
            self.srp4ctr.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze_encoder:
            self.srp4ctr.eval()
        return self


class SRP4CTREmbeddings(nn.Module):
    """Fused field embeddings + position embeddings, LayerNorm, dropout: `[B, L]` ids -> `[B, T, H]`, `T = L`
    (`config.attribute_input="sum"`), or `T = 2L` with each event's attribute token right after its event
    token, at the same position (`"token"`, with side information)."""

    def __init__(self, config):
        super().__init__()
        self.fields = FieldEmbeddings(config)
        self.attribute_tokens = config.use_side_info and config.attribute_input == "token"
        self.position_embeddings = nn.Embedding(config.max_seq_len, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, item_ids, attr_ids=None, behavior_ids=None, time_ids=None):
        positions = self.position_embeddings(torch.arange(item_ids.shape[1], device=item_ids.device))  # [L, H]
        if not self.attribute_tokens:
            embeds = self.fields.events(item_ids, attr_ids, behavior_ids, time_ids) + positions  # [B, L, H]
        else:
            events = self.fields.events(item_ids, None, behavior_ids, time_ids, with_attributes=False)  # [B, L, H]
            attributes = self.fields.attributes(attr_ids)  # [B, L, H]
            embeds = torch.stack([events, attributes], dim=2) + positions[:, None]  # [B, L, 2, H]
            embeds = embeds.flatten(1, 2)  # [B, 2L, H]: event_1, attributes_1, event_2, ...
        return self.dropout(self.LayerNorm(embeds))

    def token_mask(self, history_mask: torch.Tensor) -> torch.Tensor:
        """The events' mask `[B, L]` as the mask of the encoder's tokens `[B, T]`."""
        return history_mask.repeat_interleave(2, dim=1) if self.attribute_tokens else history_mask


class SRP4CTRModel(SRP4CTRPreTrainedModel):
    """FG-BERT encoder. `config.use_side_info=False` gives the plain item-id BERT (attribute,
    behaviour and time inputs are then accepted and ignored)."""

    def __init__(self, config: SRP4CTRConfig):
        super().__init__(config)
        self.embeddings = SRP4CTREmbeddings(config)
        self.layers = nn.ModuleList(TransformerLayer(config) for _ in range(config.num_hidden_layers))
        self.post_init()

    def forward(
        self,
        history_item_ids: torch.LongTensor,
        history_attr_ids: Optional[torch.LongTensor] = None,
        history_behavior_ids: Optional[torch.LongTensor] = None,
        history_time_ids: Optional[torch.LongTensor] = None,
        history_mask: Optional[torch.Tensor] = None,
        output_hidden_states: bool = False,
        output_key_values: bool = False,
    ) -> SRP4CTRModelOutput:
        """
        Args:
            history_item_ids `[B, L]`, history_attr_ids `[B, L, A]`, history_behavior_ids `[B, L]`,
            history_time_ids `[B, L]`: field ids (masked positions carry [MASK]).
            history_mask `[B, L]`: 1 = real event, 0 = padding (default: `history_item_ids != PAD`).

        States are the events' `[B, L, H]`; key/values cover every token `[B, nh, T, hd]` (`T = 2L` with
        `config.attribute_input="token"`, masked by `embeddings.token_mask(history_mask)`).
        """
        if history_item_ids.shape[1] > self.config.max_seq_len:
            raise ValueError(f"history length {history_item_ids.shape[1]} > config.max_seq_len {self.config.max_seq_len}")
        if history_mask is None:
            history_mask = history_item_ids != self.config.pad_token_id
        hidden = self.embeddings(history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids)  # [B, T, H]
        mask = extended_attention_mask(self.embeddings.token_mask(history_mask), hidden.dtype)  # [B, 1, 1, T]
        if self.config.causal_attention:  # no event sees a later one
            length = hidden.shape[1]
            later = torch.ones(length, length, dtype=torch.bool, device=hidden.device).triu(1)  # [T, T]
            mask = mask.expand(-1, -1, length, -1).masked_fill(later, torch.finfo(hidden.dtype).min)  # [B, 1, T, T]
        all_hidden, key_values = [hidden], []
        for layer in self.layers:
            hidden, key_value = layer(hidden, mask)  # [B, T, H], 2 x [B, nh, T, hd]
            all_hidden.append(hidden)
            key_values.append(key_value)
        events = slice(None, None, 2) if self.embeddings.attribute_tokens else slice(None)
        return SRP4CTRModelOutput(
            last_hidden_state=hidden[:, events],
            hidden_states=tuple(h[:, events] for h in all_hidden) if output_hidden_states else None,
            key_values=tuple(key_values) if output_key_values else None,
        )


class TiedPredictionHead(nn.Module):
    """BERT-style head: dense + activation + LayerNorm, then scores against the field's input
    embedding table (tied weights, passed at call time) plus an own bias."""

    def __init__(self, config, vocab_size):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def transform(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(hidden)))  # [*, H]

    def forward(self, hidden: torch.Tensor, embedding_weight: torch.Tensor) -> torch.Tensor:
        """`hidden [*, H]`, `embedding_weight [V, H]` -> logits `[*, V]`."""
        return self.transform(hidden) @ embedding_weight.T + self.bias


class SRP4CTRForPreTraining(SRP4CTRPreTrainedModel):
    """FG-BERT pre-training: the masking collator replaces the item fields (item id + all attribute
    slots) or the behaviour fields (behaviour + time gap) of some positions by [MASK] and passes the
    originals as `labels_*` (-100 elsewhere); one head per field predicts them. Labels are only used
    in the losses, never as encoder inputs."""

    base_model_class = SRP4CTRModel

    def __init__(self, config: SRP4CTRConfig):
        super().__init__(config)
        self.srp4ctr = SRP4CTRModel(config)
        vocab = {"item_id": config.item_vocab_size, "item_attr": config.attr_vocab_size,
                 "behavior": config.behavior_vocab_size, "time_gap": config.time_vocab_size}
        self.heads = nn.ModuleDict({f: TiedPredictionHead(config, vocab[f]) for f in config.predicted_fields})
        self.post_init()

    def _table(self, field: str) -> torch.Tensor:
        fields = self.srp4ctr.embeddings.fields
        name = {"item_id": "item", "item_attr": "attr", "behavior": "behavior", "time_gap": "time"}[field]
        return getattr(fields, f"{name}_embeddings").weight  # [V, H]

    def forward(
        self,
        history_item_ids: torch.LongTensor,
        history_attr_ids: Optional[torch.LongTensor] = None,
        history_behavior_ids: Optional[torch.LongTensor] = None,
        history_time_ids: Optional[torch.LongTensor] = None,
        history_mask: Optional[torch.Tensor] = None,
        user_ids: Optional[torch.LongTensor] = None,
        labels_item_id: Optional[torch.LongTensor] = None,
        labels_item_attr: Optional[torch.LongTensor] = None,
        labels_behavior: Optional[torch.LongTensor] = None,
        labels_time_gap: Optional[torch.LongTensor] = None,
    ) -> SRP4CTRForPreTrainingOutput:
        """
        Args:
            history_*: the masked pre-training batch (see `SRP4CTRModel.forward`).
            user_ids `[B]`: part of the batch contract; unused.
            labels_item_id `[B, L]`, labels_behavior `[B, L]`, labels_time_gap `[B, L]`: original ids at
                masked positions, -100 elsewhere.
            labels_item_attr `[B, L, A]`: original attribute ids of item-masked positions (-100 or PAD
                in unused slots, -100 at unmasked positions).
        """
        hidden = self.srp4ctr(history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids,
                              history_mask).last_hidden_state  # [B, L, H]
        labels = {"item_id": labels_item_id, "item_attr": labels_item_attr,
                  "behavior": labels_behavior, "time_gap": labels_time_gap}
        losses = {f: self._field_loss(f, hidden, labels[f]) for f in self.config.predicted_fields if labels[f] is not None}
        losses = {f: v for f, v in losses.items() if v is not None}  # fields masked somewhere in the batch
        loss = None
        if any(v is not None for v in labels.values()):
            # zero term: every parameter joins the graph even when a field has no masked position
            # in this batch (DistributedDataParallel requires it)
            zero = (hidden.sum() + sum(p.sum() for p in self.heads.parameters())) * 0.0
            weights = self.config.pretraining_loss_weights
            loss = sum((weights[f] * v for f, v in losses.items()), zero)
        return SRP4CTRForPreTrainingOutput(
            loss=loss,
            item_id_loss=losses.get("item_id"),
            item_attr_loss=losses.get("item_attr"),
            behavior_loss=losses.get("behavior"),
            time_gap_loss=losses.get("time_gap"),
            last_hidden_state=hidden,
        )

    def _field_loss(self, field, hidden, labels) -> Optional[torch.Tensor]:
        """Loss of one field at its masked positions; None if the batch masks none."""
        selected = (labels != IGNORE_INDEX).any(-1) if field == "item_attr" else labels != IGNORE_INDEX  # [B, L]
        if not selected.any():
            return None
        states, targets = hidden[selected], labels[selected]  # [M, H], [M] or [M, A]
        head, table = self.heads[field], self._table(field)
        if field == "item_id" and self.config.item_loss == "sampled_softmax":
            return self._sampled_softmax_loss(head.transform(states), targets, table, head.bias)
        logits = head(states, table)  # [M, V]
        if field == "item_attr":
            return self._attr_loss(logits, targets)
        return nn.functional.cross_entropy(logits, targets)

    def _attr_loss(self, logits, targets):
        """`logits [M, Va]`, `targets [M, A]` (attribute ids; -100/PAD = empty slot)."""
        valid = (targets != IGNORE_INDEX) & (targets != self.config.pad_token_id)  # [M, A]
        if self.config.attr_loss == "softmax":
            rows = valid.nonzero()[:, 0]  # one row per target attribute
            if rows.numel() == 0:
                return None
            return nn.functional.cross_entropy(logits[rows], targets[valid])
        multi_hot = torch.zeros_like(logits)  # [M, Va]
        multi_hot.scatter_(1, torch.where(valid, targets, 0), valid.to(logits.dtype))
        real = slice(self.config.oov_token_id, None)  # PAD and MASK are never targets
        return nn.functional.binary_cross_entropy_with_logits(logits[:, real], multi_hot[:, real])

    def _sampled_softmax_loss(self, states, targets, table, bias):
        """Sampled softmax: `S = config.num_sampled_negatives` negatives shared by the batch, drawn
        with replacement from the real item ids (after OOV); accidental hits of the target are removed and
        each negative logit is corrected by the log of its expected count `S * q(id)`, so that the
        partition sum estimates the full softmax's (the loss approximates the full cross-entropy).

        `states [M, H]` (transformed), `targets [M]`.
        """
        num_real = self.config.item_vocab_size - self._first_real_item
        sampled = self._sample_items(self.config.num_sampled_negatives, num_real, states.device)  # [S]
        pos = (states * table[targets]).sum(-1) + bias[targets]  # [M]
        neg = states @ table[sampled].T + bias[sampled] - self._log_expected_count(sampled, num_real)  # [M, S]
        neg = neg.masked_fill(sampled[None, :] == targets[:, None], torch.finfo(neg.dtype).min)
        logits = torch.cat([pos[:, None], neg], dim=1)  # [M, 1 + S]
        return nn.functional.cross_entropy(logits, torch.zeros_like(targets))

    @property
    def _first_real_item(self) -> int:
        """The lowest id of a real item: PAD, MASK and OOV come first."""
        return self.config.oov_token_id + 1

    def _sample_items(self, num, num_real, device) -> torch.Tensor:
        if self.config.negative_sampler == "uniform":
            return torch.randint(self._first_real_item, self._first_real_item + num_real, (num,), device=device)
        # log-uniform (Zipf) over ranks r in [0, R): P(r) = log((r + 2) / (r + 1)) / log(R + 1)
        u = torch.rand(num, device=device)
        ranks = (torch.exp(u * math.log(num_real + 1)) - 1).long().clamp_(0, num_real - 1)
        return ranks + self._first_real_item

    def _log_expected_count(self, ids, num_real) -> torch.Tensor:
        """`log(S * q(id))` for sampled ids (real items) under the configured sampler."""
        num = self.config.num_sampled_negatives
        if self.config.negative_sampler == "uniform":
            return torch.full(ids.shape, math.log(num / num_real), device=ids.device)
        ranks = (ids - self._first_real_item).to(torch.float32)
        prob = torch.log((ranks + 2) / (ranks + 1)) / math.log(num_real + 1)
        return torch.log(num * prob)


class SRP4CTRForCTRPrediction(FrozenEncoderMixin, CTRPredictionMixin, SRP4CTRPreTrainedModel):
    """SRP4CTR fine-tuning: at every layer `l` the candidate attends to layer `l`'s sequence input
    through the encoder layer's own key/value projections (the tower only owns query/output
    projections, LayerNorms and FFNs). `[candidate state ; mean final sequence state ; user]` -> MLP ->
    click logit. Candidates never see each other, so one call scores `N` candidates per user while
    the sequence and its K/V are computed once (folded inference).

    `from_pretrained(pretraining_checkpoint)` loads the pre-trained encoder (shared prefix `srp4ctr`);
    `config.freeze_encoder=True` keeps it fixed (no gradients, always eval mode).
    """

    base_model_class = SRP4CTRModel

    def __init__(self, config: SRP4CTRConfig):
        super().__init__(config)
        self.srp4ctr = SRP4CTRModel(config)
        self.candidate_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.tower = nn.ModuleList(TargetAttentionLayer(config) for _ in range(config.num_hidden_layers))
        self.user_embeddings = nn.Embedding(config.user_vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.mlp = MLP(3 * config.hidden_size, config.mlp_hidden_sizes, config.mlp_activation,
                       config.hidden_dropout_prob, output_size=1)
        self.post_init()
        self.freeze_encoder_if_configured()

    def click_logits(self, history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids, history_mask,
                     candidate_item_ids, candidate_attr_ids, user_ids) -> torch.Tensor:
        encoded = self.srp4ctr(history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids,
                               history_mask, output_key_values=True)
        mask = extended_attention_mask(self.srp4ctr.embeddings.token_mask(history_mask),
                                       encoded.last_hidden_state.dtype)  # [B, 1, 1, T]
        fields = self.srp4ctr.embeddings.fields
        candidates = self.dropout(self.candidate_norm(fields.items(candidate_item_ids, candidate_attr_ids)))  # [B, N, H]
        for layer, key_value in zip(self.tower, encoded.key_values):
            candidates = layer(candidates, key_value, mask)  # [B, N, H]
        sequence = masked_mean(encoded.last_hidden_state, history_mask)  # [B, H]
        users = self.user_embeddings(user_ids)  # [B, H]
        n = candidates.shape[1]
        features = torch.cat([candidates, sequence[:, None].expand(-1, n, -1), users[:, None].expand(-1, n, -1)], -1)
        return self.mlp(features).squeeze(-1)  # [B, N]


class SRP4CTRQueryingTransformer(nn.Module):
    """`K = config.num_query_tokens` learnable queries; each of `config.num_query_layers` layers:
    self-attention among the queries, cross-attention to the encoder's final states (padding
    masked), FFN. Output: `K` interest tokens `[B, K, H]` for an existing CTR model."""

    def __init__(self, config: SRP4CTRConfig):
        super().__init__()
        self.query_tokens = nn.Parameter(torch.zeros(config.num_query_tokens, config.hidden_size))
        self.layers = nn.ModuleList(QueryLayer(config) for _ in range(config.num_query_layers))

    def forward(self, encoder_states: torch.Tensor, encoder_mask: torch.Tensor) -> torch.Tensor:
        """`encoder_states [B, L, H]`, `encoder_mask [B, L]` (1 = real) -> `[B, K, H]`."""
        queries = self.query_tokens[None].expand(encoder_states.shape[0], -1, -1)  # [B, K, H]
        mask = extended_attention_mask(encoder_mask, encoder_states.dtype)  # [B, 1, 1, L]
        for layer in self.layers:
            queries = layer(queries, encoder_states, mask)  # [B, K, H]
        return queries


__all__ = [
    "SRP4CTRPreTrainedModel",
    "SRP4CTRModel",
    "SRP4CTRForPreTraining",
    "SRP4CTRForCTRPrediction",
    "SRP4CTRQueryingTransformer",
    "FrozenEncoderMixin",
    "SRP4CTRModelOutput",
    "SRP4CTRForPreTrainingOutput",
]
