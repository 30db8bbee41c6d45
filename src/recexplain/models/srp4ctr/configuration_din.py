"""DIN configuration (Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018)."""
from .configuration_ctr import CTRBaseConfig, check_layer_sizes


class DINConfig(CTRBaseConfig):
    r"""
    `CTRBaseConfig` plus DIN's local activation unit.

    Args:
        attention_hidden_sizes (`list[int]`): hidden sizes of the activation unit MLP over
            `[q, k, q - k, q * k]` (paper: 80, 40).
    """

    model_type = "din_ctr"

    attention_hidden_sizes: list[int] | tuple[int, ...] = (80, 40)

    def __post_init__(self, **kwargs):
        self.attention_hidden_sizes = [int(s) for s in self.attention_hidden_sizes]
        super().__post_init__(**kwargs)

    def validate(self):
        super().validate()
        check_layer_sizes("attention_hidden_sizes", self.attention_hidden_sizes)
