"""Explanation records from reviews (Amazon review JSON, PETER's pickle, the synthetic default): feature and
sentence extraction, splits, the word-level tokenizer and the explanation collator. See docs/explainer_data.md."""
from .collator import ExplanationCollator, collate_prompts, tokenize_explanation_dataset
from .records import (
    RECORD_FIELDS,
    load_explanation_records,
    read_peter_pickle,
    split_explanation_records,
    training_reviews,
)
from .synthetic import synthetic_explanation_records
from .tokenizer import (
    build_explanation_tokenizer,
    decode_explanation,
    format_prompt,
    load_vocabularies,
    save_vocabularies,
)
