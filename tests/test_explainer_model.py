"""Unit tests of the explanation generator (PETER-style and causal-LM backbones) and its PPO value model."""

import copy
import json

import pytest
import torch
from model_tester import ModelTesterMixin
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

from recexplain.models.explainer import (
    RecExplainerConfig,
    RecExplainerForConditionalGeneration,
    RecExplainerForValueModeling,
    RecExplainerModel,
)
from recexplain.models.explainer.modeling_explainer import (
    MASKED_LOGIT, sequence_unlikelihood_loss, token_unlikelihood_loss,
)


PAD, BOS, EOS = 0, 1, 2
VOCAB = 40
ENTITY_START, NUM_ENTITIES = 10, 25  # ids 10..34: users, items, ratings, features; 3..9 and 35..39: words
USER_A, USER_B, ITEM_A, ITEM_B, RATING_4, RATING_2, FEATURE_A, FEATURE_B = 10, 11, 20, 21, 30, 31, 32, 33
WORDS = [3, 4, 5, 6, 7, 8, 9, 35, 36, 37, 38, 39]


def tiny_config(**kwargs):
    defaults = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        dropout=0.0, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS,
    )
    return RecExplainerConfig(**{**defaults, **kwargs})


def tiny_pre_ln_config(**kwargs):
    """The other layer layout: pre-LN with a final norm, learned positions, unscaled embeddings."""
    return tiny_config(layer_norm_position="pre", position_embedding_type="learned", scale_embeddings=False, **kwargs)


def tiny_lm_config(vocab_size=VOCAB):
    return GPT2Config(
        vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=64, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
    )


def tiny_lm_explainer_config(**kwargs):
    return tiny_config(
        backbone="causal_lm", lm_config=tiny_lm_config(), entity_token_start=ENTITY_START,
        num_entity_tokens=NUM_ENTITIES, **kwargs,
    )


def make_model(config=None, seed=0, cls=RecExplainerForConditionalGeneration):
    torch.manual_seed(seed)
    return cls(config or tiny_config()).eval()


def left_pad(rows):
    """Left-pad lists of ids: returns input_ids and attention_mask."""
    width = max(len(row) for row in rows)
    ids = torch.tensor([[PAD] * (width - len(row)) + row for row in rows])
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    return ids, mask


PROMPT_A = [USER_A, ITEM_A, RATING_4, FEATURE_A, BOS]
PROMPT_B = [USER_B, ITEM_B, RATING_2, FEATURE_B, BOS]
SEQ_A = PROMPT_A + [3, 4, 5, EOS]
SEQ_B = PROMPT_B + [6, 7, 8, 9, 35, EOS]


def labels_for(ids, mask):
    """Labels as the data collator builds them: -100 on pads, the 4 prefix slots and <bos>."""
    labels = ids.masked_fill(mask == 0, -100)
    return labels.masked_fill(mask.cumsum(-1) <= 5, -100)


# ---------------------------------------------------------------- the ModelTester checks (tests/model_tester.py)


class ExplainerTester(ModelTesterMixin):
    model_class, auto_class = RecExplainerForConditionalGeneration, AutoModelForCausalLM
    config_fn = staticmethod(tiny_config)

    def get_config(self):
        return self.config_fn(dropout=0.1)

    def get_inputs(self, config):
        ids, mask = left_pad([SEQ_A, SEQ_B])
        return dict(input_ids=ids, attention_mask=mask, labels=labels_for(ids, mask), rating_labels=torch.tensor([4.0, 2.0]))

    def output_shapes(self, config, inputs):
        batch, length = inputs["input_ids"].shape
        return {"logits": (batch, length, VOCAB), "rating_prediction": (batch,), "context_logits": (batch, VOCAB)}


class TestExplainerPostLNSinusoidal(ExplainerTester):
    """PETER's layout, the default."""


class TestExplainerPreLNLearned(ExplainerTester):
    config_fn = staticmethod(tiny_pre_ln_config)


class TestExplainerCausalLM(ExplainerTester):
    config_fn = staticmethod(tiny_lm_explainer_config)


