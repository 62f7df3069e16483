# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""The LSTM/GRU encoder-decoder of Sutskever et al. (2014), with the attention of Bahdanau et al. (2015) and
Luong et al. (2015), as a transformers model.

This file is copied next to saved weights for `trust_remote_code`: it imports only torch, transformers, the standard
library and the sibling configuration file, and does no I/O at import.

Shapes: B = batch, S = source length, T = target length, E = embedding_size, H = hidden_size (decoder),
K = encoder output size (encoder_hidden_size x directions), L = decoder_layers, V = target vocabulary.
"""

import contextvars
import json
import math
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache
from transformers.modeling_outputs import ModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput
from transformers.processing_utils import Unpack
from transformers.pytorch_utils import move_to_device
from transformers.utils import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    TransformersKwargs,
    can_return_tuple,
    logging,
)

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig, save_atomically

logger = logging.get_logger(__name__)

RNN_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU}
# Both classes of this file: a folder saved by either can be loaded by both Auto classes.
MODEL_AUTO_MAP = {
    "AutoModel": "modeling_seq2seq_lstm.Seq2SeqLSTMModel",
    "AutoModelForSeq2SeqLM": "modeling_seq2seq_lstm.Seq2SeqLSTMForConditionalGeneration",
}


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Teacher-forced decoder inputs: `[start, y_1, ..., y_{T-1}]`, with the loss's -100 replaced by padding."""
    decoder_input_ids = labels.new_full(labels.shape, pad_token_id)
    decoder_input_ids[:, 1:] = labels[:, :-1]
    decoder_input_ids[:, 0] = decoder_start_token_id
    return decoder_input_ids.masked_fill(decoder_input_ids == -100, pad_token_id)


def check_token_ids(input_ids: torch.Tensor, vocab_size: int, name: str):
    """
    An out-of-range id would index past the embedding (an opaque IndexError, or memory garbage on CUDA). Called once
    per call where a user passes ids, never per generated token; skipped under torch.compile/torch.export, which
    cannot trace a data-dependent branch.
    """
    if torch.compiler.is_compiling():
        return
    if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= vocab_size):
        raise ValueError(
            f"{name} holds token ids outside [0, {vocab_size}) (min {int(input_ids.min())}, max "
            f"{int(input_ids.max())}): the tokenizer does not match this model's vocabulary; use the tokenizer saved "
            f"with the model, or resize the model's embeddings to the tokenizer."
        )


def embed_inputs(embed_tokens: nn.Embedding, input_ids: torch.LongTensor | None,
                 inputs_embeds: torch.FloatTensor | None, names: tuple[str, str], hint: str = "",
                 check_ids: bool = True) -> torch.FloatTensor:
    """
    How the encoder and the decoder take their inputs: exactly one of token ids (B, T), embedded here with
    `embed_tokens`, or embeddings (B, T, E), used as they are. `names` are the two arguments as the caller of the
    model names them, for the errors; `check_ids` False skips `check_token_ids` for ids the model generated itself.
    """
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError(f"Pass exactly one of {names[0]} or {names[1]}{hint}.")
    if inputs_embeds is not None:
        return inputs_embeds
    if check_ids:
        check_token_ids(input_ids, embed_tokens.num_embeddings, names[0])
    return embed_tokens(input_ids)


def gather_steps(states: torch.Tensor, permutation: torch.LongTensor) -> torch.Tensor:
    """states (B, S, D), permutation (B, S) -> (B, S, D): step s of row b is states[b, permutation[b, s]]."""
    return states.gather(1, permutation.unsqueeze(-1).expand(-1, -1, states.shape[-1]))


@dataclass
class Seq2SeqLSTMEncoderOutput(ModelOutput):
    """
    Every tensor is batch-first, so `generate()` can repeat it for beams and returned sequences.

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(B, S, K)`): top-layer outputs in the original source
            order (also with `reverse_source`), zeros at padding.
        final_hidden (`torch.FloatTensor` of shape `(B, encoder_layers, K)`): each layer's final state, directions
            concatenated: the only thing the decoder sees of the source without attention.
        final_cell (`torch.FloatTensor` of shape `(B, encoder_layers, K)`, LSTM only): the final cell states.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): the embeddings and each layer's outputs, `(B, S, *)`.
    """

    last_hidden_state: torch.FloatTensor | None = None
    final_hidden: torch.FloatTensor | None = None
    final_cell: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


class Seq2SeqLSTMCache(Cache):
    """
    The decoder's recurrent state, returned as `past_key_values`. Unlike a Transformer's key/value cache it does
    not grow: generating a token costs the same at step 1 and step 500.

    Args:
        hidden (`torch.FloatTensor` of shape `(L, B, H)`): the decoder RNN's hidden states.
        cell (`torch.FloatTensor` of shape `(L, B, H)`, LSTM only): its cell states.
        attentional (`torch.FloatTensor` of shape `(B, H)`, input feeding only): the last attentional vector.
        attention_keys (`torch.FloatTensor` of shape `(B, S, *)`, additive attention only): the encoder outputs
            projected once per source, instead of once per generated token.
    """

    def __init__(self, hidden, cell=None, attentional=None, attention_keys=None):
        super().__init__(layers=[])
        self.hidden = hidden
        self.cell = cell
        self.attentional = attentional
        self.attention_keys = attention_keys
        self.seen_tokens = 0

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.seen_tokens

    @property
    def is_croppable(self) -> bool:
        # A recurrent state cannot be rolled back without per-step snapshots (see `_is_stateful` on the model).
        return False

    def _apply(self, on_layer_dim: Callable, on_batch_dim: Callable, include_keys: bool = True):
        """Applies a batch operation to every state; `hidden`/`cell` keep torch's RNN layout (batch on dim 1)."""
        self.hidden = on_layer_dim(self.hidden)
        if self.cell is not None:
            self.cell = on_layer_dim(self.cell)
        if self.attentional is not None:
            self.attentional = on_batch_dim(self.attentional)
        if self.attention_keys is not None and include_keys:
            self.attention_keys = on_batch_dim(self.attention_keys)

    def reorder_cache(self, beam_idx: torch.LongTensor):
        # Beam search only moves states between the beams of one source, whose keys are identical (generate() does
        # not reorder the encoder outputs either), so copying the (B, S, H) keys every step would change nothing.
        self._apply(lambda t: t.index_select(1, beam_idx.to(t.device)),
                    lambda t: t.index_select(0, beam_idx.to(t.device)), include_keys=False)

    def batch_select_indices(self, indices: torch.Tensor):
        self._apply(lambda t: t.index_select(1, indices.to(t.device)),
                    lambda t: t.index_select(0, indices.to(t.device)))

    def batch_repeat_interleave(self, repeats: int):
        self._apply(lambda t: t.repeat_interleave(repeats, dim=1), lambda t: t.repeat_interleave(repeats, dim=0))


class Seq2SeqLSTMDecoderOutput(NamedTuple):
    """
    What [`Seq2SeqLSTMDecoder`] returns, with the field names of the encoder's [`Seq2SeqLSTMEncoderOutput`] and of
    transformers' `BaseModelOutputWithPastAndCrossAttentions` (what Marian's decoder returns). Read by name, as a
    `ModelOutput` is.

    A `NamedTuple` rather than a `ModelOutput` because the decoder runs once per generated token: building a
    `ModelOutput` runs its `__post_init__` and a `dataclasses.fields()` lookup for every field it sets, Python work on
    every step, while a NamedTuple is one tuple. The encoder's output stays a `ModelOutput`, built once per source:
    `generate()` reads `encoder_outputs` by key to repeat it for beams. The model returns both in its own
    `Seq2SeqModelOutput`.

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(B, T, H)`): the decoder outputs (the attentional vectors
            with attention, the top layer's states without), before the output layer.
        past_key_values (`Seq2SeqLSTMCache`): the state after these T tokens: the one passed in, advanced in place.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): the embeddings and each layer's outputs, `(B, T, *)`.
        cross_attentions (`tuple(torch.FloatTensor)`, *optional*): one tensor of shape `(B, 1, T, S)`, the attention
            weights over the source (one head, the library's layout).
    """

    last_hidden_state: torch.FloatTensor
    past_key_values: Seq2SeqLSTMCache
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    cross_attentions: tuple[torch.FloatTensor] | None = None


class DotAttention(nn.Module):
    """Luong's "dot" score `q . k` (Luong et al., 2015, eq. 8; needs K == H)."""

    def project_keys(self, encoder_hidden_states):
        return encoder_hidden_states

    def score(self, query, keys):
        # query (B, T, H), keys (B, S, K=H) -> (B, T, S)
        return torch.bmm(query, keys.transpose(1, 2))


class GeneralAttention(DotAttention):
    """
    Luong's "general" score `q W k` (Luong et al., 2015, eq. 8), computed as `(q W) . k` so nothing per source needs
    caching.
    """

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.query_projection = nn.Linear(config.hidden_size, config.encoder_output_size, bias=False)

    def score(self, query, keys):
        return super().score(self.query_projection(query), keys)


