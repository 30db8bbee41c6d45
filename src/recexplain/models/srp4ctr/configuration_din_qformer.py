"""Configuration of DIN consuming the interest tokens of SRP4CTR's querying transformer."""
from .configuration_ctr import check_layer_sizes
from .configuration_srp4ctr import SRP4CTRConfig


class DINQFormerConfig(SRP4CTRConfig):
    r"""
    `SRP4CTRConfig` (encoder + querying transformer: `num_query_tokens`, `num_query_layers`,
    `freeze_encoder`) plus the DIN that consumes the interest tokens.

    `freeze_encoder` defaults to True here: the pre-trained encoder (and the item embeddings the
    candidates read the tokens with) stays fixed, only the querying transformer and DIN train
    (synthetic validation AUC 0.769 frozen vs 0.726 fine-tuned at lr 1e-3).

    Args:
        din_hidden_size (`int`, *optional*): DIN's embedding width (default: `hidden_size`); interest
            tokens are projected to it.
        attention_hidden_sizes (`list[int]`): DIN activation-unit sizes (paper: 80, 40).
    """

    model_type = "din_qformer"

    freeze_encoder: bool = True
    din_hidden_size: int | None = None
    attention_hidden_sizes: list[int] | tuple[int, ...] = (80, 40)

    def __post_init__(self, **kwargs):
        if self.din_hidden_size is None:
            self.din_hidden_size = self.hidden_size
        self.attention_hidden_sizes = [int(s) for s in self.attention_hidden_sizes]
        super().__post_init__(**kwargs)

    def validate(self):
        super().validate()
        if self.din_hidden_size < 1:
            raise ValueError(f"din_hidden_size must be >= 1, got {self.din_hidden_size}")
        check_layer_sizes("attention_hidden_sizes", self.attention_hidden_sizes)
