"""The explanation generator's arguments, data preparation, model construction and training.

Shared by `scripts/train_explainer.py` and `scripts/benchmark_explainer.py`.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

import torch
from transformers import Trainer, TrainingArguments

from ..data.reviews.collator import ExplanationCollator, tokenize_explanation_dataset
from ..data.reviews.extraction import MAX_FEATURES, MAX_SENTENCE_WORDS, MIN_FEATURE_COUNT, split_sentences
from ..data.reviews.records import SPLIT_SEED, load_explanation_records, split_explanation_records, training_reviews
from ..data.reviews.tokenizer import (
    EXPLANATION_TOKENS, EXPLANATION_WORDS, PROMPT_LENGTH, RATINGS, SPECIAL_TOKENS, build_explanation_tokenizer,
)
from ..metrics import loop_positions
from ..models.explainer.configuration_explainer import DEFAULT_LOSS_WEIGHTS, RecExplainerConfig
from ..models.explainer.modeling_explainer import sequence_unlikelihood_loss
from .checkpoints import atomic_output_dir
from .explainer_evaluation import (
    PLAIN_GREEDY,
    SELECTION_DECODINGS,
    choose_decoding,
    explanation_scores,
    generate_explanations,
    text_score,
)
from .rating_head import refit_rating_head

logger = logging.getLogger(__name__)

MODEL_TYPES = ("peter", "peter_plus", "causal_lm")


@dataclass
class ExplainerModelArguments:
    """Which explainer to build and its size (PETER defaults: 512 hidden, 2 layers, 2 heads)."""

    model_type: str = field(
        default="peter", metadata={"help": "peter (user+item prefix), peter_plus (+ feature) or causal_lm"}
    )
    hidden_size: int = field(
        default=RecExplainerConfig.hidden_size, metadata={"help": "width (peter, and a causal LM built from scratch)"})
    num_hidden_layers: int = field(
        default=RecExplainerConfig.num_hidden_layers, metadata={"help": "Transformer layers"})
    num_attention_heads: int = field(
        default=RecExplainerConfig.num_attention_heads, metadata={"help": "attention heads"})
    intermediate_size: int = field(
        default=RecExplainerConfig.intermediate_size, metadata={"help": "feed-forward width"})
    dropout: float = field(default=RecExplainerConfig.dropout, metadata={"help": "dropout"})
    text_loss_weight: float = field(
        default=DEFAULT_LOSS_WEIGHTS["text"], metadata={"help": "weight of the next-word loss"}
    )
    rating_loss_weight: float = field(
        default=DEFAULT_LOSS_WEIGHTS["rating"], metadata={"help": "weight of the rating MSE (PETER: 0.1)"}
    )
    context_loss_weight: float = field(
        default=DEFAULT_LOSS_WEIGHTS["context"], metadata={"help": "weight of the bag-of-words context loss"}
    )
    unlikelihood_loss_weight: float = field(
        default=DEFAULT_LOSS_WEIGHTS["unlikelihood"],
        metadata={"help": "weight of the token-level unlikelihood loss against repeated words (PETER: none)"},
    )
    eos_loss_weight: float = field(
        default=RecExplainerConfig.eos_loss_weight,
        metadata={"help": "weight of the <eos> targets in the text loss (below 1: longer explanations; PETER: 1)"},
    )
    max_explanation_length: int = field(
        default=EXPLANATION_WORDS, metadata={"help": "explanation words kept (PETER: 15)"})
    layer_norm_position: str = field(
        default=RecExplainerConfig.layer_norm_position, metadata={"help": "peter: 'pre' or 'post' (PETER) layer norm"}
    )
    position_embedding_type: str = field(
        default=RecExplainerConfig.position_embedding_type,
        metadata={"help": "peter: 'learned' or 'sinusoidal' (PETER) positions"},
    )
    scale_embeddings: bool = field(
        default=RecExplainerConfig.scale_embeddings,
        metadata={"help": "peter: multiply token embeddings by sqrt(hidden_size) (PETER)"},
    )
    attention_dropout: float = field(
        default=RecExplainerConfig.attention_dropout, metadata={"help": "dropout on attention probabilities"}
    )
    lm_head_bias: bool = field(
        default=RecExplainerConfig.lm_head_bias, metadata={"help": "peter: a bias on the next-word head (PETER)"}
    )
    visible_prefix_slots: Optional[str] = field(
        default=None, metadata={"help": "causal_lm only: 'peter' (user, item) or 'peter_plus' (+ feature); default peter"}
    )
    # LoRA, in TRL's `ModelConfig` vocabulary (as `mmi_ppo.py --use_peft`)
    use_peft: bool = field(
        default=False, metadata={"help": "causal_lm only: train LoRA adapters (peft) instead of all weights"}
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["c_attn", "c_proj"], metadata={"help": "module names (GPT-2: c_attn c_proj)"}
    )

    def __post_init__(self):
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {self.model_type!r}")
        if self.visible_prefix_slots is not None and self.model_type != "causal_lm":
            raise ValueError("visible_prefix_slots is set by model_type for peter/peter_plus; use it with causal_lm only")
        if self.use_peft and self.model_type != "causal_lm":
            raise ValueError("use_peft (LoRA) needs model_type causal_lm")
        if self.max_explanation_length < 1:
            raise ValueError(f"max_explanation_length must be >= 1, got {self.max_explanation_length}")


def _entity_block(tokenizer) -> Tuple[int, int]:
    """`(start, count)` of the entity ids (`<r_*> <u_*> <i_*> <f_*>`), which follow the special tokens."""
    vocab = tokenizer.get_vocab()
    ids = sorted(i for t, i in vocab.items() if t.startswith(("<r_", "<u_", "<i_", "<f_")) and t.endswith(">"))
    if ids != list(range(len(SPECIAL_TOKENS), len(SPECIAL_TOKENS) + len(ids))):
        raise ValueError("tokenizer entity tokens do not form one id block after the special tokens")
    return ids[0], len(ids)


def build_explainer(args: ExplainerModelArguments, tokenizer):
    """A freshly initialised `RecExplainerForConditionalGeneration` for the explanation tokenizer.

    `causal_lm`: a GPT-2 built from a config of the given size over the same word vocabulary (no pretrained
    weights can be downloaded here); entity tokens get learned prompt vectors. With `use_peft` the model is
    wrapped by `peft.get_peft_model` (adapters on `lora_target_modules`; prompt vectors, rating head and
    next-word head fully trained).
    """
    from ..models.explainer import RecExplainerConfig, RecExplainerForConditionalGeneration

    start, count = _entity_block(tokenizer)
    common = dict(
        vocab_size=len(tokenizer), entity_token_start=start, num_entity_tokens=count,
        max_position_embeddings=PROMPT_LENGTH + args.max_explanation_length + 8,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        loss_weights={
            "text": args.text_loss_weight, "rating": args.rating_loss_weight, "context": args.context_loss_weight,
            "unlikelihood": args.unlikelihood_loss_weight,
        },
        eos_loss_weight=args.eos_loss_weight, min_rating=float(RATINGS[0]), max_rating=float(RATINGS[-1]),
    )
    if args.model_type != "causal_lm":
        config = RecExplainerConfig(
            hidden_size=args.hidden_size, num_hidden_layers=args.num_hidden_layers,
            num_attention_heads=args.num_attention_heads, intermediate_size=args.intermediate_size,
            dropout=args.dropout, attention_dropout=args.attention_dropout,
            layer_norm_position=args.layer_norm_position, position_embedding_type=args.position_embedding_type,
            scale_embeddings=args.scale_embeddings, lm_head_bias=args.lm_head_bias,
            visible_prefix_slots=args.model_type, **common,
        )
        return RecExplainerForConditionalGeneration(config)
    from transformers import GPT2Config

    lm_config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=common["max_position_embeddings"], n_embd=args.hidden_size,
        n_layer=args.num_hidden_layers, n_head=args.num_attention_heads, n_inner=args.intermediate_size,
        resid_pdrop=args.dropout, embd_pdrop=args.dropout, attn_pdrop=0.0, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    config = RecExplainerConfig(
        backbone="causal_lm", lm_config=lm_config.to_dict(), visible_prefix_slots=args.visible_prefix_slots or "peter",
        **common,
    )
    model = RecExplainerForConditionalGeneration(config)
    if args.use_peft:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
            target_modules=list(args.lora_target_modules),
            modules_to_save=["entity_embeddings", "rating_head", "lm_head"], fan_in_fan_out=True,
        )
        model = get_peft_model(model, lora)
    return model


def unwrap_explainer(model):
    """The plain explainer: LoRA adapters merged into the weights when `model` is a peft model."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


