"""CTR models of `recexplain.models.srp4ctr` (transformers ModelTester style, tiny configs)."""
import pytest
import torch

from model_tester import ModelTesterMixin
from transformers import AutoModel, AutoModelForPreTraining

from recexplain.models.srp4ctr import (
    CTR_MODELS,
    AutoModelForCTRPrediction,
    BSTConfig,
    BSTForCTRPrediction,
    DINConfig,
    DINForCTRPrediction,
    DINQFormerConfig,
    DINQFormerForCTRPrediction,
    SRP4CTRConfig,
    SRP4CTRForCTRPrediction,
    SRP4CTRForPreTraining,
    SRP4CTRModel,
)
from recexplain.models.srp4ctr.layers import ActivationUnit

MASK, IGNORE = 1, -100
SIZES = dict(item_vocab_size=40, attr_vocab_size=12, behavior_vocab_size=7, time_vocab_size=9, user_vocab_size=10,
             max_seq_len=8, max_attrs=3, hidden_size=32, mlp_hidden_sizes=[16, 8])
TRANSFORMER = dict(num_hidden_layers=2, num_attention_heads=2, intermediate_size=48)
CONFIGS = {
    "srp4ctr": lambda **kw: SRP4CTRConfig(**{**SIZES, **TRANSFORMER, **kw}),
    "din": lambda **kw: DINConfig(**{**SIZES, "attention_hidden_sizes": [16, 8], **kw}),
    "bst": lambda **kw: BSTConfig(**{**SIZES, **TRANSFORMER, **kw}),
    "din_qformer": lambda **kw: DINQFormerConfig(**{**SIZES, **TRANSFORMER, "num_query_tokens": 3,
                                                    "attention_hidden_sizes": [16, 8], **kw}),
}


def ctr_batch(config, batch_size=3, seq_len=6, num_candidates=4, seed=0):
    """Random right-padded CTR batch (contracts.md "Behaviour data")."""
    g = torch.Generator().manual_seed(seed)
    B, L, A, N = batch_size, seq_len, config.max_attrs, num_candidates

    def ids(vocab, *shape):
        return torch.randint(3, vocab, shape, generator=g)

    attrs = ids(config.attr_vocab_size, B, L, A)
    attrs[..., -1] = 0  # a pad slot
    batch = {
        "history_item_ids": ids(config.item_vocab_size, B, L),
        "history_attr_ids": attrs,
        "history_behavior_ids": ids(config.behavior_vocab_size, B, L),
        "history_time_ids": ids(config.time_vocab_size, B, L),
        "history_mask": torch.ones(B, L, dtype=torch.long),
        "candidate_item_ids": ids(config.item_vocab_size, B, N),
        "candidate_attr_ids": ids(config.attr_vocab_size, B, N, A),
        "user_ids": ids(config.user_vocab_size, B),
        "labels": torch.randint(0, 2, (B, N), generator=g).float(),
    }
    for key in ("history_item_ids", "history_behavior_ids", "history_time_ids", "history_mask"):
        batch[key][1, L - 2:] = 0  # user 1 has 2 padding positions
    batch["history_attr_ids"][1, L - 2:] = 0
    return batch


def pretraining_batch(config, seed=0):
    """CTR-batch history where position 1 is item-masked (id + every attr slot = [MASK]) and
    position 3 behaviour-masked (behaviour + time gap = [MASK]); labels hold the originals."""
    batch = {k: v.clone() for k, v in ctr_batch(config, seed=seed).items() if k.startswith("history") or k == "user_ids"}
    items, attrs = batch["history_item_ids"], batch["history_attr_ids"]
    behaviors, times = batch["history_behavior_ids"], batch["history_time_ids"]
    labels_item_id, labels_behavior = torch.full_like(items, IGNORE), torch.full_like(items, IGNORE)
    labels_time_gap, labels_item_attr = torch.full_like(items, IGNORE), torch.full_like(attrs, IGNORE)
    labels_item_id[:, 1] = items[:, 1]
    labels_item_attr[:, 1] = attrs[:, 1].masked_fill(attrs[:, 1] == 0, IGNORE)
    labels_behavior[:, 3], labels_time_gap[:, 3] = behaviors[:, 3], times[:, 3]
    items[:, 1], attrs[:, 1], behaviors[:, 3], times[:, 3] = MASK, MASK, MASK, MASK
    batch.update(labels_item_id=labels_item_id, labels_item_attr=labels_item_attr,
                 labels_behavior=labels_behavior, labels_time_gap=labels_time_gap)
    return batch


