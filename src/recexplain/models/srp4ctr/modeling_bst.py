"""BST (Chen et al., "Behavior Sequence Transformer for E-commerce Recommendation in Alibaba", 2019) as a CTR baseline.

Shapes: `B` batch, `L` history length, `A` attribute slots, `N` candidates, `H` hidden size.
"""
import torch
from torch import nn

from .configuration_bst import BSTConfig
from .layers import (
    MLP,
    CTRPredictionMixin,
    CTRPreTrainedModel,
    FieldEmbeddings,
    TransformerLayer,
    extended_attention_mask,
    masked_mean,
)


class BSTPreTrainedModel(CTRPreTrainedModel):
    config_class = BSTConfig
    base_model_prefix = ""  # one model, no separate base model to load into a head
    supports_gradient_checkpointing = True


class BSTForCTRPrediction(CTRPredictionMixin, BSTPreTrainedModel):
    """A Transformer over `[history ; candidate]` (history positions `0..L-1`, the candidate at the
    dedicated position `max_seq_len`), run once per candidate: the cost grows linearly with `N`
    (no folding). `[candidate output ; mean history output ; user]` -> MLP -> logit. The paper
    concatenates all outputs; the mean keeps the MLP independent of `L`."""

    def __init__(self, config: BSTConfig):
        super().__init__(config)
        self.embeddings = FieldEmbeddings(config)
        self.position_embeddings = nn.Embedding(config.max_seq_len + 1, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(TransformerLayer(config) for _ in range(config.num_hidden_layers))
        self.user_embeddings = nn.Embedding(config.user_vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.mlp = MLP(3 * config.hidden_size, config.mlp_hidden_sizes, config.mlp_activation,
                       config.hidden_dropout_prob, output_size=1)
        self.post_init()

    def click_logits(self, history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids, history_mask,
                     candidate_item_ids, candidate_attr_ids, user_ids) -> torch.Tensor:
        if history_item_ids.shape[1] > self.config.max_seq_len:
            raise ValueError(f"history length {history_item_ids.shape[1]} > config.max_seq_len {self.config.max_seq_len}")
        (b, l), n = history_item_ids.shape, candidate_item_ids.shape[1]
        history = self.embeddings.events(history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids)
        history = history + self.position_embeddings(torch.arange(l, device=history.device))  # [B, L, H]
        candidates = self.embeddings.items(candidate_item_ids, candidate_attr_ids)  # [B, N, H]
        candidates = candidates + self.position_embeddings.weight[self.config.max_seq_len]  # [B, N, H]
        # one sequence [history ; candidate] per (user, candidate) pair
        hidden = torch.cat([history[:, None].expand(-1, n, -1, -1), candidates[:, :, None]], dim=2)  # [B, N, L+1, H]
        hidden = self.dropout(self.LayerNorm(hidden.reshape(b * n, l + 1, -1)))  # [B*N, L+1, H]
        mask = torch.cat([history_mask.to(hidden.dtype), history_mask.new_ones(b, 1).to(hidden.dtype)], 1)  # [B, L+1]
        mask = mask.repeat_interleave(n, dim=0)  # [B*N, L+1]
        extended = extended_attention_mask(mask, hidden.dtype)  # [B*N, 1, 1, L+1]
        for layer in self.layers:
            hidden, _ = layer(hidden, extended)  # [B*N, L+1, H]
        hidden = hidden.view(b, n, l + 1, -1)  # [B, N, L+1, H]
        target = hidden[:, :, -1]  # [B, N, H]
        sequence = masked_mean(hidden[:, :, :-1], history_mask[:, None, :].expand(-1, n, -1))  # [B, N, H]
        users = self.user_embeddings(user_ids)[:, None].expand(-1, n, -1)  # [B, N, H]
        return self.mlp(torch.cat([target, sequence, users], dim=-1)).squeeze(-1)  # [B, N]


__all__ = ["BSTPreTrainedModel", "BSTForCTRPrediction"]
