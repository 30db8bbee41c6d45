"""One tiny saved folder per model the package ships, built with the training scripts' own builders.

`save_tiny_models(root)` saves each model with the companions its script saves (feature map;
tokenizer, vocabularies and generation config) into `root/<name>` and returns `{name: TinyModel}`
with the inputs and the original outputs of `remote_probes`. Shared by `test_remote_code.py` and
`test_push_all_models.py`.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from remote_probes import PROBES

from recexplain.data import (
    CTRCollator,
    FeatureMap,
    PretrainingCollator,
    build_ctr_examples,
    build_pretraining_examples,
    load_behavior_dataset,
    split_sequences,
)
from recexplain.data.reviews.tokenizer import build_explanation_tokenizer, format_prompt, save_vocabularies
from recexplain.data.reviews.records import load_explanation_records, split_explanation_records
from recexplain.mmi.data import encode_sequences, mi_estimator_config_from_tokenizer
from recexplain.models.mi_estimator import MIEstimatorForRewardModeling
from recexplain.training.ctr import (
    CTRModelArguments,
    PretrainingModelArguments,
    build_ctr_model,
    build_pretraining_model,
    save_model_folder,
)
from recexplain.training.explainer import ExplainerModelArguments, build_explainer

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48)
CTR_HEADS = dict(mlp_hidden_sizes="16,8", attention_hidden_sizes="16,8", num_query_tokens=3)
MAX_NEW_TOKENS = 6


@dataclass
class TinyModel:
    """A saved model folder and how to check it (plain types and tensors: `torch.load(weights_only=True)`-safe)."""

    folder: str
    family: str  # model-card family (`recexplain.hub.FAMILIES`)
    auto_class: str  # the transformers Auto class that loads the folder
    model_class: str
    config_class: str
    probe: str  # key of `remote_probes.PROBES`
    inputs: dict
    expected: dict  # probe outputs of the original model
    texts: list = field(default_factory=list)  # prompts the saved tokenizer must encode to `text_ids`
    text_ids: Optional[torch.Tensor] = None
    feature_map: dict = field(default_factory=dict)  # field -> (ids, tokens) the saved feature_map.json must map


def _record(model, folder: Path, family: str, auto_class: str, probe: str, inputs: dict, **extra) -> TinyModel:
    model.eval()
    return TinyModel(str(folder), family, auto_class, type(model).__name__, type(model.config).__name__, probe,
                     inputs, PROBES[probe](model, inputs), **extra)


def _ctr_models(root: Path) -> dict:
    data = load_behavior_dataset("synthetic", num_users=12, num_items=30, num_categories=6, min_length=5, max_length=9)
    splits = split_sequences(data.sequences)
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=8, dataset_name="synthetic")
    rows = build_ctr_examples(splits, fm, "test", label_mode="sampled", num_negatives=3)
    batch = CTRCollator(fm)([rows[i] for i in range(3)])
    batch.pop("labels")
    candidates = batch["candidate_item_ids"][0].tolist()
    fm_check = {"item_id": (candidates, fm.decode("item_id", candidates))}
    pre_rows = build_pretraining_examples(splits["train"], fm)
    masking = PretrainingCollator(fm, item_mask_prob=0.3, behavior_mask_prob=0.3, seed=0)
    pre_batch = masking([pre_rows[i] for i in range(3)])

    torch.manual_seed(0)
    pre = build_pretraining_model(PretrainingModelArguments(**TINY), fm)
    save_model_folder(pre, fm, root / "srp4ctr_pretraining")
    models = {"srp4ctr_pretraining": _record(pre, root / "srp4ctr_pretraining", "srp4ctr", "AutoModelForPreTraining",
                                             "pretraining", pre_batch, feature_map=fm_check)}
    for name in ("srp4ctr", "din", "bst", "din_qformer"):
        pretrained = str(root / "srp4ctr_pretraining") if name in ("srp4ctr", "din_qformer") else None
        model = build_ctr_model(CTRModelArguments(model=name, pretrained_dir=pretrained, **TINY, **CTR_HEADS), fm)
        folder = root / f"{name}_ctr"
        save_model_folder(model, fm, folder)
        family = "srp4ctr" if name == "srp4ctr" else "ctr_baseline"
        models[folder.name] = _record(model, folder, family, "AutoModelForSequenceClassification", "ctr", batch,
                                      feature_map=fm_check)
    return models


def _explanation_models(root: Path) -> dict:
    splits = split_explanation_records(load_explanation_records(None, num_users=30, num_items=20, reviews_per_user=6))
    tokenizer = build_explanation_tokenizer(splits["train"])
    records = splits["test"][:3]
    texts = [format_prompt(*row) for row in zip(*(records[k] for k in ("user", "item", "rating", "feature")))]
    prompts = dict(tokenizer(texts, return_tensors="pt", padding=True))
    ids, mask = encode_sequences(tokenizer, records)
    sequences = {"input_ids": ids, "attention_mask": mask}
    text = dict(texts=texts, text_ids=prompts["input_ids"])

    models = {}
    for model_type in ("peter_plus", "causal_lm"):
        torch.manual_seed(0)
        model = build_explainer(ExplainerModelArguments(model_type=model_type, dropout=0.0, **TINY), tokenizer)
        # min_new_tokens: an untrained model may end at once; the check wants whole generations
        model.generation_config.update(
            max_new_tokens=MAX_NEW_TOKENS, min_new_tokens=MAX_NEW_TOKENS, do_sample=False,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id)
        folder = root / f"explainer_{model_type}"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        save_vocabularies(tokenizer, folder)
        models[folder.name] = _record(model, folder, "explainer", "AutoModelForCausalLM", "explainer",
                                      {"sequences": sequences, "prompts": prompts}, **text)

    torch.manual_seed(0)
    reward = MIEstimatorForRewardModeling(mi_estimator_config_from_tokenizer(
        tokenizer, ids, hidden_size=16, intermediate_size=16, reward_type="joint"))
    folder = root / "mi_estimator"
    reward.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    models[folder.name] = _record(reward, folder, "mi_estimator", "AutoModelForSequenceClassification", "reward",
                                  sequences, **text)
    return models


def save_tiny_models(root) -> dict:
    """Save every model family into `root/<name>`; returns `{name: TinyModel}`."""
    root = Path(root)
    return {**_ctr_models(root), **_explanation_models(root)}