def without_labels(batch):
    return {k: v for k, v in batch.items() if not k.startswith("labels")}


# -- the ModelTester checks (tests/model_tester.py), one class per model ---------------------------
class CTRModelTester(ModelTesterMixin):
    auto_class = AutoModelForCTRPrediction
    name = None  # key of CONFIGS

    def get_config(self):
        return CONFIGS[self.name]()

    def get_inputs(self, config):
        return ctr_batch(config)

    def output_shapes(self, config, inputs):
        return {"logits": inputs["candidate_item_ids"].shape}  # [B, N]

    def test_no_labels_no_loss(self):
        model = self.make_model().eval()
        assert model(**without_labels(ctr_batch(model.config))).loss is None


class TestSRP4CTRForCTRPrediction(CTRModelTester):
    model_class, name = SRP4CTRForCTRPrediction, "srp4ctr"


class TestSRP4CTRWithAttributeTokens(CTRModelTester):
    model_class, name = SRP4CTRForCTRPrediction, "srp4ctr"

    def get_config(self):
        return CONFIGS["srp4ctr"](attribute_input="token")


class TestDINForCTRPrediction(CTRModelTester):
    model_class, name = DINForCTRPrediction, "din"


class TestBSTForCTRPrediction(CTRModelTester):
    model_class, name = BSTForCTRPrediction, "bst"


class TestDINQFormerForCTRPrediction(CTRModelTester):
    model_class, name = DINQFormerForCTRPrediction, "din_qformer"


class TestSRP4CTRModel(ModelTesterMixin):
    model_class, auto_class = SRP4CTRModel, AutoModel

    def get_config(self):
        return CONFIGS["srp4ctr"]()

    def get_inputs(self, config):
        return {k: v for k, v in ctr_batch(config).items() if k.startswith("history")}

    def output_shapes(self, config, inputs):
        return {"last_hidden_state": (*inputs["history_item_ids"].shape, config.hidden_size)}  # [B, L, H]

    def training_loss(self, outputs):
        return outputs.last_hidden_state.pow(2).mean()


class TestSRP4CTRForPreTraining(ModelTesterMixin):
    model_class, auto_class = SRP4CTRForPreTraining, AutoModelForPreTraining

    def get_config(self):
        return CONFIGS["srp4ctr"]()

    def get_inputs(self, config):
        return pretraining_batch(config)

    def output_shapes(self, config, inputs):
        return {"loss": (), "last_hidden_state": (*inputs["history_item_ids"].shape, config.hidden_size)}


class TestSRP4CTRForPreTrainingWithAttributeTokens(TestSRP4CTRForPreTraining):
    def get_config(self):
        return CONFIGS["srp4ctr"](attribute_input="token")


# -- configs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    dict(hidden_size=30, num_attention_heads=4),
    dict(item_vocab_size=3),
    dict(item_loss="nce"),
    dict(attr_loss="focal"),
    dict(pretraining_loss_weights={"rating": 1.0}),
    dict(pretraining_loss_weights={"item_id": 0.0}),
    dict(mlp_activation="tanh"),
    dict(hidden_dropout_prob=1.0),
    dict(num_query_tokens=0),
    dict(attribute_input="concat"),
])
def test_srp4ctr_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        CONFIGS["srp4ctr"](**bad)


def test_other_configs_reject_bad_values():
    with pytest.raises(ValueError):
        CONFIGS["din"](attention_hidden_sizes=[])
    with pytest.raises(ValueError):
        CONFIGS["bst"](num_attention_heads=3)
    with pytest.raises(ValueError):
        CONFIGS["din_qformer"](din_hidden_size=0)


