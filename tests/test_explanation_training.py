"""Explainer training helpers, baselines and the two scripts end to end (tiny, synthetic)."""
import json
import logging
import runpy
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from transformers import AutoModelForCausalLM, AutoTokenizer

from recexplain.training.explainer import ExplainerModelArguments
from recexplain.training.explainer_baselines import bias_rating, item_retrieval, mean_rating
from recexplain.training.explainer_evaluation import DECODING_CANDIDATES, PLAIN_GREEDY, saved_decoding

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
METRICS = ("rmse", "mae", "bleu1", "bleu4", "rouge1", "rouge2", "rougeL", "usr", "div", "fcr", "fmr", "distinct1",
           "distinct2", "repeat_rate")
TINY = ["--hidden_size", "16", "--intermediate_size", "32", "--num_attention_heads", "2"]


def _run(script, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(SCRIPTS / script)] + args)
    runpy.run_path(str(SCRIPTS / script), run_name="__main__")


def test_baselines():
    train = [
        {"user": "a", "item": "x", "rating": 5, "explanation": "great sound"},
        {"user": "a", "item": "y", "rating": 4, "explanation": "the sound is good"},
        {"user": "b", "item": "y", "rating": 2, "explanation": "cheap strap"},
        {"user": "b", "item": "x", "rating": 1, "explanation": "the strap broke"},
        {"user": "c", "item": "x", "rating": 3, "explanation": "nice sound overall"},
    ]
    test = [{"user": "a", "item": "x"}, {"user": "b", "item": "y"}]
    assert item_retrieval(train, test) == ["great sound", "cheap strap"]
    assert mean_rating(train, test) == [3.0, 3.0]
    high, low = bias_rating(train, test)
    assert high > 3.0 > low


def test_sentence_records_and_training_reviews_hold_out_validation_and_test(tmp_path):
    import gzip

    from recexplain.data import training_reviews
    from recexplain.training.explainer import sentence_records

    reviews = [{"reviewerID": u, "asin": i, "overall": r, "reviewText": t} for u, i, r, t in [
        ("a", "x", 5, "The strap is great. Love it! ok"), ("b", "x", 2, "Cheap strap broke after a week."),
        ("c", "y", 4, "Good battery life on this tuner."),
    ]]
    path = tmp_path / "reviews.json.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in reviews)
    splits = {"train": [], "validation": [{"user": "b", "item": "x"}], "test": []}
    kept = training_reviews(path, splits)
    assert [(r["user"], r["item"]) for r in kept] == [("a", "x"), ("c", "y")]  # b's review is a validation record
    rows = sentence_records(kept, ["strap", "battery life", "battery"], max_words=6).to_list()
    # "ok" is too short (< 3 tokens); the longest feature phrase wins
    assert [(r["explanation"], r["feature"]) for r in rows] == [
        ("the strap is great", "strap"), ("good battery life on this tuner", "battery life")]
    assert rows[0]["rating"] == 5 and rows[1]["user"] == "c"
    assert sentence_records(kept, ["tuner"], max_words=4).to_list()[0]["feature"] is None  # "the strap is great"


def test_model_arguments_validate():
    with pytest.raises(ValueError, match="model_type"):
        ExplainerModelArguments(model_type="gpt")
    with pytest.raises(ValueError, match="use_peft"):
        ExplainerModelArguments(model_type="peter", use_peft=True)


