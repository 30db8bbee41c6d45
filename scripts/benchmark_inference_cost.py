"""Inference cost of the CTR models (DIN, BST, SRP4CTR, DIN + interest tokens) on a synthetic request.

For each model, at the same history length and width:

- `efficiency_flops`: FLOPs of one user with one candidate (the paper's efficiency-FLOPs);
- `inference_flops_100`: FLOPs of one request, one user with `num_candidates` (default 100)
  candidates, scored in ONE call: folded for the models that compute the user side once
  (SRP4CTR, DIN, DIN-QFormer); BST re-encodes per candidate by design;
- `unfolded_flops_100`: the naive way, the user's history repeated once per candidate (batch of
  `num_candidates` rows with one candidate each), so the sequence is re-encoded for every candidate;
- `candidates_per_second_folded` / `_unfolded`: measured throughput of those two calls (median of
  `repeats` timed runs after a warm-up), and `folded_speedup` = their ratio;
- `*_vs_din`: ratios to DIN.

FLOPs are counted with `torch.utils.flop_counter.FlopCounterMode` (matrix multiplications: 2 FLOPs
per multiply-add; element-wise ops and embedding lookups are not counted).

    python scripts/benchmark_inference_cost.py --output results/inference_cost.json
    python scripts/benchmark_inference_cost.py --output /tmp/cost.json --seq_len 50 --hidden_size 32
"""
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import HfArgumentParser

from recexplain.models.srp4ctr import BSTConfig, DINConfig, DINQFormerConfig, SRP4CTRConfig, CTR_MODELS


@dataclass
class BenchmarkArguments:
    output: str = field(metadata={"help": "JSON file to write."})
    seq_len: int = field(default=200, metadata={"help": "History length L (paper: 200)."})
    num_candidates: int = field(default=100, metadata={"help": "Candidates per request (paper: 100)."})
    hidden_size: int = field(default=64, metadata={"help": "Width of every model (embeddings, Transformer)."})
    num_hidden_layers: int = field(default=2, metadata={"help": "SRP4CTR encoder layers (paper: 2)."})
    num_attention_heads: int = field(default=2, metadata={"help": "Heads of SRP4CTR, BST and the querying transformer."})
    intermediate_size: Optional[int] = field(default=None, metadata={"help": "FFN width (default 4 x hidden_size)."})
    bst_num_hidden_layers: int = field(default=1, metadata={"help": "BST layers (paper: 1)."})
    attention_hidden_sizes: str = field(default="80,40", metadata={"help": "DIN activation unit (paper: 80,40)."})
    mlp_hidden_sizes: str = field(default="200,80", metadata={"help": "Click MLP of every model (DIN paper: 200,80)."})
    num_query_tokens: int = field(default=4, metadata={"help": "Interest tokens of din_qformer."})
    num_attrs: int = field(default=4, metadata={"help": "Attribute slots per event."})
    item_vocab_size: int = field(default=10000, metadata={"help": "Items (FLOPs do not depend on it)."})
    repeats: int = field(default=5, metadata={"help": "Timed runs per measurement (median)."})
    num_threads: Optional[int] = field(default=None, metadata={"help": "torch.set_num_threads (default: torch's)."})
    seed: int = field(default=0, metadata={"help": "Seed of the weights and the synthetic batch."})


def build_models(args: BenchmarkArguments) -> dict:
    sizes = dict(item_vocab_size=args.item_vocab_size, attr_vocab_size=200, behavior_vocab_size=8, time_vocab_size=20,
                 user_vocab_size=1000, max_seq_len=args.seq_len, max_attrs=args.num_attrs, hidden_size=args.hidden_size,
                 mlp_hidden_sizes=[int(s) for s in args.mlp_hidden_sizes.split(",")])
    transformer = dict(num_attention_heads=args.num_attention_heads,
                       intermediate_size=args.intermediate_size or 4 * args.hidden_size)
    din_attention = [int(s) for s in args.attention_hidden_sizes.split(",")]
    configs = {
        "din": DINConfig(**sizes, attention_hidden_sizes=din_attention),
        "bst": BSTConfig(**sizes, **transformer, num_hidden_layers=args.bst_num_hidden_layers),
        "srp4ctr": SRP4CTRConfig(**sizes, **transformer, num_hidden_layers=args.num_hidden_layers),
        "din_qformer": DINQFormerConfig(**sizes, **transformer, num_hidden_layers=args.num_hidden_layers,
                                        num_query_tokens=args.num_query_tokens, attention_hidden_sizes=din_attention),
    }
    return {name: CTR_MODELS[name](config).eval().requires_grad_(False) for name, config in configs.items()}


