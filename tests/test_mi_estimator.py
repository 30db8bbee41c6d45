"""MI estimator: config, shapes, save/load, TRL reward convention, numerics, MINE on planted toys."""
import math

import pytest
import torch
from hub_server import local_hub  # noqa: F401  (pytest fixture)
from model_tester import ModelTesterMixin
from transformers import AutoModel, AutoModelForSequenceClassification

from recexplain.mmi.mine import MINELoss, MINETrainingArguments, estimate_mi, fit_mine
from recexplain.models.mi_estimator import (
    MIEstimatorConfig,
    MIEstimatorForRewardModeling,
    MIEstimatorModel,
    pointwise_mutual_information,
)

PAD, BOS, EOS = 0, 1, 2
RATINGS, FEATURES = [3, 4, 5, 6, 7], [8, 9, 10]


def tiny_config(**kwargs):
    defaults = dict(vocab_size=40, hidden_size=32, intermediate_size=32, rating_token_ids=RATINGS,
                    feature_token_ids=FEATURES, rating_prior=[0.1, 0.1, 0.2, 0.3, 0.3])
    defaults.update(kwargs)
    return MIEstimatorConfig(**defaults)


def left_padded_batch():
    """Two queries (one left-padded by 2) with right-padded responses, as TRL builds them."""
    return torch.tensor([
        [PAD, PAD, 11, 12, 5, 9, BOS, 20, 21, 22, EOS, PAD, PAD],
        [11, 13, 3, 8, BOS, 23, 24, 25, 26, 27, 28, 29, EOS],
        [PAD, PAD, 12, 13, 7, 10, BOS, 30, EOS, PAD, PAD, PAD, PAD],
    ])


def toy_data(n, dependent, generator):
    """Prompt-layout rows whose 3rd explanation word is `15 + rating label` when `dependent`."""
    y = torch.randint(0, 5, (n,), generator=generator)
    words = torch.randint(20, 40, (n, 6), generator=generator)
    words[:, 2] = 15 + (y if dependent else torch.randint(0, 5, (n,), generator=generator))
    col = lambda v: torch.full((n, 1), v)  # noqa: E731
    ids = torch.cat([col(11), col(12), (3 + y)[:, None], col(8), col(BOS), words, col(EOS)], 1)
    return ids, torch.ones_like(ids)


# -- the ModelTester checks (tests/model_tester.py) -------------------------------------------------
class TestMIEstimatorForRewardModeling(ModelTesterMixin):
    model_class, auto_class = MIEstimatorForRewardModeling, AutoModelForSequenceClassification

    def get_config(self):
        return tiny_config(reward_type="joint", eps=0.3, pooling="max")

    def get_inputs(self, config):
        return {"input_ids": left_padded_batch()}

    def output_shapes(self, config, inputs):
        return {"logits": (len(inputs["input_ids"]), 1)}

    def training_loss(self, outputs):
        return outputs.logits.sum()


class TestMIEstimatorModel(ModelTesterMixin):
    model_class, auto_class = MIEstimatorModel, AutoModel

    def get_config(self):
        return tiny_config(reward_type="joint")

    def get_inputs(self, config):
        ids = left_padded_batch()
        return {"input_ids": ids, "attention_mask": ids != PAD}

    def output_shapes(self, config, inputs):
        batch, length = inputs["input_ids"].shape
        return {"pointwise_mi": (batch, length, 2), "rating_statistics": (batch, length, len(RATINGS))}

    def training_loss(self, outputs):
        return outputs.pointwise_mi.sum()


@pytest.mark.parametrize("bad", [
    dict(reward_type="sentiment"), dict(eps=1.5), dict(rating_token_ids=[3]), dict(rating_prior=[0.5, 0.5]),
    dict(rating_prior=[0.0, 0.25, 0.25, 0.25, 0.25]), dict(feature_token_ids=[3]), dict(feature_token_ids=[99]),
    dict(feature_token_ids=[], reward_type="joint"), dict(hidden_size=0), dict(dropout=1.0), dict(pooling="sum"),
    dict(brevity_weight=-1.0), dict(brevity_weight=1.0), dict(brevity_weight=1.0, reference_length=0.0),
])
def test_config_validates(bad):
    with pytest.raises(ValueError):
        tiny_config(**bad)