def test_train_script_saves_and_resumes(tmp_path, monkeypatch, caplog):
    args = ["--output_dir", str(tmp_path), "--model_type", "peter_plus", "--num_train_epochs", "1", *TINY,
            "--max_explanation_length", "8", "--save_total_limit", "3"]
    _run("train_explainer.py", args, monkeypatch)
    final = tmp_path / "final"
    results = json.loads((final / "eval_results.json").read_text())
    assert {"eval_loss", "eval_rmse", "eval_bleu1", "eval_fmr"} <= set(results)
    vocab = json.loads((final / "explanation_vocab.json").read_text())
    assert len(vocab["users"]) > 100 and vocab["features"]
    model = AutoModelForCausalLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert model.config.visible_prefix_slots == ["user", "item", "feature"] and tokenizer.padding_side == "left"
    assert model.generation_config.max_new_tokens == 9
    choices = json.loads((final / "decoding_choice.json").read_text())
    tried = [c for c in DECODING_CANDIDATES if c["min_new_tokens"] < 9]  # room for <eos> in 9 new tokens
    assert [c["generation_kwargs"] for c in choices] == tried and tried[0] == PLAIN_GREEDY
    clean = [c for c in choices if c["repeat_rate"] < 0.05]
    if clean:  # the saved default is the best non-looping decoding on validation
        best = max(clean, key=lambda c: c["text_score"])
        assert saved_decoding(model.generation_config) == best["generation_kwargs"]
    card = ModelCard.load(final / "README.md")
    assert {r.metric_type: r.metric_value for r in card.data.eval_results}["bleu1"] == results["eval_bleu1"]
    logging.getLogger("train_explainer").disabled = False  # another library's dictConfig may have disabled it
    logging.getLogger("recexplain.training.checkpoints").disabled = False
    with caplog.at_level(logging.INFO, logger="recexplain.training.checkpoints"):
        _run("train_explainer.py", [a if a != "1" else "2" for a in args], monkeypatch)  # 2 epochs: the same run
    assert "resuming from" in caplog.text and (tmp_path / "checkpoint-30").is_dir()


def test_train_script_lm_pretraining_and_text_selection(tmp_path, monkeypatch):
    args = ["--output_dir", str(tmp_path), "--model_type", "peter", "--num_train_epochs", "1", *TINY,
            "--max_explanation_length", "8", "--lm_pretraining_epochs", "1", "--layer_norm_position", "post",
            "--position_embedding_type", "sinusoidal", "--scale_embeddings", "true"]
    _run("train_explainer.py", args, monkeypatch)
    stage = tmp_path / "lm_pretraining"
    assert (stage / "final" / "config.json").is_file()
    history = json.loads(next(stage.glob("checkpoint-*/trainer_state.json")).read_text())["log_history"]
    assert any("eval_text_score" in entry for entry in history)  # checkpoint selection saw generated text
    pretrained = AutoModelForCausalLM.from_pretrained(stage / "final")
    final = AutoModelForCausalLM.from_pretrained(tmp_path / "final")
    assert final.config.layer_norm_position == "post" and final.config.position_embedding_type == "sinusoidal"
    changed = [n for n, p in final.named_parameters() if not p.equal(pretrained.get_parameter(n))]
    assert "lm_head.weight" in changed  # fine-tuning continued from the pre-trained weights and changed them
    results = json.loads((tmp_path / "final" / "eval_results.json").read_text())
    assert {"eval_text_score", "eval_repeat_rate", "eval_distinct2"} <= set(results)
    diagnose = runpy.run_path(str(SCRIPTS / "diagnose_explanation_length.py"))["main"]
    report = diagnose([str(tmp_path / "final"), "--output", str(tmp_path / "length.json")])
    assert json.loads((tmp_path / "length.json").read_text()) == json.loads(json.dumps(report))
    steps = report["per_step"]
    assert steps[0]["step"] == 0 and steps[0]["running"] == report["explanations"] > 0
    assert all(0.0 <= s["mean_p_eos"] <= 1.0 and 0.0 <= s["training_hazard"] <= 1.0 for s in steps)
    assert len(steps) <= 9 and report["reference_mean_length_cut"] <= 8  # the saved length: 8 words + <eos>


def test_train_script_causal_lm_lora(tmp_path, monkeypatch):
    _run("train_explainer.py", ["--output_dir", str(tmp_path), "--model_type", "causal_lm", "--use_peft", "true",
                                "--num_train_epochs", "1", "--max_steps", "3", *TINY, "--save_strategy", "no",
                                "--load_best_model_at_end", "false"], monkeypatch)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "final")
    assert model.config.backbone == "causal_lm" and not any("lora" in n for n, _ in model.named_parameters())


