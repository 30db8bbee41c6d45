"""The whole recexplain pipeline end to end, small and fast, into one output folder.

    python scripts/quickstart.py --output_dir outputs/quickstart                         # SYNTHETIC default data
    python scripts/quickstart.py --output_dir outputs/real --data_dir ../shared/data     # MovieLens-100K + Amazon MI

Steps (each one is the package's own script, run as a user would run it; progress bars on):
dataset statistics -> pre-train SRP4CTR (FG-BERT) -> fine-tune CTR models (SRP4CTR, DIN, DIN + querying
transformer) -> train the PETER+ explainer -> train the MINE estimator -> MMI PPO (rating reward) -> evaluate.
Without `--data_dir` the data are the package's built-in SYNTHETIC generators (behaviour sequences and
reviews with planted structure); with it, CTR uses `movielens-100k` and explanations the Amazon Musical
Instruments reviews of that folder.

Written to `--output_dir`:
    models/<name>/      every model folder (from_pretrained-loadable, with README.md model card)
    runs/<name>/        checkpoints of the training runs (a re-run resumes; finished steps are skipped)
    report.md           dataset statistics, CTR table, explanation/alignment table, sample explanations
    results.json        every number of the report
    ctr_auc.png, ppo_training.png, alignment.png
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from recexplain.quickstart import CTR_FOLDERS, EXPLAINER_FOLDER, MI_ESTIMATOR_FOLDER, MMI_FOLDER, PRETRAINED_FOLDER

SCRIPTS = Path(__file__).resolve().parent
PRETRAIN_STEPS = 200  # the scripts' default model sizes otherwise; minutes on 2 CPU cores


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default="outputs/quickstart", help="everything is written here")
    parser.add_argument("--data_dir", default=None,
                        help="the shared data root (with movielens-100k/ and amazon-musical-instruments/); "
                             "default: the built-in SYNTHETIC data")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ppo_updates", type=int, default=30, help="PPO updates of the MMI step")
    return parser.parse_args(argv)


def data_options(data_dir):
    """(behaviour-data CLI args, review file or None, dataset names) for the chosen data."""
    if data_dir is None:
        return [], None, ("synthetic", "synthetic-reviews")
    reviews = Path(data_dir) / "amazon-musical-instruments" / "reviews_Musical_Instruments_5.json.gz"
    if not reviews.is_file():
        raise SystemExit(f"--data_dir {data_dir}: missing {reviews}")
    return ["--dataset", "movielens-100k", "--data_dir", str(data_dir)], str(reviews), (
        "movielens-100k", "amazon-musical-instruments")


def run_step(name: str, script: str, args, target: Path, log_dir: Path, final: Path = None) -> None:
    """Run `python scripts/<script> args` unless the model folder `target` exists, then copy the run's `final`
    folder (if the script writes one) to `target`. A failed step stops the pipeline with a clear error."""
    if target.exists():
        print(f"[quickstart] {name}: already done ({target}), skipped", flush=True)
        return
    print(f"\n[quickstart] {name}: python scripts/{script} {' '.join(map(str, args))}", flush=True)
    started = time.time()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, str(SCRIPTS / script), *map(str, args)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:  # progress bars and logs on the terminal and in the step's log file
            sys.stdout.write(line)
            out.write(line)
        proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"[quickstart] step {name!r} failed (exit {proc.returncode}); see {log}")
    if final is not None:  # copy, then rename: a half-copied folder never looks done
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(final, tmp)
        tmp.rename(target)
    print(f"[quickstart] {name}: done in {time.time() - started:.0f} s", flush=True)


def dataset_statistics(behavior_args) -> dict:
    proc = subprocess.run([sys.executable, "-m", "recexplain.data", *behavior_args, "--max_seq_len", "30"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"[quickstart] reading the behaviour data failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def train_all(args, out: Path, behavior_args, reviews) -> None:
    """Run every training step; each model ends up in `out/models/<name>`."""
    models, runs, logs = out / "models", out / "runs", out / "logs"
    seed = ["--seed", str(args.seed)]
    pre = models / PRETRAINED_FOLDER
    run_step("pretrain_srp4ctr", "pretrain_srp4ctr.py",
             ["--output_dir", runs / PRETRAINED_FOLDER, *behavior_args, "--max_steps", PRETRAIN_STEPS, *seed],
             pre, logs, final=runs / PRETRAINED_FOLDER / "final")
    for name, model in CTR_FOLDERS.items():
        extra = ["--pretrained_dir", pre] if model != "din" else []
        run_step(f"finetune_{name}", "finetune_ctr.py",
                 ["--model", model, "--output_dir", runs / name, *behavior_args, *extra, *seed],
                 models / name, logs, final=runs / name / "final")

    review_args = ["--data_file", reviews] if reviews else []
    explainer, estimator = models / EXPLAINER_FOLDER, models / MI_ESTIMATOR_FOLDER
    run_step("train_explainer", "train_explainer.py",
             ["--output_dir", runs / EXPLAINER_FOLDER, "--model_type", "peter_plus", *review_args,
              "--hidden_size", "64", "--intermediate_size", "256", "--num_train_epochs", "10", "--learning_rate", "3e-3",
              *seed], explainer, logs, final=runs / EXPLAINER_FOLDER / "final")
    run_step("train_mi_estimator", "train_mi_estimator.py",
             ["--output_dir", estimator, "--tokenizer_name_or_path", explainer, *review_args,
              "--mine_epochs", "10", *seed], estimator, logs)
    run_step("mmi_ppo", "mmi_ppo.py",
             ["--sft_model_path", explainer, "--reward_model_path", estimator, "--reward_type", "rating",
              "--output_dir", models / MMI_FOLDER, *review_args, "--total_episodes", 64 * args.ppo_updates,
              "--alignment_eval_steps", "5",
              *seed], models / MMI_FOLDER, logs)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    behavior_args, reviews, names = data_options(args.data_dir)
    stats = dataset_statistics(behavior_args)
    print("[quickstart] behaviour data (" + ("SYNTHETIC, built in" if args.data_dir is None else names[0]) + "):\n"
          + json.dumps(stats, indent=2), flush=True)
    train_all(args, out, behavior_args, reviews)

    from recexplain.quickstart import evaluate_and_report  # imported late: the steps run in their own processes

    results = evaluate_and_report(out, stats, reviews, names, seed=args.seed, command=" ".join(["python", *sys.argv]))
    results["total_seconds"] = round(time.time() - started, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float), encoding="utf-8")
    print(f"\n[quickstart] finished in {results['total_seconds']:.0f} s; report: {out / 'report.md'}")
    return results


if __name__ == "__main__":
    main()
