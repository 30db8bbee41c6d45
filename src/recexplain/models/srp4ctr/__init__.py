"""CTR models: SRP4CTR (FG-BERT encoder, pre-training, cross-attention CTR tower, querying
transformer), DIN, BST and DIN + SRP4CTR interest tokens, in one self-contained folder.

Auto classes (registered on import, and written the same way into a saved folder's `auto_map`, so that
`trust_remote_code=True` without recexplain loads what recexplain loads):

| config (model_type)              | AutoModel                    | AutoModelForPreTraining | AutoModelForSequenceClassification |
|----------------------------------|------------------------------|-------------------------|------------------------------------|
| `SRP4CTRConfig` (srp4ctr)        | `SRP4CTRModel`               | `SRP4CTRForPreTraining` | `SRP4CTRForCTRPrediction`          |
| `DINConfig` (din_ctr)            | `DINForCTRPrediction`        |                         | `DINForCTRPrediction`              |
| `BSTConfig` (bst_ctr)            | `BSTForCTRPrediction`        |                         | `BSTForCTRPrediction`              |
| `DINQFormerConfig` (din_qformer) | `DINQFormerForCTRPrediction` |                         | `DINQFormerForCTRPrediction`       |

A CTR head classifies (history, candidate) pairs as click / no click, so the CTR heads register under
transformers' binary-classification Auto class; `AutoModelForCTRPrediction` is that class under the task's
name. `AutoModel` gives the base model: the encoder for SRP4CTR (also from a pre-training or CTR folder);
DIN, BST and DIN + QT have no separate base model, so it gives the model itself.
"""
from transformers import AutoConfig, AutoModel, AutoModelForPreTraining, AutoModelForSequenceClassification

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

AutoModelForCTRPrediction = AutoModelForSequenceClassification

CTR_MODELS = {
    "srp4ctr": SRP4CTRForCTRPrediction,
    "din": DINForCTRPrediction,
    "bst": BSTForCTRPrediction,
    "din_qformer": DINQFormerForCTRPrediction,
}

for _config in (SRP4CTRConfig, DINConfig, BSTConfig, DINQFormerConfig):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    _config.register_for_auto_class()
AutoModelForPreTraining.register(SRP4CTRConfig, SRP4CTRForPreTraining, exist_ok=True)
SRP4CTRForPreTraining.register_for_auto_class("AutoModelForPreTraining")
SRP4CTRModel.register_for_auto_class("AutoModel")
for _model in CTR_MODELS.values():
    AutoModel.register(_model.config_class, _model.base_model_class or _model, exist_ok=True)
    AutoModelForSequenceClassification.register(_model.config_class, _model, exist_ok=True)
    _model.register_for_auto_class("AutoModelForSequenceClassification")

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