def test_benchmark_script_quick(tmp_path, monkeypatch):
    output = tmp_path / "bench.json"
    _run("benchmark_explainer.py", ["--output", str(output), "--quick", "--num_train_epochs", "1", "--seeds", "0",
                                    "--no_repeat_ngram_size", "2", "--sequence_unlikelihood_weight", "0.5"],
         monkeypatch)
    report = json.loads(output.read_text())
    assert report["settings"]["benchmark"]["sequence_unlikelihood_weight"] == 0.5
    assert 0.0 <= report["results"]["peter"]["validation_greedy_repeat_rate"] <= 1.0  # what selection rules can read
    assert set(report["results"]) == {"peter", "peter_plus", "peter/no_repeat_2", "peter_plus/no_repeat_2",
                                      "peter/chosen_decoding", "peter_plus/chosen_decoding",
                                      "item_retrieval", "mean_rating", "bias_rating"}
    assert report["results"]["peter"]["decoding_no_repeat_ngram_size"] == 0
    for name in ("peter", "peter_plus", "peter/no_repeat_2", "peter_plus/no_repeat_2"):
        assert set(METRICS) <= set(report["results"][name])
    for text in report["samples"]["peter/no_repeat_2"] + report["samples"]["peter_plus/no_repeat_2"]:
        bigrams = list(zip(text.split(), text.split()[1:]))
        assert len(bigrams) == len(set(bigrams)), text
    assert report["results"]["peter"]["rmse"] == report["results"]["peter/no_repeat_2"]["rmse"]  # one model
    assert report["results"]["peter"]["seeds"] == [0] and report["results"]["peter"]["std"]["bleu1"] == 0.0
    assert len(report["samples"]["real"]) == 10 and report["data_file"] == "synthetic"

    # seeds run side by side merge into one report (here the same run relabelled as seed 1)
    relabelled = json.loads(output.read_text())
    for scores in relabelled["results"].values():
        if "per_seed" in scores:
            scores["per_seed"] = {"1": dict(scores["per_seed"]["0"], bleu1=scores["bleu1"] + 2.0)}
    (tmp_path / "seed1.json").write_text(json.dumps(relabelled))
    merged_path = tmp_path / "merged.json"
    _run("benchmark_explainer.py", ["--output", str(merged_path), "--merge", f"{output},{tmp_path / 'seed1.json'}"],
         monkeypatch)
    merged = json.loads(merged_path.read_text())
    peter = merged["results"]["peter"]
    assert peter["seeds"] == [0, 1] and peter["bleu1"] == pytest.approx(report["results"]["peter"]["bleu1"] + 1.0)
    assert peter["std"]["bleu1"] == pytest.approx(2 ** 0.5)  # sample std of x, x + 2
    assert merged["samples"] == report["samples"]
    assert merged["results"]["item_retrieval"] == report["results"]["item_retrieval"]
    assert set(merged["goals"]) == set(report["goals"])
    with pytest.raises(ValueError, match="repeats row"):
        _run("benchmark_explainer.py", ["--output", str(merged_path), "--merge", f"{output},{output}"], monkeypatch)