class AdditiveAttention(nn.Module):
    """
    The additive score `v . tanh(W_q q + W_k k)`: Bahdanau et al. (2015)'s alignment model (their eq. 6, with the
    form of appendix A.1.2); Luong et al. (2015)'s "concat" score (their eq. 8) is the same function.
    """

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.key_projection = nn.Linear(config.encoder_output_size, config.hidden_size, bias=False)
        self.query_projection = nn.Linear(config.hidden_size, config.hidden_size, bias=True)
        self.energy = nn.Linear(config.hidden_size, 1, bias=False)

    def project_keys(self, encoder_hidden_states):
        # (B, S, K) -> (B, S, H): once per source
        return self.key_projection(encoder_hidden_states)

    def score(self, query, keys):
        # query (B, T, H), keys (B, S, H) -> energies (B, T, S, H) -> scores (B, T, S)
        energies = torch.tanh(self.query_projection(query).unsqueeze(2) + keys.unsqueeze(1))
        return self.energy(energies).squeeze(-1)


def attend(scorer, query, keys, encoder_hidden_states, encoder_attention_mask):
    """
    query (B, T, H), keys from `scorer.project_keys`, encoder_hidden_states (B, S, K), encoder_attention_mask (B, S)
    -> context (B, T, K), weights (B, T, S), with zero weight on source padding: the softmax over scores and the
    weighted sum of Bahdanau et al. (2015), eqs. 5-6, and Luong et al. (2015), eq. 7.
    """
    scores = scorer.score(query, keys)
    scores = scores.masked_fill(~encoder_attention_mask.bool().unsqueeze(1), torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    return torch.bmm(weights, encoder_hidden_states), weights


def build_attention(config: Seq2SeqLSTMConfig) -> nn.Module | None:
    if config.attention == "none":
        return None
    if config.attention == "luong_dot":
        return DotAttention()
    if config.attention == "luong_general":
        return GeneralAttention(config)
    return AdditiveAttention(config)


def stacked_rnn(config, input_size, hidden_size, layers, bidirectional=False) -> nn.ModuleList:
    """One single-layer RNN per layer, so every layer's outputs are available as hidden states."""
    rnn_class = RNN_CLASSES[config.cell_type]
    directions = 2 if bidirectional else 1
    return nn.ModuleList(
        rnn_class(input_size if i == 0 else hidden_size * directions, hidden_size, batch_first=True,
                  bidirectional=bidirectional)
        for i in range(layers)
    )


def rnn_cell_step(rnn: nn.LSTM | nn.GRU, inputs, hidden, cell=None):
    """
    One time step of a single-layer, one-direction `rnn` with its own weights: inputs (B, in), hidden and cell
    (B, H) -> new hidden and cell (cell None for a GRU). The same maths as `rnn` on a length-1 sequence, cheaper on
    CPU than a length-1 call of the fused module (forward and backward), and the step-by-step decoder and generation
    make one such call per token.
    """
    if not isinstance(rnn, nn.RNNBase):
        # An int8 layer of hf_seq2seq_lstm.quantize() (no float weights): it steps on its own prepacked weights.
        return rnn.cell_step(inputs, hidden, cell)
    if cell is None:
        return torch.gru_cell(inputs, hidden, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0), None
    return torch.lstm_cell(inputs, (hidden, cell), rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
                           rnn.bias_hh_l0)


class Seq2SeqLSTMEncoder(nn.Module):
    """
    Embedding, dropout and a stack of LSTM/GRU layers over packed sequences: the encoder of Sutskever et al. (2014),
    which can read each source backwards (`reverse_source`, their section 3.3) and, with `bidirectional_encoder`,
    both ways, the two directions concatenated (Bahdanau et al., 2015, section 3.2).
    """

    def __init__(self, config: Seq2SeqLSTMConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.config = config
        self.embed_tokens = embed_tokens
        self.dropout = nn.Dropout(config.dropout)
        self.layers = stacked_rnn(config, config.embedding_size, config.encoder_rnn_size, config.encoder_layers,
                                  config.bidirectional_encoder)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding):
        self.embed_tokens = value

    def reading_order(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """
        (B, S) mask -> (B, S) source positions in the order the RNN reads them: each sentence's tokens first
        (backwards with `reverse_source`), then its padding. Handles left and right padding alike.
        """
        positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).expand_as(attention_mask)
        token_rank = -positions if self.config.reverse_source else positions
        sort_key = torch.where(attention_mask.bool(), token_rank, positions + attention_mask.shape[1])
        return sort_key.argsort(dim=1, stable=True)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        output_hidden_states: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],  # generate() passes output_attentions: an RNN has no self-attention
    ) -> Seq2SeqLSTMEncoderOutput:
        r"""
        input_ids (`torch.LongTensor` of shape `(B, S)`):
            The source token ids, embedded here; pass these or `inputs_embeds`.
        attention_mask (`torch.Tensor` of shape `(B, S)`, *optional*):
            1 at tokens, 0 at padding, on either side; all ones by default.
        inputs_embeds (`torch.FloatTensor` of shape `(B, S, E)`):
            The source as embeddings, used as they are.
        """
        inputs_embeds = embed_inputs(self.embed_tokens, input_ids, inputs_embeds, ("input_ids", "inputs_embeds"),
                                     " to the encoder")
        batch_size, source_length, _ = inputs_embeds.shape
        if batch_size == 0:
            raise ValueError("The batch is empty: pass at least one source sequence.")
        if attention_mask is None:
            attention_mask = torch.ones(batch_size, source_length, dtype=torch.long, device=inputs_embeds.device)
        lengths = attention_mask.bool().sum(dim=1)
        if not torch.compiler.is_compiling() and (lengths == 0).any():
            empty = (lengths == 0).nonzero().flatten().tolist()
            raise ValueError(
                f"Source sequence(s) {empty} of the batch are all padding (attention_mask is all 0): an RNN has "
                f"nothing to read. Drop empty inputs before calling the model, or give them at least an EOS token."
            )

        order = self.reading_order(attention_mask)  # (B, S)
        original_positions = order.argsort(dim=1)  # (B, S): inverse permutation
        embeddings = self.dropout(inputs_embeds)
        sequence = pack_padded_sequence(
            gather_steps(embeddings, order), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        last_hidden_state, final_hidden, final_cell, layer_outputs = self._run_layers(
            sequence, source_length, original_positions, output_hidden_states
        )
        return Seq2SeqLSTMEncoderOutput(
            last_hidden_state=last_hidden_state,
            final_hidden=final_hidden,
            final_cell=final_cell,
            # hidden_states[0], the embedding output, is taken before dropout, as the decoder's is (see there)
            hidden_states=(inputs_embeds,) + layer_outputs if output_hidden_states else None,
        )

    def _run_layers(self, sequence: PackedSequence, source_length: int, original_positions: torch.LongTensor,
                    output_hidden_states: bool):
        """
        The RNN stack over the packed embeddings (in reading order) -> the top layer's outputs (B, S, K) in source
        order, each layer's final hidden and cell states (B, encoder_layers, K) (cell None for a GRU), and each
        layer's outputs (B, S, K), before the dropout the next layer applies to them (an empty tuple unless
        `output_hidden_states`).
        """
        final_hidden, final_cell, layer_outputs = [], [], ()
        for i, rnn in enumerate(self.layers):
            if i > 0:
                sequence = PackedSequence(self.dropout(sequence.data), sequence.batch_sizes,
                                          sequence.sorted_indices, sequence.unsorted_indices)
            sequence, state = rnn(sequence)
            hidden, cell = state if isinstance(state, tuple) else (state, None)
            # (directions, B, K/directions) -> (B, K): the directions concatenated
            final_hidden.append(torch.cat(list(hidden), dim=-1))
            if cell is not None:
                final_cell.append(torch.cat(list(cell), dim=-1))
            if output_hidden_states and i < len(self.layers) - 1:
                layer_outputs += (self._unpack(sequence, source_length, original_positions),)
        last_hidden_state = self._unpack(sequence, source_length, original_positions)
        if output_hidden_states:
            layer_outputs += (last_hidden_state,)
        final_cell = torch.stack(final_cell, dim=1) if final_cell else None
        return last_hidden_state, torch.stack(final_hidden, dim=1), final_cell, layer_outputs

    @staticmethod
    def _unpack(sequence, source_length, original_positions):
        """A packed batch in reading order -> (B, S, *) in source order, zeros at padding."""
        padded, _ = pad_packed_sequence(sequence, batch_first=True, total_length=source_length)
        return gather_steps(padded, original_positions)


class Seq2SeqLSTMBridge(nn.Module):
    """
    Maps the encoder's final states to the decoder's initial states. Same sizes: passed through unchanged (the
    original model); different sizes (e.g. concatenated directions vs. decoder size): a learned projection.
    With fewer or more decoder than encoder layers, every decoder layer starts from the top encoder layer.
    """

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.layerwise = config.encoder_layers == config.decoder_layers
        self.decoder_layers = config.decoder_layers
        needs_projection = config.encoder_output_size != config.hidden_size
        self.hidden_projection = nn.Linear(config.encoder_output_size, config.hidden_size) if needs_projection else None
        self.cell_projection = (
            nn.Linear(config.encoder_output_size, config.hidden_size)
            if needs_projection and config.cell_type == "lstm" else None
        )

    def _map(self, final_states, projection, activation):
        # (B, encoder_layers, K) -> (L, B, H), contiguous as torch's RNNs want it
        states = final_states if self.layerwise else final_states[:, -1:].expand(-1, self.decoder_layers, -1)
        if projection is not None:
            states = activation(projection(states))
        return states.transpose(0, 1).contiguous()

    def forward(self, encoder_outputs: Seq2SeqLSTMEncoderOutput):
        hidden = self._map(encoder_outputs.final_hidden, self.hidden_projection, torch.tanh)
        cell = None
        if encoder_outputs.final_cell is not None:
            # A cell state is unbounded, so it gets no squashing non-linearity.
            cell = self._map(encoder_outputs.final_cell, self.cell_projection, lambda x: x)
        return hidden, cell


class Seq2SeqLSTMDecoder(nn.Module):
    """
    Embedding, a stack of LSTM/GRU layers and, optionally, attention over the encoder outputs.

    Without attention the output at step t is the top hidden state h_t (Sutskever et al., 2014). With Luong
    attention (Luong et al., 2015, section 3.1), the context c_t is computed from h_t and the output is the
    attentional vector tanh(W_c [c_t; h_t]) (their eq. 5); input feeding (their section 3.3) appends the previous
    one to the next input. With Bahdanau attention (Bahdanau et al., 2015, section 3.1) the context is computed from
    h_{t-1} and fed into the RNN with the embedding, and the output is tanh(W_c [c_t; h_t]) as well (Luong's eq. 5,
    in place of Bahdanau's maxout output layer).
    """

    def __init__(self, config: Seq2SeqLSTMConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.config = config
        self.embed_tokens = embed_tokens
        self.dropout = nn.Dropout(config.dropout)
        self.attention = build_attention(config)
        self.context_before_rnn = config.attention == "bahdanau"
        input_size = config.embedding_size
        if config.input_feeding:
            input_size += config.hidden_size
        if self.context_before_rnn:
            input_size += config.encoder_output_size
        self.layers = stacked_rnn(config, input_size, config.hidden_size, config.decoder_layers)
        self.combine = (
            nn.Linear(config.encoder_output_size + config.hidden_size, config.hidden_size, bias=False)
            if self.attention is not None else None
        )

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding):
        self.embed_tokens = value

    def initial_state(self, hidden, cell, encoder_hidden_states) -> Seq2SeqLSTMCache:
        batch_size = hidden.shape[1]
        attentional = hidden.new_zeros(batch_size, self.config.hidden_size) if self.config.input_feeding else None
        keys = (self.attention.project_keys(encoder_hidden_states) if isinstance(self.attention, AdditiveAttention)
                else None)
        return Seq2SeqLSTMCache(hidden, cell, attentional, keys)

    def can_run_fused(self) -> bool:
        """Without recurrence through the attention, the whole target goes through each RNN layer in one call."""
        return not self.config.input_feeding and not self.context_before_rnn

    def _run_layers(self, inputs, hidden, cell, layer_outputs):
        """inputs (B, T, in) from state (L, B, H) -> top outputs (B, T, H) and the new state."""
        new_hidden, new_cell = [], []
        for i, rnn in enumerate(self.layers):
            if i > 0:
                inputs = self.dropout(inputs)
            if inputs.shape[1] == 1:
                h, c = rnn_cell_step(rnn, inputs.squeeze(1), hidden[i], cell[i] if cell is not None else None)
                inputs, h, c = h.unsqueeze(1), h.unsqueeze(0), c.unsqueeze(0) if c is not None else None
            else:
                state = (hidden[i : i + 1], cell[i : i + 1]) if cell is not None else hidden[i : i + 1]
                inputs, state = rnn(inputs, state)
                h, c = state if isinstance(state, tuple) else (state, None)
            new_hidden.append(h)
            new_cell.append(c)
            if layer_outputs is not None:
                layer_outputs[i].append(inputs)
        return inputs, torch.cat(new_hidden), torch.cat(new_cell) if cell is not None else None

    def _attentional(self, query, context):
        # (B, T, H), (B, T, K) -> (B, T, H)
        return torch.tanh(self.combine(torch.cat([context, query], dim=-1)))

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        *,
        past_key_values: Seq2SeqLSTMCache,
        encoder_hidden_states: torch.FloatTensor,
        encoder_attention_mask: torch.Tensor,
        inputs_embeds: torch.FloatTensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        feedback: Callable[[int, torch.Tensor], torch.LongTensor] | None = None,
    ) -> Seq2SeqLSTMDecoderOutput:
        r"""
        Runs the decoder over T target tokens from `past_key_values`, which it advances in place.

        input_ids (`torch.LongTensor` of shape `(B, T)`):
            The target token ids, embedded here; pass these or `inputs_embeds`. They are checked against the
            vocabulary on a fresh state only: later steps of `generate()` feed the model's own.
        past_key_values (`Seq2SeqLSTMCache`):
            The state to start from: `initial_state(...)` for a new target.
        encoder_hidden_states (`torch.FloatTensor` of shape `(B, S, K)`):
            The encoder outputs, read by the attention.
        encoder_attention_mask (`torch.Tensor` of shape `(B, S)`):
            1 at source tokens, 0 at padding.
        inputs_embeds (`torch.FloatTensor` of shape `(B, T, E)`):
            The target as embeddings, used as they are.
        feedback (`Callable[[int, Tensor], LongTensor]`, *optional*):
            Scheduled sampling: given step t and the output at t (B, 1, H), returns the token ids (B,) to feed at
            step t + 1 in place of `input_ids[:, t + 1]`; it forces the step-by-step loop.
        """
        state = past_key_values
        inputs_embeds = embed_inputs(self.embed_tokens, input_ids, inputs_embeds,
                                     ("decoder_input_ids", "decoder_inputs_embeds"), " (or labels)",
                                     check_ids=state.seen_tokens == 0)
        # hidden_states[0], the embedding output, is taken before dropout, as the encoder's: then it is exactly the
        # embedding of the ids (or the inputs_embeds passed), in training as in evaluation, and each later entry is
        # likewise a layer's output before the dropout the next layer applies to it.
        embeddings = inputs_embeds
        inputs_embeds = self.dropout(inputs_embeds)
        num_layers = len(self.layers)
        layer_outputs = [[] for _ in range(num_layers)] if output_hidden_states else None
        if feedback is None and self.can_run_fused():
            top, state.hidden, state.cell = self._run_layers(inputs_embeds, state.hidden, state.cell, layer_outputs)
            weights = None
            outputs = top
            if self.attention is not None:
                context, weights = attend(self.attention, top, state.attention_keys if state.attention_keys is not None
                                          else encoder_hidden_states, encoder_hidden_states, encoder_attention_mask)
                outputs = self._attentional(top, context)
        else:
            outputs, weights = self._step_by_step(
                inputs_embeds, state, encoder_hidden_states, encoder_attention_mask, layer_outputs, feedback
            )
        state.seen_tokens += inputs_embeds.shape[1]
        hidden_states = None
        if output_hidden_states:
            hidden_states = (embeddings,) + tuple(torch.cat(per_step, dim=1) for per_step in layer_outputs)
        cross_attentions = (weights.unsqueeze(1),) if output_attentions and weights is not None else None
        return Seq2SeqLSTMDecoderOutput(outputs, state, hidden_states, cross_attentions)

    # Dynamo skips this frame but compiles the frames it calls: under `torch.compile(model)` (Trainer's
    # --torch_compile) the loop runs in Python and each `_step` is one compiled graph, reused at every step and for
    # every target length, where tracing the loop would unroll it into one graph per length.
    @torch.compiler.disable(recursive=False)
    def _step_by_step(self, inputs_embeds, state, encoder_hidden_states, encoder_attention_mask, layer_outputs,
                      feedback):
        keys = state.attention_keys if state.attention_keys is not None else encoder_hidden_states
        outputs, all_weights = [], []
        # unbind, not a slice per step: the backward of T slices would zero-fill a (B, T, E) gradient T times
        step_embeds = inputs_embeds.unbind(1)  # T x (B, E)
        next_input = step_embeds[0].unsqueeze(1)
        for t in range(inputs_embeds.shape[1]):
            output, weights, state.hidden, state.cell = self._step(
                next_input, state.hidden, state.cell, state.attentional, keys, encoder_hidden_states,
                encoder_attention_mask, layer_outputs,
            )
            if weights is not None:
                all_weights.append(weights)
            if self.config.input_feeding:
                state.attentional = output.squeeze(1)
            outputs.append(output)
            if t + 1 < inputs_embeds.shape[1]:
                next_input = (
                    step_embeds[t + 1].unsqueeze(1) if feedback is None
                    else self.dropout(self.embed_tokens(feedback(t, output))).unsqueeze(1)
                )
        return torch.cat(outputs, dim=1), (torch.cat(all_weights, dim=1) if all_weights else None)

    def _step(self, step_embeds, hidden, cell, attentional, keys, encoder_hidden_states, encoder_attention_mask,
              layer_outputs):
        """
        One decoder step: embeddings (B, 1, E), state (L, B, H) and the previous attentional vector (B, H) or None
        -> output (B, 1, H), attention weights (B, 1, S) or None, new hidden and cell (L, B, H).
        """
        step_inputs = [step_embeds]  # each (B, 1, *)
        if self.context_before_rnn:
            # Bahdanau: the query is the previous top-layer state
            context, weights = attend(self.attention, hidden[-1].unsqueeze(1), keys, encoder_hidden_states,
                                      encoder_attention_mask)
            step_inputs.append(context)
        if self.config.input_feeding:
            # Luong et al. (2015), input feeding: the previous attentional vector joins the next input
            step_inputs.append(attentional.unsqueeze(1))
        top, hidden, cell = self._run_layers(torch.cat(step_inputs, dim=-1), hidden, cell, layer_outputs)
        if self.attention is None:
            return top, None, hidden, cell
        if not self.context_before_rnn:
            context, weights = attend(self.attention, top, keys, encoder_hidden_states, encoder_attention_mask)
        return self._attentional(top, context), weights, hidden, cell


