"""One source of truth: every script's model arguments, given no flags, build exactly the config class's defaults."""
import runpy
from pathlib import Path

import pytest
from transformers import HfArgumentParser

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS, EXPLANATION_WORDS, PROMPT_LENGTH
from recexplain.models.explainer import RecExplainerConfig
from recexplain.models.srp4ctr import CTR_MODELS, BSTConfig, DINConfig, DINQFormerConfig, SRP4CTRConfig
from recexplain.training.ctr import (
    CTRModelArguments, PretrainingModelArguments, build_ctr_model, build_pretraining_model,
)
from recexplain.training.explainer import (
    ExplainerModelArguments, ExplanationDataArguments, build_explainer, prepare_explanation_data,
)

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
CONFIG_OF = {"srp4ctr": SRP4CTRConfig, "din": DINConfig, "bst": BSTConfig, "din_qformer": DINQFormerConfig}


class FeatureMap:
    """The sizes `from_feature_map` reads."""

    max_seq_len, max_attrs = 20, 3

    def vocab_size(self, field):
        return {"item_id": 100, "item_attr": 20, "behavior": 6, "time_gap": 18, "user_id": 30}[field]


def no_flags(dataclass_type, *required):
    return HfArgumentParser(dataclass_type).parse_args_into_dataclasses(list(required))[0]


def assert_same_config(built, expected):
    built, expected = built.to_dict(), expected.to_dict()
    assert {k: v for k, v in built.items() if expected.get(k) != v} == {}
    assert built.keys() == expected.keys()


def test_pretraining_arguments_build_the_config_defaults():
    model = build_pretraining_model(no_flags(PretrainingModelArguments), FeatureMap())
    assert_same_config(model.config, SRP4CTRConfig.from_feature_map(FeatureMap()))
    assert model.config.attr_loss == "softmax"  # the pre-training script's choice is the config's own default


@pytest.mark.parametrize("name", list(CTR_MODELS))
def test_ctr_arguments_build_each_models_config_defaults(name):
    model = build_ctr_model(no_flags(CTRModelArguments, "--model", name), FeatureMap())
    assert_same_config(model.config, CONFIG_OF[name].from_feature_map(FeatureMap()))
    if name == "bst":
        assert model.config.num_hidden_layers == BSTConfig.num_hidden_layers == 1  # not the other models' 2


def test_explainer_arguments_build_the_config_defaults():
    _, tokenizer, _ = prepare_explanation_data(ExplanationDataArguments(), EXPLANATION_WORDS)
    args = no_flags(ExplainerModelArguments)
    assert args.max_explanation_length == EXPLANATION_WORDS
    model = build_explainer(args, tokenizer)
    start = model.config.entity_token_start
    data_derived = dict(
        vocab_size=len(tokenizer), entity_token_start=start, num_entity_tokens=model.config.num_entity_tokens,
        max_position_embeddings=PROMPT_LENGTH + EXPLANATION_WORDS + 8, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    assert_same_config(model.config, RecExplainerConfig(**data_derived))


def test_ppo_defaults_are_defined_once():
    from recexplain.mmi import ppo

    _, config, _ = ppo.make_parser().parse_args_and_config(["--output_dir", "unused"])
    assert {k: getattr(config, k) for k in ppo.PPO_DEFAULTS} == ppo.PPO_DEFAULTS
    assert config.response_length == EXPLANATION_TOKENS
    bench = runpy.run_path(str(SCRIPTS / "benchmark_mmi.py"))["MMIBenchmarkArguments"]()
    assert (bench.ppo_batch_size, bench.ppo_learning_rate, bench.num_ppo_epochs, bench.kl_coef) == (
        config.per_device_train_batch_size, config.learning_rate, config.num_ppo_epochs, config.kl_coef)


@pytest.mark.parametrize("name, frozen", [("din_qformer", True), ("srp4ctr", False)])
def test_models_on_a_pretrained_encoder_take_their_own_freezing_default(tmp_path, name, frozen):
    from recexplain.models.srp4ctr import SRP4CTRForPreTraining

    SRP4CTRForPreTraining(SRP4CTRConfig.from_feature_map(FeatureMap(), hidden_size=16)).save_pretrained(tmp_path)
    model = build_ctr_model(no_flags(CTRModelArguments, "--model", name, "--pretrained_dir", str(tmp_path)),
                            FeatureMap())
    assert model.config.freeze_encoder is frozen is CONFIG_OF[name].freeze_encoder