@dataclass
class ExplanationDataArguments:
    """Where the explanation records come from and how they are split and tokenized."""

    data_file: Optional[str] = field(
        default=None,
        metadata={"help": "Amazon review JSON lines (.json/.json.gz) or PETER reviews.pickle; default: SYNTHETIC reviews"},
    )
    split_seed: int = field(default=SPLIT_SEED, metadata={"help": "seed of the 8:1:1 split"})
    min_feature_count: int = field(
        default=MIN_FEATURE_COUNT, metadata={"help": "Amazon: reviews a feature must occur in"})
    max_features: int = field(default=MAX_FEATURES, metadata={"help": "Amazon: most frequent features kept"})
    max_words: int = field(
        default=MAX_SENTENCE_WORDS, metadata={"help": "Amazon: longest explanation sentence (tokens)"})
    min_word_freq: int = field(default=1, metadata={"help": "words rarer than this in training become <unk>"})
    max_vocab: int = field(default=20000, metadata={"help": "most frequent training words kept (PETER: 20000)"})


def load_explanation_splits(data: ExplanationDataArguments):
    """The 8:1:1 record splits of `data` (`DatasetDict` train/validation/test), extracted as for training."""
    kwargs = {}
    if data.data_file and not data.data_file.endswith((".pickle", ".pkl")):
        kwargs = dict(min_feature_count=data.min_feature_count, max_features=data.max_features, max_words=data.max_words)
    return split_explanation_records(load_explanation_records(data.data_file, **kwargs), seed=data.split_seed)