class LogitsCrossEntropy(torch.autograd.Function):
    """
    Mean token cross-entropy of logits (N, V) against labels (N,) (-100 = ignored), with label smoothing: the same
    value and gradient as `nn.functional.cross_entropy(logits, labels, ignore_index=-100, label_smoothing=...)`.

    Why not that call: it materialises log-probabilities (N, V) in the forward and, in the backward, a zero-filled
    (N, V) buffer plus the log-softmax gradient: memory passes over (N, V) that are a sizeable part of a CPU training
    step with a large vocabulary. Here the forward keeps only the log-sum-exp (N,) and the backward writes the
    gradient `softmax - smoothed one-hot` once, into a single new (N, V) tensor.
    """

    @staticmethod
    def forward(ctx, logits, labels, label_smoothing: float):
        ctx.logits_dtype = logits.dtype
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        valid = labels != -100
        targets = labels.clamp(min=0).unsqueeze(1)  # (N, 1)
        log_normaliser = torch.logsumexp(logits, dim=-1)  # (N,)
        token_loss = (1.0 - label_smoothing) * (log_normaliser - logits.gather(1, targets).squeeze(1))
        if label_smoothing > 0:
            token_loss = token_loss + label_smoothing * (log_normaliser - logits.mean(dim=-1))
        count = valid.sum()
        ctx.save_for_backward(logits, log_normaliser, targets, valid, count)
        ctx.label_smoothing = label_smoothing
        return token_loss.masked_fill(~valid, 0.0).sum() / count

    @staticmethod
    def backward(ctx, grad_loss):
        logits, log_normaliser, targets, valid, count = ctx.saved_tensors
        smoothing = ctx.label_smoothing
        grad = (logits - log_normaliser.unsqueeze(1)).exp_()  # softmax (N, V)
        grad.scatter_add_(1, targets, grad.new_full(targets.shape, smoothing - 1.0))
        if smoothing > 0:
            grad.sub_(smoothing / logits.shape[1])
        grad.mul_((valid * grad_loss / count).unsqueeze(1).to(grad.dtype))
        return grad.to(ctx.logits_dtype), None, None


