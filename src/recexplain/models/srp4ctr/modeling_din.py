"""DIN (Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018) as a CTR baseline.

Shapes: `B` batch, `L` history length, `A` attribute slots, `N` candidates, `H` hidden size.
"""
import torch
from torch import nn

from .configuration_din import DINConfig
from .layers import CTRPredictionMixin, CTRPreTrainedModel, DINInterest, FieldEmbeddings


class DINPreTrainedModel(CTRPreTrainedModel):
    config_class = DINConfig
    base_model_prefix = ""  # one model, no separate base model to load into a head


class DINForCTRPrediction(CTRPredictionMixin, DINPreTrainedModel):
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

    def click_logits(self, history_item_ids, history_attr_ids, history_behavior_ids, history_time_ids, history_mask,
                     candidate_item_ids, candidate_attr_ids, user_ids) -> torch.Tensor:
        history = self.dropout(self.embeddings.events(history_item_ids, history_attr_ids, history_behavior_ids,
                                                      history_time_ids))  # [B, L, H]
        candidates = self.dropout(self.embeddings.items(candidate_item_ids, candidate_attr_ids))  # [B, N, H]
        users = self.dropout(self.user_embeddings(user_ids))  # [B, H]
        return self.interest(history, history_mask, candidates, users)  # [B, N]


__all__ = ["DINPreTrainedModel", "DINForCTRPrediction"]