class TestRecExplainerModel(ModelTesterMixin):
    model_class, auto_class = RecExplainerModel, AutoModel

    def get_config(self):
        return tiny_config(dropout=0.1)

    def get_inputs(self, config):
        ids, mask = left_pad([SEQ_A, SEQ_B])
        return dict(input_ids=ids, attention_mask=mask)

    def output_shapes(self, config, inputs):
        return {"last_hidden_state": (*inputs["input_ids"].shape, config.hidden_size)}

    def training_loss(self, outputs):
        return outputs.last_hidden_state.pow(2).mean()


class TestRecExplainerForValueModeling(TestRecExplainerModel):
    """PPO's value model: the backbone plus a scalar head per position."""

    model_class, auto_class = RecExplainerForValueModeling, None

    def output_shapes(self, config, inputs):
        return {"values": inputs["input_ids"].shape}  # [B, S]

    def training_loss(self, outputs):
        return outputs.values.pow(2).mean()


# ---------------------------------------------------------------- configuration


def test_config_round_trip_and_presets(tmp_path):
    config = tiny_config(visible_prefix_slots="peter_plus", loss_weights={"rating": 0.5})
    assert config.visible_prefix_slots == ["user", "item", "feature"]
    assert config.loss_weights == {"text": 1.0, "rating": 0.5, "context": 1.0, "unlikelihood": 6.0}
    saved_before_unlikelihood = {**config.to_dict(), "loss_weights": {"text": 1.0, "rating": 0.5, "context": 1.0}}
    assert RecExplainerConfig.from_dict(saved_before_unlikelihood).loss_weights == config.loss_weights
    assert config.prefix_length == 4 and config.prefix_slots == ("user", "item", "rating", "feature")
    assert RecExplainerConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, RecExplainerConfig)
    assert {k: v for k, v in loaded.to_diff_dict().items() if k != "_name_or_path"} == config.to_diff_dict()

    lm_config = tiny_lm_explainer_config()
    assert (lm_config.hidden_size, lm_config.num_hidden_layers, lm_config.num_attention_heads) == (32, 2, 2)
    assert lm_config.tie_word_embeddings is True  # GPT-2 ties its head
    reloaded = RecExplainerConfig.from_dict(json.loads(json.dumps(lm_config.to_dict())))
    assert isinstance(reloaded.lm_config, GPT2Config)
    assert reloaded.to_dict() == lm_config.to_dict()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(hidden_size=30, num_attention_heads=4),
        dict(visible_prefix_slots=["user", "price"]),
        dict(visible_prefix_slots=[]),
        dict(visible_prefix_slots="peter_minus"),
        dict(backbone="rnn"),
        dict(min_rating=5.0, max_rating=1.0),
        dict(loss_weights={"text": -1.0}),
        dict(loss_weights={"bleu": 1.0}),
        dict(dropout=1.5),
        dict(layer_norm_position="middle"),
        dict(position_embedding_type="rotary"),
        dict(pad_token_id=VOCAB),
        dict(num_hidden_layers=0),
        dict(backbone="causal_lm", lm_config=tiny_lm_config()),  # no entity block
        dict(backbone="causal_lm", lm_config=tiny_lm_config(VOCAB + 1), entity_token_start=10, num_entity_tokens=5),
        dict(entity_token_start=30, num_entity_tokens=20),
        dict(eos_loss_weight=0.0),
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        tiny_config(**kwargs)


def test_lm_head_bias_is_a_peter_option_that_saves_and_loads(tmp_path):
    with pytest.raises(ValueError, match="lm_head_bias"):
        tiny_lm_explainer_config(lm_head_bias=True)
    assert make_model().lm_head.bias is None  # the default: no bias
    model = make_model(tiny_config(lm_head_bias=True))
    with torch.no_grad():
        model.lm_head.bias.normal_()
    ids, mask = left_pad([SEQ_A, SEQ_B])
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(reloaded.lm_head.bias, model.lm_head.bias, rtol=0, atol=0)
    torch.testing.assert_close(reloaded(ids, attention_mask=mask).logits, model(ids, attention_mask=mask).logits)


# ---------------------------------------------------------------- PETER backbone