def test_text_score_gives_stock_phrases_word_salad_and_loops_little_credit():
    """People's sentences about the right product beat one stock sentence for everyone, the same sentences padded
    with a stock phrase, and word salad, which has every reference word (BLEU-1 100) in no order people wrote."""
    from recexplain.training.explainer_evaluation import explanation_scores, text_score

    products = ("strap", "tuner", "cable", "pick", "stand", "capo")
    references = [f"the {p} {tail}" for p, tail in zip(products, (
        "fits my guitar well", "is very accurate and easy to read", "is quiet and well made",
        "feels good in my hand", "holds my guitar safely", "keeps the strings in tune"))]
    records = [{"explanation": r, "feature": p, "rating": 5.0} for r, p in zip(references, products)]
    people = [f"the {p} {tail}" for p, tail in zip(products, (
        "is well made", "fits my guitar well", "is very accurate", "feels good", "is quiet", "holds my guitar"))]
    stock = ["the product is great and i would recommend it to anyone"] * len(records)
    padded = [f"{s} and i would recommend it" for s in people]
    salad = [" ".join(reversed(r.split())) for r in references]  # the references' words, no bigram of theirs
    scores = {name: explanation_scores(texts, None, records, list(products))
              for name, texts in (("people", people), ("stock", stock), ("padded", padded), ("salad", salad))}
    assert scores["salad"]["bleu1"] == pytest.approx(100.0) and scores["salad"]["phrase_precision"] == 0.0
    assert scores["stock"]["phrase_precision"] == 0.0 < scores["padded"]["phrase_precision"] < 0.5
    assert all(text_score(scores["people"]) > text_score(scores[name]) for name in ("stock", "padded", "salad"))
    looping = dict(scores["people"], repeat_rate=0.5)
    assert text_score(looping) == pytest.approx(text_score(scores["people"]) / 2)
    # below people's own level (item retrieval's 0.30) the score falls linearly; above it, phrasing is no longer
    # what is compared
    assert text_score({"bleu1": 13.0, "rougeL": 13.3, "repeat_rate": 0.0, "phrase_precision": 0.15}) == \
        pytest.approx(13.15 * 0.5)
    assert text_score({"bleu1": 13.0, "rougeL": 13.3, "repeat_rate": 0.0, "phrase_precision": 0.6}) == \
        text_score({"bleu1": 13.0, "rougeL": 13.3, "repeat_rate": 0.0, "phrase_precision": 0.3}) == \
        pytest.approx(13.15)


def test_decoding_choice_cannot_buy_bleu_with_length():
    """Words padded on to reach the references' length lift BLEU-1 (its brevity penalty goes away) and the mean
    text score while ROUGE-L falls: that decoding is not chosen; one that raises both is."""
    from recexplain.training.explainer_evaluation import (
        DECODING_CANDIDATES, SELECTION_DECODING, best_decoding, explanation_scores, text_score,
    )

    references = [f"the strap {w} fits my guitar well and looks very good for the price"
                  for w in ("really", "also", "truly")]
    records = [{"explanation": r, "feature": "strap", "rating": 5.0} for r in references]
    short = [f"the strap {w} fits my guitar" for w in ("really", "also", "truly")]
    padded = [f"{s} but it is too much" for s in short]  # the same words + 5 the references lack
    better = [f"{s} well and looks" for s in short]
    table = []
    for kwargs, texts in ((SELECTION_DECODING, short), (DECODING_CANDIDATES[-1], padded)):
        scores = explanation_scores(texts, None, records, ["strap"])
        table.append({"generation_kwargs": kwargs, "text_score": text_score(scores), **scores})
    assert table[1]["bleu1"] > table[0]["bleu1"] and table[1]["text_score"] > table[0]["text_score"]
    assert table[1]["rougeL"] < table[0]["rougeL"]
    assert best_decoding(table)["generation_kwargs"] == SELECTION_DECODING
    scores = explanation_scores(better, None, records, ["strap"])
    table.append({"generation_kwargs": DECODING_CANDIDATES[-2], "text_score": text_score(scores), **scores})
    assert best_decoding(table)["generation_kwargs"] == DECODING_CANDIDATES[-2]
    looping = dict(table[2], repeat_rate=0.5)  # loops: never chosen while a clean decoding exists
    assert best_decoding([table[0], looping])["generation_kwargs"] == SELECTION_DECODING


