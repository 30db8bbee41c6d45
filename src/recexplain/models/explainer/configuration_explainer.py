"""Configuration of the personalized explanation generator.

PETER (Li, Zhang, Chen, ACL 2021) and PEPLER (Li, Zhang, Chen, TOIS 2023).
"""

from typing import ClassVar

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec


PREFIX_SLOTS = ("user", "item", "rating", "feature")
VISIBLE_SLOT_PRESETS = {
    "peter": ["user", "item"],
    "peter_plus": ["user", "item", "feature"],
}
BACKBONES = ("peter", "causal_lm")
LAYER_NORM_POSITIONS = ("pre", "post")
POSITION_EMBEDDING_TYPES = ("learned", "sinusoidal")
LOSS_NAMES = ("text", "rating", "context", "unlikelihood")
# PETER's weights for its three losses; the unlikelihood weight was chosen on the validation split
# (docs/explainer_data.md, ablation): 3 cut plain greedy loops from 28% to 7% at PETER's size; 6, with the `<eos>`
# targets weighted 0.25, won under the phrase-aware text score (ninth session).
DEFAULT_LOSS_WEIGHTS = {"text": 1.0, "rating": 0.1, "context": 1.0, "unlikelihood": 6.0}


class RecExplainerConfig(PreTrainedConfig):
    r"""
    Configuration of [`RecExplainerModel`], [`RecExplainerForConditionalGeneration`] and
    [`RecExplainerForValueModeling`].

    A sequence is `prefix_length` (= 4) slot tokens `[<u_X>, <i_Y>, <r_R>, <f_F>]`, then `<bos>`, the explanation
    words and `<eos>`, left-padded. Prefix tokens attend to the visible prefix tokens; text tokens attend to the
    visible prefix tokens and to earlier text tokens (the PETER mask). A slot that is not in `visible_prefix_slots` is
    masked out as a key for every query.

    Args:
        vocab_size (`int`): size of the token vocabulary (words, special tokens and entity tokens).
        hidden_size (`int`): width of the Transformer (`"peter"` backbone; copied from `lm_config` for `"causal_lm"`).
        num_hidden_layers (`int`): number of Transformer layers (copied from `lm_config` for `"causal_lm"`).
        num_attention_heads (`int`): attention heads per layer (copied from `lm_config` for `"causal_lm"`).
        intermediate_size (`int`): width of the feed-forward block.
        hidden_act (`str`): feed-forward activation (a key of `transformers.activations.ACT2FN`).
        dropout (`float`): dropout on embeddings, attention outputs and feed-forward outputs.
        attention_dropout (`float`): dropout on the attention probabilities.
        max_position_embeddings (`int`): longest sequence (prefix + `<bos>` + words + `<eos>`).
        layer_norm_position (`str`): `"post"` (`norm(x + f(x))`, as in PETER's `nn.TransformerEncoderLayer`) or
            `"pre"` (`x + f(norm(x))`, plus a final norm); `"peter"` backbone only.
        position_embedding_type (`str`): fixed `"sinusoidal"` positions (PETER) or `"learned"` ones.
        scale_embeddings (`bool`): multiply the token embeddings by `sqrt(hidden_size)` before adding the positions
            (PETER, after Vaswani et al.). The defaults of these three are PETER's layout: with pre-LN, learned
            positions and no scaling (the layout of models saved before December 2026, which must set them
            explicitly to load) greedy decoding looped ("the love the love ...", docs/explainer_model.md).
        layer_norm_eps (`float`): epsilon of the layer norms.
        initializer_range (`float`): standard deviation of the normal weight initialisation.
        visible_prefix_slots (`list[str]` or `str`): prefix slots that tokens may attend to, a subset of
            `("user", "item", "rating", "feature")`, or a preset name: `"peter"` (user, item) or `"peter_plus"`
            (user, item, feature). The rating slot is normally invisible: the rating is predicted, not given.
        rating_head_hidden_size (`int`, *optional*): hidden width of the rating MLP (defaults to `hidden_size`).
        min_rating (`float`), max_rating (`float`): the rating range; `predict_rating` clips to it.
        loss_weights (`dict[str, float]`): weights of the `"text"`, `"rating"`, `"context"` and
            `"unlikelihood"` losses (`DEFAULT_LOSS_WEIGHTS`: PETER's 1.0, 0.1, 1.0, and 6.0; PETER has no
            unlikelihood term; 6 with `eos_loss_weight` 0.25 won on validation, docs/explainer_data.md). The
            unlikelihood term is token-level unlikelihood training (Welleck et al., 2019):
            each step's probability of the words already in the explanation is pushed down, against greedy loops.
        eos_loss_weight (`float`): weight of the `<eos>` targets in the text loss (a class weight of the cross
            entropy, which is then averaged over the summed weights; 1.0: plain cross entropy, as PETER; default
            0.25). Below 1 the model learns a lower probability of stopping, so greedy explanations get longer.
        lm_head_bias (`bool`): give the next-word head a bias (PETER's `hidden2token` has one: a learned unigram
            log-prior shared by the next-word and context heads); `"peter"` backbone only.
        tie_word_embeddings (`bool`, *optional*): tie the next-word head to the word embeddings. Defaults to `False`
            for `"peter"` and to `lm_config.tie_word_embeddings` for `"causal_lm"`.
        backbone (`str`): `"peter"` (the Transformer of this file) or `"causal_lm"` (any transformers causal LM given
            by `lm_config`, PEPLER style, with learned prompt vectors for the entity tokens).
        lm_config (`dict` or `PreTrainedConfig`, *optional*): configuration of the causal LM (`"causal_lm"` only).
        entity_token_start (`int`, *optional*), num_entity_tokens (`int`): the entity tokens (users, items, ratings,
            features) form the id block `[entity_token_start, entity_token_start + num_entity_tokens)`. When set,
            the next-word and context heads never score these ids (they get a large negative logit). With the
            `"causal_lm"` backbone (where it is required) these ids get learned prompt vectors instead of the LM's
            word embeddings; every other id must be a word id of the LM (`< lm_config.vocab_size`).
        pad_token_id, bos_token_id, eos_token_id (`int`, *optional*): special token ids of the tokenizer.
    """

    model_type = "recexplainer"
    sub_configs_defaults: ClassVar = {
        "lm_config": SubConfigSpec(config_class=AutoConfig, model_type="gpt2", optional=True),
    }

    vocab_size: int = 1000
    hidden_size: int = 512
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 2048
    hidden_act: str = "relu"
    dropout: float = 0.2
    attention_dropout: float = 0.0
    max_position_embeddings: int = 128
    layer_norm_position: str = "post"
    position_embedding_type: str = "sinusoidal"
    scale_embeddings: bool = True
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    visible_prefix_slots: list[str] | str | None = None
    rating_head_hidden_size: int | None = None
    min_rating: float = 1.0
    max_rating: float = 5.0
    loss_weights: dict[str, float] | None = None
    eos_loss_weight: float = 0.25
    lm_head_bias: bool = False
    tie_word_embeddings: bool | None = None
    backbone: str = "peter"
    lm_config: dict | PreTrainedConfig | None = None
    entity_token_start: int | None = None
    num_entity_tokens: int = 0
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    use_cache: bool = True

    def __post_init__(self, **kwargs):
        if isinstance(self.visible_prefix_slots, str):
            if self.visible_prefix_slots not in VISIBLE_SLOT_PRESETS:
                raise ValueError(
                    f"`visible_prefix_slots` preset must be one of {sorted(VISIBLE_SLOT_PRESETS)}, "
                    f"got {self.visible_prefix_slots!r}"
                )
            self.visible_prefix_slots = VISIBLE_SLOT_PRESETS[self.visible_prefix_slots]
        if self.visible_prefix_slots is None:
            self.visible_prefix_slots = list(VISIBLE_SLOT_PRESETS["peter"])
        self.visible_prefix_slots = list(self.visible_prefix_slots)
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(self.loss_weights or {})}
        if self.backbone == "causal_lm" and self.lm_config is None:
            self.lm_config = {}  # the sub-config spec then builds its default (gpt2) configuration
        super().__post_init__(**kwargs)
        if self.backbone == "causal_lm":
            # `generate` sizes the KV cache from these standard names: mirror the inner LM
            self.hidden_size = self.lm_config.hidden_size
            self.num_hidden_layers = self.lm_config.num_hidden_layers
            self.num_attention_heads = self.lm_config.num_attention_heads
            if self.tie_word_embeddings is None:
                self.tie_word_embeddings = bool(getattr(self.lm_config, "tie_word_embeddings", False))
        elif self.tie_word_embeddings is None:
            self.tie_word_embeddings = False
        if self.rating_head_hidden_size is None:
            self.rating_head_hidden_size = self.hidden_size
        self.validate()

    @property
    def prefix_slots(self) -> tuple[str, ...]:
        """Names of the prefix slots, in sequence order."""
        return PREFIX_SLOTS

    @property
    def prefix_length(self) -> int:
        """Number of prefix slot tokens before `<bos>`."""
        return len(PREFIX_SLOTS)

    @property
    def lm_vocab_size(self) -> int:
        """Output size of the next-word head (the LM's vocabulary for `"causal_lm"`)."""
        return self.lm_config.vocab_size if self.backbone == "causal_lm" else self.vocab_size

    def validate(self):
        """Raise `ValueError` on inconsistent settings (also run when saving)."""
        super().validate()
        positive = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                    "max_position_embeddings", "rating_head_hidden_size")
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"`backbone` must be one of {BACKBONES}, got {self.backbone!r}")
        for name, allowed in (("layer_norm_position", LAYER_NORM_POSITIONS),
                              ("position_embedding_type", POSITION_EMBEDDING_TYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) must be a multiple of `num_attention_heads` "
                f"({self.num_attention_heads})"
            )
        for name in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {getattr(self, name)}")
        if not self.visible_prefix_slots or not set(self.visible_prefix_slots) <= set(PREFIX_SLOTS):
            raise ValueError(
                f"`visible_prefix_slots` must be a non-empty subset of {PREFIX_SLOTS}, got {self.visible_prefix_slots}"
            )
        if not self.min_rating < self.max_rating:
            raise ValueError(f"`min_rating` ({self.min_rating}) must be below `max_rating` ({self.max_rating})")
        if set(self.loss_weights) != set(LOSS_NAMES) or any(w < 0 for w in self.loss_weights.values()):
            raise ValueError(f"`loss_weights` takes non-negative weights for {LOSS_NAMES}, got {self.loss_weights}")
        if not 0.0 < self.eos_loss_weight <= 1e3:
            raise ValueError(f"`eos_loss_weight` must be in (0, 1000], got {self.eos_loss_weight}")
        if self.max_position_embeddings <= self.prefix_length:
            raise ValueError("`max_position_embeddings` must exceed the prefix length")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < self.vocab_size:
                raise ValueError(f"`{name}` ({value}) must lie in [0, vocab_size={self.vocab_size})")
        if self.lm_head_bias and self.backbone != "peter":
            raise ValueError("`lm_head_bias` is a `peter` backbone option (a causal LM keeps its own output head)")
        if self.backbone == "causal_lm":
            if self.entity_token_start is None or self.num_entity_tokens <= 0:
                raise ValueError("the `causal_lm` backbone needs `entity_token_start` and `num_entity_tokens` > 0")
            if self.lm_config.vocab_size > self.vocab_size:
                raise ValueError(
                    f"`lm_config.vocab_size` ({self.lm_config.vocab_size}) exceeds `vocab_size` ({self.vocab_size})"
                )
        if self.entity_token_start is not None and not (
            0 <= self.entity_token_start and self.entity_token_start + self.num_entity_tokens <= self.vocab_size
        ):
            raise ValueError(
                f"the entity token block [{self.entity_token_start}, "
                f"{self.entity_token_start + self.num_entity_tokens}) must lie inside the vocabulary of size "
                f"{self.vocab_size}"
            )


__all__ = ["RecExplainerConfig"]