def test_config_reward_weights():
    assert tiny_config(reward_type="joint", eps=0.3).reward_weights == pytest.approx((0.7, 0.3))


def test_shapes_labels_and_backward():
    model = MIEstimatorModel(tiny_config())
    ids = left_padded_batch()
    out = model(ids, attention_mask=ids != PAD)
    assert out.last_hidden_state.shape == (3, 13, 64)  # rating and feature encoders
    assert out.rating_statistics.shape == (3, 13, 5) and out.feature_statistics.shape == (3, 13, 3)
    assert out.pointwise_mi.shape == (3, 13, 2)
    assert out.rating_labels.tolist() == [2, 0, 4] and out.feature_labels.tolist() == [1, 0, 2]
    # explanation = tokens after <bos> and before <eos>
    assert out.explanation_mask.sum(1).tolist() == [3, 7, 1]
    assert model.statistics(ids, label_type="feature").shape == (3, 3)
    out.pointwise_mi.sum().backward()
    assert model.rating_head.embeddings.weight.grad.abs().sum() > 0


def test_auto_model_on_a_reward_folder_gives_the_estimator_without_its_head(tmp_path):
    model = MIEstimatorForRewardModeling(tiny_config(reward_type="joint")).eval()
    model.save_pretrained(tmp_path)
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(base, MIEstimatorModel)
    ids = left_padded_batch()
    torch.testing.assert_close(base.pointwise_mi(ids), model.backbone.pointwise_mi(ids))


@pytest.mark.parametrize("reward_type", ["rating", "feature", "joint"])
def test_trl_get_reward_matches_pointwise_mi(reward_type):
    from trl.experimental.utils import get_reward

    model = MIEstimatorForRewardModeling(tiny_config(reward_type=reward_type, eps=0.2)).eval()
    with torch.no_grad():  # non-trivial statistics
        for p in model.parameters():
            p.normal_(0, 0.5)
        ids = left_padded_batch()
        _, rewards, _ = get_reward(model, ids, PAD, context_length=7)
        rating = model.backbone.pointwise_mi(ids, label_type="rating")
        feature = model.backbone.pointwise_mi(ids, label_type="feature")
        w_r, w_f = model.config.reward_weights
        torch.testing.assert_close(rewards, w_r * rating + w_f * feature)
        torch.testing.assert_close(rewards, model(ids).logits.squeeze(-1))
        assert rewards.abs().min() > 1e-4  # the comparison is not between zeros
        # explicit labels give the same as the slot labels
        torch.testing.assert_close(model.backbone.pointwise_mi(ids, labels=torch.tensor([2, 0, 4])), rating)


def explanation_rows(*explanations):
    """Prompt-layout rows `<u> <i> <r_5> <f> <bos> words <eos>`, right-padded to one length."""
    width = max(map(len, explanations)) + 6
    rows = [[11, 12, 7, 8, BOS, *words, EOS] for words in explanations]
    return torch.tensor([row + [PAD] * (width - len(row)) for row in rows])


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_pooling_and_length(pooling):
    """Max pooling scores a word by its presence: repeating the explanation's words leaves the reward unchanged,
    while the mean moves with the share of each word."""
    torch.manual_seed(0)
    model = MIEstimatorForRewardModeling(tiny_config(pooling=pooling)).eval()
    ids = explanation_rows([20, 21], [20, 21, 21, 21, 21])
    with torch.no_grad():
        rewards = model(ids, attention_mask=ids != PAD).logits.squeeze(-1)  # [2]
        embedding = model.backbone(ids, attention_mask=ids != PAD).last_hidden_state  # [2, S, 2H]
    if pooling == "max":
        assert rewards[0] == pytest.approx(rewards[1].item(), abs=1e-6)
        # at <bos> (no explanation word yet) the embedding is zero, as with the mean
        assert embedding[:, 4].abs().sum() == 0
    else:
        assert abs(rewards[0] - rewards[1]) > 1e-4