def test_config_from_feature_map():
    class FakeFeatureMap:
        max_seq_len, max_attrs = 50, 5

        def vocab_size(self, field):
            return {"item_id": 100, "item_attr": 20, "behavior": 6, "time_gap": 18, "user_id": 30}[field]

    config = DINConfig.from_feature_map(FakeFeatureMap(), hidden_size=16)
    assert (config.item_vocab_size, config.attr_vocab_size, config.user_vocab_size) == (100, 20, 30)
    assert (config.max_seq_len, config.max_attrs, config.hidden_size) == (50, 5, 16)
    assert SRP4CTRConfig().pretraining_loss_weights == {"item_id": 1.0, "item_attr": 1.0, "behavior": 1.0, "time_gap": 1.0}


# -- CTR models -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CTR_MODELS))
def test_folded_scoring_equals_per_candidate(name):
    model = CTR_MODELS[name](CONFIGS[name]()).eval()
    batch = without_labels(ctr_batch(model.config, num_candidates=5))
    folded = model(**batch).logits  # [B, N]
    single = [model(**{**batch, "candidate_item_ids": batch["candidate_item_ids"][:, n:n + 1],
                       "candidate_attr_ids": batch["candidate_attr_ids"][:, n:n + 1]}).logits for n in range(5)]
    torch.testing.assert_close(folded, torch.cat(single, dim=1), rtol=0, atol=1e-5)


def test_padding_is_ignored():
    """Changing ids at padded history positions does not change any model's scores."""
    for name, cls in CTR_MODELS.items():
        model = cls(CONFIGS[name]()).eval()
        batch = without_labels(ctr_batch(model.config))
        changed = {k: v.clone() for k, v in batch.items()}
        changed["history_item_ids"][1, -2:] = 5
        changed["history_attr_ids"][1, -2:] = 4
        torch.testing.assert_close(model(**changed).logits, model(**batch).logits, rtol=0, atol=1e-6)


def test_causal_encoder_never_sees_later_events():
    """`causal_attention` (the SASRec-style encoder): a state depends on its own and earlier events only, padding
    is still ignored, and the CTR model still scores with it."""
    config = CONFIGS["srp4ctr"](causal_attention=True)
    encoder = SRP4CTRModel(config).eval()
    batch = without_labels(ctr_batch(config))
    history = {k: v for k, v in batch.items() if k.startswith("history")}
    changed = {k: v.clone() for k, v in history.items()}
    changed["history_item_ids"][:, 3] = 5  # event 3 of every user
    before, after = encoder(**history).last_hidden_state, encoder(**changed).last_hidden_state  # [B, L, H]
    torch.testing.assert_close(after[:, :3], before[:, :3], rtol=0, atol=1e-6)
    assert not torch.allclose(after[0, 3:], before[0, 3:])
    bidirectional = SRP4CTRModel(CONFIGS["srp4ctr"]()).eval()
    bidirectional.load_state_dict(encoder.state_dict())
    assert not torch.allclose(bidirectional(**changed).last_hidden_state[:, :3],
                              bidirectional(**history).last_hidden_state[:, :3])
    padded = {k: v.clone() for k, v in history.items()}
    padded["history_item_ids"][1, -2:] = 5  # user 1's padding positions
    torch.testing.assert_close(encoder(**padded).last_hidden_state[1, :-2], before[1, :-2], rtol=0, atol=1e-6)
    model = SRP4CTRForCTRPrediction(config).eval()
    assert torch.isfinite(model(**batch).logits).all()