# Safetensors' names (the `dtype` of a tensor in a file's header) of the floating-point dtypes weights can have.
SAFETENSORS_FLOAT_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
# Set by `from_pretrained` for the load it runs: whether the caller passed `dtype=`, in which case weights stored in
# another floating-point type are converted on purpose, rather than because config.json does not describe the file.
_DTYPE_REQUESTED = contextvars.ContextVar("seq2seq_lstm_dtype_requested", default=False)


def _listed(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def safetensors_header_dtypes(path: str) -> dict[str, str]:
    """
    Tensor name -> dtype ("F32", "I32", ...) as the header of a safetensors file declares it. Read with the standard
    library (the format: an 8-byte little-endian header length, then a JSON header), as remote code may not import
    safetensors. Empty when the header is unreadable: loading then fails with safetensors' own error.
    """
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > os.fstat(handle.fileno()).st_size:
                return {}
            header = json.loads(handle.read(length))
        return {name: entry["dtype"] for name, entry in header.items() if name != "__metadata__"}
    except (OSError, ValueError, struct.error, AttributeError, KeyError, TypeError):
        return {}


def shards_outside_folder(folder: str | None, names: list[str]) -> list[str]:
    """
    The weight files named by a `model.safetensors.index.json` that do not lie in the model's folder: absolute paths
    and names with `..` always (transformers joins the names to the folder as they are, so an index could make
    `from_pretrained` read a file anywhere), and, for a local `folder`, names that a symlink resolves outside it. A
    folder of the Hub cache (`<repo>/snapshots/<revision>/`) may link into its repository's `blobs/`, as the cache
    does. `folder` None means a Hub repo id, whose names are checked as names only.
    """
    outside = [name for name in names if os.path.isabs(name) or ".." in re.split(r"[\\/]", name)]
    if folder is not None:
        root = os.path.realpath(folder)
        roots = [root]
        if os.path.basename(os.path.dirname(root)) == "snapshots":
            roots.append(os.path.join(os.path.dirname(os.path.dirname(root)), "blobs"))
        for name in names:
            resolved = os.path.realpath(os.path.join(root, name))
            if name not in outside and not any(os.path.commonpath([resolved, allowed]) == allowed for allowed in roots):
                outside.append(name)
    return outside


def _check_stored_dtypes(model: nn.Module, checkpoint_files: list[str], name: str):
    """
    Refuses weights whose header declares another dtype than the model's, which transformers would cast silently:
    integer or boolean data always (its bits read as numbers are garbage), another floating-point type unless
    `from_pretrained(dtype=...)` asked for the conversion.
    """
    expected = {key: SAFETENSORS_FLOAT_DTYPES.get(tensor.dtype) for key, tensor in model.state_dict().items()}
    convert = _DTYPE_REQUESTED.get()
    wrong, corrupted = [], False
    for path in checkpoint_files:
        for key, stored in safetensors_header_dtypes(path).items():
            wanted = expected.get(key)
            floating = stored in SAFETENSORS_FLOAT_DTYPES.values()
            if wanted is None or stored == wanted or (floating and convert):
                continue
            wrong.append(f"{key} {stored} in {os.path.basename(path)} vs {wanted}")
            corrupted = corrupted or not floating
    if wrong:
        hint = (
            "integer or boolean data in floating-point weights means a corrupted or edited safetensors header; "
            "re-save or re-download the model" if corrupted else
            "config.json's dtype does not describe the file; pass dtype= to from_pretrained to convert the weights, "
            "or fix dtype in config.json"
        )
        raise ValueError(f"{len(wrong)} weight tensor(s) of {name} are stored as another dtype than the model's "
                         f"({_listed(wrong, 3)}): {hint}.")


def _check_finite(model: nn.Module, loading_info, name: str):
    """Refuses loaded weights holding NaN or infinity (weights the files lack are initialized later, so skipped)."""
    not_loaded = loading_info.missing_and_mismatched()
    broken = [
        key for key, tensor in [*model.named_parameters(), *model.named_buffers()]
        if key not in not_loaded and tensor.is_floating_point() and tensor.device.type != "meta"
        and not torch.isfinite(tensor).all()
    ]
    if broken:
        raise ValueError(
            f"{len(broken)} weight tensor(s) of {name} hold NaN or infinite values ({_listed(broken)}): the file is "
            f"corrupted or was saved from a diverged run; use an earlier checkpoint, or re-save or re-download the "
            f"model."
        )


def _remove_superseded_weights(folder: str, written: list[str], variant: str | None):
    """
    After a save into `folder` that wrote `written`, removes the weight files of an earlier save that it replaces
    but that have other names: `model.safetensors` after a sharded save, the index and shards after an unsharded
    one, shards of another count. (transformers removes them before writing; here the new files come first.)
    """

    def with_variant(file_name):  # as transformers names variants: model.safetensors -> model.fp16.safetensors
        stem, extension = file_name.rsplit(".", 1)
        return f"{stem}.{variant}.{extension}" if variant else file_name

    single, index = with_variant(SAFE_WEIGHTS_NAME), with_variant(SAFE_WEIGHTS_INDEX_NAME)
    if single not in written and index not in written:
        return  # an adapter (PEFT) save writes no model weights: the folder's stay
    shard = re.compile(re.escape(single.removesuffix(".safetensors")) + r"-\d{5}-of-\d{5}\.safetensors")
    for file_name in os.listdir(folder):
        if file_name not in written and (file_name in (single, index) or shard.fullmatch(file_name)):
            os.remove(os.path.join(folder, file_name))


class Seq2SeqLSTMPreTrainedModel(PreTrainedModel):
    config_class = Seq2SeqLSTMConfig
    config: Seq2SeqLSTMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _no_split_modules = ["Seq2SeqLSTMEncoder", "Seq2SeqLSTMDecoder"]
    # The recurrent state cannot be rolled back, so assisted and prompt-lookup decoding are refused by generate().
    _is_stateful = True
    # The loss is a mean over the batch's target tokens, as in the classic toolkits.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        bound = self.config.init_range
        if isinstance(module, nn.Linear):
            init.uniform_(module.weight, -bound, bound)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.uniform_(module.weight, -bound, bound)
            if module.padding_idx is not None:
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            # torch's own RNN init (uniform in +-1/sqrt(H)), which the RNN literature tunes for; plus an LSTM
            # forget-gate bias of 1 (Jozefowicz et al., 2015) so gradients flow through long sources early on.
            bound = 1.0 / math.sqrt(module.hidden_size)
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    init.uniform_(param, -bound, bound)
                elif isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                    bias = torch.zeros_like(param)
                    bias[module.hidden_size : 2 * module.hidden_size] = 1.0
                    init.copy_(param, bias)
                else:
                    init.zeros_(param)

    def _declare_tied_weights(self, prefix: str, with_lm_head: bool):
        """
        Sets `_tied_weights_keys` ({target: source}) per instance: what is tied depends on two config flags
        (`share_embeddings`, `tie_word_embeddings`), not on the class.
        """
        tied = {}
        decoder_embedding = f"{prefix}decoder.embed_tokens.weight"
        if self.config.share_embeddings:
            tied[decoder_embedding] = f"{prefix}encoder.embed_tokens.weight"
        if self.config.tie_word_embeddings and with_lm_head:
            tied["lm_head.weight"] = tied.get(decoder_embedding, decoder_embedding)
        self._tied_weights_keys = tied

    def get_expanded_tied_weights_keys(self, all_submodels: bool = False) -> dict:
        # The base class ties nothing unless `tie_word_embeddings`; shared embeddings are tied without it.
        return dict(self._tied_weights_keys or {})

    def save_pretrained(self, save_directory, **kwargs):
        r"""
        [`~PreTrainedModel.save_pretrained`], atomic per file (see `save_atomically`): saving over an existing model,
        a kill or a full disk at any moment leaves every file whole, old or new, and an error while the weights are
        written leaves the old model as it was. Weight files of the earlier save that the new ones supersede
        (`model.safetensors` after a sharded save, the index and shards after an unsharded one) are removed once
        the new ones are in place. Distributed checkpoints, and ranks that write nothing, are transformers' own.
        """
        # transformers writes only the saved class's own auto class into `auto_map`; list both model classes of this
        # file (copied next to the weights with the configuration and pipeline files) so that AutoModel and
        # AutoModelForSeq2SeqLM both load the folder with trust_remote_code=True.
        if self._auto_class is not None:
            self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), **MODEL_AUTO_MAP}
        if (os.path.isfile(save_directory) or kwargs.get("distributed_checkpoint")
                or not self.should_save_on_this_rank(kwargs.get("is_main_process", True))):
            # transformers refuses a file; every rank writes its part of a distributed checkpoint; a rank that writes
            # nothing only joins the gathers of the weights.
            return super().save_pretrained(save_directory, **kwargs)
        _, written = save_atomically(super().save_pretrained, save_directory, **kwargs)
        _remove_superseded_weights(os.fspath(save_directory), written, kwargs.get("variant"))

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        r"""
        [`~PreTrainedModel.from_pretrained`], refusing with a one-line `ValueError`, naming the tensors or files,
        weights that would load as garbage or from elsewhere:

        - tensors stored as another dtype than the model's: integer or boolean data always, another floating-point
          type unless `dtype=` asks for the conversion (transformers casts both silently);
        - tensors holding NaN or infinite values;
        - shards named by `model.safetensors.index.json` outside the folder (absolute, `..`, or a symlink out).

        Weights of other shapes than config.json implies are refused by transformers itself (a `RuntimeError` after
        its load report) unless `ignore_mismatched_sizes=True`; missing weights stay a warning, as loading a base
        model into the generation model (a new `lm_head`) is a supported use.
        """
        requested = kwargs.get("dtype", kwargs.get("torch_dtype"))
        token = _DTYPE_REQUESTED.set(requested is not None and requested != "auto")
        try:
            return super().from_pretrained(*args, **kwargs)
        finally:
            _DTYPE_REQUESTED.reset(token)

    @staticmethod
    def _load_pretrained_model(model, state_dict, checkpoint_files, load_config, *args, **kwargs):
        # transformers' step between building the empty model and initializing what the files lack: the files are
        # checked before their weights are read, the loaded weights right after.
        name = load_config.pretrained_model_name_or_path
        if load_config.sharded_metadata is not None:
            local = name is not None and os.path.isdir(name)
            subfolder = (load_config.download_kwargs or {}).get("subfolder") or ""
            folder = os.path.join(name, subfolder) if local else None
            outside = shards_outside_folder(folder, sorted(set(load_config.sharded_metadata["weight_map"].values())))
            if outside:
                raise ValueError(
                    f"The model.safetensors.index.json of {name} names weight files outside its folder "
                    f"({_listed(outside)}): a model's shards must lie in its folder; re-save or re-download the model."
                )
        if checkpoint_files and load_config.hf_quantizer is None:  # quantized weights are stored as integers
            _check_stored_dtypes(model, checkpoint_files, name)
        loading_info, disk_offload_index = PreTrainedModel._load_pretrained_model(
            model, state_dict, checkpoint_files, load_config, *args, **kwargs
        )
        _check_finite(model, loading_info, name)
        return loading_info, disk_offload_index

    def resize_token_embeddings(self, *args, **kwargs) -> nn.Embedding:
        """
        [`~PreTrainedModel.resize_token_embeddings`]. A new size clears `config.source_vocab_fingerprint`, which
        described the old vocabulary; set it anew with `tokenizer_fingerprints(tokenizer)` (configuration file) to
        keep the tokenizer check.
        """
        size = self.get_input_embeddings().num_embeddings
        embeddings = super().resize_token_embeddings(*args, **kwargs)
        if embeddings.num_embeddings != size:
            self.config.source_vocab_fingerprint = None
        return embeddings

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        # generate() must not pre-allocate a key/value cache: the first forward returns a Seq2SeqLSTMCache.
        return False


