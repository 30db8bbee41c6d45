"""MINE mutual-information estimator (MMI's reward model): config, models, Auto registration."""
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_mi_estimator import MIEstimatorConfig
from .modeling_mi_estimator import (
    MIEstimatorForRewardModeling,
    MIEstimatorModel,
    MIEstimatorOutput,
    MIEstimatorPreTrainedModel,
    MIRewardHead,
    MIRewardOutput,
    log_prior,
    pointwise_mutual_information,
)

AutoConfig.register(MIEstimatorConfig.model_type, MIEstimatorConfig, exist_ok=True)
AutoModel.register(MIEstimatorConfig, MIEstimatorModel, exist_ok=True)
AutoModelForSequenceClassification.register(MIEstimatorConfig, MIEstimatorForRewardModeling, exist_ok=True)
MIEstimatorConfig.register_for_auto_class()
MIEstimatorModel.register_for_auto_class("AutoModel")
MIEstimatorForRewardModeling.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "MIEstimatorConfig", "MIEstimatorPreTrainedModel", "MIEstimatorModel", "MIEstimatorForRewardModeling",
    "MIEstimatorOutput", "MIRewardOutput", "MIRewardHead", "pointwise_mutual_information", "log_prior",
]