def test_forward_shapes_losses_and_backward():
    model = make_model()
    model.train()
    ids, mask = left_pad([SEQ_A, SEQ_B])
    labels = labels_for(ids, mask)
    ratings = torch.tensor([4.0, 2.0])
    out = model(ids, attention_mask=mask, labels=labels, rating_labels=ratings, output_hidden_states=True)
    batch, length = ids.shape
    assert out.logits.shape == (batch, length, VOCAB)
    assert out.rating_prediction.shape == (batch,)
    assert out.context_logits.shape == (batch, VOCAB)
    assert len(out.hidden_states) == model.config.num_hidden_layers + 1
    assert out.hidden_states[-1].shape == (batch, length, 32)
    weights = model.config.loss_weights
    terms = {"text": out.text_loss, "rating": out.rating_loss, "context": out.context_loss,
             "unlikelihood": out.unlikelihood_loss}
    expected = sum(weights[name] * value for name, value in terms.items())
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    for name in ("lm_head.weight", "rating_head.0.weight", "model.layers.0.attention.qkv_proj.weight"):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name

    assert model(ids, attention_mask=mask).loss is None  # no labels, no loss
    only_rating = model(ids, attention_mask=mask, rating_labels=ratings)
    torch.testing.assert_close(only_rating.loss, weights["rating"] * only_rating.rating_loss)


def test_token_unlikelihood_loss_penalises_earlier_distinct_words_only():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 9)
    targets = torch.tensor([[4, 5, 4, 6, 2, -100], [7, 7, 3, 1, 3, 2]])  # 2 = <eos>, 1 = <bos>: ignored
    expected, steps = 0.0, 0
    for row in range(2):
        for t in range(6):
            if targets[row, t] == -100:
                continue
            steps += 1
            earlier = {int(w) for w in targets[row, :t] if w not in (-100, 1, 2)} - {int(targets[row, t])}
            probs = logits[row, t].softmax(-1)
            expected += sum(-torch.log(1 - probs[w]) for w in earlier)
    torch.testing.assert_close(token_unlikelihood_loss(logits, targets, ignore_ids=(1, 2)), expected / steps)
    no_repeats_possible = torch.tensor([[4, -100, -100, -100, -100, -100]] * 2)
    assert token_unlikelihood_loss(logits, no_repeats_possible) == 0


def test_unlikelihood_term_joins_the_loss_only_when_weighted():
    ids, mask = left_pad([SEQ_A, PROMPT_B + [6, 7, 6, 7, EOS]])
    labels = labels_for(ids, mask)
    without = make_model(tiny_config(loss_weights={"unlikelihood": 0.0}))
    assert without(ids, attention_mask=mask, labels=labels).unlikelihood_loss is None
    model = make_model(tiny_config(loss_weights={"unlikelihood": 0.5}))
    out = model(ids, attention_mask=mask, labels=labels)
    assert out.unlikelihood_loss > 0
    torch.testing.assert_close(out.loss, out.text_loss + out.context_loss + 0.5 * out.unlikelihood_loss)


def test_past_key_values_is_the_deprecated_name_of_cache():
    model = make_model()
    ids, mask = left_pad([SEQ_A])

    def prefix_cache():
        return model(ids[:, :-1], attention_mask=mask[:, :-1], use_cache=True).cache

    step = dict(attention_mask=mask, use_cache=True)
    new = model(ids[:, -1:], cache=prefix_cache(), **step)
    old = model(ids[:, -1:], past_key_values=prefix_cache(), **step)
    torch.testing.assert_close(new.logits[:, -1], model(ids, attention_mask=mask).logits[:, -1])  # cache used
    torch.testing.assert_close(old.logits, new.logits)


def test_text_loss_is_shifted_cross_entropy():
    model = make_model(tiny_config(eos_loss_weight=1.0))  # PETER's plain cross entropy (the default weighs <eos>)
    ids, mask = left_pad([SEQ_A])
    labels = labels_for(ids, mask)
    out = model(ids, attention_mask=mask, labels=labels)
    log_probs = out.logits[0, :-1].log_softmax(-1)
    targets = labels[0, 1:]
    keep = targets != -100
    expected = -log_probs[keep].gather(1, targets[keep, None]).mean()
    torch.testing.assert_close(out.text_loss, expected)
    assert keep.sum() == 4  # 3 words + <eos>