def test_attribute_tokens():
    """`attribute_input="token"`: each event's attributes are a token of their own after the event's (the keys
    cover 2L tokens), padding and masked originals stay invisible, and folded scoring still equals one candidate
    at a time."""
    config = CONFIGS["srp4ctr"](attribute_input="token")
    model = SRP4CTRForCTRPrediction(config).eval()
    batch = without_labels(ctr_batch(config, num_candidates=5))
    history = {k: v for k, v in batch.items() if k.startswith("history")}
    encoded = model.srp4ctr(**history, output_key_values=True)
    L = batch["history_item_ids"].shape[1]
    assert encoded.last_hidden_state.shape[1] == L and encoded.key_values[0][0].shape[2] == 2 * L
    folded = model(**batch).logits
    single = [model(**{**batch, "candidate_item_ids": batch["candidate_item_ids"][:, n:n + 1],
                       "candidate_attr_ids": batch["candidate_attr_ids"][:, n:n + 1]}).logits for n in range(5)]
    torch.testing.assert_close(folded, torch.cat(single, dim=1), rtol=0, atol=1e-5)
    padded = {k: v.clone() for k, v in batch.items()}
    padded["history_item_ids"][1, -2:], padded["history_attr_ids"][1, -2:] = 5, 4
    torch.testing.assert_close(model(**padded).logits, folded, rtol=0, atol=1e-6)
    other = {k: v.clone() for k, v in batch.items()}
    other["history_attr_ids"][0, 2, 0] = 4 if other["history_attr_ids"][0, 2, 0] != 4 else 5  # an attribute changes
    assert not torch.allclose(model(**other).logits[0], folded[0])
    summed = SRP4CTRForCTRPrediction(CONFIGS["srp4ctr"]()).eval()
    summed.load_state_dict(model.state_dict())  # the same weights, attributes summed into the events instead
    assert not torch.allclose(summed(**batch).logits, folded)
    pretraining = SRP4CTRForPreTraining(config).eval()
    masked = pretraining_batch(config)
    changed = {k: v.clone() for k, v in masked.items()}
    changed["labels_item_attr"][:, 1, 0] = 5  # the masked event's original attributes are not an input
    torch.testing.assert_close(pretraining(**changed).last_hidden_state, pretraining(**masked).last_hidden_state,
                               rtol=0, atol=0)


def test_tower_uses_encoder_key_value_of_each_layer():
    model = SRP4CTRForCTRPrediction(CONFIGS["srp4ctr"]()).eval()
    batch = without_labels(ctr_batch(model.config))
    encoder_kv, tower_kv = {}, {}
    hooks = [layer.register_forward_hook(lambda m, args, out, i=i: encoder_kv.__setitem__(i, out[1]))
             for i, layer in enumerate(model.srp4ctr.layers)]
    hooks += [layer.register_forward_hook(lambda m, args, out, i=i: tower_kv.__setitem__(i, args[1]))
              for i, layer in enumerate(model.tower)]
    model(**batch)
    for hook in hooks:
        hook.remove()
    states = model.srp4ctr(**{k: v for k, v in batch.items() if k.startswith("history")},
                           output_hidden_states=True).hidden_states
    for i, layer in enumerate(model.srp4ctr.layers):
        assert tower_kv[i][0] is encoder_kv[i][0] and tower_kv[i][1] is encoder_kv[i][1]
        key, value = layer.attention.key_value(states[i])  # encoder layer i's own projections of its input
        torch.testing.assert_close(tower_kv[i][0], key)
        torch.testing.assert_close(tower_kv[i][1], value)
    # the tower owns no key/value projections: the only ones are the encoder's
    kv_params = [n for n, _ in model.named_parameters() if ".key." in n or ".value." in n]
    assert kv_params and all(n.startswith("srp4ctr.layers.") for n in kv_params)
    assert not any(hasattr(layer.attention, "key") or hasattr(layer.attention, "value") for layer in model.tower)
    # and the candidate goes through the shared input embeddings
    assert not any("item_embeddings" in n for n, _ in model.named_parameters() if not n.startswith("srp4ctr."))


# -- pre-training -------------------------------------------------------------------------------
def test_pretraining_loss_is_the_sum_of_the_field_losses():
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"]())
    out = model(**pretraining_batch(model.config))
    parts = [out.item_id_loss, out.item_attr_loss, out.behavior_loss, out.time_gap_loss]
    assert all(p is not None and p.ndim == 0 for p in parts)
    torch.testing.assert_close(out.loss, sum(parts))
    assert model(**without_labels(pretraining_batch(model.config))).loss is None


def test_pretraining_batch_without_behaviour_masks_uses_every_parameter():
    """A field with no masked position is skipped, but all parameters still get a (zero) gradient,
    as DistributedDataParallel requires."""
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"]())
    batch = pretraining_batch(model.config)
    batch["labels_behavior"].fill_(IGNORE)
    out = model(**batch)
    assert out.behavior_loss is None and out.time_gap_loss is not None
    out.loss.backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    assert model.heads["behavior"].dense.weight.grad.abs().sum() == 0


@pytest.mark.parametrize("options", [dict(item_loss="sampled_softmax", num_sampled_negatives=8),
                                     dict(item_loss="sampled_softmax", negative_sampler="uniform", num_sampled_negatives=8),
                                     dict(attr_loss="softmax"),
                                     dict(pretraining_loss_weights={"behavior": 0.0, "item_attr": 2.0})])
