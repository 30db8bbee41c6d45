"""MMI: fine-tune a trained explainer with PPO so its explanations carry the predicted rating / the feature.

Policy = the trained `RecExplainerForConditionalGeneration` (PETER-style or causal-LM backbone; full
fine-tuning, or LoRA with `--use_peft`), reference = its frozen copy (with LoRA: the policy with the
adapters disabled), reward = the MINE estimator (`MIEstimatorForRewardModeling`, from
`scripts/train_mi_estimator.py`), value model = `RecExplainerForValueModeling` initialised from the
policy's backbone. The query of each training pair is `<u_X> <i_Y> <r_R> <f_F> <bos>` with R the
rating predicted by the policy's rating head (fixed here, before PPO) and F the record's feature.
TRL's `PPOConfig` fields are all available (`--kl_coef`, `--response_length`,
`--missing_eos_penalty`, `--whiten_rewards`, `--total_episodes`, `--learning_rate`, ...).

    python scripts/mmi_ppo.py \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz \\
        --sft_model_path runs/explainer/final --reward_model_path runs/mi_estimator --reward_type rating \\
        --output_dir runs/mmi_rating --total_episodes 1920   # 30 updates of 64 prompts; defaults: PPO_DEFAULTS

    accelerate launch --config_file scripts/configs/cpu_ddp_2proc.yaml scripts/mmi_ppo.py \\
        --sft_model_path runs/explainer/final --reward_model_path runs/mi_estimator --output_dir runs/mmi_rating

    # LoRA (e.g. for the causal-LM backbone): add --use_peft --lora_r 8 [--lora_target_modules c_attn]

Saved in `--output_dir`: the policy (`save_pretrained`, loads as `RecExplainerForConditionalGeneration`;
LoRA adapters are merged), the tokenizer, `mmi_training.png` (reward, KL and held-out alignment over
training) and `mmi_history.json`. Arguments can also come from a YAML file (`--config ppo.yaml`).
"""
import logging

from recexplain.mmi.ppo import main, make_parser

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    main(*make_parser().parse_args_and_config())