class Seq2SeqLSTMModel(Seq2SeqLSTMPreTrainedModel):
    """The encoder, the bridge and the decoder; returns the decoder outputs before the vocabulary projection."""

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__(config)
        encoder_embedding = nn.Embedding(config.vocab_size, config.embedding_size, config.pad_token_id)
        decoder_embedding = (
            encoder_embedding if config.share_embeddings
            else nn.Embedding(config.target_vocab_size, config.embedding_size, config.pad_token_id)
        )
        self.encoder = Seq2SeqLSTMEncoder(config, encoder_embedding)
        self.bridge = Seq2SeqLSTMBridge(config)
        self.decoder = Seq2SeqLSTMDecoder(config, decoder_embedding)
        self._declare_tied_weights(prefix="", with_lm_head=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.encoder.embed_tokens

    def set_input_embeddings(self, value):
        self.encoder.embed_tokens = value
        if self.config.share_embeddings:
            self.decoder.embed_tokens = value

    def get_decoder_input_embeddings(self):
        """The target embedding (the source's when `share_embeddings`)."""
        return self.decoder.embed_tokens

    def set_decoder_input_embeddings(self, value):
        if self.config.share_embeddings:
            raise ValueError(
                "share_embeddings=True: the decoder uses the encoder's embedding; set it with set_input_embeddings."
            )
        self.decoder.embed_tokens = value

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: Seq2SeqLSTMEncoderOutput | tuple | None = None,
        past_key_values: Seq2SeqLSTMCache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        decoder_inputs_embeds: torch.FloatTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        decoder_feedback: Callable[[int, torch.Tensor], torch.LongTensor] | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> Seq2SeqModelOutput:
        r"""
        decoder_attention_mask (`torch.Tensor` of shape `(B, T)`, *optional*):
            Accepted for compatibility and unused: the decoder is causal, so right padding of the target cannot
            change the outputs at real positions, and the loss ignores padded labels (-100).
        past_key_values (`Seq2SeqLSTMCache`, *optional*):
            The decoder state after the tokens already decoded; `decoder_input_ids` then holds only new tokens.
        decoder_feedback (`Callable[[int, Tensor], LongTensor]`, *optional*):
            Scheduled sampling: given step t and the decoder output at t (B, 1, H), returns the token ids (B,) to
            feed at step t + 1 instead of `decoder_input_ids[:, t + 1]`.
        """
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        use_cache = use_cache if use_cache is not None else self.config.use_cache

        if encoder_outputs is None:
            encoder_outputs = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                output_hidden_states=output_hidden_states, return_dict=True,
            )
        elif not isinstance(encoder_outputs, Seq2SeqLSTMEncoderOutput):
            encoder_outputs = Seq2SeqLSTMEncoderOutput(*encoder_outputs)
        encoder_hidden_states = encoder_outputs.last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(encoder_hidden_states.shape[:2], dtype=torch.long,
                                        device=encoder_hidden_states.device)
        past_key_values = self._decoder_state(past_key_values, encoder_outputs)
        decoder_outputs = self.decoder(
            decoder_input_ids, inputs_embeds=decoder_inputs_embeds, past_key_values=past_key_values,
            encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=attention_mask,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, feedback=decoder_feedback,
        )
        return Seq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            past_key_values=decoder_outputs.past_key_values if use_cache else None,
            decoder_hidden_states=decoder_outputs.hidden_states,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_hidden_states,
            encoder_hidden_states=encoder_outputs.hidden_states,
        )

    def _decoder_state(self, past_key_values: Seq2SeqLSTMCache | None, encoder_outputs: Seq2SeqLSTMEncoderOutput):
        """The state to decode from: the cache passed in, or, without one, the bridged final encoder states."""
        if past_key_values is None:
            return self.decoder.initial_state(*self.bridge(encoder_outputs), encoder_outputs.last_hidden_state)
        if not isinstance(past_key_values, Seq2SeqLSTMCache):
            raise TypeError(
                f"past_key_values must be the Seq2SeqLSTMCache this model returned, not "
                f"{type(past_key_values).__name__}: an RNN decoder keeps a fixed-size state rather than keys and "
                f"values."
            )
        return past_key_values