def test_refit_rating_head_lowers_validation_rmse_and_leaves_the_text_side_alone():
    import torch

    from recexplain.data.reviews.collator import ExplanationCollator
    from recexplain.training.explainer import ExplanationDataArguments, build_explainer, prepare_explanation_data
    from recexplain.training.rating_head import rating_head_inputs, refit_rating_head

    _, tokenizer, tokenized = prepare_explanation_data(ExplanationDataArguments(), 10)
    torch.manual_seed(0)
    model = build_explainer(ExplainerModelArguments(hidden_size=16, intermediate_size=32, num_attention_heads=2),
                            tokenizer)
    text_side = {n: p.detach().clone() for n, p in model.named_parameters() if not n.startswith("rating_head")}
    model.rating_head[-1].bias.data.zero_()  # a head far from the 1-5 ratings (the init starts at their mean)
    collator = ExplanationCollator(tokenizer)
    result = refit_rating_head(model, tokenized["train"], tokenized["validation"], collator, max_epochs=50,
                               learning_rate=1e-2)
    assert result["validation_rmse_after"] < 0.5 * result["validation_rmse_before"]
    inputs, ratings = rating_head_inputs(model, tokenized["validation"], collator)
    with torch.no_grad():
        rmse = (model.rating_head(inputs).squeeze(-1).clamp(1, 5) - ratings).pow(2).mean().sqrt().item()
    assert abs(rmse - result["validation_rmse_after"]) < 1e-5
    assert all(torch.equal(p, text_side[n]) for n, p in model.named_parameters() if n in text_side)
    again = refit_rating_head(model, tokenized["train"], tokenized["validation"], collator, max_epochs=5)
    assert again["validation_rmse_after"] <= again["validation_rmse_before"]  # never worse than what it started from


def test_sequence_unlikelihood_unlearns_the_models_own_loops(tmp_path):
    import torch

    from recexplain.data.reviews.collator import ExplanationCollator
    from recexplain.metrics import repeat_rate
    from recexplain.training.explainer import (
        ExplainerTrainer, ExplainerTrainingArguments, ExplanationDataArguments, build_explainer,
        prepare_explanation_data,
    )
    from recexplain.training.explainer_evaluation import generate_explanations

    splits, tokenizer, tokenized = prepare_explanation_data(ExplanationDataArguments(), 10)
    torch.manual_seed(0)
    model = build_explainer(ExplainerModelArguments(hidden_size=16, intermediate_size=32, num_attention_heads=2,
                                                    dropout=0.0), tokenizer)
    with torch.no_grad():
        model.lm_head.weight.mul_(30)  # a confident untrained model: its greedy explanations loop

    def loop_share():
        texts, _ = generate_explanations(model, tokenizer, splits["train"].to_list()[:64], 11)
        return repeat_rate([t.split() for t in texts])

    collator = ExplanationCollator(tokenizer)
    batch = collator([tokenized["train"][i] for i in range(64)])
    args = ExplainerTrainingArguments(output_dir=str(tmp_path), sequence_unlikelihood_weight=1.0,
                                      eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    trainer = ExplainerTrainer(model=model, args=args, processing_class=tokenizer, data_collator=collator,
                               max_new_tokens=11)
    assert loop_share() == 1.0
    model.eval()
    plain = model(**batch).loss
    assert trainer.compute_loss(model, batch) == plain  # evaluation: the model's own loss only
    model.train()
    assert trainer.compute_loss(model, batch) > plain + 0.1  # training: plus the penalty on its loops
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(20):
        model.train()
        loss = trainer.sequence_unlikelihood(model, batch["input_ids"], batch["attention_mask"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loop_share() < 0.1


def test_checkpoint_selection_can_score_plain_greedy_explanations(tmp_path, monkeypatch):
    import recexplain.training.explainer as explainer
    from recexplain.training.explainer_evaluation import SELECTION_DECODING

    decodings = []

    def recording(*args, **kwargs):
        decodings.append(kwargs)
        return generate_explanations(*args, **kwargs)

    generate_explanations = explainer.generate_explanations
    monkeypatch.setattr(explainer, "generate_explanations", recording)
    args = ["--num_train_epochs", "1", *TINY, "--max_explanation_length", "8"]
    _run("train_explainer.py", ["--output_dir", str(tmp_path / "default"), *args], monkeypatch)
    assert decodings and all(d == SELECTION_DECODING for d in decodings)  # loops blocked
    decodings.clear()
    _run("train_explainer.py", ["--output_dir", str(tmp_path / "greedy"), *args, "--selection_decoding", "greedy"],
         monkeypatch)
    assert decodings and all(d == PLAIN_GREEDY for d in decodings)  # PETER's plain greedy, loops and all
    with pytest.raises(ValueError, match="selection_decoding must be one of"):
        _run("train_explainer.py", ["--output_dir", str(tmp_path / "bad"), "--selection_decoding", "beam"], monkeypatch)