def training_features(splits) -> list:
    """The feature vocabulary of record `splits`: the training split's distinct features, sorted."""
    return sorted(set(splits["train"]["feature"]))


def sentence_records(reviews, features, max_words: int, min_words: int = 3):
    """Language-model pre-training records: one per sentence of `min_words`..`max_words` tokens of each review
    (`{user, item, rating, text}`), with the first of `features` the sentence mentions (else None: `<unk>`)."""
    import datasets

    phrases = sorted(({f: tuple(f.split()) for f in features}).items(), key=lambda kv: -len(kv[1]))
    rows = []
    for review in reviews:
        for tokens in split_sentences(review["text"]):
            if not min_words <= len(tokens) <= max_words:
                continue
            grams = {tuple(tokens[i:i + n]) for n in {len(p) for _, p in phrases} for i in range(len(tokens))}
            feature = next((f for f, phrase in phrases if phrase in grams), None)
            rows.append({"user": review["user"], "item": review["item"], "rating": review["rating"],
                         "feature": feature, "explanation": " ".join(tokens)})
    return datasets.Dataset.from_list(rows)


def prepare_explanation_data(data: ExplanationDataArguments, max_explanation_length: int, lm_pretraining: bool = False):
    """`(splits, tokenizer, tokenized)`: record splits, the tokenizer of the training split, tokenized splits.

    With `lm_pretraining`, `splits["pretraining"]` / `tokenized["pretraining"]` hold every sentence of the training
    reviews (`sentence_records` of `training_reviews`: no validation or test review). The vocabulary stays that of
    the training explanations (their words become `<unk>`: the same model size with and without pre-training).
    """
    splits = load_explanation_splits(data)
    if lm_pretraining:
        splits["pretraining"] = sentence_records(
            training_reviews(data.data_file, splits), training_features(splits), data.max_words
        )
        logger.info("language-model pre-training: %d review sentences", len(splits["pretraining"]))
    tokenizer = build_explanation_tokenizer(
        splits["train"], min_word_freq=data.min_word_freq, max_vocab=data.max_vocab,
        model_max_length=PROMPT_LENGTH + max_explanation_length + 1,
    )
    tokenized = {
        name: tokenize_explanation_dataset(part, tokenizer, max_explanation_length) for name, part in splits.items()
    }
    logger.info("explanation tokenizer: %d tokens", len(tokenizer))
    return splits, tokenizer, tokenized


