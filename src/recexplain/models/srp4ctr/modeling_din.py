"""DIN (Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018) as a CTR baseline.

Shapes: `B` batch, `L` history length, `A` attribute slots, `N` candidates, `H` hidden size.
"""
from typing import Optional

import torch
from torch import nn

from .configuration_din import DINConfig
from .layers import CTRPredictionOutput, CTRPreTrainedModel, DINInterest, FieldEmbeddings, click_loss


class DINPreTrainedModel(CTRPreTrainedModel):
    config_class = DINConfig
    base_model_prefix = "din"


class DINForCTRPrediction(DINPreTrainedModel):
    """History events (item + pooled attributes + behaviour + time gap) are pooled with weights from
    the local activation unit w.r.t. each candidate; `[candidate ; interest ; user]` -> MLP -> logit.
    All `N` candidates of a user are scored in one call (the history embeddings are shared)."""

    def __init__(self, config: DINConfig):
        super().__init__(config)
        self.embeddings = FieldEmbeddings(config)
        self.user_embeddings = nn.Embedding(config.user_vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.interest = DINInterest(config.hidden_size, config.attention_hidden_sizes, config.mlp_hidden_sizes,
                                    config.mlp_activation, config.hidden_dropout_prob)
        self.post_init()

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
        """Same arguments as `SRP4CTRForCTRPrediction.forward`; returns `logits [B, N]`."""
        if history_mask is None:
            history_mask = history_item_ids != self.config.pad_token_id
        history = self.dropout(self.embeddings.events(history_item_ids, history_attr_ids, history_behavior_ids,
                                                      history_time_ids))  # [B, L, H]
        candidates = self.dropout(self.embeddings.items(candidate_item_ids, candidate_attr_ids))  # [B, N, H]
        users = self.dropout(self.user_embeddings(user_ids))  # [B, H]
        logits = self.interest(history, history_mask, candidates, users)  # [B, N]
        return CTRPredictionOutput(loss=click_loss(logits, labels), logits=logits)


__all__ = ["DINPreTrainedModel", "DINForCTRPrediction"]