def test_eos_loss_weight_weights_the_end_targets_of_the_text_loss(tmp_path):
    """`eos_loss_weight` w: the text loss is sum(weight x token loss) / sum(weight), `<eos>` targets weighted w;
    saved and loaded with the config; w = 1 is the plain cross entropy."""
    ids, mask = left_pad([SEQ_A, SEQ_B])
    labels = labels_for(ids, mask)
    plain = make_model(tiny_config(eos_loss_weight=1.0))(ids, attention_mask=mask, labels=labels)
    model = make_model(tiny_config(eos_loss_weight=0.5))
    weighted = model(ids, attention_mask=mask, labels=labels)
    targets = labels[:, 1:]
    keep = targets != -100
    token_losses = -plain.logits[:, :-1].log_softmax(-1)[keep].gather(1, targets[keep, None]).squeeze(1)
    weights = torch.where(targets[keep] == EOS, 0.5, 1.0)
    torch.testing.assert_close(weighted.text_loss, (weights * token_losses).sum() / weights.sum())
    assert not torch.isclose(weighted.text_loss, plain.text_loss)
    model.save_pretrained(tmp_path)
    assert RecExplainerForConditionalGeneration.from_pretrained(tmp_path).config.eos_loss_weight == 0.5


def test_saved_generation_config_keeps_the_special_tokens(tmp_path):
    make_model().save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert reloaded.generation_config.eos_token_id == EOS and reloaded.generation_config.pad_token_id == PAD


def test_post_ln_layout_positions_are_fixed_and_trainable_weights_change():
    assert isinstance(make_model(tiny_pre_ln_config()).model.norm, torch.nn.LayerNorm)
    model = make_model(tiny_config())  # PETER's layout is the default
    positions = model.model.position_embeddings.weight
    assert not positions.requires_grad
    torch.testing.assert_close(positions[0, 1::2], torch.ones(16))  # cos(0) = 1
    torch.testing.assert_close(positions[1, 0], torch.sin(torch.tensor(1.0)))
    assert isinstance(model.model.norm, torch.nn.Identity)
    ids, mask = left_pad([SEQ_A])
    model.train()
    out = model(ids, attention_mask=mask, labels=labels_for(ids, mask))
    out.loss.backward()
    assert positions.grad is None and model.model.layers[0].attention_norm.weight.grad.abs().sum() > 0


def test_prefix_never_attends_to_text():
    model = make_model()
    other = SEQ_A[:5] + [9, 8, 37, 36, EOS][: len(SEQ_A) - 5]
    ids = torch.tensor([SEQ_A, other])
    out = model(ids, output_hidden_states=True)
    for layer_states in out.hidden_states:
        torch.testing.assert_close(layer_states[0, :5], layer_states[1, :5], rtol=0, atol=0)
    torch.testing.assert_close(out.rating_prediction[0], out.rating_prediction[1], rtol=0, atol=0)
    torch.testing.assert_close(out.context_logits[0], out.context_logits[1], rtol=0, atol=0)
    # the text positions do see the changed words (the test can fail)
    assert not torch.allclose(out.hidden_states[-1][0, 6:], out.hidden_states[-1][1, 6:])


@pytest.mark.parametrize(
    ("visible", "slot_index", "replacement", "should_change"),
    [
        ("peter", 3, FEATURE_B, False),  # feature invisible for PETER
        ("peter", 2, RATING_2, False),  # rating invisible by default
        ("peter_plus", 3, FEATURE_B, True),  # PETER+ reads the feature
        (["user", "item", "rating"], 2, RATING_2, True),
    ],
)
def test_invisible_slot_does_not_change_outputs(visible, slot_index, replacement, should_change):
    model = make_model(tiny_config(visible_prefix_slots=visible))
    changed = list(SEQ_A)
    changed[slot_index] = replacement
    out = model(torch.tensor([SEQ_A, changed]), output_hidden_states=True)
    others = [i for i in range(len(SEQ_A)) if i != slot_index]
    same = torch.equal(out.hidden_states[-1][0, others], out.hidden_states[-1][1, others]) and torch.equal(
        out.rating_prediction[0], out.rating_prediction[1]
    )
    assert same is not should_change


