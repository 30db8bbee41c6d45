"""Score saved explainers on one split of the explanation data with the package's text metrics, greedy decoding
from the predicted rating as the MMI evaluation decodes: BLEU-1 split into what it multiplies, the unigram
precision (are the words right?) and the brevity penalty (are the sentences long enough?), beside the lengths.
Tells whether a BLEU drop (e.g. after MMI) is worse words or shorter sentences.

    python scripts/score_explainer.py --data_file reviews.json.gz --models runs/mmi/seed_0/peter_plus,runs/mmi/seed_0/mmi_rating \
        --splits validation,test --output scores.json
"""
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoTokenizer, HfArgumentParser

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS
from recexplain.mmi.alignment import explain_records
from recexplain.models.explainer import RecExplainerForConditionalGeneration
from recexplain.training.cli import comma_list, parse_dataclasses
from recexplain.training.explainer import ExplanationDataArguments, prepare_explanation_data, training_features
from recexplain.training.explainer_evaluation import explanation_scores

KEYS = ("bleu1", "unigram_precision", "brevity_penalty", "avg_length", "length_ratio", "rougeL", "usr", "fmr", "rmse")


@dataclass
class ScoreArguments:
    models: str = field(metadata={"help": "comma-separated saved explainer folders (same data and tokenizer)"})
    output: str = field(metadata={"help": "result JSON: split -> model folder -> scores"})
    splits: str = field(default="test", metadata={"help": "comma-separated: train, validation, test"})
    max_new_tokens: int = field(
        default=EXPLANATION_TOKENS, metadata={"help": "explanation tokens generated (the words + <eos>)"})


def text_scores(model, tokenizer, records, features, max_new_tokens: int) -> dict:
    """`KEYS` of `model`'s greedy explanations of `records` (a `datasets.Dataset`) from its predicted ratings."""
    predicted, _, _, texts = explain_records(model, tokenizer, records.to_dict(), max_new_tokens)
    scores = explanation_scores(texts, predicted.tolist(), records.to_list(), features)
    ratio = scores["length_ratio"]
    scores["brevity_penalty"] = 1.0 if ratio >= 1 else (math.exp(1 - 1 / ratio) if ratio > 0 else 0.0)
    scores["unigram_precision"] = scores["bleu1"] / scores["brevity_penalty"] if scores["brevity_penalty"] else 0.0
    return {k: float(scores[k]) for k in KEYS}


def main():
    args, data_args = parse_dataclasses(HfArgumentParser((ScoreArguments, ExplanationDataArguments)))
    splits, tokenizer, _ = prepare_explanation_data(data_args, args.max_new_tokens - 1)
    features = training_features(splits)
    models = {}
    for path in comma_list(args.models):
        if AutoTokenizer.from_pretrained(path).get_vocab() != tokenizer.get_vocab():
            raise ValueError(f"{path} was trained with another tokenizer (other data settings or split)")
        models[path] = RecExplainerForConditionalGeneration.from_pretrained(path).eval()
    report = {"command": " ".join(["python", *sys.argv]), "scores": {}}
    for split in comma_list(args.splits):
        for path, model in models.items():
            row = text_scores(model, tokenizer, splits[split], features, args.max_new_tokens)
            report["scores"].setdefault(split, {})[path] = row
            print(f"{split:10s} {path}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