def test_brevity_term_charges_each_missing_word():
    """With `brevity_weight` w and `reference_length` r, an explanation of n tokens earns its MI reward plus
    w * min(0, 1 - r / n): through TRL's `get_reward` as through `forward`, for every prefix."""
    from trl.experimental.utils import get_reward

    torch.manual_seed(0)
    plain = MIEstimatorForRewardModeling(tiny_config()).eval()
    brief = MIEstimatorForRewardModeling(tiny_config(brevity_weight=0.5, reference_length=4.0)).eval()
    brief.load_state_dict(plain.state_dict())
    ids = explanation_rows([20], [20, 21], [20, 21, 22, 23], [20, 21, 22, 23, 24, 25])
    with torch.no_grad():
        mi, with_term = plain(ids).logits.squeeze(-1), brief(ids).logits.squeeze(-1)  # [4]
        _, trl_rewards, _ = get_reward(brief, ids, PAD, context_length=5)
        prefixes = brief(ids).token_rewards - plain(ids).token_rewards  # [4, S]
    expected = torch.tensor([0.5 * (1 - 4 / 1), 0.5 * (1 - 4 / 2), 0.0, 0.0])
    torch.testing.assert_close(with_term - mi, expected)
    torch.testing.assert_close(trl_rewards, with_term)
    # the longest row's prefixes: 1, 2, 3 words, then 4 and more (no charge)
    torch.testing.assert_close(prefixes[3, 5:11], 0.5 * (1 - 4 / torch.tensor([1.0, 2, 3, 4, 5, 6])).clamp(max=0))


def test_reward_ignores_padding_amount():
    model = MIEstimatorForRewardModeling(tiny_config()).eval()
    row = torch.tensor([[11, 12, 5, 9, BOS, 20, 21, 22, EOS]])
    padded = torch.tensor([[PAD, PAD, PAD, 11, 12, 5, 9, BOS, 20, 21, 22, EOS, PAD, PAD]])
    torch.testing.assert_close(model(row).logits, model(padded).logits)


def test_pointwise_mi_is_finite_with_extreme_scores():
    scores = torch.tensor([[1e4, -1e4, 0.0], [-1e30, 1e30, 3.0], [88.0, 89.0, 90.0]], requires_grad=True)
    log_p = torch.log(torch.tensor([1e-8, 0.5, 0.5 - 1e-8]))
    pmi = pointwise_mutual_information(scores, torch.tensor([0, 1, 2]), log_p)
    assert torch.isfinite(pmi).all()
    pmi.sum().backward()
    assert torch.isfinite(scores.grad).all()
    # bounded above by -log p(y) (the pointwise MI can never exceed the label's surprisal)
    assert (pmi <= -log_p[[0, 1, 2]] + 1e-3).all()


def test_mine_loss_is_finite_with_extreme_scores():
    loss_fn = MINELoss(ema_rate=0.01)
    for scale in (1.0, 1e3, 1e6):
        scores = (torch.randn(16, 5) * scale).requires_grad_()
        loss, estimate = loss_fn(scores, torch.randint(0, 5, (16,)))
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(estimate) and torch.isfinite(scores.grad).all()
    with pytest.raises(ValueError):
        loss_fn(torch.zeros(1, 5), torch.tensor([0]))


def test_mine_moving_average_corrects_the_gradient():
    """The log-term gradient is E[exp T grad T] / ema, with ema the moving average of E[exp T]."""
    loss_fn = MINELoss(ema_rate=0.5)
    torch.manual_seed(0)
    first = torch.zeros(4, 2)
    loss_fn(first, torch.tensor([0, 1, 0, 1]))  # ema = E[exp 0] = 1
    scores = torch.full((4, 2), math.log(3.0), requires_grad=True)
    labels = torch.tensor([0, 1, 0, 1])
    loss, _ = loss_fn(scores, labels)
    loss.backward()
    ema = 0.5 * 1.0 + 0.5 * 3.0
    # joint term: -1/4 per sample; marginal term: + exp(T)/(4 ema) = 3 / (4 * 2) per sampled label
    grad = scores.grad.sum(1)
    torch.testing.assert_close(grad, torch.full((4,), -0.25 + 3.0 / (4 * ema)))


