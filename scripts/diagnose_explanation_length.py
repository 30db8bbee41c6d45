"""Why greedy explanations are short: the probability of `<eos>` along a trained explainer's greedy outputs on the
test split, next to the training explanations' hazard of ending after k words.

    python scripts/diagnose_explanation_length.py runs/explainer/final \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz

Prints the mean length, the `<eos>` probability and the best word's probability at the step where greedy stops,
and per step the mean `<eos>` probability against the hazard (share of the training targets of at least k words
that end at k).
"""
import argparse

import numpy as np
import torch
from transformers import AutoTokenizer

from recexplain.data.explanation_collator import collate_prompts
from recexplain.models.explainer import RecExplainerForConditionalGeneration
from recexplain.training.explainer import ExplainerModelArguments, ExplanationDataArguments, prepare_explanation_data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a saved explainer (checkpoint or final folder)")
    parser.add_argument("--data_file", default=None, help="reviews JSON(.gz) of the training run (default: synthetic)")
    parser.add_argument("--max_explanation_length", type=int, default=ExplainerModelArguments.max_explanation_length,
                        help="the training run's target cut (words)")
    args = parser.parse_args(argv)

    model = RecExplainerForConditionalGeneration.from_pretrained(args.model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    length = args.max_explanation_length
    splits, _, _ = prepare_explanation_data(ExplanationDataArguments(data_file=args.data_file), length)
    batch = collate_prompts(tokenizer, [dict(r, rating=None) for r in splits["test"].to_list()])
    eos = tokenizer.eos_token_id
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=length + 1, do_sample=False, num_beams=1, output_scores=True,
                             return_dict_in_generate=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=eos)
    probs = torch.stack([s.softmax(-1) for s in out.scores], 1)  # [N, T, V]
    generated = out.sequences[:, batch["input_ids"].shape[1]:]  # [N, T]
    stops = [(n, row.index(eos)) for n, row in enumerate(generated.tolist()) if eos in row]
    at_stop = probs[[n for n, _ in stops], [t for _, t in stops]]  # [S, V]
    p_eos = at_stop[:, eos].numpy()
    best_word = at_stop.index_fill(1, torch.tensor([eos]), 0).max(1).values.numpy()
    print(f"{len(stops)} of {len(generated)} explanations end with <eos>; mean length "
          f"{np.mean([t for _, t in stops]):.2f} words")
    print(f"at the stopping step: P(<eos>) median {np.median(p_eos):.3f} ({np.mean(p_eos < 0.5):.0%} below 0.5), "
          f"best word's probability median {np.median(best_word):.3f}")
    train = np.minimum([len(r["explanation"].split()) for r in splits["train"]], length)
    test = [len(r["explanation"].split()) for r in splits["test"]]
    print(f"references: mean {np.mean(test):.2f} words ({np.mean(np.minimum(test, length)):.2f} cut at {length})")
    ends = torch.tensor([row.index(eos) if eos in row else len(row) for row in generated.tolist()])  # [N]
    print("step  mean P(<eos>) on the greedy outputs still running  training hazard of ending there")
    for k in range(probs.shape[1]):
        running = ends >= k
        if running.any():
            hazard = np.mean(train == k) / max(np.mean(train >= k), 1e-12)
            print(f"{k:4d}  {probs[running, k, eos].mean().item():47.3f}  {hazard:32.3f}")


if __name__ == "__main__":
    main()
