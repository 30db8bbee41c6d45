"""Why greedy explanations are short: the probability of `<eos>` along a trained explainer's greedy outputs on the
test split, next to the training explanations' hazard of ending after k words.

    python scripts/diagnose_explanation_length.py runs/explainer/final \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz

Prints the mean length, the `<eos>` probability and the best word's probability at the step where greedy stops,
and per step the mean `<eos>` probability against the hazard (share of the training targets of at least k words
that end at k).
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from recexplain.data.reviews.collator import collate_prompts
from recexplain.models.explainer import RecExplainerForConditionalGeneration
from recexplain.training.explainer import ExplainerModelArguments, ExplanationDataArguments, prepare_explanation_data
from recexplain.training.explainer_evaluation import PLAIN_GREEDY


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a saved explainer (checkpoint or final folder)")
    parser.add_argument("--data_file", default=None, help="reviews JSON(.gz) of the training run (default: synthetic)")
    parser.add_argument("--max_explanation_length", type=int, default=None,
                        help="the training run's target cut in words (default: from the saved generation config)")
    parser.add_argument("--output", default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    model = RecExplainerForConditionalGeneration.from_pretrained(args.model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    saved = model.generation_config.max_new_tokens  # the explanation length + <eos>, saved by train_explainer.py
    length = args.max_explanation_length or (saved - 1 if saved else ExplainerModelArguments.max_explanation_length)
    splits, _, _ = prepare_explanation_data(ExplanationDataArguments(data_file=args.data_file), length)
    batch = collate_prompts(tokenizer, [dict(r, rating=None) for r in splits["test"].to_list()])
    eos = tokenizer.eos_token_id
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=length + 1, do_sample=False, num_beams=1, output_scores=True,
                             return_dict_in_generate=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=eos,
                             **PLAIN_GREEDY)  # PETER's greedy, whatever the saved decoding
    probs = torch.stack([s.softmax(-1) for s in out.scores], 1)  # [N, T, V]
    generated = out.sequences[:, batch["input_ids"].shape[1]:]  # [N, T]
    ends = torch.tensor([row.index(eos) if eos in row else len(row) for row in generated.tolist()])  # [N]
    stops = [(n, t) for n, t in enumerate(ends.tolist()) if t < generated.shape[1]]  # (explanation, <eos> step)
    at_stop = probs[[n for n, _ in stops], [t for _, t in stops]]  # [S, V]
    p_eos = at_stop[:, eos].numpy()
    best_word = at_stop.index_fill(1, torch.tensor([eos]), 0).max(1).values.numpy()
    train = np.minimum([len(r["explanation"].split()) for r in splits["train"]], length)
    test = [len(r["explanation"].split()) for r in splits["test"]]
    report = {
        "explanations": len(generated), "ended_with_eos": len(stops),
        "mean_length": float(np.mean([t for _, t in stops])) if stops else None,
        "stop_p_eos_median": float(np.median(p_eos)) if stops else None,
        "stop_p_eos_below_half": float(np.mean(p_eos < 0.5)) if stops else None,
        "stop_best_word_p_median": float(np.median(best_word)) if stops else None,
        "reference_mean_length": float(np.mean(test)), "reference_mean_length_cut": float(np.mean(np.minimum(test, length))),
        "per_step": [{"step": k, "running": int((ends >= k).sum()), "mean_p_eos": probs[ends >= k, k, eos].mean().item(),
                      "training_hazard": float(np.mean(train == k) / max(np.mean(train >= k), 1e-12))}
                     for k in range(probs.shape[1]) if (ends >= k).any()],
    }
    print(f"{len(stops)} of {len(generated)} explanations end with <eos>")
    if stops:
        print(f"mean length {report['mean_length']:.2f} words; at the stopping step: P(<eos>) median "
              f"{report['stop_p_eos_median']:.3f} ({report['stop_p_eos_below_half']:.0%} below 0.5), best word's "
              f"median {report['stop_best_word_p_median']:.3f}")
    print(f"references: mean {report['reference_mean_length']:.2f} words ({report['reference_mean_length_cut']:.2f} "
          f"cut at {length})")
    print("step  running  mean P(<eos>) on the greedy outputs still running  training hazard of ending there")
    for row in report["per_step"]:
        print(f"{row['step']:4d}  {row['running']:7d}  {row['mean_p_eos']:47.3f}  {row['training_hazard']:32.3f}")
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
