"""Explanation tokenizer and collator: prompt layout, save/load, labels, left padding."""
import pytest
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from recexplain.data.reviews.collator import (
    ExplanationCollator,
    collate_prompts,
    tokenize_explanation_dataset,
)
from recexplain.data.reviews.tokenizer import (
    build_explanation_tokenizer,
    decode_explanation,
    explanation_vocabularies,
    format_prompt,
    load_vocabularies,
    save_vocabularies,
)

FIELDS = ("user", "item", "rating", "feature", "opinion", "explanation", "sentiment")
RECORDS = [
    dict(zip(FIELDS, ("U1", "I1", 5, "sound", "great", "the sound is great", 1))),
    dict(zip(FIELDS, ("U2", "I1", 2, "front desk", "rude", "the front desk was rude , sadly", -1))),
    dict(zip(FIELDS, ("U1", "I2", 4, "sound", "good", "good sound", 1))),
]


@pytest.fixture(scope="module")
def tokenizer():
    return build_explanation_tokenizer(RECORDS)


def test_prompt_layout(tokenizer):
    assert format_prompt("U1", "I1", 5, "front desk") == "<u_U1> <i_I1> <r_5> <f_front_desk> <bos>"
    ids = tokenizer(format_prompt("U1", "I2", 4.4, "sound"), add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["<u_U1>", "<i_I2>", "<r_4>", "<f_sound>", "<bos>"]
    unknown = tokenizer(format_prompt("NEW", "I1", None, "price"), add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(unknown) == ["<unk>", "<i_I1>", "<unk>", "<unk>", "<bos>"]
    assert [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="whitespace"):
        format_prompt("a b", "I1", 5, "sound")


def test_text_and_vocab_limits(tokenizer):
    ids = tokenizer("The Sound is GREAT, sadly!", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["the", "sound", "is", "great", ",", "sadly", "<unk>"]
    sequence = tokenizer(format_prompt("U1", "I1", 5, "sound") + " the sound <eos> <pad>")["input_ids"]
    assert decode_explanation(tokenizer, [9, 8] + sequence) == "the sound"
    small = build_explanation_tokenizer(RECORDS, min_word_freq=2)
    assert set(explanation_vocabularies(small)["words"]) == {"the", "sound"}
    assert len(explanation_vocabularies(build_explanation_tokenizer(RECORDS, max_vocab=3))["words"]) == 3


def test_save_load_round_trip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    save_vocabularies(tokenizer, tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, PreTrainedTokenizerFast) and loaded.padding_side == "left"
    text = [format_prompt(r["user"], r["item"], r["rating"], r["feature"]) + " " + r["explanation"] for r in RECORDS]
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    vocab = load_vocabularies(tmp_path)
    assert vocab["users"] == ["U1", "U2"] and vocab["items"] == ["I1", "I2"] and vocab["features"] == ["front desk", "sound"]
    for r in RECORDS:
        assert decode_explanation(loaded, loaded(r["explanation"])["input_ids"]) == r["explanation"]


def test_collator_labels_and_left_padding(tokenizer):
    import datasets

    encoded = tokenize_explanation_dataset(datasets.Dataset.from_list(RECORDS), tokenizer, max_explanation_length=4)
    assert encoded.column_names == ["input_ids", "rating_labels"]
    assert len(encoded[1]["input_ids"]) == 5 + 4 + 1  # truncated to 4 words, then <eos>
    batch = ExplanationCollator(tokenizer)([encoded[i] for i in range(3)])
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape == (3, 10) and batch["rating_labels"].tolist() == [5.0, 2.0, 4.0]
    lengths = [10, 10, 8]  # prompt 5 + words + <eos>
    for row, n in enumerate(lengths):
        pad = 10 - n
        assert mask[row].tolist() == [0] * pad + [1] * n
        assert (ids[row, :pad] == tokenizer.pad_token_id).all() and ids[row, -1] == tokenizer.eos_token_id
        assert ids[row, pad + 4] == tokenizer.bos_token_id
        assert (labels[row, : pad + 5] == -100).all() and torch.equal(labels[row, pad + 5 :], ids[row, pad + 5 :])
    prompts = collate_prompts(tokenizer, RECORDS)
    assert prompts["input_ids"].tolist() == [ids[row, 10 - n : 15 - n].tolist() for row, n in enumerate(lengths)]


def test_records_without_a_feature_keep_ids_dense():
    from recexplain.data import build_explanation_tokenizer

    records = [{"user": "a", "item": "x", "feature": None, "explanation": "good strap"},
               {"user": "b", "item": "x", "feature": "strap", "explanation": "the strap broke"}]
    tokenizer = build_explanation_tokenizer(records)
    assert sorted(tokenizer.get_vocab().values()) == list(range(len(tokenizer)))
    assert "<f_strap>" in tokenizer.get_vocab()
