"""Explanation records from review files: Amazon JSON lines, PETER's `reviews.pickle`, or synthetic.

A record is `user, item, rating (int 1-5), feature, opinion, explanation,
sentiment (1/0/-1)`; `explanation` is lowercase, space-separated tokens. How
sentences are picked from raw reviews: `recexplain.data.reviews.extraction`.
"""
from __future__ import annotations

import json
import logging
import pickle
import random
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

from .._io import read_lines
from ..errors import DataFormatError
from .extraction import (
    MAX_FEATURES, MAX_SENTENCE_WORDS, MIN_FEATURE_COUNT, OPINION_WINDOW, best_explanation, mine_features,
    normalize_text,
)

logger = logging.getLogger(__name__)
SPLIT_SEED = 42  # the 8:1:1 record split every explanation script uses

RECORD_FIELDS = ("user", "item", "rating", "feature", "opinion", "explanation", "sentiment")
_AMAZON_FIELDS = {"user": "reviewerID", "item": "asin", "rating": "overall", "text": "reviewText"}
_PICKLE_SUFFIXES = (".pickle", ".pkl")


def _rating(path, line, field, value) -> int:
    if isinstance(value, bool):  # float(True) == 1.0 would pass as a rating
        raise DataFormatError(path, f"expected a rating 1-5, found {value!r}", line, field)
    try:
        rating = float(value)
    except (TypeError, ValueError):
        raise DataFormatError(path, f"expected a rating 1-5, found {value!r}", line, field) from None
    if rating != int(rating) or not 1 <= rating <= 5:
        raise DataFormatError(path, f"expected an integer rating 1-5, found {value!r}", line, field)
    return int(rating)


def read_amazon_reviews(path: Union[str, Path]) -> Iterator[Dict]:
    """Yield `{user, item, rating, text}` per line of an Amazon review JSON-lines file (`.gz` ok).

    Reviews with an empty `reviewText` (7 of the 10,261 Musical Instruments reviews) are skipped with a warning
    that names their lines; a review with a wrong type raises `DataFormatError` naming the line and field."""
    path = Path(path)
    empty = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, f"malformed JSON ({err.msg} at column {err.colno})", number) from None
        if not isinstance(row, dict):
            raise DataFormatError(path, f"expected a JSON object, found {type(row).__name__}", number)
        for ours, theirs in _AMAZON_FIELDS.items():
            if theirs not in row:
                raise DataFormatError(path, "missing field", number, theirs)
        text = row["reviewText"]
        if not isinstance(text, str):
            raise DataFormatError(path, f"expected a string, found {type(text).__name__}", number, "reviewText")
        rating = _rating(path, number, "overall", row["overall"])
        if not text.strip():
            empty.append(number)
            continue
        yield {
            "user": str(row["reviewerID"]),
            "item": str(row["asin"]),
            "rating": rating,
            "text": text,
        }
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if len(empty) > 10 else "")
        logger.warning("%s: skipped %d reviews with an empty reviewText (lines %s)", path, len(empty), shown)


def records_from_reviews(
    reviews: Sequence[Dict],
    min_feature_count: int = MIN_FEATURE_COUNT,
    max_features: int = MAX_FEATURES,
    max_words: int = MAX_SENTENCE_WORDS,
    window: int = OPINION_WINDOW,
) -> List[Dict]:
    """One explanation record per review that has a qualifying sentence (features mined from `reviews`)."""
    features = frozenset(mine_features((r["text"] for r in reviews), min_feature_count, max_features))
    if not features:
        raise ValueError(f"no feature occurs in at least {min_feature_count} of {len(reviews)} reviews")
    records = []
    for review in reviews:
        found = best_explanation(review["text"], features, max_words=max_words, window=window)
        if found is not None:
            records.append({"user": review["user"], "item": review["item"], "rating": review["rating"],
                            "feature": found.feature, "opinion": found.opinion,
                            "explanation": found.explanation, "sentiment": found.sentiment})
    logger.info("explanation records: %d of %d reviews yielded one (%d dropped: no sentence of at most %d "
                "tokens with an opinion word near one of %d features)", len(records), len(reviews),
                len(reviews) - len(records), max_words, len(features))
    return records