def test_pretraining_options(options):
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"](**options))
    out = model(**pretraining_batch(model.config))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    if "pretraining_loss_weights" in options:
        assert "behavior" not in model.heads and out.behavior_loss is None
        torch.testing.assert_close(out.loss, out.item_id_loss + 2.0 * out.item_attr_loss + out.time_gap_loss)


def test_sampled_softmax_sampler_and_full_softmax_approximation():
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"](item_loss="sampled_softmax", num_sampled_negatives=4000))
    ids = model._sample_items(4000, model.config.item_vocab_size - 3, "cpu")
    assert ids.min() >= 3 and ids.max() < model.config.item_vocab_size
    assert (ids < 10).float().mean() > 0.4  # log-uniform: low (frequent) ids dominate
    # with every item sampled many times the sampled loss is close to the full softmax loss
    states, targets = torch.randn(5, 32), torch.randint(3, 40, (5,))
    table, bias = 0.3 * torch.randn(40, 32), torch.zeros(40)
    model.config.negative_sampler = "uniform"
    sampled = model._sampled_softmax_loss(states, targets, table, bias)
    full = torch.nn.functional.cross_entropy(states @ table[3:].T, targets - 3)
    assert abs(sampled.item() - full.item()) < 0.2, (sampled.item(), full.item())


def test_masked_fields_are_never_visible():
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"]()).eval()
    batch = pretraining_batch(model.config)
    out = model(**batch)
    # the originals (labels) at masked positions do not reach the encoder
    other = {k: v.clone() for k, v in batch.items()}
    other["labels_item_id"][:, 1] = (other["labels_item_id"][:, 1] + 1 - 3) % 37 + 3
    other["labels_behavior"][:, 3] = (other["labels_behavior"][:, 3] + 1 - 3) % 4 + 3
    other["labels_item_attr"][:, 1, 0] = 5
    out2 = model(**other)
    torch.testing.assert_close(out2.last_hidden_state, out.last_hidden_state, rtol=0, atol=0)
    assert not torch.allclose(out2.loss, out.loss)
    # the number of attribute slots the collator masked (pad slots left as pad or set to [MASK]) is invisible too
    fewer = {k: v.clone() for k, v in without_labels(batch).items()}
    fewer["history_attr_ids"][:, 1, 1:] = 0
    torch.testing.assert_close(model.srp4ctr(**{k: v for k, v in fewer.items() if k != "user_ids"}).last_hidden_state,
                               out.last_hidden_state, rtol=0, atol=1e-6)


def test_item_id_only_bert_ignores_side_information():
    config = CONFIGS["srp4ctr"](use_side_info=False)
    model = SRP4CTRForPreTraining(config).eval()
    assert list(model.heads) == ["item_id"]
    assert not hasattr(model.srp4ctr.embeddings.fields, "attr_embeddings")
    batch = pretraining_batch(config)
    out = model(**batch)
    assert out.item_attr_loss is None and out.behavior_loss is None
    torch.testing.assert_close(out.loss, out.item_id_loss)
    shuffled = {**batch, "history_behavior_ids": batch["history_behavior_ids"].flip(1),
                "history_attr_ids": torch.zeros_like(batch["history_attr_ids"])}
    torch.testing.assert_close(model(**shuffled).last_hidden_state, out.last_hidden_state)


# -- pre-trained encoder into CTR models ----------------------------------------------------------
@pytest.fixture()
def pretrained_dir(tmp_path):
    model = SRP4CTRForPreTraining(CONFIGS["srp4ctr"]())
    with torch.no_grad():
        for p in model.srp4ctr.parameters():
            p.add_(0.1)  # distinguishable from a fresh init
    model.save_pretrained(tmp_path / "pre")
    return tmp_path / "pre", model.srp4ctr.state_dict()


def assert_encoder_equal(model, state):
    loaded = model.srp4ctr.state_dict()
    assert loaded.keys() == state.keys()
    for key in state:
        torch.testing.assert_close(loaded[key], state[key], rtol=0, atol=0)