def _lean_beam_search_applies(model, logits_processor, stopping_criteria, generation_config, synced_gpus,
                              model_kwargs) -> bool:
    """Whether `lean_beam_search` reproduces transformers' `_beam_search` for these prepared inputs."""
    from transformers.generation.logits_process import MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor
    from transformers.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria

    config = generation_config
    if (config.num_beams <= 1 or config.do_sample or config.return_dict_in_generate or config.output_scores
            or config.output_logits or config.output_attentions or config.output_hidden_states or config.low_memory
            or getattr(config, "prefill_chunk_size", None) is not None or synced_gpus):
        return False
    if not model_kwargs.get("use_cache") or model_kwargs.get("past_key_values") is not None:
        return False
    # The eos bans of min_length / min_new_tokens are the only processors cheap on raw logits; others fall back.
    if any(type(p) not in (MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor) for p in logits_processor):
        return False
    if any(type(c) not in (MaxLengthCriteria, EosTokenCriteria) for c in stopping_criteria):
        return False
    max_lengths = [c.max_length for c in stopping_criteria if type(c) is MaxLengthCriteria]
    if not max_lengths or min(max_lengths) > config.max_length:
        return False
    n_eos = config._eos_token_tensor.shape[0] if config._eos_token_tensor is not None else 0
    return model.get_output_embeddings().out_features >= max(2, 1 + n_eos) * config.num_beams


class _LeanBeams:
    """
    The beams of `_lean_beam_search` (and of the ONNX runtime's beam search, `onnx_export.OnnxSeq2SeqLSTM`) for B
    batch items of K beams, with M candidate continuations per item and step (M = (1 + number of eos tokens, at
    least 2) x K, transformers' candidate count). It keeps what transformers' `_beam_search` keeps, except the
    sequences: the running beams' scores (B, K); the K best finished hypotheses of each item, each as its score, its
    last step, the running beam it extends and its last token (B, K); and, per step, the running beams' last tokens
    and parents (B, K), through which `sequences` traces the hypotheses back.
    """

    def __init__(self, batch_size: int, num_beams: int, prompt_len: int, device, *, max_length: int,
                 length_penalty: float, early_stopping: bool | str, num_return_sequences: int, pad_token_id,
                 eos_token_ids: torch.Tensor | None, stop_length: int, stop_ids: torch.Tensor | None,
                 eos_bans: list[tuple[int, torch.Tensor]] | tuple = ()):
        """
        `max_length`, `length_penalty`, `early_stopping` and `num_return_sequences` as in a generation config;
        `eos_token_ids` (n,) set the candidate count and, with `pad_token_id`, the fill of unused positions; a
        continuation ends a hypothesis at `stop_length` or on one of `stop_ids`; `eos_bans` lists (length from which
        the ban is lifted, banned ids (n,)) pairs.
        """
        self.batch_size, self.prompt_len, self.device = batch_size, prompt_len, device
        self.num_beams, self.max_length, self.num_return = num_beams, max_length, num_return_sequences
        self.length_penalty, self.early_stopping = length_penalty, early_stopping
        # transformers' expression
        self.fill = int(pad_token_id or eos_token_ids[0] if eos_token_ids is not None else -1)
        n_eos = eos_token_ids.shape[0] if eos_token_ids is not None else 0
        cands = self.cands = max(2, 1 + n_eos) * num_beams
        self.top_num_beam_mask = torch.arange(cands, device=device) < num_beams
        self.stop_length, self.stop_ids, self.eos_bans = stop_length, stop_ids, eos_bans
        self.running_scores = torch.zeros((batch_size, num_beams), dtype=torch.float, device=device)
        self.running_scores[:, 1:] = -1e9
        self.beam_scores = torch.full((batch_size, num_beams), fill_value=-1e9, dtype=torch.float, device=device)
        self.is_sent_finished = torch.zeros((batch_size, num_beams), dtype=torch.bool, device=device)
        self.heuristic_unsatisfied = torch.ones((batch_size, 1), dtype=torch.bool, device=device)
        # A kept hypothesis is its last step (-1: none, the prompt and fill), the running beam it extends and its token.
        self.kept_step = torch.full((batch_size, num_beams), -1, dtype=torch.long, device=device)
        self.kept_parent = torch.zeros((batch_size, num_beams), dtype=torch.long, device=device)
        self.kept_token = torch.full((batch_size, num_beams), self.fill, dtype=torch.long, device=device)
        self.token_history, self.parent_history = [], []  # per step, the running beams' (B, K) tokens and parents
        self.batch_offset = torch.arange(batch_size, device=device).view(-1, 1) * num_beams
        self.no_hits = torch.zeros((batch_size, cands), dtype=torch.bool, device=device)

    @classmethod
    def for_generate(cls, config, logits_processor, stopping_criteria, batch_size: int, prompt_len: int, device):
        """The beams of generate()'s prepared generation config, logits processors and stopping criteria."""
        from transformers.generation.logits_process import MinLengthLogitsProcessor
        from transformers.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria

        stop_ids = [torch.as_tensor(c.eos_token_id).view(-1) for c in stopping_criteria if type(c) is EosTokenCriteria]
        eos_bans = [
            (p.min_length if type(p) is MinLengthLogitsProcessor else p.prompt_length_to_skip + p.min_new_tokens,
             torch.as_tensor(p.eos_token_id).view(-1).to(device))
            for p in logits_processor
        ]
        return cls(batch_size, config.num_beams, prompt_len, device, max_length=config.max_length,
                   length_penalty=config.length_penalty, early_stopping=config.early_stopping,
                   num_return_sequences=config.num_return_sequences, pad_token_id=config._pad_token_tensor,
                   eos_token_ids=config._eos_token_tensor,
                   stop_length=min(c.max_length for c in stopping_criteria if type(c) is MaxLengthCriteria),
                   stop_ids=torch.cat(stop_ids).to(device) if stop_ids else None, eos_bans=eos_bans)

    def candidates(self, logits: torch.Tensor, cur_len: int, normalized: bool = False):
        """
        The running beams' float32 logits (B x K, V), or log-probabilities if `normalized`, -> each batch item's top
        M continuations, as transformers ranks them: scores (B, M), source beams (B, M), tokens (B, M) and whether
        each ends its hypothesis (B, M).
        """
        cands, batch_size = self.cands, self.batch_size
        # transformers normalizes before its processors: the banned eos still count in the normalizer
        normalizer = 0.0 if normalized else torch.logsumexp(logits, dim=-1, keepdim=True)
        banned = [ids for until, ids in self.eos_bans if cur_len < until]
        if banned:
            logits.index_fill_(-1, torch.cat(banned), -math.inf)  # the model's own output, not read again
        # each beam's top M (all of V if fewer) holds its share of the batch item's top M
        per_beam = min(cands, logits.shape[-1])
        values, tokens = logits.topk(per_beam, dim=-1)  # (B*K, M)
        scores = ((values - normalizer) + self.running_scores.view(-1, 1)).view(batch_size, self.num_beams * per_beam)
        topk_scores, flat = scores.topk(cands, dim=-1)  # (B, M): transformers' top M over all K x V continuations
        source = flat // per_beam
        topk_tokens = tokens.view(batch_size, -1).gather(1, flat)
        if cur_len + 1 >= self.stop_length:
            hits = ~self.no_hits
        else:
            hits = torch.isin(topk_tokens, self.stop_ids) if self.stop_ids is not None else self.no_hits
        return topk_scores, source, topk_tokens, hits

    def continue_best(self, topk_scores, source, topk_tokens, hits):
        """
        The best K unfinished continuations go on (transformers' `_get_running_beams_for_next_iteration`): records
        them and returns their parents (B, K) and tokens (B, K).
        """
        running_candidates = topk_scores + hits.to(torch.float32) * -1.0e9
        keep = torch.topk(running_candidates, k=self.num_beams)[1]
        self.running_scores = running_candidates.gather(1, keep)
        parents = source.gather(1, keep)
        running_tokens = topk_tokens.gather(1, keep)
        self.token_history.append(running_tokens)
        self.parent_history.append(parents)
        return parents, running_tokens

    def keep_finished(self, topk_scores, source, topk_tokens, hits, cur_len: int):
        """Finished continuations among the top K replace worse kept ones (transformers' `_update_finished_beams`)."""
        just_finished = hits & self.top_num_beam_mask[None, :]
        finished_scores = topk_scores / ((cur_len + 1 - self.prompt_len) ** self.length_penalty)
        beams_in_batch_are_full = (torch.all(self.is_sent_finished, axis=-1, keepdims=True)
                                   & (self.early_stopping is True))
        finished_scores += beams_in_batch_are_full.to(torch.float32) * -1.0e9
        finished_scores += (~self.heuristic_unsatisfied).to(torch.float32) * -1.0e9
        finished_scores += (~just_finished) * -1.0e9
        merged_scores = torch.cat((self.beam_scores, finished_scores), dim=1)
        best = torch.topk(merged_scores, k=self.num_beams)[1]
        self.beam_scores = merged_scores.gather(1, best)
        self.is_sent_finished = torch.cat((self.is_sent_finished, just_finished), dim=1).gather(1, best)
        step = self.kept_step.new_full(source.shape, cur_len - self.prompt_len)
        self.kept_step = torch.cat((self.kept_step, step), dim=1).gather(1, best)
        self.kept_parent = torch.cat((self.kept_parent, source), dim=1).gather(1, best)
        self.kept_token = torch.cat((self.kept_token, topk_tokens), dim=1).gather(1, best)

    def state_rows(self, parents: torch.LongTensor) -> torch.LongTensor:
        """The new running beams' parents (B, K) -> their rows (B x K,) in the flat decoder state."""
        return (parents + self.batch_offset).view(-1)

    def reorder_cache(self, model, model_kwargs: dict, parents: torch.LongTensor):
        """Moves the decoder state to the new running beams' parents, as transformers' `_beam_search` does."""
        cache = model_kwargs.get("past_key_values")
        if cache is not None:
            beam_idx = self.state_rows(parents)
            if hasattr(model, "_reorder_cache"):
                model_kwargs["past_key_values"] = model._reorder_cache(cache, beam_idx)
            else:
                cache.reorder_cache(beam_idx)

    def may_improve(self, hits, cur_len: int) -> bool:
        """After the step to `cur_len`: whether any batch item can still improve (the one host sync of a step)."""
        self.heuristic_unsatisfied = GenerationMixin._check_early_stop_heuristic(
            self.heuristic_unsatisfied, self.running_scores, self.beam_scores, self.is_sent_finished, cur_len,
            self.max_length, self.prompt_len, self.early_stopping, self.length_penalty,
        )
        return GenerationMixin._beam_search_has_unfinished_sequences(self.heuristic_unsatisfied, self.is_sent_finished,
                                                                     hits, self.early_stopping)

    def sequences(self, input_ids: torch.LongTensor):
        """
        The best `num_return_sequences` hypotheses of each batch item, traced back through the running beams:
        sequences (B x num_return_sequences, P + N), prompt first, and their scores (B x num_return_sequences,).
        """
        batch_size, prompt_len, fill, num_return = self.batch_size, self.prompt_len, self.fill, self.num_return
        last_step, slot = self.kept_step[:, :num_return], self.kept_parent[:, :num_return]
        last_token = self.kept_token[:, :num_return]
        generated = int(last_step.max()) + 1
        sequences = torch.full((batch_size, num_return, prompt_len + generated), fill, dtype=torch.long,
                               device=self.device)
        sequences[:, :, :prompt_len] = input_ids.view(batch_size, self.num_beams, prompt_len)[:, :1]
        if generated > 0:
            body = sequences[:, :, prompt_len:]
            body.scatter_(2, last_step.clamp(min=0).unsqueeze(-1),
                          torch.where(last_step >= 0, last_token, fill).unsqueeze(-1))
            for step in range(generated - 2, -1, -1):
                active = last_step > step
                body[:, :, step] = torch.where(active, self.token_history[step].gather(1, slot), body[:, :, step])
                slot = torch.where(active, self.parent_history[step].gather(1, slot), slot)
        return sequences.view(batch_size * num_return, -1), self.beam_scores[:, :num_return].reshape(-1)


