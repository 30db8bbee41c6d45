"""Personalized explanation generator.

PETER (Li, Zhang, Chen: "Personalized Transformer for Explainable Recommendation", ACL 2021) in Hugging Face form,
plus a PEPLER-style option (Li, Zhang, Chen: "Personalized Prompt Learning for Explainable Recommendation",
TOIS 2023): any transformers causal LM with learned prompt vectors for the user/item/rating/feature tokens, trainable
with LoRA through `peft`.

Sequence layout (left-padded): `[<u_X>, <i_Y>, <r_R>, <f_F>, <bos>, w_1, ..., w_n, <eos>]`. The first
`config.prefix_length` non-pad tokens are the prefix slots; the PETER mask lets prefix tokens attend to the visible
prefix tokens only and text tokens to the visible prefix tokens and earlier text tokens. Slot positions are read from
`position_ids` (queries) and from the 2D attention mask (keys, also those in the KV cache), so the mask stays right
under left padding, with a KV cache and with TRL's `position_ids = cumsum(mask) - mask`.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput
from transformers.utils.deprecation import deprecate_kwarg

from .configuration_explainer import RecExplainerConfig


# Logit given to vocabulary entries the next-word head cannot produce (entity ids beyond a causal LM's vocabulary).
# Finite on purpose: TRL divides logits by the temperature and multiplies probabilities by logits for the entropy.
MASKED_LOGIT = -1e4


@dataclass
class RecExplainerModelOutput(ModelOutput):
    """
    Output of [`RecExplainerModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            Final (normalised) hidden states.
        cache (`Cache`, *optional*): the KV cache, returned when `use_cache=True`.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): embeddings plus the output of every layer, each of
            shape `(batch_size, sequence_length, hidden_size)`; the last entry equals `last_hidden_state`. Returned
            when `output_hidden_states=True`.
    """

    last_hidden_state: torch.FloatTensor | None = None
    cache: Cache | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class RecExplainerOutput(ModelOutput):
    """
    Output of [`RecExplainerForConditionalGeneration`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): weighted sum of the available losses, returned when
            `labels` or `rating_labels` is passed (weights: `config.loss_weights`).
        logits (`torch.FloatTensor` of shape `(batch_size, sequence_length, vocab_size)`): next-word scores.
        rating_prediction (`torch.FloatTensor` of shape `(batch_size,)`, *optional*): unclipped rating predicted from
            the user slot; present when the input holds the prefix (not in cached decoding steps).
        context_logits (`torch.FloatTensor` of shape `(batch_size, vocab_size)`, *optional*): bag-of-words scores
            of the explanation predicted from the item slot; present when the input holds the prefix.
        text_loss, rating_loss, context_loss, unlikelihood_loss (`torch.FloatTensor` of shape `()`, *optional*):
            the loss terms (the unlikelihood term only when its weight is positive).
        cache (`Cache`, *optional*): the KV cache, returned when `use_cache=True`.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): see [`RecExplainerModelOutput`].
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    rating_prediction: torch.FloatTensor | None = None
    context_logits: torch.FloatTensor | None = None
    text_loss: torch.FloatTensor | None = None
    rating_loss: torch.FloatTensor | None = None
    context_loss: torch.FloatTensor | None = None
    unlikelihood_loss: torch.FloatTensor | None = None
    cache: Cache | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class RecExplainerValueOutput(ModelOutput):
    """
    Output of [`RecExplainerForValueModeling`].

    Args:
        values (`torch.FloatTensor` of shape `(batch_size, sequence_length)`): per-token value estimates.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): see [`RecExplainerModelOutput`].
    """

    values: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


def positions_from_attention_mask(attention_mask: torch.Tensor) -> torch.LongTensor:
    """Position of every token counted over non-pad tokens only (pads get 0): `[B, T] -> [B, T]`."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def peter_attention_mask(
    config: RecExplainerConfig,
    position_ids: torch.LongTensor,
    attention_mask: torch.Tensor | None,
    past_length: int,
    dtype: torch.dtype,
) -> torch.FloatTensor:
    """
    The PETER mask as an additive float mask of shape `(batch_size, 1, query_length, key_length)`.

    `position_ids` `[B or 1, Q]` are the positions of the queries; the positions of the keys (cache included) come
    from the 2D `attention_mask` `[B, past_length + Q]` or, without one, from `position_ids` after `past_length`
    unpadded positions.
    """
    prefix_length = config.prefix_length
    if attention_mask is not None:
        key_positions = positions_from_attention_mask(attention_mask)  # [B, K]
        key_valid = attention_mask.bool()  # [B, K]
    else:
        past_positions = torch.arange(past_length, device=position_ids.device).expand(position_ids.shape[0], -1)
        key_positions = torch.cat([past_positions, position_ids], dim=-1)  # [B or 1, K]
        key_valid = torch.ones_like(key_positions, dtype=torch.bool)
    slot_visible = torch.tensor(
        [slot in config.visible_prefix_slots for slot in config.prefix_slots], device=position_ids.device
    )  # [P]
    queries = position_ids[:, :, None]  # [B, Q, 1]
    keys = key_positions[:, None, :]  # [B, 1, K]
    key_is_prefix = keys < prefix_length  # [B, 1, K]
    key_visible = key_valid[:, None, :] & (~key_is_prefix | slot_visible[keys.clamp(max=prefix_length - 1)])
    # prefix queries see the (visible) prefix, text queries see the prefix and earlier text
    allowed = key_visible & torch.where(queries < prefix_length, key_is_prefix, keys <= queries)  # [B, Q, K]
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]  # [B, 1, Q, K]


class RecExplainerAttention(nn.Module):
    """Multi-head self-attention with a KV cache."""

    def __init__(self, config: RecExplainerConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.dropout = config.attention_dropout
        self.qkv_proj = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, attention_mask, cache=None):
        batch_size, length, _ = hidden_states.shape
        qkv = self.qkv_proj(hidden_states).view(batch_size, length, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x [B, heads, S, head_dim]
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx)  # [B, heads, past + S, head_dim]
        attended = F.scaled_dot_product_attention(
            query, key, value, attn_mask=attention_mask, dropout_p=self.dropout if self.training else 0.0
        )  # [B, heads, S, head_dim]
        attended = attended.transpose(1, 2).reshape(batch_size, length, -1)  # [B, S, H]
        return self.out_proj(attended)


class RecExplainerLayer(GradientCheckpointingLayer):
    """Transformer layer. Pre-LN: `x + attn(norm(x))`, then `x + ffn(norm(x))`; post-LN (PETER):
    `norm(x + attn(x))`, then `norm(x + ffn(x))`."""

    def __init__(self, config: RecExplainerConfig, layer_idx: int):
        super().__init__()
        self.pre_norm = config.layer_norm_position == "pre"
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = RecExplainerAttention(config, layer_idx)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = nn.Sequential(
            nn.Linear(config.hidden_size, config.intermediate_size),
            ACT2FN[config.hidden_act],
            nn.Dropout(config.dropout),
            nn.Linear(config.intermediate_size, config.hidden_size),
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_states, attention_mask, cache=None):
        if self.pre_norm:
            hidden_states = hidden_states + self.dropout(
                self.attention(self.attention_norm(hidden_states), attention_mask, cache)
            )
            return hidden_states + self.dropout(self.ffn(self.ffn_norm(hidden_states)))  # [B, S, H]
        hidden_states = self.attention_norm(
            hidden_states + self.dropout(self.attention(hidden_states, attention_mask, cache))
        )
        return self.ffn_norm(hidden_states + self.dropout(self.ffn(hidden_states)))  # [B, S, H]


def sinusoidal_positions(length: int, dim: int) -> torch.FloatTensor:
    """Fixed sine/cosine position encodings (Vaswani et al. 2017): `[length, dim]`."""
    positions = torch.arange(length, dtype=torch.float)[:, None]  # [L, 1]
    frequencies = torch.exp(torch.arange(0, dim, 2, dtype=torch.float) * (-math.log(10000.0) / dim))  # [dim / 2]
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(positions * frequencies)
    table[:, 1::2] = torch.cos(positions * frequencies)[:, : dim // 2]
    return table


class RecExplainerPreTrainedModel(PreTrainedModel):
    config_class = RecExplainerConfig
    config: RecExplainerConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["RecExplainerLayer"]
    _supports_sdpa = True

    def _init_weights(self, module):
        # Linear/Embedding/LayerNorm: transformers' defaults with `config.initializer_range`; a causal LM backbone
        # keeps its own initialisation (its modules belong to its own `PreTrainedModel`).
        super()._init_weights(module)
        config = self.config
        if (config.backbone == "peter" and config.position_embedding_type == "sinusoidal"
                and isinstance(module, nn.Embedding) and not module.weight.requires_grad):
            # the fixed sinusoidal table is the only frozen embedding
            init.copy_(module.weight, sinusoidal_positions(config.max_position_embeddings, config.hidden_size))
        rating_head = getattr(self, "rating_head", None)
        if rating_head is not None and module is rating_head[-1]:
            # start the rating head at the middle of the rating range
            init.constant_(module.bias, (self.config.min_rating + self.config.max_rating) / 2)


class RecExplainerModel(RecExplainerPreTrainedModel):
    """
    The backbone: token embeddings and Transformer layers under the PETER mask, returning hidden states.

    With `config.backbone == "causal_lm"` the layers are those of `AutoModel.from_config(config.lm_config)` (the LM
    without its head, attribute `lm`) and the entity token ids get learned prompt vectors (`entity_embeddings`).
    """

    def __init__(self, config: RecExplainerConfig):
        super().__init__(config)
        if config.backbone == "causal_lm":
            self.lm = AutoModel.from_config(config.lm_config)
            self.entity_embeddings = nn.Embedding(config.num_entity_tokens, config.hidden_size)
        else:
            self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
            if config.position_embedding_type == "sinusoidal":
                self.position_embeddings = nn.Embedding.from_pretrained(
                    sinusoidal_positions(config.max_position_embeddings, config.hidden_size), freeze=True
                )
            else:
                self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
            self.embedding_scale = math.sqrt(config.hidden_size) if config.scale_embeddings else 1.0
            self.dropout = nn.Dropout(config.dropout)
            self.layers = nn.ModuleList(RecExplainerLayer(config, i) for i in range(config.num_hidden_layers))
            # post-LN layers end normalised already (PETER has no final norm)
            self.norm = (nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
                         if config.layer_norm_position == "pre" else nn.Identity())
        self.post_init()

    def get_input_embeddings(self):
        return self.lm.get_input_embeddings() if self.config.backbone == "causal_lm" else self.word_embeddings

    def set_input_embeddings(self, value):
        if self.config.backbone == "causal_lm":
            self.lm.set_input_embeddings(value)
        else:
            self.word_embeddings = value

    def embed_input_ids(self, input_ids: torch.LongTensor) -> torch.FloatTensor:
        """Token embeddings `[B, S] -> [B, S, H]`; entity ids use the prompt vectors with the causal-LM backbone."""
        if self.config.backbone != "causal_lm":
            return self.word_embeddings(input_ids)
        start, count = self.config.entity_token_start, self.config.num_entity_tokens
        is_entity = (input_ids >= start) & (input_ids < start + count)  # [B, S]
        words = self.lm.get_input_embeddings()(input_ids.masked_fill(is_entity, 0))  # [B, S, H]
        entities = self.entity_embeddings((input_ids - start).clamp(0, count - 1))  # [B, S, H]
        return torch.where(is_entity[..., None], entities, words)

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> RecExplainerModelOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): token ids, left-padded; with a
                cache only the new tokens.
            attention_mask (`torch.Tensor` of shape `(batch_size, past_length + sequence_length)`, *optional*):
                1 for real tokens, 0 for padding (bool or int).
            position_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*): positions
                counted over non-pad tokens; defaults to `attention_mask.cumsum(-1) - 1`.
            cache (`Cache`, *optional*): KV cache of earlier steps (`past_key_values` is accepted as an alias).
            inputs_embeds (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`, *optional*):
                replaces `embed_input_ids(input_ids)`.
        """
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        use_cache = use_cache if use_cache is not None else (self.config.use_cache and not self.training)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` and `inputs_embeds`")
        if inputs_embeds is None:
            inputs_embeds = self.embed_input_ids(input_ids)  # [B, S, H]
        if use_cache and cache is None:
            cache = DynamicCache(config=self.config)
        past_length = cache.get_seq_length() if cache is not None else 0
        length = inputs_embeds.shape[1]
        if position_ids is None:
            if attention_mask is not None:
                position_ids = positions_from_attention_mask(attention_mask)[:, -length:]  # [B, S]
            else:
                position_ids = torch.arange(past_length, past_length + length, device=inputs_embeds.device)[None]
        mask = peter_attention_mask(self.config, position_ids, attention_mask, past_length, inputs_embeds.dtype)

        if self.config.backbone == "causal_lm":
            lm_outputs = self.lm(
                inputs_embeds=inputs_embeds,
                attention_mask=mask,
                position_ids=position_ids,
                cache=cache,
                use_cache=use_cache,
                output_hidden_states=output_hidden_states,
                return_dict=True,
            )
            last_hidden_state = lm_outputs.last_hidden_state  # [B, S, H]
            all_hidden_states = None
            if output_hidden_states:
                all_hidden_states = tuple(lm_outputs.hidden_states[:-1]) + (last_hidden_state,)
        else:
            if position_ids.max() >= self.config.max_position_embeddings:
                raise ValueError(
                    f"sequence longer than max_position_embeddings={self.config.max_position_embeddings}"
                )
            hidden_states = self.dropout(
                inputs_embeds * self.embedding_scale + self.position_embeddings(position_ids)
            )  # [B, S, H]
            all_hidden_states = (hidden_states,) if output_hidden_states else None
            for layer in self.layers:
                hidden_states = layer(hidden_states, mask, cache if use_cache else None)  # [B, S, H]
                if output_hidden_states:
                    all_hidden_states += (hidden_states,)
            last_hidden_state = self.norm(hidden_states)  # [B, S, H]
            if output_hidden_states:
                all_hidden_states = all_hidden_states[:-1] + (last_hidden_state,)

        output = RecExplainerModelOutput(
            last_hidden_state=last_hidden_state,
            cache=cache if use_cache else None,
            hidden_states=all_hidden_states,
        )
        return output if return_dict else output.to_tuple()


def gather_slot(
    hidden_states: torch.FloatTensor,
    position_ids: torch.LongTensor,
    attention_mask: torch.Tensor | None,
    slot_position: int,
) -> torch.FloatTensor:
    """Hidden state of the prefix slot at `slot_position` in every row: `[B, S, H] -> [B, H]`."""
    is_slot = (position_ids == slot_position).expand(hidden_states.shape[:2])  # [B, S]
    if attention_mask is not None:
        is_slot = is_slot & attention_mask[:, -hidden_states.shape[1]:].bool()
    index = is_slot.int().argmax(-1)  # [B] first real token at that position
    return hidden_states[torch.arange(hidden_states.shape[0], device=hidden_states.device), index]


def _unlikelihood(probs: torch.FloatTensor) -> torch.FloatTensor:
    """`-log(1 - p)`, finite at p = 1."""
    return -torch.log1p(-probs.clamp(max=1 - 1e-6))


def token_unlikelihood_loss(
    logits: torch.FloatTensor, targets: torch.LongTensor, ignore_ids: tuple[int, ...] = ()
) -> torch.FloatTensor:
    """Token-level unlikelihood loss (Welleck et al., 2019): `-log(1 - p(c))` summed over the negative candidates
    c of each target step (the distinct words of the earlier targets of the same row, other than the step's own
    target and `ignore_ids`), averaged over the target steps.

    `logits` `[B, T, V]` are the scores of step t's word, `targets` `[B, T]` its word (-100 where there is none).
    """
    valid = targets != -100  # [B, T]
    usable = valid.clone()
    for token in ignore_ids:
        usable &= targets != token
    steps = targets.shape[1]
    earlier = torch.ones(steps, steps, dtype=torch.bool, device=targets.device).tril(-1)  # [t, j]: j < t
    same = targets[:, :, None] == targets[:, None, :]  # [B, T, T]
    first = ~(same & earlier).any(-1)  # [B, T]: no earlier occurrence of the same word
    candidate = earlier & (usable & first)[:, None, :] & ~same & valid[:, :, None]  # [B, t, j]
    probs = logits.float().softmax(-1).gather(2, targets.clamp(min=0)[:, None, :].expand(-1, steps, -1))  # [B, t, j]
    penalty = _unlikelihood(probs) * candidate
    return penalty.sum() / valid.sum().clamp(min=1)


def sequence_unlikelihood_loss(
    logits: torch.FloatTensor, tokens: torch.LongTensor, repeats: torch.BoolTensor, valid: torch.BoolTensor
) -> torch.FloatTensor:
    """Sequence-level unlikelihood loss (Welleck et al., 2019) on the model's own decoded continuations:
    `-log(1 - p(token))` at the steps whose token repeats earlier ones (`repeats`), summed, averaged over the `valid`
    steps.

    `logits` `[B, T, V]` are the scores of step t's token, `tokens` `[B, T]` the decoded tokens, `repeats` and `valid`
    `[B, T]` masks.
    """
    probs = logits.float().softmax(-1).gather(2, tokens[..., None]).squeeze(-1)  # [B, T]
    penalty = _unlikelihood(probs) * repeats
    return penalty.sum() / valid.sum().clamp(min=1)


class RecExplainerForConditionalGeneration(RecExplainerPreTrainedModel, GenerationMixin):
    """
    The explanation generator: backbone + next-word head + rating head (MLP on the user slot, PETER's position 0) +
    context head (bag of words on the item slot, PETER's position 1, scored with the next-word head as in PETER).
    """

    def __init__(self, config: RecExplainerConfig):
        super().__init__(config)
        self.model = RecExplainerModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.lm_vocab_size, bias=config.lm_head_bias)
        self.rating_head = nn.Sequential(
            nn.Linear(config.hidden_size, config.rating_head_hidden_size),
            nn.Sigmoid(),
            nn.Linear(config.rating_head_hidden_size, 1),
        )
        # tie `lm_head` to whatever the input word embedding is called inside the backbone
        embedding_name = next(
            name for name, module in self.model.named_modules() if module is self.model.get_input_embeddings()
        )
        self._tied_weights_keys = {"lm_head.weight": f"model.{embedding_name}.weight"}
        self.post_init()

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    @classmethod
    def from_causal_lm(
        cls,
        lm: str | PreTrainedModel,
        vocab_size: int,
        entity_token_start: int,
        num_entity_tokens: int,
        **config_kwargs,
    ) -> "RecExplainerForConditionalGeneration":
        """
        A `"causal_lm"` explainer around a pretrained causal LM (a hub name, a local folder or a loaded model).

        `vocab_size` is the size of the tokenizer after adding the entity tokens, which occupy
        `[entity_token_start, entity_token_start + num_entity_tokens)` (with `tokenizer.add_tokens` they follow the
        LM's own vocabulary: `entity_token_start = lm.config.vocab_size`). The LM's weights are copied in; the entity
        prompt vectors and the rating head start fresh. Other config fields (`pad_token_id`, `bos_token_id`,
        `eos_token_id`, `visible_prefix_slots`, ...) go through `config_kwargs`.
        """
        if isinstance(lm, str):
            lm = AutoModelForCausalLM.from_pretrained(lm)
        output_embeddings = lm.get_output_embeddings()
        if getattr(output_embeddings, "bias", None) is not None:
            raise ValueError("causal LMs whose output head has a bias are not supported")
        config = RecExplainerConfig(
            backbone="causal_lm",
            lm_config=lm.config.to_dict(),
            vocab_size=vocab_size,
            entity_token_start=entity_token_start,
            num_entity_tokens=num_entity_tokens,
            **config_kwargs,
        )
        model = cls(config)
        model.model.lm.load_state_dict(lm.base_model.state_dict())
        with torch.no_grad():
            model.lm_head.weight.copy_(output_embeddings.weight)
        if config.tie_word_embeddings:
            model.tie_weights()
        return model

    def _slot_position(self, slot: str) -> int:
        return self.config.prefix_slots.index(slot)

    def _vocab_logits(self, hidden_states: torch.FloatTensor) -> torch.FloatTensor:
        """
        Next-word scores over `config.vocab_size` (`[..., H] -> [..., V]`). Tokens that can never follow in an
        explanation get `MASKED_LOGIT`: the entity block, and `<pad>`/`<bos>` unless they double as `<eos>`
        (a generated `<pad>` would read as padding to TRL).
        """
        config = self.config
        logits = self.lm_head(hidden_states)  # [..., V_lm]
        missing = config.vocab_size - logits.shape[-1]
        if missing:  # ids past a causal LM's own vocabulary
            logits = F.pad(logits, (0, missing), value=MASKED_LOGIT)  # [..., V]
        never = [i for i in (config.pad_token_id, config.bos_token_id) if i is not None and i != config.eos_token_id]
        never = torch.tensor(never, dtype=torch.long, device=logits.device)
        if config.entity_token_start is not None:
            start = config.entity_token_start
            never = torch.cat([never, torch.arange(start, start + config.num_entity_tokens, device=logits.device)])
        # in place: the head's backward needs its input, not this output (saves a copy of `[B, S, V]`)
        return logits.index_fill_(-1, never, MASKED_LOGIT) if len(never) else logits

    def _special_token_ids(self) -> tuple[int, ...]:
        """The end, start and padding token ids that are set: never a word of the explanation."""
        ids = (self.config.eos_token_id, self.config.bos_token_id, self.config.pad_token_id)
        return tuple(token for token in ids if token is not None)

    def _text_class_weights(self, vocab_size: int, device) -> torch.FloatTensor | None:
        """Class weights `[V]` of the text loss: `config.eos_loss_weight` for `<eos>`, 1 elsewhere; None (plain
        cross entropy) when that weight is 1 or there is no `<eos>` id."""
        if self.config.eos_loss_weight == 1.0 or self.config.eos_token_id is None:
            return None
        weights = torch.ones(vocab_size, device=device)
        weights[self.config.eos_token_id] = self.config.eos_loss_weight
        return weights

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        rating_labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> RecExplainerOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, position_ids, cache, inputs_embeds: see [`RecExplainerModel.forward`].
            labels (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*): the input ids with -100
                on prefix, `<bos>`-preceding and pad positions; shifted inside (position t predicts label t + 1).
                The non-special label words are also the bag-of-words target of the context head.
            rating_labels (`torch.Tensor` of shape `(batch_size,)`, *optional*): true ratings for the rating loss.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        past_length = cache.get_seq_length() if cache is not None else 0
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        hidden_states = outputs.last_hidden_state  # [B, S, H]
        logits = self._vocab_logits(hidden_states)  # [B, S, V]

        rating_prediction = context_logits = None
        if past_length == 0:  # the prefix is part of this input
            if position_ids is None:
                position_ids = (
                    positions_from_attention_mask(attention_mask)
                    if attention_mask is not None
                    else torch.arange(hidden_states.shape[1], device=hidden_states.device)[None]
                )
            user_hidden = gather_slot(hidden_states, position_ids, attention_mask, self._slot_position("user"))
            item_hidden = gather_slot(hidden_states, position_ids, attention_mask, self._slot_position("item"))
            rating_prediction = self.rating_head(user_hidden).squeeze(-1)  # [B]
            context_logits = self._vocab_logits(item_hidden)  # [B, V]

        text_loss = rating_loss = context_loss = unlikelihood_loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            text_loss = F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1), ignore_index=-100,
                weight=self._text_class_weights(logits.shape[-1], logits.device),
            )
            if self.config.loss_weights["unlikelihood"] > 0:
                unlikelihood_loss = token_unlikelihood_loss(logits[:, :-1], labels[:, 1:], self._special_token_ids())
            if context_logits is not None:
                words = labels != -100  # [B, S]
                for special in self._special_token_ids():
                    words &= labels != special
                log_probs = context_logits.float().log_softmax(-1)  # [B, V]
                word_log_probs = log_probs.gather(1, labels.clamp(min=0))  # [B, S]
                context_loss = -(word_log_probs * words).sum() / words.sum().clamp(min=1)
        if rating_labels is not None and rating_prediction is not None:
            rating_loss = F.mse_loss(rating_prediction.float(), rating_labels.to(rating_prediction.device).float())
        terms = {"text": text_loss, "rating": rating_loss, "context": context_loss, "unlikelihood": unlikelihood_loss}
        available = [self.config.loss_weights[name] * value for name, value in terms.items() if value is not None]
        loss = torch.stack(available).sum() if available else None

        output = RecExplainerOutput(
            loss=loss,
            logits=logits,
            rating_prediction=rating_prediction,
            context_logits=context_logits,
            text_loss=text_loss,
            rating_loss=rating_loss,
            context_loss=context_loss,
            unlikelihood_loss=unlikelihood_loss,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
        )
        return output if return_dict else output.to_tuple()

    @torch.no_grad()
    def predict_rating(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
    ) -> torch.FloatTensor:
        """Rating of each prompt (prefix, optionally followed by text), clipped to the rating range: `[B]`."""
        outputs = self(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)
        return outputs.rating_prediction.clamp(self.config.min_rating, self.config.max_rating)


class RecExplainerForValueModeling(RecExplainerPreTrainedModel):
    """
    Backbone + a scalar `score` head per token, the convention TRL's PPO uses for value (and reward) models:
    `getattr(model, model.base_model_prefix)(...)` then `model.score(hidden_states[-1])` -> `[B, S, 1]`.
    """

    def __init__(self, config: RecExplainerConfig):
        super().__init__(config)
        self.model = RecExplainerModel(config)
        self.score = nn.Linear(config.hidden_size, 1, bias=False)
        self.post_init()

    @classmethod
    def from_generator(cls, generator: RecExplainerPreTrainedModel) -> "RecExplainerForValueModeling":
        """
        A value model whose backbone is a copy of a (trained) generator's backbone; the score head is fresh.

        For a generator wrapped by `peft`, pass `peft_model.merge_and_unload()` (on a copy if the adapters are still
        needed).
        """
        if not isinstance(generator, RecExplainerPreTrainedModel):
            raise ValueError(
                f"expected a RecExplainer model, got {type(generator).__name__}; merge peft adapters first "
                "(`peft_model.merge_and_unload()`)"
            )
        model = cls(generator.config)
        model.model.load_state_dict(getattr(generator, generator.base_model_prefix).state_dict())
        return model.to(device=generator.device, dtype=generator.dtype)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> RecExplainerValueOutput | tuple:
        r"""
        Args: see [`RecExplainerModel.forward`]. Returns `values` of shape `(batch_size, sequence_length)`.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            use_cache=False,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        values = self.score(outputs.last_hidden_state).squeeze(-1)  # [B, S]
        output = RecExplainerValueOutput(values=values, hidden_states=outputs.hidden_states)
        return output if return_dict else output.to_tuple()


__all__ = [
    "RecExplainerPreTrainedModel",
    "RecExplainerModel",
    "RecExplainerForConditionalGeneration",
    "RecExplainerForValueModeling",
    "RecExplainerModelOutput",
    "RecExplainerOutput",
    "RecExplainerValueOutput",
]
