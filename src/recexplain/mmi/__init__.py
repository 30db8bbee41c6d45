"""MMI (Zhao et al., CIKM 2024): MINE reward model, PPO fine-tuning of the explainer, alignment evaluation.

- `mine`: the Donsker-Varadhan objective with moving-average bias correction, `fit_mine`, MI estimates.
- `data`: prompt-layout sequences for the estimator, the PPO prompt set with predicted ratings.
- `judge`, `alignment`: the independent rating judge and `evaluate_explainer` (all benchmark metrics).
- `ppo`, `callbacks`, `plots`: the PPO run behind `scripts/mmi_ppo.py`.
- `train_estimator`: the estimator training behind `scripts/train_mi_estimator.py`.
Submodules are imported on use (the PPO ones pull in TRL).
"""
from .judge import RatingJudge, SentenceEncoder, judge_training_data, three_class
from .mine import MINELoss, MINETrainingArguments, estimate_mi, fit_mine

__all__ = ["RatingJudge", "SentenceEncoder", "judge_training_data", "three_class", "MINELoss", "MINETrainingArguments", "estimate_mi", "fit_mine"]