def _lean_beam_search(model, input_ids, logits_processor, stopping_criteria, generation_config, **model_kwargs):
    """
    transformers' `_beam_search` (5.x, without its optional outputs), step for step and with the same selections,
    but selecting on the raw logits: log-softmax and the running beam score are constants per row, so the top M
    continuations of each beam (M = (1 + number of eos tokens, at least 2) x num_beams, transformers' candidate
    count) contain the top M of the whole batch item, and only those M are normalized. Sequences are not gathered
    every step either: each step keeps the running beams' tokens and parents (B, K), and the returned
    hypotheses are traced back once at the end (see `_LeanBeams`).

    Returns the sequences (B x num_return_sequences, P + N) and their scores (B x num_return_sequences,).
    """
    config = generation_config
    device = input_ids.device
    flat_batch, prompt_len = input_ids.shape[:2]
    beams = _LeanBeams.for_generate(config, logits_processor, stopping_criteria, flat_batch // config.num_beams,
                                    prompt_len, device)
    outputs = model._prefill(input_ids, config, model_kwargs, is_first_iteration=not config.is_assistant)
    cur_len = prompt_len
    while True:
        model_kwargs = model._update_model_kwargs_for_generation(
            outputs, model_kwargs, is_encoder_decoder=model.config.is_encoder_decoder
        )
        logits = outputs.logits[:, -1, :]
        del outputs
        if logits.dtype != torch.float32 or logits.device != device:
            logits = logits.to(dtype=torch.float32, device=device)
        topk_scores, source, topk_tokens, hits = beams.candidates(logits, cur_len)
        parents, running_tokens = beams.continue_best(topk_scores, source, topk_tokens, hits)
        beams.keep_finished(topk_scores, source, topk_tokens, hits, cur_len)
        beams.reorder_cache(model, model_kwargs, parents)
        cur_len += 1
        if not beams.may_improve(hits, cur_len):
            break
        model_inputs = model.prepare_inputs_for_generation(
            running_tokens.view(-1, 1), next_sequence_length=1, **model_kwargs
        )
        outputs = model(**model_inputs, return_dict=True)
    return beams.sequences(input_ids)


def lean_beam_search(model, input_ids, logits_processor, stopping_criteria, generation_config, synced_gpus=False,
                     **model_kwargs):
    """
    The `custom_generate` callable `Seq2SeqLSTMForConditionalGeneration.generate` passes for beam search: the same
    tokens and scores as transformers' `_beam_search` (up to exact ties) with less work per step (see
    `_lean_beam_search`), where `_lean_beam_search_applies`; transformers' `_beam_search` otherwise.
    """
    if _lean_beam_search_applies(model, logits_processor, stopping_criteria, generation_config, synced_gpus,
                                 model_kwargs):
        return _lean_beam_search(model, input_ids, logits_processor, stopping_criteria, generation_config,
                                 **model_kwargs)[0]
    return type(model)._beam_search(model, input_ids, logits_processor, stopping_criteria, generation_config,
                                    synced_gpus=synced_gpus, **model_kwargs)


