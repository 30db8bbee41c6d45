"""CTR models: SRP4CTR (FG-BERT encoder, pre-training, cross-attention CTR tower, querying
transformer), DIN, BST and DIN + SRP4CTR interest tokens, in one self-contained folder.

Auto classes (registered on import):

| config (model_type)            | AutoModel             | AutoModelForPreTraining | AutoModelForCTRPrediction      |
|--------------------------------|-----------------------|-------------------------|--------------------------------|
| `SRP4CTRConfig` (srp4ctr)      | `SRP4CTRModel`        | `SRP4CTRForPreTraining` | `SRP4CTRForCTRPrediction`      |
| `DINConfig` (din_ctr)          | `DINForCTRPrediction` |                         | `DINForCTRPrediction`          |
| `BSTConfig` (bst_ctr)          | `BSTForCTRPrediction` |                         | `BSTForCTRPrediction`          |
| `DINQFormerConfig` (din_qformer) | `DINQFormerForCTRPrediction` |                  | `DINQFormerForCTRPrediction`   |

`AutoModelForCTRPrediction` is this package's own auto class (transformers has none for CTR).
Saved checkpoints carry remote code: every CTR class writes itself under `auto_map["AutoModel"]`,
so without recexplain `AutoModel.from_pretrained(dir, trust_remote_code=True)` returns the CTR
model (the encoder checkpoint of `SRP4CTRModel` the same way, pre-training under
`AutoModelForPreTraining`).
"""
from collections import OrderedDict

from transformers import AutoConfig, AutoModel, AutoModelForPreTraining
from transformers.models.auto.auto_factory import _BaseAutoModelClass, _LazyAutoMapping

from .configuration_bst import BSTConfig
from .configuration_ctr import CTRBaseConfig, CTRTransformerConfig
from .configuration_din import DINConfig
from .configuration_din_qformer import DINQFormerConfig
from .configuration_srp4ctr import SRP4CTRConfig
from .layers import CTRPredictionOutput
from .modeling_bst import BSTForCTRPrediction
from .modeling_din import DINForCTRPrediction
from .modeling_din_qformer import DINQFormerForCTRPrediction
from .modeling_srp4ctr import (
    SRP4CTRForCTRPrediction,
    SRP4CTRForPreTraining,
    SRP4CTRForPreTrainingOutput,
    SRP4CTRModel,
    SRP4CTRModelOutput,
    SRP4CTRQueryingTransformer,
)


class AutoModelForCTRPrediction(_BaseAutoModelClass):
    """Auto class of the CTR models: picks the `*ForCTRPrediction` class from the config type."""

    _model_mapping = _LazyAutoMapping(OrderedDict(), OrderedDict())


CTR_MODELS = {
    "srp4ctr": SRP4CTRForCTRPrediction,
    "din": DINForCTRPrediction,
    "bst": BSTForCTRPrediction,
    "din_qformer": DINQFormerForCTRPrediction,
}

for _config in (SRP4CTRConfig, DINConfig, BSTConfig, DINQFormerConfig):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    _config.register_for_auto_class()
AutoModel.register(SRP4CTRConfig, SRP4CTRModel, exist_ok=True)
AutoModelForPreTraining.register(SRP4CTRConfig, SRP4CTRForPreTraining, exist_ok=True)
SRP4CTRModel.register_for_auto_class("AutoModel")
SRP4CTRForPreTraining.register_for_auto_class("AutoModelForPreTraining")
for _model in CTR_MODELS.values():
    AutoModelForCTRPrediction.register(_model.config_class, _model, exist_ok=True)
    if _model is not SRP4CTRForCTRPrediction:
        AutoModel.register(_model.config_class, _model, exist_ok=True)
    _model.register_for_auto_class("AutoModel")

__all__ = [
    "AutoModelForCTRPrediction",
    "CTR_MODELS",
    "CTRBaseConfig",
    "CTRTransformerConfig",
    "CTRPredictionOutput",
    "SRP4CTRConfig",
    "SRP4CTRModel",
    "SRP4CTRModelOutput",
    "SRP4CTRForPreTraining",
    "SRP4CTRForPreTrainingOutput",
    "SRP4CTRForCTRPrediction",
    "SRP4CTRQueryingTransformer",
    "DINConfig",
    "DINForCTRPrediction",
    "BSTConfig",
    "BSTForCTRPrediction",
    "DINQFormerConfig",
    "DINQFormerForCTRPrediction",
]
