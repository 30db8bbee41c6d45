"""The explanation tokenizer: word level, trained on the training split, with entity tokens for prompts.

Vocabulary (ids in this order): `<pad> <bos> <eos> <unk>`, `<r_1>..<r_5>`, one
`<u_ID>` per training user, `<i_ID>` per training item, `<f_WORD>` per training
feature (multi-word features joined by "_"), then the words of the training
explanations by frequency. Text is lowercased and split into word runs and single
punctuation marks (`explanation_extraction.TOKEN_PATTERN`); entity tokens are
special added tokens, matched before lowercasing, so ids keep their case.

Unknown users, items or features (not in the training split), and a slot given as
`None` (e.g. the rating before it is predicted), become `<unk>`: still exactly one
token, so the prompt keeps its 5-token layout.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Union

from .extraction import TOKEN_PATTERN, normalize_text, tokenize

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
RATINGS = (1, 2, 3, 4, 5)
# The prompt layout, `<u_X> <i_Y> <r_R> <f_F> <bos>` (the model configs restate it: their files load as remote code)
PROMPT_SLOTS = ("user", "item", "rating", "feature", "bos")
PROMPT_LENGTH = len(PROMPT_SLOTS)
EXPLANATION_WORDS = 15  # explanation words kept and generated (PETER: 15)
EXPLANATION_TOKENS = EXPLANATION_WORDS + 1  # the words + <eos>: `max_new_tokens` of generation
VOCAB_FILE = "explanation_vocab.json"
_PREFIXES = {"users": "<u_", "items": "<i_", "features": "<f_"}


def _entity(prefix: str, value) -> str:
    if value is None:
        return UNK
    value = str(value)
    if not value or any(c.isspace() or c in "<>" for c in value):
        raise ValueError(f"{prefix}...> token: id {value!r} is empty or contains whitespace or '<'/'>'")
    return f"{prefix}{value}>"


def user_token(user) -> str:
    """`<u_ID>` (`<unk>` for None)."""
    return _entity("<u_", user)


def item_token(item) -> str:
    """`<i_ID>` (`<unk>` for None)."""
    return _entity("<i_", item)


def rating_token(rating) -> str:
    """`<r_R>` for a rating 1-5; a float (a predicted rating) is rounded and clipped; `<unk>` for None."""
    if rating is None:
        return UNK
    return f"<r_{int(min(5, max(1, round(float(rating)))))}>"


def feature_token(feature) -> str:
    """`<f_WORD>` (words of a multi-word feature joined by "_"; `<unk>` for None)."""
    return UNK if feature is None else _entity("<f_", "_".join(tokenize(str(feature))))


def format_prompt(user, item, rating, feature) -> str:
    """The 5-token query `<u_X> <i_Y> <r_R> <f_F> <bos>` (contracts.md); None slots become `<unk>`."""
    return " ".join([user_token(user), item_token(item), rating_token(rating), feature_token(feature), BOS])


def build_explanation_tokenizer(
    train_records, min_word_freq: int = 1, max_vocab: int = 20000, model_max_length: int = 64
):
    """Train the word-level `PreTrainedTokenizerFast` on training records (dicts or a `datasets.Dataset`).

    `max_vocab` caps the number of explanation words (entity and special tokens come on top);
    words seen fewer than `min_word_freq` times become `<unk>`.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    rows = train_records.to_list() if hasattr(train_records, "to_list") else list(train_records)
    if not rows:
        raise ValueError("no training records to build the tokenizer from")
    # a missing entity (e.g. a pre-training sentence without a feature) is `<unk>`, already a special token
    users = sorted({user_token(r["user"]) for r in rows} - {UNK})
    items = sorted({item_token(r["item"]) for r in rows} - {UNK})
    features = sorted({feature_token(r["feature"]) for r in rows} - {UNK})
    counts = Counter(t for r in rows for t in tokenize(r["explanation"]))
    words = [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_word_freq][:max_vocab]
    entities = [rating_token(r) for r in RATINGS] + users + items + features
    vocab = {tok: i for i, tok in enumerate(list(SPECIAL_TOKENS) + entities + [w for w in words if w not in SPECIAL_TOKENS])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    backend.normalizer = normalizers.Sequence([normalizers.Replace("\u2019", "'"), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(TOKEN_PATTERN), behavior="isolated")]
    )
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in list(SPECIAL_TOKENS) + entities])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, bos_token=BOS, eos_token=EOS, unk_token=UNK,
        padding_side="left", model_max_length=model_max_length,
    )


def decode_explanation(tokenizer, ids: Iterable[int]) -> str:
    """Explanation text of a token sequence: after the last `<bos>`, up to `<eos>`, special and entity tokens dropped.

    Returned as normalized space-separated tokens (`normalize_text`), the form the metrics compare.
    """
    ids = [int(i) for i in ids]
    if tokenizer.bos_token_id in ids:
        ids = ids[len(ids) - ids[::-1].index(tokenizer.bos_token_id):]
    if tokenizer.eos_token_id in ids:
        ids = ids[: ids.index(tokenizer.eos_token_id)]
    return normalize_text(tokenizer.decode(ids, skip_special_tokens=True))


def explanation_vocabularies(tokenizer) -> Dict[str, List[str]]:
    """The `users`, `items`, `features` and `words` the tokenizer knows, in id order."""
    out: Dict[str, List[str]] = {"users": [], "items": [], "features": [], "words": []}
    for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if token in SPECIAL_TOKENS or token.startswith("<r_"):
            continue
        kind = next((k for k, p in _PREFIXES.items() if token.startswith(p) and token.endswith(">")), "words")
        out[kind].append(token[len(_PREFIXES[kind]):-1] if kind != "words" else token)
    out["features"] = [f.replace("_", " ") for f in out["features"]]
    return out


def save_vocabularies(tokenizer, directory: Union[str, Path]) -> Path:
    """Write `explanation_vocab.json` (users, items, features, words) next to a saved model."""
    path = Path(directory) / VOCAB_FILE
    path.write_text(json.dumps(explanation_vocabularies(tokenizer), indent=1), encoding="utf-8")
    return path


def load_vocabularies(directory: Union[str, Path]) -> Dict[str, List[str]]:
    """Read `explanation_vocab.json` written by `save_vocabularies`."""
    return json.loads((Path(directory) / VOCAB_FILE).read_text(encoding="utf-8"))
