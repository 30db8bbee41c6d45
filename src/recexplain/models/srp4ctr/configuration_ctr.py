"""Shared configuration fields of the CTR models (SRP4CTR, DIN, BST, DIN+querying transformer).

Every size that comes from the data (vocabulary sizes, sequence limits, special ids) lives in the
config, so a checkpoint is self-describing; `CTRBaseConfig.from_feature_map` fills them in.
"""
from transformers import PreTrainedConfig

MLP_ACTIVATIONS = ("relu", "prelu", "dice")


def check_layer_sizes(name: str, sizes) -> None:
    """`ValueError` unless `sizes` is a non-empty list of positive ints."""
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"{name} must be a non-empty list of positive sizes, got {sizes}")


class CTRBaseConfig(PreTrainedConfig):
    r"""
    Fields shared by all CTR models. Ids follow the feature map: 0 = [PAD], 1 = [MASK], 2 = [OOV].

    Args:
        item_vocab_size / attr_vocab_size / behavior_vocab_size / time_vocab_size / user_vocab_size (`int`):
            Embedding table sizes of the fields `item_id`, `item_attr`, `behavior`, `time_gap`, `user_id`
            (special ids included).
        max_seq_len (`int`): longest behaviour history `L` (position table size).
        max_attrs (`int`): attribute slots per event `A`.
        hidden_size (`int`): width of every embedding and of the model.
        use_side_info (`bool`): use attributes, behaviour and time-gap embeddings; `False` = item ids only.
        mlp_hidden_sizes (`list[int]`): hidden sizes of the final click MLP (DIN paper: 200, 80).
        mlp_activation (`str`): `"relu"`, `"prelu"` or `"dice"` (MLPs and DIN's activation unit).
        hidden_dropout_prob (`float`): dropout on embeddings and hidden layers.
    """

    item_vocab_size: int = 1000
    attr_vocab_size: int = 100
    behavior_vocab_size: int = 8
    time_vocab_size: int = 24
    user_vocab_size: int = 1000
    max_seq_len: int = 200
    max_attrs: int = 4
    pad_token_id: int = 0
    mask_token_id: int = 1
    oov_token_id: int = 2
    hidden_size: int = 64
    use_side_info: bool = True
    mlp_hidden_sizes: list[int] | tuple[int, ...] = (200, 80)
    mlp_activation: str = "prelu"
    hidden_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12

    def __post_init__(self, **kwargs):
        self.mlp_hidden_sizes = [int(s) for s in self.mlp_hidden_sizes]
        super().__post_init__(**kwargs)
        self.validate()

    def validate(self):
        """Raise `ValueError` on inconsistent hyperparameters (also run at model construction and save)."""
        super().validate()
        if (self.pad_token_id, self.mask_token_id, self.oov_token_id) != (0, 1, 2):
            raise ValueError("special ids must be pad=0, mask=1, oov=2 (feature-map convention)")
        for name in ("item_vocab_size", "attr_vocab_size", "behavior_vocab_size", "time_vocab_size", "user_vocab_size"):
            if getattr(self, name) < 4:
                raise ValueError(f"{name} must be >= 4 (3 special ids + at least one token), got {getattr(self, name)}")
        for name in ("max_seq_len", "max_attrs", "hidden_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_layer_sizes("mlp_hidden_sizes", self.mlp_hidden_sizes)
        if self.mlp_activation not in MLP_ACTIVATIONS:
            raise ValueError(f"mlp_activation must be one of {MLP_ACTIVATIONS}, got {self.mlp_activation!r}")
        if not 0.0 <= self.hidden_dropout_prob < 1.0:
            raise ValueError(f"hidden_dropout_prob must be in [0, 1), got {self.hidden_dropout_prob}")

    @classmethod
    def from_feature_map(cls, feature_map, **kwargs):
        """Config whose data-derived sizes come from a `recexplain.data.FeatureMap` (duck-typed:
        `vocab_size(field)`, `max_seq_len`, `max_attrs`); `kwargs` set the other fields."""
        sizes = {
            "item_vocab_size": feature_map.vocab_size("item_id"),
            "attr_vocab_size": feature_map.vocab_size("item_attr"),
            "behavior_vocab_size": feature_map.vocab_size("behavior"),
            "time_vocab_size": feature_map.vocab_size("time_gap"),
            "user_vocab_size": feature_map.vocab_size("user_id"),
            "max_seq_len": feature_map.max_seq_len,
            "max_attrs": feature_map.max_attrs,
        }
        return cls(**{**sizes, **kwargs})


class CTRTransformerConfig(CTRBaseConfig):
    r"""
    `CTRBaseConfig` plus the fields of a BERT-style Transformer.

    Args:
        num_hidden_layers (`int`): Transformer layers.
        num_attention_heads (`int`): heads; must divide `hidden_size`.
        intermediate_size (`int`): feed-forward width.
        hidden_act (`str`): feed-forward activation (`transformers.activations.ACT2FN` key).
        attention_probs_dropout_prob (`float`): dropout on attention probabilities.
    """

    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 256
    hidden_act: str = "gelu"
    attention_probs_dropout_prob: float = 0.1

    def validate(self):
        super().validate()
        if self.num_hidden_layers < 1 or self.num_attention_heads < 1 or self.intermediate_size < 1:
            raise ValueError("num_hidden_layers, num_attention_heads and intermediate_size must be >= 1")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads ({self.num_attention_heads})"
            )
        if not 0.0 <= self.attention_probs_dropout_prob < 1.0:
            raise ValueError(f"attention_probs_dropout_prob must be in [0, 1), got {self.attention_probs_dropout_prob}")
