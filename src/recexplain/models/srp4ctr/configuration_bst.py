"""BST configuration (Chen et al., "Behavior Sequence Transformer for E-commerce Recommendation in Alibaba", 2019)."""
from .configuration_ctr import CTRTransformerConfig


class BSTConfig(CTRTransformerConfig):
    r"""`CTRTransformerConfig` for BST: a Transformer over `[history ; candidate]` per candidate
    (paper: 1 layer, 8 heads)."""

    model_type = "bst_ctr"
    num_hidden_layers: int = 1