class Seq2SeqLSTMForConditionalGeneration(Seq2SeqLSTMPreTrainedModel, GenerationMixin):
    """[`Seq2SeqLSTMModel`] with the output layer over the target vocabulary, the loss and `generate()`."""

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__(config)
        self.model = Seq2SeqLSTMModel(config)
        self.dropout = nn.Dropout(config.dropout)
        # Tying needs the output vectors in embedding space (Press & Wolf, 2017).
        self.output_projection = (
            nn.Linear(config.hidden_size, config.embedding_size, bias=False)
            if config.tie_word_embeddings and config.hidden_size != config.embedding_size else None
        )
        output_size = config.embedding_size if self.output_projection is not None else config.hidden_size
        self.lm_head = nn.Linear(output_size, config.target_vocab_size, bias=False)
        self._declare_tied_weights(prefix="model.", with_lm_head=True)
        self.post_init()

    def get_encoder(self):
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def _resize_token_embeddings(self, new_num_tokens, pad_to_multiple_of=None, mean_resizing=True) -> nn.Embedding:
        """
        Resizes the source embedding, the one `resize_token_embeddings(len(tokenizer))` is about. With one
        vocabulary for both sides (`decoder_vocab_size` None) the decoder embedding and the output layer follow;
        with two, they keep the target's size: see `resize_decoder_token_embeddings`.
        """
        new_embeddings = self._get_resized_embeddings(
            self.get_input_embeddings(), new_num_tokens, pad_to_multiple_of, mean_resizing
        )
        self.model.set_input_embeddings(new_embeddings)
        # The base class writes the size into get_text_config(), which is a copy where the vocabularies differ.
        self.config.vocab_size = new_embeddings.num_embeddings
        if self.config.decoder_vocab_size is None:
            self._resize_target_side(new_embeddings.num_embeddings, mean_resizing)
        return self.get_input_embeddings()

    def resize_decoder_token_embeddings(self, new_num_tokens: int, mean_resizing: bool = True) -> nn.Embedding:
        """
        Resizes the target vocabulary (decoder embedding and output layer, tied or not) to `new_num_tokens`, as
        Marian's method of that name does; `config.decoder_vocab_size` becomes `new_num_tokens`, and a new size clears
        `config.target_vocab_fingerprint`.
        """
        if self.config.share_embeddings:
            raise ValueError(
                "share_embeddings=True: source and target share one embedding; use resize_token_embeddings."
            )
        if new_num_tokens != self.config.target_vocab_size:
            self.config.target_vocab_fingerprint = None  # it described the old target vocabulary
        self._resize_target_side(new_num_tokens, mean_resizing)
        self.config.decoder_vocab_size = new_num_tokens
        return self.model.get_decoder_input_embeddings()

    def _resize_target_side(self, new_num_tokens: int, mean_resizing: bool):
        if not self.config.share_embeddings:
            self.model.set_decoder_input_embeddings(self._get_resized_embeddings(
                self.model.get_decoder_input_embeddings(), new_num_tokens, mean_resizing=mean_resizing
            ))
        self.lm_head = self._get_resized_lm_head(self.lm_head, new_num_tokens, mean_resizing=mean_resizing)
        self.tie_weights()

    def generate(self, *args, **kwargs):
        r"""
        [`~GenerationMixin.generate`], refusing `encoder_repetition_penalty` with separate vocabularies: it rewards
        target ids equal to source ids, and a source id names another token, or none, in the target vocabulary.

        Beam search without sampling runs `lean_beam_search` (this file): the same tokens and scores as
        transformers' `_beam_search`, which it falls back to for the options it does not cover (any optional
        output, logits processors other than min_length / min_new_tokens, other stopping criteria; see
        `_lean_beam_search_applies`). `lean_beam_search=False` (a `generate()` argument or a generation config
        attribute) forces transformers' own beam search.
        """
        lean = kwargs.pop("lean_beam_search", None)
        if self._lean_beam_search_may_apply(lean, args, kwargs):
            # transformers' _beam_search normalizes and ranks all B*K x V continuations every step; ours, M per beam
            kwargs["custom_generate"] = lean_beam_search
        generation_config = kwargs.get("generation_config") or self.generation_config
        penalty = kwargs.get("encoder_repetition_penalty", generation_config.encoder_repetition_penalty)
        if penalty not in (None, 1.0) and self.config.decoder_vocab_size is not None:
            raise ValueError(
                f"encoder_repetition_penalty={penalty} compares target ids with source ids, but this model has "
                f"separate source and target vocabularies (decoder_vocab_size={self.config.decoder_vocab_size}): "
                f"use repetition_penalty, or leave encoder_repetition_penalty at 1.0."
            )
        return super().generate(*args, **kwargs)

    def _lean_beam_search_may_apply(self, lean: bool | None, args: tuple, kwargs: dict) -> bool:
        """Beam search mode, and nothing that generate() drops for a `custom_generate` callable (streamer, ...)."""
        from transformers.generation.configuration_utils import GenerationMode

        if lean is False or len(args) > 1 or kwargs.get("synced_gpus") or any(
            kwargs.get(name) is not None
            for name in ("custom_generate", "streamer", "assistant_model", "tokenizer", "assistant_tokenizer")
        ):
            return False
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return False  # generate() may turn synced_gpus on by itself
        try:
            config, _ = self._prepare_generation_config(
                kwargs.get("generation_config"), **{k: v for k, v in kwargs.items() if k != "generation_config"}
            )
            mode = config.get_generation_mode()
        except Exception:  # let generate() raise it
            return False
        if lean is None and getattr(config, "lean_beam_search", True) is False:
            return False
        return mode == GenerationMode.BEAM_SEARCH

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.LongTensor,
        next_sequence_length: int | None = None,
        past_key_values: Seq2SeqLSTMCache | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        is_first_iteration: bool | None = False,
        **kwargs,
    ) -> dict:
        """
        The model inputs of one generation step, as [`~GenerationMixin.prepare_inputs_for_generation`] makes them
        for this model, with less work per generated token: the generic one also handles position ids, 4D masks
        of compilable caches and multimodal inputs, none of which this model has, and inspects `forward`'s
        signature on every call of a remote-code model (which this one is, once registered for the Auto classes).

        `input_ids` (the target prefix, `(B, T)`) become `decoder_input_ids`, its last `next_sequence_length`
        tokens; `attention_mask` is the source's; every other keyword (`encoder_outputs`, `use_cache`,
        `decoder_attention_mask`, `output_attentions`, ...) is passed on, except `labels`.
        """
        if next_sequence_length is not None:
            input_ids = input_ids[:, -next_sequence_length:]
        model_inputs = {key: value for key, value in kwargs.items() if key != "labels"}
        model_inputs["decoder_input_ids"] = input_ids.contiguous()
        if past_key_values is not None:
            model_inputs["past_key_values"] = past_key_values
        if attention_mask is not None:
            model_inputs["attention_mask"] = attention_mask
        device = self.device
        if device.type != "meta" and input_ids.device != device:
            # as the generic one: the caller may keep the inputs on another device than the model between steps
            model_inputs = move_to_device(model_inputs, device)
        return model_inputs

    def logits(self, decoder_outputs: torch.Tensor) -> torch.Tensor:
        """(B, T, H) decoder outputs -> (B, T, V) logits."""
        outputs = self.dropout(decoder_outputs)
        if self.output_projection is not None:
            outputs = self.output_projection(outputs)
        return self.lm_head(outputs)

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    def _scheduled_sampling(self, gold_input_ids: torch.LongTensor):
        """Feeds the gold token with probability `teacher_forcing_ratio`, else the model's own greedy prediction."""
        ratio = self.config.teacher_forcing_ratio

        def next_tokens(t, output):
            with torch.no_grad():
                predicted = self.logits(output).argmax(-1).squeeze(1)
            use_gold = torch.rand(predicted.shape, device=predicted.device) < ratio
            return torch.where(use_gold, gold_input_ids[:, t + 1], predicted)

        return next_tokens

    def _decoder_inputs_for_labels(self, labels: torch.LongTensor, decoder_input_ids: torch.LongTensor | None,
                                   decoder_inputs_embeds: torch.FloatTensor | None) -> torch.LongTensor | None:
        """Checks `labels` (B, T) against the decoder inputs passed with them; without any, the labels shifted right."""
        # The last label is never fed to the decoder, so check them all here (on CUDA a bad target id is a
        # device-side assert rather than an error).
        check_token_ids(labels.masked_fill(labels == -100, 0), self.config.target_vocab_size, "labels")
        if decoder_input_ids is not None and labels.shape != decoder_input_ids.shape:
            raise ValueError(
                f"labels {tuple(labels.shape)} and decoder_input_ids {tuple(decoder_input_ids.shape)} differ in shape: "
                f"label t is the target after decoder input t; pass labels alone to have them shifted right."
            )
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            return self.prepare_decoder_input_ids_from_labels(labels)
        return decoder_input_ids

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: Seq2SeqLSTMEncoderOutput | tuple | None = None,
        past_key_values: Seq2SeqLSTMCache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        decoder_inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> Seq2SeqLMOutput:
        r"""
        labels (`torch.LongTensor` of shape `(B, T)`, *optional*):
            Target token ids; -100 marks positions the loss ignores. Without `decoder_input_ids` the decoder inputs
            are the labels shifted right after `decoder_start_token_id` (teacher forcing).
        """
        if labels is not None:
            decoder_input_ids = self._decoder_inputs_for_labels(labels, decoder_input_ids, decoder_inputs_embeds)
        scheduled_sampling = (
            self.training and self.config.teacher_forcing_ratio < 1.0 and decoder_input_ids is not None
            and past_key_values is None
        )
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            encoder_outputs=encoder_outputs,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            decoder_inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            decoder_feedback=self._scheduled_sampling(decoder_input_ids) if scheduled_sampling else None,
        )
        logits = self.logits(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = LogitsCrossEntropy.apply(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device),
                self.config.label_smoothing,
            )
        return Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            decoder_hidden_states=outputs.decoder_hidden_states,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
        )


__all__ = [
    "Seq2SeqLSTMCache",
    "Seq2SeqLSTMDecoderOutput",
    "Seq2SeqLSTMEncoderOutput",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMModel",
    "Seq2SeqLSTMPreTrainedModel",
]
