"""Train the MINE mutual-information estimator (MMI's reward model) on real explanations.

The estimator learns T(e, y) for the rating and the feature of the training split's real
explanations (Donsker-Varadhan bound, moving-average bias correction, shuffled-label
negatives), logs I(R;E) and I(F;E) on the validation split after every epoch, and is saved
as an `MIEstimatorForRewardModeling` (+ the tokenizer), ready for `scripts/mmi_ppo.py`.
Use the tokenizer of the explainer you will fine-tune (`--tokenizer_name_or_path`), so the
token ids agree.

    python scripts/train_mi_estimator.py \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz \\
        --tokenizer_name_or_path runs/explainer/final --output_dir runs/mi_estimator --mine_epochs 20

    accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml scripts/train_mi_estimator.py \\
        --tokenizer_name_or_path runs/explainer/final --output_dir runs/mi_estimator

Without `--data_file` the synthetic explanation records are used; arguments can also come
from a YAML file (`--config mi.yaml`).
"""
import logging
import os

from trl import TrlParser

from recexplain.mmi.mine import MINETrainingArguments
from recexplain.mmi.train_estimator import MIEstimatorScriptArguments, main

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main(*TrlParser((MIEstimatorScriptArguments, MINETrainingArguments)).parse_args_and_config())
