"""Personalized explanation generator (PETER-style, with a causal-LM + LoRA option) and its PPO value model."""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from .configuration_explainer import RecExplainerConfig
from .modeling_explainer import (
    RecExplainerForConditionalGeneration,
    RecExplainerForValueModeling,
    RecExplainerModel,
    RecExplainerModelOutput,
    RecExplainerOutput,
    RecExplainerPreTrainedModel,
    RecExplainerValueOutput,
)


AutoConfig.register(RecExplainerConfig.model_type, RecExplainerConfig, exist_ok=True)
AutoModel.register(RecExplainerConfig, RecExplainerModel, exist_ok=True)
AutoModelForCausalLM.register(RecExplainerConfig, RecExplainerForConditionalGeneration, exist_ok=True)

RecExplainerConfig.register_for_auto_class()
RecExplainerModel.register_for_auto_class("AutoModel")
RecExplainerForConditionalGeneration.register_for_auto_class("AutoModelForCausalLM")

__all__ = [
    "RecExplainerConfig",
    "RecExplainerPreTrainedModel",
    "RecExplainerModel",
    "RecExplainerForConditionalGeneration",
    "RecExplainerForValueModeling",
    "RecExplainerModelOutput",
    "RecExplainerOutput",
    "RecExplainerValueOutput",
]