@dataclass
class ExplainerTrainingArguments(TrainingArguments):
    """`TrainingArguments` with defaults for the explainer (Adam 1e-3, evaluation and checkpoints every epoch)."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    num_train_epochs: float = field(default=10.0, metadata={"help": "epochs"})
    per_device_train_batch_size: int = field(default=128, metadata={"help": "training batch size per device"})
    per_device_eval_batch_size: int = field(default=256, metadata={"help": "evaluation batch size per device"})
    eval_strategy: str = field(default="epoch", metadata={"help": "when to evaluate on the validation split"})
    save_strategy: str = field(default="epoch", metadata={"help": "when to write checkpoints"})
    save_total_limit: Optional[int] = field(default=2, metadata={"help": "checkpoints kept"})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "end with the best validation checkpoint"})
    metric_for_best_model: Optional[str] = field(
        default="eval_text_score",
        metadata={"help": "checkpoint selection metric: eval_text_score (validation BLEU-1 and ROUGE-L of greedy "
                          "explanations, discounted for loops and stock phrases; the loss need not follow text "
                          "quality), eval_loss, eval_bleu1, ..."},
    )
    greater_is_better: Optional[bool] = field(
        default=None, metadata={"help": "whether a larger metric_for_best_model is better (default: not for losses)"}
    )
    logging_steps: float = field(default=20, metadata={"help": "log every N steps"})
    report_to: Optional[str] = field(default="none", metadata={"help": "experiment trackers (none, tensorboard, ...)"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "keep rating_labels for the collator"})
    lm_pretraining_epochs: float = field(
        default=0.0,
        metadata={"help": "epochs of in-domain language-model pre-training on every sentence of the training reviews "
                          "before fine-tuning on the explanation records (0: off); best validation checkpoint kept"},
    )
    selection_decoding: str = field(
        default="loop_blocked",
        metadata={"help": "decoding of the validation explanations that checkpoint selection scores: loop_blocked "
                          "(greedy, no 3-gram twice) or greedy (PETER's plain greedy, loops counted)"},
    )
    sequence_unlikelihood_weight: float = field(
        default=0.0,
        metadata={"help": "weight of the sequence-level unlikelihood loss: each step also decodes the batch's prompts "
                          "greedily and pushes down the tokens of their loops (Welleck et al., 2019); 0 = off"},
    )
    refit_rating_head: bool = field(
        default=True,
        metadata={"help": "after training, refit the rating head on the chosen checkpoint's frozen encoder states and "
                          "keep the weights with the best validation RMSE (the checkpoint is chosen on text)"},
    )

    def __post_init__(self):
        if self.selection_decoding not in SELECTION_DECODINGS:
            raise ValueError(f"selection_decoding must be one of {sorted(SELECTION_DECODINGS)}, "
                             f"got {self.selection_decoding!r}")
        super().__post_init__()


class ExplainerTrainer(Trainer):
    """`Trainer` whose evaluation also generates explanations for `generation_records` (greedy,
    `args.selection_decoding`: by default with loops blocked) and scores them.

    Adds `{prefix}_bleu1, _rougeL, _usr, _repeat_rate, ...` (the explanation metrics) and `{prefix}_text_score`
    (`explainer_evaluation.text_score`: BLEU-1 and ROUGE-L, discounted for loops and stock phrases) to the
    evaluation metrics, so that checkpoint selection and early stopping can use the text a user would read rather
    than the loss.
    """

    def __init__(self, *args, generation_records=None, feature_vocab=None, max_new_tokens: int = EXPLANATION_TOKENS,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.generation_records = list(generation_records or [])
        self.feature_vocab = list(feature_vocab or [])
        self.max_new_tokens = max_new_tokens

    def _setting(self, name: str):
        """`args.<name>`, or `ExplainerTrainingArguments`' default (on plain `TrainingArguments`)."""
        return getattr(self.args, name, getattr(ExplainerTrainingArguments, name))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The model's loss plus, in training with `args.sequence_unlikelihood_weight > 0`, that weight times
        `sequence_unlikelihood` on the batch's prompts."""
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        weight = self._setting("sequence_unlikelihood_weight")
        if weight > 0 and model.training:
            loss = loss + weight * self.sequence_unlikelihood(model, inputs["input_ids"], inputs["attention_mask"])
        return (loss, outputs) if return_outputs else loss

    def sequence_unlikelihood(self, model, input_ids, attention_mask):
        """`modeling_explainer.sequence_unlikelihood_loss` of the model's plain greedy continuations of the prompts
        of a left-padded batch (`input_ids`, `attention_mask` `[B, S]`), at the tokens of their loops
        (`metrics.loop_positions`, as `repeat_rate` counts them)."""
        starts = attention_mask.int().argmax(1)  # [B] first real token
        prompts = input_ids.gather(1, starts[:, None] + torch.arange(PROMPT_LENGTH, device=input_ids.device))  # [B, P]
        generator = self.accelerator.unwrap_model(model)
        tokenizer = self.processing_class
        generator.eval()
        with torch.no_grad():
            sequences = generator.generate(
                input_ids=prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=self.max_new_tokens,
                do_sample=False, num_beams=1, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id, **PLAIN_GREEDY,
            )  # [B, P + T]
        generator.train()
        continuation = sequences[:, PROMPT_LENGTH:]  # [B, T]
        ended = (continuation == tokenizer.eos_token_id).long().cumsum(1)  # [B, T]: <eos> at or before t
        words = ended == 0  # [B, T] before the first <eos>
        written = ended - (continuation == tokenizer.eos_token_id).long() == 0  # [B, T] words and the first <eos>
        repeats = torch.zeros_like(words)
        for row, (tokens, length) in enumerate(zip(continuation.tolist(), words.sum(1).tolist())):
            repeats[row, sorted(loop_positions(tokens[:length]))] = True
        mask = torch.cat([torch.ones_like(prompts), written.long()], 1)  # [B, P + T]
        logits = model(input_ids=sequences, attention_mask=mask).logits[:, PROMPT_LENGTH - 1 : -1]  # [B, T, V]
        return sequence_unlikelihood_loss(logits, continuation, repeats, words)

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        if self.generation_records:
            model = self.accelerator.unwrap_model(self.model)
            texts, ratings = generate_explanations(
                model, self.processing_class, self.generation_records, self.max_new_tokens,
                **SELECTION_DECODINGS[self._setting("selection_decoding")],
            )
            scores = explanation_scores(texts, ratings, self.generation_records, self.feature_vocab)
            scores["text_score"] = text_score(scores)
            output.metrics.update({f"{metric_key_prefix}_{k}": float(v) for k, v in scores.items()})
        return output