def test_left_padding_and_trl_position_ids_give_the_same_logits():
    model = make_model()
    ids, mask = left_pad([SEQ_A, SEQ_B])
    batched = model(ids, attention_mask=mask)
    alone = model(torch.tensor([SEQ_A]))
    pad = ids.shape[1] - len(SEQ_A)
    torch.testing.assert_close(batched.logits[0, pad:], alone.logits[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(batched.rating_prediction[0], alone.rating_prediction[0], rtol=1e-5, atol=1e-5)
    # TRL's call: bool mask, exclusive-cumsum position ids, pads replaced by 0
    bool_mask = mask.bool()
    trl = model(ids, attention_mask=bool_mask, position_ids=bool_mask.cumsum(1) - bool_mask.long())
    torch.testing.assert_close(trl.logits[bool_mask], batched.logits[bool_mask], rtol=1e-5, atol=1e-5)


def greedy(model, rows, **kwargs):
    ids, mask = left_pad(rows)
    return model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=6, min_new_tokens=6, **kwargs)


@pytest.mark.parametrize(
    "config_fn", [tiny_config, tiny_pre_ln_config, tiny_lm_explainer_config], ids=["peter", "pre_ln", "causal_lm"]
)
def test_generate_left_padded_batch_equals_each_prompt_alone(config_fn):
    model = make_model(config_fn())
    long_prompt = PROMPT_B + [6, 7]  # a prompt that already holds two words forces padding of the other
    batch = greedy(model, [PROMPT_A, long_prompt])
    alone_a = greedy(model, [PROMPT_A])
    alone_b = greedy(model, [long_prompt])
    assert batch[0, 2:].tolist() == alone_a[0].tolist()
    assert batch[1].tolist() == alone_b[0].tolist()
    assert torch.equal(batch, greedy(model, [PROMPT_A, long_prompt], use_cache=False))


def test_generate_cached_scores_equal_uncached():
    model = make_model()
    ids, mask = left_pad([PROMPT_A, PROMPT_B + [6]])
    kwargs = dict(
        attention_mask=mask, max_new_tokens=5, do_sample=False, output_scores=True, return_dict_in_generate=True
    )
    cached = model.generate(ids, use_cache=True, **kwargs)
    uncached = model.generate(ids, use_cache=False, **kwargs)
    assert torch.equal(cached.sequences, uncached.sequences)
    for a, b in zip(cached.scores, uncached.scores):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_beam_search_and_sampling_run():
    model = make_model()
    ids, mask = left_pad([PROMPT_A, PROMPT_B + [6]])
    beams = model.generate(ids, attention_mask=mask, num_beams=3, num_return_sequences=2, max_new_tokens=5)
    assert beams.shape[0] == 4 and torch.equal(beams[:, : ids.shape[1]], ids.repeat_interleave(2, 0))
    torch.manual_seed(0)
    sampled = model.generate(ids, attention_mask=mask, do_sample=True, top_k=5, max_new_tokens=5)
    assert sampled.shape[0] == 2 and sampled.shape[1] <= ids.shape[1] + 5


def test_predict_rating_is_in_range():
    model = make_model()
    ids, mask = left_pad([PROMPT_A, PROMPT_B])
    ratings = model.predict_rating(ids, attention_mask=mask)
    assert ratings.shape == (2,) and ((ratings >= 1) & (ratings <= 5)).all()
    torch.testing.assert_close(ratings, model(ids, attention_mask=mask).rating_prediction.clamp(1, 5))
    with torch.no_grad():
        model.rating_head[-1].bias.fill_(100.0)
    assert torch.equal(model.predict_rating(ids, attention_mask=mask), torch.full((2,), 5.0))


def test_entity_and_pad_tokens_are_never_scored_or_generated():
    model = make_model(tiny_config(entity_token_start=ENTITY_START, num_entity_tokens=NUM_ENTITIES))
    out = model(torch.tensor([SEQ_A]))
    entity = slice(ENTITY_START, ENTITY_START + NUM_ENTITIES)
    assert (out.logits[..., entity] == MASKED_LOGIT).all() and (out.context_logits[..., entity] == MASKED_LOGIT).all()
    assert (out.logits[..., WORDS + [EOS]] != MASKED_LOGIT).all()
    assert (out.logits[..., [PAD, BOS]] == MASKED_LOGIT).all()  # a generated <pad> would read as padding to TRL
    torch.manual_seed(0)
    sampled = model.generate(torch.tensor([PROMPT_A] * 8), do_sample=True, max_new_tokens=8, min_new_tokens=8)
    new_tokens = sampled[:, len(PROMPT_A):]
    assert not ((new_tokens >= ENTITY_START) & (new_tokens < ENTITY_START + NUM_ENTITIES)).any()
    before_eos = (new_tokens == EOS).cumsum(-1) == 0
    assert not ((new_tokens == BOS) | ((new_tokens == PAD) & before_eos)).any()


# ---------------------------------------------------------------- causal-LM backbone (PEPLER style) + LoRA


def test_causal_lm_forward_entity_prompts_and_save_load(tmp_path):
    model = make_model(tiny_lm_explainer_config())
    assert model.lm_head.weight is model.model.lm.get_input_embeddings().weight  # tied like GPT-2
    ids, mask = left_pad([SEQ_A, SEQ_B])
    labels = labels_for(ids, mask)
    out = model(
        ids, attention_mask=mask, labels=labels, rating_labels=torch.tensor([4.0, 2.0]), output_hidden_states=True
    )
    assert out.logits.shape == (2, ids.shape[1], VOCAB) and out.rating_prediction.shape == (2,)
    out.loss.backward()
    assert model.model.entity_embeddings.weight.grad[USER_A - ENTITY_START].abs().sum() > 0
    # entity ids are looked up in the prompt table, not in the LM's word embeddings
    with torch.no_grad():
        model.model.lm.get_input_embeddings().weight[USER_A].fill_(7.0)
    unchanged = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    torch.testing.assert_close(unchanged, out.hidden_states[-1], rtol=0, atol=0)
    with torch.no_grad():
        model.model.entity_embeddings.weight[USER_A - ENTITY_START].fill_(7.0)
    changed = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    assert not torch.allclose(changed[0], out.hidden_states[-1][0])  # row A's user prompt vector changed
    torch.testing.assert_close(changed[1], out.hidden_states[-1][1], rtol=0, atol=0)  # row B has no USER_A
    out = model(ids, attention_mask=mask)
    model.save_pretrained(tmp_path)
    reloaded = RecExplainerForConditionalGeneration.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(reloaded(ids, attention_mask=mask).logits, out.logits, rtol=0, atol=0)


def test_from_causal_lm_copies_the_lm_and_masks_entity_logits(tmp_path):
    torch.manual_seed(0)
    lm = GPT2LMHeadModel(tiny_lm_config(vocab_size=ENTITY_START)).eval()  # a "pretrained" LM with 10 word ids
    lm.save_pretrained(tmp_path)
    model = RecExplainerForConditionalGeneration.from_causal_lm(
        str(tmp_path), vocab_size=VOCAB, entity_token_start=ENTITY_START, num_entity_tokens=30,
        pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS,
    ).eval()
    for name, tensor in lm.transformer.state_dict().items():
        torch.testing.assert_close(model.model.lm.state_dict()[name], tensor, rtol=0, atol=0)
    ids = torch.tensor([[USER_A, ITEM_A, RATING_4, FEATURE_A, BOS, 3, 4]])
    logits = model(ids).logits
    assert logits.shape == (1, 7, VOCAB)
    assert (logits[..., ENTITY_START:] == MASKED_LOGIT).all()
    generated = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert (generated[0, 7:] < ENTITY_START).all()


def test_causal_lm_lora_trains_only_adapters_and_prompts(tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model

    base = make_model(tiny_lm_explainer_config())
    base.save_pretrained(tmp_path / "base")
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["c_attn"], modules_to_save=["entity_embeddings", "rating_head"])
    )
    before = {name: p.detach().clone() for name, p in peft_model.named_parameters()}
    ids, mask = left_pad([SEQ_A, SEQ_B])
    optimizer = torch.optim.Adam([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    peft_model.train()
    for _ in range(2):
        loss = peft_model(
            input_ids=ids, attention_mask=mask, labels=labels_for(ids, mask), rating_labels=torch.tensor([4.0, 2.0])
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    changed = {name for name, p in peft_model.named_parameters() if not torch.equal(p, before[name])}
    assert changed and all(("lora_" in name) or ("modules_to_save" in name) for name in changed), changed
    assert any("lora_A" in name for name in changed) and any("entity_embeddings" in name for name in changed)

    peft_model.eval()
    expected = peft_model(input_ids=ids, attention_mask=mask).logits
    peft_model.save_pretrained(tmp_path / "adapter")
    fresh = RecExplainerForConditionalGeneration.from_pretrained(tmp_path / "base").eval()
    reloaded = PeftModel.from_pretrained(fresh, tmp_path / "adapter").eval()
    torch.testing.assert_close(reloaded(input_ids=ids, attention_mask=mask).logits, expected)
    assert reloaded.generate(input_ids=ids, attention_mask=mask, max_new_tokens=4).shape[0] == 2

    # a value model for PPO from the LoRA-trained generator: merge the adapters into a copy first
    with pytest.raises(ValueError):
        RecExplainerForValueModeling.from_generator(peft_model)
    merged = copy.deepcopy(peft_model).merge_and_unload()
    value_model = RecExplainerForValueModeling.from_generator(merged).eval()
    adapted_hidden = peft_model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    value_hidden = value_model.model(ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    torch.testing.assert_close(value_hidden, adapted_hidden, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- value model (TRL convention)


@pytest.mark.parametrize("config_fn", [tiny_config, tiny_lm_explainer_config], ids=["peter", "causal_lm"])
def test_value_model_with_trl_get_reward(config_fn, monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl.experimental.utils import get_reward

    generator = make_model(config_fn())
    value_model = RecExplainerForValueModeling.from_generator(generator).eval()
    for name, tensor in generator.model.state_dict().items():
        assert torch.equal(value_model.model.state_dict()[name], tensor), name
    query, _ = left_pad([PROMPT_A, PROMPT_B + [6]])
    responses = torch.tensor([[3, 4, EOS, PAD], [7, 8, 9, EOS]])
    query_responses = torch.cat([query, responses], dim=1)
    values, final, lengths = get_reward(value_model, query_responses, PAD, query.shape[1])
    assert values.shape == (*query_responses.shape, 1) and final.shape == (2,)
    assert lengths.tolist() == [query.shape[1] + 2, query.shape[1] + 3]
    mask = query_responses != PAD
    own = value_model(query_responses, attention_mask=mask).values
    assert own.shape == query_responses.shape
    torch.testing.assert_close(values.squeeze(-1)[mask], own[mask], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- Auto classes (remote code: tests/test_remote_code.py)


def test_auto_classes(tmp_path):
    config = tiny_config()
    assert isinstance(AutoConfig.for_model("recexplainer"), RecExplainerConfig)
    assert isinstance(AutoModelForCausalLM.from_config(config), RecExplainerForConditionalGeneration)
    make_model(config).save_pretrained(tmp_path)
    assert (tmp_path / "modeling_explainer.py").exists() and (tmp_path / "configuration_explainer.py").exists()


def test_too_long_sequence_raises():
    model = make_model(tiny_config(max_position_embeddings=8))
    with pytest.raises(ValueError):
        model(torch.tensor([SEQ_A]))


def test_backbone_is_the_base_model():
    model = make_model()
    assert isinstance(getattr(model, model.base_model_prefix), RecExplainerModel)
    ids, mask = left_pad([SEQ_A, SEQ_B])
    hidden = model.model(ids, attention_mask=mask, return_dict=True, output_hidden_states=True, use_cache=False)
    torch.testing.assert_close(hidden.hidden_states[-1], hidden.last_hidden_state, rtol=0, atol=0)


def test_sequence_unlikelihood_loss_penalises_the_flagged_tokens_only():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6)  # [B, T, V]
    tokens = torch.tensor([[1, 2, 1, 2], [3, 3, 0, 0]])
    repeats = torch.tensor([[False, False, True, True], [False, True, False, False]])
    valid = torch.tensor([[True, True, True, True], [True, True, False, False]])
    p = logits.softmax(-1)
    expected = -(torch.log(1 - p[0, 2, 1]) + torch.log(1 - p[0, 3, 2]) + torch.log(1 - p[1, 1, 3])) / 6
    torch.testing.assert_close(sequence_unlikelihood_loss(logits, tokens, repeats, valid), expected)
    assert sequence_unlikelihood_loss(logits, tokens, torch.zeros_like(repeats), valid) == 0