@pytest.mark.parametrize("dependent", [True, False])
def test_mine_recovers_planted_mutual_information(dependent):
    generator = torch.Generator().manual_seed(1)
    train, held_out = toy_data(2000, dependent, generator), toy_data(1000, dependent, generator)
    model = MIEstimatorModel(tiny_config(rating_prior=None))
    args = MINETrainingArguments(mine_epochs=15, mine_learning_rate=3e-3, mine_feature=False)
    history = fit_mine(model, *train, args, *held_out, seed=0)
    assert len(history) == 15 and all(math.isfinite(h["mi_rating_dv"]) for h in history)
    estimate = estimate_mi(model, *held_out)["rating"]
    if dependent:  # labels determine a token: I = H(Y) = log 5
        assert estimate["dv"] == pytest.approx(math.log(5), abs=0.1)
        assert estimate["pointwise"] == pytest.approx(math.log(5), abs=0.1)
    else:
        assert abs(estimate["dv"]) < 0.05 and abs(estimate["pointwise"]) < 0.05


def test_train_script_saves_estimator_tokenizer_and_card(tmp_path, monkeypatch, local_hub):  # noqa: F811
    import json
    import runpy
    import sys
    from pathlib import Path

    from huggingface_hub import ModelCard
    from transformers import AutoTokenizer

    out = tmp_path / "mi"
    script = Path(__file__).resolve().parents[1] / "scripts" / "train_mi_estimator.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--output_dir", str(out), "--mine_epochs", "2",
                                      "--hidden_size", "8", "--intermediate_size", "8",
                                      "--push_to_hub", "true", "--hub_model_id", "tester/mi"])
    runpy.run_path(str(script), run_name="__main__")
    summary = json.loads((out / "mine_history.json").read_text())
    model = MIEstimatorForRewardModeling.from_pretrained(out)
    assert len(AutoTokenizer.from_pretrained(out)) == model.config.vocab_size
    assert len(summary["history"]) == 2 and summary["h_rating"] > 0
    results = {r.metric_type: r.metric_value for r in ModelCard.load(out / "README.md").data.eval_results}
    assert results["mi_rating"] == summary["mi_rating"] and results["mi_feature"] == summary["mi_feature"]
    pushed = local_hub.repos["tester/mi"].files
    assert {"README.md", "config.json", "model.safetensors", "tokenizer.json", "mine_history.json"} <= set(pushed)
    assert pushed["model.safetensors"] == (out / "model.safetensors").read_bytes()


@pytest.mark.parametrize("bad_value", [float("nan"), float("inf")])
def test_non_finite_statistics_and_rewards_stop_with_a_clear_error(bad_value):
    scores = torch.randn(8, 5)
    scores[3, 1] = bad_value
    with pytest.raises(FloatingPointError, match=r"1 of 8 samples .*sample 3"):
        MINELoss()(scores, torch.randint(0, 5, (8,)))
    model = MIEstimatorForRewardModeling(tiny_config()).eval()
    with torch.no_grad():
        model.backbone.get_input_embeddings().weight[21] = bad_value  # a corrupted weight of one response word
    with pytest.raises(FloatingPointError, match=r"NaN or infinite for 1 of 3 responses \(first: response 0\)"):
        model(left_padded_batch())


@pytest.mark.slow
def test_train_script_under_two_processes(tmp_path):
    """Data parallel MINE: each process trains on its share of every batch and joins every gradient average, so
    the run finishes (no process waits on another) with one saved estimator."""
    from script_runs import run_script, accelerate_launch

    log = run_script(accelerate_launch("scripts/train_mi_estimator.py", "--output_dir", str(tmp_path / "mi"),
                                        "--mine_epochs", "2", "--hidden_size", "8", "--intermediate_size", "8"))
    assert log.count("world size 2 (DistributedType.MULTI_CPU)") == 2, log[-3000:]  # both gloo workers
    assert "saved the MI estimator" in log
    model = MIEstimatorForRewardModeling.from_pretrained(tmp_path / "mi")
    assert all(torch.isfinite(p).all() for p in model.parameters())