def _explainer_trainer(model, tokenizer, training_args, train_dataset, validation, splits, max_new_tokens,
                       early_stopping_patience):
    """An `ExplainerTrainer` that evaluates on `validation` (tokenized) and, with `splits`, on the generated
    explanations of the validation records."""
    from transformers import EarlyStoppingCallback

    return ExplainerTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=validation,
        data_collator=ExplanationCollator(tokenizer), processing_class=tokenizer,
        callbacks=[EarlyStoppingCallback(early_stopping_patience)] if early_stopping_patience else [],
        generation_records=splits["validation"].to_list() if splits is not None else None,
        feature_vocab=training_features(splits) if splits is not None else None,
        max_new_tokens=max_new_tokens,
    )


def pretrain_language_model(model, tokenizer, tokenized, training_args, splits, max_new_tokens: int,
                            early_stopping_patience: Optional[int] = None):
    """Stage 1 of `train_explainer`: train on `tokenized["pretraining"]` (all training-review sentences) for
    `training_args.lm_pretraining_epochs`, keeping the best validation checkpoint; returns the model.

    Runs in `OUTPUT_DIR/lm_pretraining`; when that folder already holds a `final` model (an earlier run), it is
    loaded instead of training again.
    """
    if "pretraining" not in tokenized:
        raise ValueError("lm_pretraining_epochs > 0 needs the pre-training sentences: "
                         "prepare_explanation_data(..., lm_pretraining=True)")
    stage_dir = Path(training_args.output_dir) / "lm_pretraining"
    final = stage_dir / "final"
    if (final / "config.json").is_file():
        logger.info("language-model pre-training: loading %s", final)
        return type(model).from_pretrained(final)
    stage_args = copy.deepcopy(training_args)
    stage_args.output_dir, stage_args.num_train_epochs = str(stage_dir), training_args.lm_pretraining_epochs
    trainer = _explainer_trainer(model, tokenizer, stage_args, tokenized["pretraining"], tokenized["validation"],
                                 splits, max_new_tokens, early_stopping_patience)
    trainer.train()
    if trainer.is_world_process_zero():
        with atomic_output_dir(final) as tmp:
            trainer.model.save_pretrained(tmp)
    return trainer.model