def read_peter_pickle(path: Union[str, Path]) -> List[Dict]:
    """Records from PETER's `reviews.pickle` (dicts `user, item, rating, template=(feature, adj, text, sentiment)`).

    Only open pickles you trust: unpickling runs code from the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "file not found")
    with open(path, "rb") as f:
        rows = pickle.load(f)
    if not isinstance(rows, list):
        raise DataFormatError(path, f"expected a list of dicts, found {type(rows).__name__}")
    records = []
    for index, row in enumerate(rows):
        where = f"record {index}"
        if not isinstance(row, dict):
            raise DataFormatError(path, f"{where}: expected a dict, found {type(row).__name__}")
        for field in ("user", "item", "rating", "template"):
            if field not in row:
                raise DataFormatError(path, f"{where}: missing field", field=field)
        template = row["template"]
        if not isinstance(template, (tuple, list)) or len(template) != 4:
            raise DataFormatError(path, f"{where}: expected (feature, adj, text, sentiment)", field="template")
        feature, adj, text, sentiment = template
        records.append({
            "user": str(row["user"]), "item": str(row["item"]),
            "rating": _rating(path, None, f"{where}.rating", row["rating"]),
            "feature": normalize_text(str(feature)), "opinion": normalize_text(str(adj)),
            "explanation": normalize_text(str(text)), "sentiment": int(sentiment),
        })
    logger.info("read %d records from %s", len(records), path)
    return records


def review_dataset_name(path: Optional[Union[str, Path]]) -> str:
    """Name of a review file's dataset for model cards: its folder name, or `"synthetic-reviews"` for None."""
    return "synthetic-reviews" if path is None else Path(path).resolve().parent.name


def load_explanation_records(path: Optional[Union[str, Path]] = None, **extraction_kwargs):
    """`datasets.Dataset` of records: PETER pickle (`.pickle`/`.pkl`), Amazon JSON lines, or synthetic (None).

    `extraction_kwargs` go to `records_from_reviews` (Amazon) or `synthetic_explanation_records` (None).
    """
    import datasets

    if path is None:
        from .synthetic import synthetic_explanation_records

        records = synthetic_explanation_records(**extraction_kwargs)
    elif Path(path).suffix in _PICKLE_SUFFIXES:
        records = read_peter_pickle(path)
    else:
        records = records_from_reviews(list(read_amazon_reviews(path)), **extraction_kwargs)
    if not records:
        raise DataFormatError(path or "<synthetic>", "no explanation records")
    return datasets.Dataset.from_list([{k: r[k] for k in RECORD_FIELDS} for r in records])


def training_reviews(path: Optional[Union[str, Path]], splits) -> List[Dict]:
    """Whole reviews `{user, item, rating, text}` a model may learn from: every review of the Amazon file `path` except those
    behind a validation or test record of `splits` (their sentences are the held-out references).

    Several times more text than the one explanation sentence per training record: for in-domain language-model
    pre-training and for training the rating judge. Without raw reviews (synthetic data, PETER pickles) it is the
    training split's explanation sentences.
    """
    if path is None or Path(path).suffix in _PICKLE_SUFFIXES:
        return [{"user": r["user"], "item": r["item"], "rating": r["rating"], "text": r["explanation"]}
                for r in splits["train"]]
    held_out = {(r["user"], r["item"]) for name in ("validation", "test") for r in splits[name]}
    return [r for r in read_amazon_reviews(path) if (r["user"], r["item"]) not in held_out]


def split_explanation_records(dataset, seed: int = SPLIT_SEED, ratios: Sequence[float] = (0.8, 0.1, 0.1)):
    """Seeded train/validation/test `DatasetDict`; held-out records whose user or item is not in train move there."""
    import datasets

    if len(ratios) != 3 or abs(sum(ratios) - 1.0) > 1e-6 or min(ratios) < 0:
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    order = list(range(len(dataset)))
    random.Random(seed).shuffle(order)
    n_train = int(round(ratios[0] * len(order)))
    n_valid = int(round(ratios[1] * len(order)))
    train, valid, test = order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:]
    users, items = set(dataset.select(train)["user"]), set(dataset.select(train)["item"])
    moved = 0
    kept = {"validation": [], "test": []}
    for name, part in (("validation", valid), ("test", test)):
        part_users, part_items = dataset.select(part)["user"], dataset.select(part)["item"]
        for index, user, item in zip(part, part_users, part_items):
            if user in users and item in items:
                kept[name].append(index)
            else:
                train.append(index)
                moved += 1
    logger.info("split %d records: train %d, validation %d, test %d (%d held-out records moved to train: "
                "user or item unseen in training)", len(dataset), len(train), len(kept["validation"]),
                len(kept["test"]), moved)
    return datasets.DatasetDict({"train": dataset.select(train), "validation": dataset.select(kept["validation"]),
                                 "test": dataset.select(kept["test"])})