def synthetic_request(args: BenchmarkArguments, num_candidates: int, generator: torch.Generator) -> dict:
    """One user (full-length history) with `num_candidates` candidates, as a CTR batch with B = 1."""
    L, A, N = args.seq_len, args.num_attrs, num_candidates

    def ids(vocab, *shape):
        return torch.randint(3, vocab, shape, generator=generator)

    return {
        "history_item_ids": ids(args.item_vocab_size, 1, L),
        "history_attr_ids": ids(200, 1, L, A),
        "history_behavior_ids": ids(8, 1, L),
        "history_time_ids": ids(20, 1, L),
        "history_mask": torch.ones(1, L, dtype=torch.long),
        "candidate_item_ids": ids(args.item_vocab_size, 1, N),
        "candidate_attr_ids": ids(200, 1, N, A),
        "user_ids": ids(1000, 1),
    }


def unfold(request: dict) -> dict:
    """The naive request: one row per candidate, each carrying the full history (`[N, L]`, `N = 1` each)."""
    n = request["candidate_item_ids"].shape[1]
    rows = {k: v.expand(n, *v.shape[1:]) for k, v in request.items() if k.startswith("history") or k == "user_ids"}
    rows["candidate_item_ids"] = request["candidate_item_ids"].reshape(n, 1)
    rows["candidate_attr_ids"] = request["candidate_attr_ids"].reshape(n, 1, -1)
    return rows


def count_flops(model, batch: dict) -> int:
    # no_grad and parameters without requires_grad: FlopCounterMode's module tracker fails otherwise
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(**batch)
    return int(counter.get_total_flops())


def seconds_per_call(model, batch: dict, repeats: int) -> float:
    with torch.inference_mode():
        model(**batch)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(**batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def benchmark(args: BenchmarkArguments) -> dict:
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    torch.manual_seed(args.seed)
    models = build_models(args)
    generator = torch.Generator().manual_seed(args.seed)
    single, request = synthetic_request(args, 1, generator), synthetic_request(args, args.num_candidates, generator)
    naive = unfold(request)
    n = args.num_candidates
    results = {}
    for name, model in models.items():
        # the folded and naive calls score the same (user, candidate) pairs
        torch.testing.assert_close(model(**request).logits.reshape(-1), model(**naive).logits.reshape(-1),
                                   rtol=1e-4, atol=1e-4)
        folded_s, unfolded_s = seconds_per_call(model, request, args.repeats), seconds_per_call(model, naive, args.repeats)
        results[name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "efficiency_flops": count_flops(model, single),
            "inference_flops_100": count_flops(model, request),
            "unfolded_flops_100": count_flops(model, naive),
            "candidates_per_second_folded": n / folded_s,
            "candidates_per_second_unfolded": n / unfolded_s,
            "folded_speedup": unfolded_s / folded_s,
        }
    din = results["din"]
    for stats in results.values():
        for key in ("efficiency_flops", "inference_flops_100"):
            stats[f"{key}_vs_din"] = stats[key] / din[key]
    srp4ctr = results["srp4ctr"]
    return {
        "settings": {**asdict(args), "torch_threads": torch.get_num_threads(), "torch_version": torch.__version__},
        "models": results,
        "folded_speedup": srp4ctr["folded_speedup"],
        "targets": {
            "srp4ctr_inference_flops_100_vs_din": srp4ctr["inference_flops_100_vs_din"],
            "srp4ctr_inference_flops_100_at_most_1.3x_din": srp4ctr["inference_flops_100_vs_din"] <= 1.3,
            "srp4ctr_folded_speedup_at_least_10": srp4ctr["folded_speedup"] >= 10,
        },
    }


def format_table(report: dict) -> str:
    lines = ["| model | efficiency FLOPs (1 cand.) | inference FLOPs (N cand., one call) | vs DIN | unfolded FLOPs "
             "| cand./s folded | cand./s unfolded | folded speedup |", "|---|---|---|---|---|---|---|---|"]
    for name, s in report["models"].items():
        lines.append(f"| {name} | {s['efficiency_flops'] / 1e6:.1f} M | {s['inference_flops_100'] / 1e6:.1f} M | "
                     f"{s['inference_flops_100_vs_din']:.2f}x | {s['unfolded_flops_100'] / 1e6:.1f} M | "
                     f"{s['candidates_per_second_folded']:.0f} | {s['candidates_per_second_unfolded']:.0f} | "
                     f"{s['folded_speedup']:.1f}x |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    (args,) = HfArgumentParser(BenchmarkArguments).parse_args_into_dataclasses(args=argv)
    report = benchmark(args)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(report))
    print(json.dumps(report["targets"], indent=2))
    return report


if __name__ == "__main__":
    main()