def train_explainer(
    model, tokenizer, tokenized, training_args: TrainingArguments, resume_from_checkpoint=None,
    early_stopping_patience: Optional[int] = None, splits=None, max_new_tokens: int = EXPLANATION_TOKENS,
):
    """Run `ExplainerTrainer` on the tokenized train split (validation for evaluation); returns the trainer.

    With the record `splits`, every evaluation also scores greedy explanations of the validation records (the
    `eval_text_score` that checkpoint selection uses by default). With `early_stopping_patience`, training stops
    after that many evaluations without improvement of `training_args.metric_for_best_model`. With
    `training_args.lm_pretraining_epochs > 0`, `pretrain_language_model` runs first. With
    `training_args.refit_rating_head`, `rating_head.refit_rating_head` runs last (its summary in
    `trainer.rating_head_refit`).
    """
    needs_text = (training_args.metric_for_best_model or "").removeprefix("eval_") not in ("", "loss")
    if needs_text and splits is None:
        raise ValueError(f"metric_for_best_model={training_args.metric_for_best_model!r} needs the record splits "
                         "(generated validation explanations): pass `splits`, or select on eval_loss")
    if getattr(training_args, "lm_pretraining_epochs", 0) > 0:
        model = pretrain_language_model(model, tokenizer, tokenized, training_args, splits, max_new_tokens,
                                        early_stopping_patience)
    trainer = _explainer_trainer(model, tokenizer, training_args, tokenized["train"], tokenized["validation"],
                                 splits, max_new_tokens, early_stopping_patience)
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    trainer.rating_head_refit = None
    if getattr(training_args, "refit_rating_head", False):
        trainer.rating_head_refit = refit_rating_head(
            unwrap_explainer(trainer.model), tokenized["train"], tokenized["validation"], trainer.data_collator,
            seed=training_args.seed)
    return trainer


def set_generation_defaults(model, tokenizer, splits, max_new_tokens: int, choose: bool = True):
    """Write the decoding defaults into `model.generation_config`: greedy, `max_new_tokens`, the special ids and,
    with `choose`, the decoding `choose_decoding` picks on the validation records. Returns the candidates' table
    (empty without `choose`)."""
    kwargs, table = {}, []
    if choose:
        kwargs, table = choose_decoding(model, tokenizer, splits["validation"].to_list(),
                                        training_features(splits), max_new_tokens)
        logger.info("decoding chosen on validation: %s (%s)", kwargs or "plain greedy",
                    "; ".join(f"{row['generation_kwargs'] or 'greedy'}: text {row['text_score']:.2f}, "
                              f"repeats {row['repeat_rate']:.3f}" for row in table))
    model.generation_config.update(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **kwargs,
    )
    return table