def test_ctr_model_loads_pretrained_encoder_and_freezes(pretrained_dir):
    path, state = pretrained_dir
    model = SRP4CTRForCTRPrediction.from_pretrained(path, freeze_encoder=True, hidden_dropout_prob=0.5)
    assert_encoder_equal(model, state)
    assert not any(p.requires_grad for p in model.srp4ctr.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith("srp4ctr."))
    model.train()
    assert not model.srp4ctr.training and model.tower.training
    batch = ctr_batch(model.config)
    history = {k: v for k, v in batch.items() if k.startswith("history")}
    torch.testing.assert_close(model.srp4ctr(**history).last_hidden_state, model.srp4ctr(**history).last_hidden_state)
    tower_before = model.mlp.output.weight.detach().clone()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(**batch).loss.backward()
    optimizer.step()
    assert_encoder_equal(model, state)
    assert not torch.equal(model.mlp.output.weight, tower_before)


def test_qformer_models_load_pretrained_encoder(pretrained_dir):
    path, state = pretrained_dir
    direct = DINQFormerForCTRPrediction.from_pretrained(path, num_query_tokens=2, attention_hidden_sizes=[8])
    via_encoder = DINQFormerForCTRPrediction.from_pretrained_encoder(path, num_query_tokens=2, freeze_encoder=True)
    for model in (direct, via_encoder):
        assert_encoder_equal(model, state)
        assert model.qformer.query_tokens.shape == (2, 32)
        assert model.interest_tokens(**{k: v for k, v in ctr_batch(model.config).items()
                                        if k.startswith("history")}).shape == (3, 2, 32)
    assert not any(p.requires_grad for p in via_encoder.srp4ctr.parameters())
    assert all(p.requires_grad for p in via_encoder.qformer.parameters())


def test_item_only_pretraining_fine_tunes_with_side_information(tmp_path):
    """srp4ctr_bert ablation: an item-id-only encoder loads into a CTR model with side information
    (same CTR model for every pre-training variant); the side embeddings start fresh."""
    bert = SRP4CTRForPreTraining(CONFIGS["srp4ctr"](use_side_info=False))
    bert.save_pretrained(tmp_path / "bert")
    model = SRP4CTRForCTRPrediction.from_pretrained(tmp_path / "bert", use_side_info=True)
    assert model.config.use_side_info and hasattr(model.srp4ctr.embeddings.fields, "attr_embeddings")
    torch.testing.assert_close(model.srp4ctr.layers[0].attention.key.weight, bert.srp4ctr.layers[0].attention.key.weight)
    assert torch.isfinite(model(**ctr_batch(model.config)).loss)


def test_dice_activation_trains_and_round_trips(tmp_path):
    model = DINForCTRPrediction(CONFIGS["din"](mlp_activation="dice"))
    batch = ctr_batch(model.config)
    model(**batch).loss.backward()
    assert model.interest.mlp.activations[0].alpha.grad is not None
    model.eval().save_pretrained(tmp_path)
    loaded = DINForCTRPrediction.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded(**batch).logits, model(**batch).logits, rtol=0, atol=0)


def test_din_activation_unit_equals_concatenation_form():
    unit = ActivationUnit(8, [6, 4], activation="prelu")
    q, k, mask = torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.ones(2, 5)
    mask[0, -1] = 0
    pairs = torch.cat([q[:, :, None].expand(-1, -1, 5, -1), k[:, None].expand(-1, 3, -1, -1)], -1)  # [B, N, L, 16]
    qq, kk = pairs.split(8, -1)
    hidden = unit.first_activation(unit.first(torch.cat([qq, kk, qq - kk, qq * kk], -1)))
    expected = unit.mlp(hidden).squeeze(-1) * mask[:, None]
    torch.testing.assert_close(unit(q, k, mask), expected, rtol=1e-5, atol=1e-6)


def test_auto_classes_dispatch():
    assert type(AutoModel.from_config(CONFIGS["srp4ctr"]())) is SRP4CTRModel
    assert type(AutoModelForPreTraining.from_config(CONFIGS["srp4ctr"]())) is SRP4CTRForPreTraining
    assert type(AutoModel.from_config(CONFIGS["din"]())) is DINForCTRPrediction
    for name, cls in CTR_MODELS.items():
        assert type(AutoModelForCTRPrediction.from_config(CONFIGS[name]())) is cls
