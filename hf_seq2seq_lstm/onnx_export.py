# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""ONNX export of a [`Seq2SeqLSTMForConditionalGeneration`] and decoding with onnxruntime.

Two graphs, both with a dynamic batch and source length, built from the model's own weights:

- `encoder.onnx`: `input_ids`, `attention_mask` (B, S) -> `encoder_hidden_states` (B, S, K), the bridge's initial
  decoder state `hidden` (and `cell` for an LSTM) (L, B, H) and, for additive attention, the projected
  `attention_keys` (B, S, H).
- `decoder.onnx`: one step: `input_ids` (N,), the recurrent state, the input-feeding vector `attentional` (N, H) if
  any, the encoder outputs and mask -> `log_probs` (N, V) and the new state.

Why the model itself does not export: its encoder packs sequences (`pack_padded_sequence` sorts the batch by length,
a data-dependent Sort the exporters reject) and checks token ids with a data-dependent branch. Here the packing is
replaced by what it means. The encoder puts each row in the model's reading order (its tokens first, backwards
with `reverse_source`, then its padding) with a gather whose indices come from the mask by counting (no sort), and
runs each layer as one ONNX `LSTM`/`GRU` node with `sequence_lens` = the row's length: onnxruntime's RNN kernels then
start the backward direction of a bidirectional layer at each row's last token and stop the forward one there, so
neither reads padding, exactly as over a packed batch; the final states are those at each row's last token, and the
outputs past it are zero (multiplied by the mask as well, to be sure). The outputs are gathered back to source
order, as the model's `_unpack` does. The decoder step is plain tensor algebra (the LSTM/GRU cell equations of
`torch.lstm_cell`/`torch.gru_cell`, the model's attention functions), which traces without any branch.

The exporter is torch's TorchScript-based one (`torch.onnx.export(..., dynamo=False)`): it needs only `onnx`
(the dynamo exporter, torch's default, also needs `onnxscript`), and it lets a `torch.autograd.Function` emit the
ONNX RNN node with `sequence_lens` through its `symbolic`.

[`OnnxSeq2SeqLSTM`] decodes greedily or with beam search on onnxruntime, with the algorithm of transformers 5.23's
`GenerationMixin._sample` (greedy) and `_beam_search` (length_penalty, early_stopping True/False/"never"),
re-implemented on torch CPU tensors so that ties are broken as there, and returns the token ids `model.generate()`
returns. Logits processors (repetition penalties, forced tokens, min_length, ...) and sampling are not supported.
"""

import copy
import json
import os
import tempfile
import warnings

import torch
from torch import nn

from .files import atomic_write_json
from .modeling_seq2seq_lstm import _LeanBeams, attend, gather_steps

ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
METADATA_FILE = "onnx_config.json"
OPSET = 17


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ImportError("ONNX export needs onnx and onnxruntime: pip install 'hf-seq2seq-lstm[onnx]'") from error


# ---------------------------------------------------------------------------------------------------------------
# Encoder


def _onnx_rnn_weights(rnn: nn.LSTM | nn.GRU):
    """A torch single-layer RNN's weights in ONNX's layout: W (D, G*H, in), R (D, G*H, H), B (D, 2*G*H)."""
    hidden = rnn.hidden_size
    # torch's gate order -> ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
    order = [0, 3, 1, 2] if isinstance(rnn, nn.LSTM) else [1, 0, 2]

    def reorder(tensor):
        chunks = tensor.detach().float().split(hidden, dim=0)
        return torch.cat([chunks[i] for i in order], dim=0)

    suffixes = ["_l0"] + (["_l0_reverse"] if rnn.bidirectional else [])
    w = torch.stack([reorder(getattr(rnn, "weight_ih" + s)) for s in suffixes])
    r = torch.stack([reorder(getattr(rnn, "weight_hh" + s)) for s in suffixes])
    b = torch.stack([torch.cat([reorder(getattr(rnn, "bias_ih" + s)), reorder(getattr(rnn, "bias_hh" + s))])
                     for s in suffixes])
    return w.contiguous(), r.contiguous(), b.contiguous()


def _rnn_direction(inputs, lengths, w, r, b, lstm: bool, hidden_size: int, reverse: bool):
    """One direction of ONNX's LSTM/GRU with `sequence_lens`, in torch: (B, S, in) -> (B, S, H), final states."""
    batch, steps, _ = inputs.shape
    positions = torch.arange(steps).expand(batch, steps)
    valid = positions < lengths.unsqueeze(1)
    if reverse:  # each row's tokens backwards, padding where it was
        flip = torch.where(valid, lengths.unsqueeze(1) - 1 - positions, positions)
        inputs = gather_steps(inputs, flip)
    h = inputs.new_zeros(batch, hidden_size)
    c = inputs.new_zeros(batch, hidden_size)
    bias = b[: b.shape[0] // 2] + b[b.shape[0] // 2 :]
    outputs = []
    for t in range(steps):
        x = inputs[:, t]
        keep = valid[:, t].unsqueeze(1)
        if lstm:
            i, o, f, g = (x @ w.t() + h @ r.t() + bias).chunk(4, dim=-1)
            new_c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            new_h = torch.sigmoid(o) * torch.tanh(new_c)
            c = torch.where(keep, new_c, c)
        else:
            gx = x @ w.t() + b[: 3 * hidden_size]
            gh = h @ r.t() + b[3 * hidden_size :]
            z = torch.sigmoid(gx[:, :hidden_size] + gh[:, :hidden_size])
            reset = torch.sigmoid(gx[:, hidden_size : 2 * hidden_size] + gh[:, hidden_size : 2 * hidden_size])
            candidate = torch.tanh(gx[:, 2 * hidden_size :] + reset * gh[:, 2 * hidden_size :])
            new_h = (1 - z) * candidate + z * h
        h = torch.where(keep, new_h, h)
        outputs.append(torch.where(keep, new_h, torch.zeros_like(new_h)))
    outputs = torch.stack(outputs, dim=1)
    if reverse:
        outputs = gather_steps(outputs, flip)
    return outputs, h, c


class _MaskedRNN(torch.autograd.Function):
    """
    One (bi)directional RNN layer over batch-first inputs whose rows hold `lengths` tokens followed by padding, with
    weights in ONNX's layout (`_onnx_rnn_weights`). Exported: one ONNX LSTM/GRU node with `sequence_lens`. Eager:
    the same equations in torch (the reference the tests compare with the model). Returns outputs (B, S, D*H) (zeros
    past each length) and the final hidden (and cell) states (D, B, H).
    """

    @staticmethod
    def forward(ctx, inputs, lengths, w, r, b, lstm: bool, hidden_size: int, bidirectional: bool):
        results = [_rnn_direction(inputs, lengths, w[d], r[d], b[d], lstm, hidden_size, reverse=d == 1)
                   for d in range(2 if bidirectional else 1)]
        outputs = torch.cat([result[0] for result in results], dim=-1)
        hidden = torch.stack([result[1] for result in results])
        if lstm:
            return outputs, hidden, torch.stack([result[2] for result in results])
        return outputs, hidden

    @staticmethod
    def symbolic(g, inputs, lengths, w, r, b, lstm: bool, hidden_size: int, bidirectional: bool):
        attributes = dict(hidden_size_i=hidden_size, direction_s="bidirectional" if bidirectional else "forward")
        if not lstm:
            attributes["linear_before_reset_i"] = 1  # torch's GRU applies the reset gate after the recurrent matmul
        time_major = g.op("Transpose", inputs, perm_i=[1, 0, 2])
        sequence_lens = g.op("Cast", lengths, to_i=6)  # int32
        results = g.op("LSTM" if lstm else "GRU", time_major, w, r, b, sequence_lens, outputs=3 if lstm else 2,
                       **attributes)
        y = g.op("Transpose", results[0], perm_i=[2, 0, 1, 3])  # (S, D, B, H) -> (B, S, D, H) -> (B, S, D*H)
        y = g.op("Reshape", y, g.op("Constant", value_t=torch.tensor([0, 0, -1], dtype=torch.int64)))
        return (y, *results[1:])


def _reading_order(attention_mask: torch.Tensor, reverse_source: bool):
    """
    The model's `Seq2SeqLSTMEncoder.reading_order` without a sort: (B, S) mask -> `order` (B, S) (the source
    position read at each step) and `rank` (B, S) (the reading step of each source position, its inverse). The sort
    keys are distinct within a row, so a position's rank is the number of smaller keys in its row.
    """
    mask = attention_mask.bool()
    positions = torch.ones_like(attention_mask, dtype=torch.long).cumsum(1) - 1  # (B, S)
    token_rank = -positions if reverse_source else positions
    key = torch.where(mask, token_rank, positions + (1 << 40))
    rank = (key.unsqueeze(1) < key.unsqueeze(2)).long().sum(2)  # (B, S): rank[b, s] = #{s': key[s'] < key[s]}
    # order[b, t] = the s whose rank is t
    hits = (rank.unsqueeze(1) == positions.unsqueeze(2)).long()  # (B, T, S)
    order = (hits * positions.unsqueeze(1)).sum(2)
    return order, rank, positions


class EncoderForExport(nn.Module):
    """input_ids, attention_mask -> encoder outputs, the decoder's initial state and the attention keys."""

    def __init__(self, model):
        super().__init__()
        config = model.config
        self.config = config
        self.embed_tokens = model.model.encoder.embed_tokens
        self.rnns = model.model.encoder.layers
        self.bridge = model.model.bridge
        attention = model.model.decoder.attention
        self.key_projection = getattr(attention, "key_projection", None)
        for i, rnn in enumerate(self.rnns):
            w, r, b = _onnx_rnn_weights(rnn)
            self.register_buffer(f"w{i}", w, persistent=False)
            self.register_buffer(f"r{i}", r, persistent=False)
            self.register_buffer(f"b{i}", b, persistent=False)

    def output_names(self):
        names = ["encoder_hidden_states", "hidden"]
        if self.config.cell_type == "lstm":
            names.append("cell")
        if self.key_projection is not None:
            names.append("attention_keys")
        return names

    def forward(self, input_ids, attention_mask):
        order, rank, positions = _reading_order(attention_mask, self.config.reverse_source)
        lengths = attention_mask.bool().long().sum(1)
        valid = (positions < lengths.unsqueeze(1)).unsqueeze(-1).float()  # (B, S, 1) in reading order
        sequence = gather_steps(self.embed_tokens(input_ids), order)
        final_hidden, final_cell = [], []
        for i, rnn in enumerate(self.rnns):
            results = _MaskedRNN.apply(sequence, lengths, getattr(self, f"w{i}"), getattr(self, f"r{i}"),
                                       getattr(self, f"b{i}"), isinstance(rnn, nn.LSTM), rnn.hidden_size,
                                       rnn.bidirectional)
            sequence = results[0] * valid
            # (D, B, H) -> (B, D*H): the directions concatenated
            final_hidden.append(results[1].transpose(0, 1).flatten(1))
            if len(results) == 3:
                final_cell.append(results[2].transpose(0, 1).flatten(1))
        encoder_hidden_states = gather_steps(sequence, rank)
        hidden = self.bridge._map(torch.stack(final_hidden, dim=1), self.bridge.hidden_projection, torch.tanh)
        outputs = [encoder_hidden_states, hidden]
        if final_cell:
            outputs.append(self.bridge._map(torch.stack(final_cell, dim=1), self.bridge.cell_projection, lambda x: x))
        if self.key_projection is not None:
            outputs.append(self.key_projection(encoder_hidden_states))
        return tuple(outputs)


# ---------------------------------------------------------------------------------------------------------------
# Decoder step


def _lstm_cell(x, h, c, rnn):
    gates = x @ rnn.weight_ih_l0.t() + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.t() + rnn.bias_hh_l0
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_cell(x, h, rnn):
    gi = x @ rnn.weight_ih_l0.t() + rnn.bias_ih_l0
    gh = h @ rnn.weight_hh_l0.t() + rnn.bias_hh_l0
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


class DecoderStepForExport(nn.Module):
    """One decoder step of `generate()`: token ids (N,), state, encoder outputs, mask -> log-probs (N, V), new state."""

    def __init__(self, model):
        super().__init__()
        config = model.config
        self.config = config
        decoder = model.model.decoder
        self.embed_tokens = decoder.embed_tokens
        self.rnns = decoder.layers
        self.attention = decoder.attention
        self.combine = decoder.combine
        self.context_before_rnn = decoder.context_before_rnn
        self.additive = self.attention is not None and hasattr(self.attention, "key_projection")
        self.output_projection = model.output_projection
        self.lm_head = model.lm_head

    def input_names(self):
        names = ["input_ids", "hidden"]
        if self.config.cell_type == "lstm":
            names.append("cell")
        if self.config.input_feeding:
            names.append("attentional")
        if self.attention is not None:
            names += ["encoder_hidden_states", "attention_mask"]
            if self.additive:
                names.append("attention_keys")
        return names

    def output_names(self):
        return ["log_probs"] + [f"new_{name}" for name in self.input_names()[1:] if name in ("hidden", "cell",
                                                                                             "attentional")]

    def _attend(self, query, keys, encoder_hidden_states, attention_mask):
        # query (N, H) -> context (N, K): the model's `attend` for one step
        return attend(self.attention, query.unsqueeze(1), keys, encoder_hidden_states, attention_mask)[0].squeeze(1)

    def forward(self, *inputs):
        named = dict(zip(self.input_names(), inputs))
        hidden, cell = named["hidden"], named.get("cell")
        encoder_hidden_states, attention_mask = named.get("encoder_hidden_states"), named.get("attention_mask")
        keys = named.get("attention_keys", encoder_hidden_states)
        step_inputs = [self.embed_tokens(named["input_ids"])]
        if self.context_before_rnn:
            context = self._attend(hidden[-1], keys, encoder_hidden_states, attention_mask)
            step_inputs.append(context)
        if self.config.input_feeding:
            step_inputs.append(named["attentional"])
        x = torch.cat(step_inputs, dim=-1)
        new_hidden, new_cell = [], []
        for i, rnn in enumerate(self.rnns):
            if cell is not None:
                h, c = _lstm_cell(x, hidden[i], cell[i], rnn)
                new_cell.append(c)
            else:
                h = _gru_cell(x, hidden[i], rnn)
            new_hidden.append(h)
            x = h
        output = x
        if self.attention is not None:
            if not self.context_before_rnn:
                context = self._attend(x, keys, encoder_hidden_states, attention_mask)
            output = torch.tanh(self.combine(torch.cat([context, x], dim=-1)))
        projected = self.output_projection(output) if self.output_projection is not None else output
        log_probs = torch.log_softmax(self.lm_head(projected).float(), dim=-1)
        outputs = [log_probs, torch.stack(new_hidden)]
        if cell is not None:
            outputs.append(torch.stack(new_cell))
        if self.config.input_feeding:
            outputs.append(output)
        return tuple(outputs)


# ---------------------------------------------------------------------------------------------------------------
# Export


def _export(module, args, path, input_names, output_names, dynamic_axes):
    """torch.onnx.export (TorchScript exporter) to a temporary file beside `path`, then renamed over it."""
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".tmp-{os.path.basename(path)}-", suffix=".onnx", dir=folder)
    os.close(descriptor)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice and tracer warnings
            torch.onnx.export(module, args, temporary, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False, do_constant_folding=True)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def export_onnx(model, output_dir: str | os.PathLike, int8: bool = False) -> dict:
    """
    Writes `encoder.onnx`, `decoder.onnx` and `onnx_config.json` (what [`OnnxSeq2SeqLSTM`] needs) into
    `output_dir` (created if missing), each file atomically. With `int8`, the weights of both graphs are quantized
    to int8 with onnxruntime's `quantize_dynamic` (MatMul/Gather/LSTM/GRU), which changes the outputs slightly.
    Returns the metadata written.
    """
    _require_onnx()
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    config = model.config
    if any(parameter.dtype != torch.float32 for parameter in model.parameters()):
        model = copy.deepcopy(model).float()  # the graphs compute in float32; the caller's model stays as it is
    encoder = EncoderForExport(model)  # no .eval(): it would switch the caller's modules (the wrappers use no dropout)
    decoder = DecoderStepForExport(model)
    with torch.no_grad():
        encoder_names, step = _export_encoder(encoder, config, output_dir)
        decoder_inputs, decoder_outputs = _export_decoder(decoder, step, output_dir)
    if int8:
        _quantize(output_dir)
    metadata = _metadata(model, config, int8, encoder_names, decoder_inputs, decoder_outputs)
    atomic_write_json(os.path.join(output_dir, METADATA_FILE), metadata)
    return metadata


def _export_encoder(encoder: EncoderForExport, config, output_dir: str) -> tuple[list[str], dict]:
    """
    Writes `encoder.onnx`, traced on example inputs: 2 rows, one with padding, so nothing specialises to a batch or a
    length. Returns the encoder's output names and example inputs for a decoder step, by input name.
    """
    input_ids = torch.full((2, 3), config.eos_token_id if isinstance(config.eos_token_id, int) else 2)
    attention_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    encoder_outputs = encoder(input_ids, attention_mask)
    encoder_names = encoder.output_names()
    dynamic = {"input_ids": {0: "batch", 1: "source"}, "attention_mask": {0: "batch", 1: "source"},
               "encoder_hidden_states": {0: "batch", 1: "source"}, "hidden": {1: "batch"}, "cell": {1: "batch"},
               "attention_keys": {0: "batch", 1: "source"}}
    _export(encoder, (input_ids, attention_mask), os.path.join(output_dir, ENCODER_FILE),
            ["input_ids", "attention_mask"], encoder_names,
            {k: v for k, v in dynamic.items() if k in ("input_ids", "attention_mask", *encoder_names)})

    produced = dict(zip(encoder_names, encoder_outputs))
    step = {"input_ids": torch.full((2,), config.decoder_start_token_id), "attention_mask": attention_mask,
            "attentional": torch.zeros(2, config.hidden_size), **produced}
    return encoder_names, step


def _export_decoder(decoder: DecoderStepForExport, step: dict, output_dir: str) -> tuple[list[str], list[str]]:
    """Writes `decoder.onnx`, traced on the example `step` inputs; returns its input and output names."""
    decoder_inputs = decoder.input_names()
    decoder_outputs = decoder.output_names()
    dynamic = {"input_ids": {0: "batch"}, "hidden": {1: "batch"}, "cell": {1: "batch"},
               "attentional": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "source"},
               "attention_mask": {0: "batch", 1: "source"}, "attention_keys": {0: "batch", 1: "source"},
               "log_probs": {0: "batch"}, "new_hidden": {1: "batch"}, "new_cell": {1: "batch"},
               "new_attentional": {0: "batch"}}
    _export(decoder, tuple(step[name] for name in decoder_inputs), os.path.join(output_dir, DECODER_FILE),
            decoder_inputs, decoder_outputs,
            {k: v for k, v in dynamic.items() if k in (*decoder_inputs, *decoder_outputs)})
    return decoder_inputs, decoder_outputs


def _metadata(model, config, int8: bool, encoder_names: list[str], decoder_inputs: list[str],
              decoder_outputs: list[str]) -> dict:
    """The contents of `onnx_config.json`: the graphs' files and names, and what decoding needs of the config."""
    generation_config = getattr(model, "generation_config", None)

    def special(name):  # generate() reads the special tokens from the generation config first
        value = getattr(generation_config, name, None)
        return value if value is not None else getattr(config, name)

    eos = special("eos_token_id")
    return {
        "format": 1,
        "encoder": ENCODER_FILE,
        "decoder": DECODER_FILE,
        "int8": bool(int8),
        "cell_type": config.cell_type,
        "decoder_layers": config.decoder_layers,
        "hidden_size": config.hidden_size,
        "input_feeding": config.input_feeding,
        "attention": config.attention,
        "vocab_size": config.vocab_size,
        "target_vocab_size": config.target_vocab_size,
        "pad_token_id": special("pad_token_id"),
        "eos_token_id": eos if isinstance(eos, list) or eos is None else [eos],
        "decoder_start_token_id": special("decoder_start_token_id"),
        "encoder_outputs": encoder_names,
        "decoder_inputs": decoder_inputs,
        "decoder_outputs": decoder_outputs,
    }


def _quantize(output_dir: str):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for name in (ENCODER_FILE, DECODER_FILE):
        path = os.path.join(output_dir, name)
        descriptor, temporary = tempfile.mkstemp(prefix=f".tmp-int8-{name}-", suffix=".onnx", dir=output_dir)
        os.close(descriptor)
        try:
            quantize_dynamic(path, temporary, weight_type=QuantType.QInt8)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise


# ---------------------------------------------------------------------------------------------------------------
# Decoding on onnxruntime


# generate() options of a generation config whose logits processors / sampling are not re-implemented here, with
# their neutral values
UNSUPPORTED_GENERATION_OPTIONS = {
    "do_sample": False, "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0, "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0, "min_length": 0, "min_new_tokens": None, "bad_words_ids": None,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "sequence_bias": None, "renormalize_logits": False, "diversity_penalty": 0.0,
    "constraints": None, "force_words_ids": None,
}


class OnnxSeq2SeqLSTM:
    """
    The exported encoder and decoder step on onnxruntime, with `generate()` for greedy and beam search.

        onnx_model = OnnxSeq2SeqLSTM.from_folder("exported/")
        ids = onnx_model.generate(input_ids, attention_mask, num_beams=4, max_new_tokens=50)
    """

    def __init__(self, encoder_session, decoder_session, metadata: dict, generation_defaults: dict | None = None):
        self.encoder_session = encoder_session
        self.decoder_session = decoder_session
        self.metadata = metadata
        self.generation_defaults = generation_defaults or {}

    @classmethod
    def from_folder(cls, path: str | os.PathLike, providers=None, session_options=None) -> "OnnxSeq2SeqLSTM":
        _require_onnx()
        import onnxruntime as ort

        path = os.fspath(path)
        with open(os.path.join(path, METADATA_FILE), encoding="utf-8") as handle:
            metadata = json.load(handle)
        providers = providers or ["CPUExecutionProvider"]

        def session(name):
            return ort.InferenceSession(os.path.join(path, metadata[name]), sess_options=session_options,
                                        providers=providers)

        defaults = {}
        generation_file = os.path.join(path, "generation_config.json")
        if os.path.isfile(generation_file):
            with open(generation_file, encoding="utf-8") as handle:
                defaults = json.load(handle)
        return cls(session("encoder"), session("decoder"), metadata, defaults)

    # -- the two graphs ------------------------------------------------------------------------------------------

    def encode(self, input_ids, attention_mask=None) -> dict:
        """Runs the encoder: a dict of numpy arrays named as its outputs."""
        import numpy as np

        input_ids = np.asarray(input_ids, dtype=np.int64)
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        attention_mask = np.asarray(attention_mask, dtype=np.int64)
        if input_ids.ndim != 2 or input_ids.shape[0] == 0:
            raise ValueError("input_ids must be a non-empty (batch, source_length) array")
        if (attention_mask.sum(1) == 0).any():
            raise ValueError("a source sequence of the batch is all padding (attention_mask is all 0)")
        vocab_size = self.metadata["vocab_size"]
        if input_ids.size and (input_ids.min() < 0 or input_ids.max() >= vocab_size):
            # the model's check_token_ids: an out-of-range id would index past the embedding
            raise ValueError(f"input_ids holds token ids outside [0, {vocab_size}): the tokenizer does not match "
                             f"this model's vocabulary")
        outputs = self.encoder_session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        result = dict(zip(self.metadata["encoder_outputs"], outputs))
        result["attention_mask"] = attention_mask
        return result

    def initial_state(self, encoded: dict) -> dict:
        """The decoder's inputs other than the token ids, from `encode`'s outputs."""
        import numpy as np

        state = {}
        for name in self.metadata["decoder_inputs"][1:]:
            if name == "attentional":
                state[name] = np.zeros((encoded["hidden"].shape[1], self.metadata["hidden_size"]), dtype=np.float32)
            else:
                state[name] = encoded[name]
        return state

    def step(self, input_ids, state: dict):
        """One decoder step: (log_probs (N, V), new state)."""
        import numpy as np

        feeds = {"input_ids": np.asarray(input_ids, dtype=np.int64), **state}
        outputs = self.decoder_session.run(None, feeds)
        new_state = dict(state)
        for name, value in zip(self.metadata["decoder_outputs"][1:], outputs[1:]):
            new_state[name.removeprefix("new_")] = value
        return outputs[0], new_state

    @staticmethod
    def _select(state: dict, indices, recurrent_only: bool = False) -> dict:
        """The rows `indices` of every state (hidden/cell: dim 1), as the model's cache does."""
        import numpy as np

        indices = np.asarray(indices, dtype=np.int64)
        selected = {}
        for name, value in state.items():
            if name in ("hidden", "cell"):
                selected[name] = np.ascontiguousarray(value[:, indices])
            elif name == "attentional" or not recurrent_only:
                selected[name] = np.ascontiguousarray(value[indices])
            else:
                selected[name] = value
        return selected

    # -- generate ------------------------------------------------------------------------------------------------

    def generate(self, input_ids, attention_mask=None, num_beams: int | None = None, max_new_tokens: int | None = None,
                 max_length: int | None = None, length_penalty: float | None = None,
                 early_stopping: bool | str | None = None, num_return_sequences: int = 1) -> torch.LongTensor:
        """
        Token ids (batch * num_return_sequences, length), starting with `decoder_start_token_id`, as
        `model.generate()` returns them for greedy search (`num_beams=1`) and beam search. Defaults come from
        the exported `generation_config.json` (transformers' own defaults otherwise: max_length 20,
        length_penalty 1.0, early_stopping False).
        """
        defaults = self.generation_defaults
        unsupported = {name: defaults[name] for name, neutral in UNSUPPORTED_GENERATION_OPTIONS.items()
                       if defaults.get(name, neutral) not in (neutral, None)}
        if unsupported:
            raise ValueError(f"the exported generation_config.json sets {unsupported}, which OnnxSeq2SeqLSTM does not "
                             f"implement (no logits processors, no sampling): remove them to decode here")
        num_beams = num_beams if num_beams is not None else defaults.get("num_beams", 1)
        length_penalty = length_penalty if length_penalty is not None else defaults.get("length_penalty", 1.0)
        early_stopping = early_stopping if early_stopping is not None else defaults.get("early_stopping", False)
        if max_new_tokens is None:
            max_new_tokens = defaults.get("max_new_tokens")
        if max_new_tokens is not None:
            max_length = max_new_tokens + 1
        elif max_length is None:
            max_length = defaults.get("max_length") or 20
        if num_beams < 1 or max_length < 2:
            raise ValueError("num_beams must be >= 1 and at least one new token must be allowed")
        encoded = self.encode(input_ids, attention_mask)
        state = self.initial_state(encoded)
        if num_beams == 1:
            if num_return_sequences != 1:
                raise ValueError("greedy search returns one sequence per input")
            return self._greedy(state, encoded["hidden"].shape[1], max_length)
        if num_return_sequences > num_beams:
            raise ValueError("num_return_sequences must be at most num_beams")
        return self._beam_search(state, encoded["hidden"].shape[1], num_beams, max_length, length_penalty,
                                 early_stopping, num_return_sequences)

    def _special(self):
        eos = self.metadata["eos_token_id"]
        return self.metadata["pad_token_id"], (torch.tensor(eos) if eos else None)

    def _greedy(self, state, batch_size, max_length):
        """transformers' `_sample` without sampling: argmax, then padding after EOS, until all rows ended."""
        pad, eos = self._special()
        sequences = torch.full((batch_size, 1), self.metadata["decoder_start_token_id"], dtype=torch.long)
        unfinished = torch.ones(batch_size, dtype=torch.long)
        while True:
            log_probs, state = self.step(sequences[:, -1].numpy(), state)
            next_tokens = torch.from_numpy(log_probs).argmax(-1)
            if pad is not None:
                next_tokens = next_tokens * unfinished + pad * (1 - unfinished)
            sequences = torch.cat([sequences, next_tokens[:, None]], dim=-1)
            done = torch.full((batch_size,), sequences.shape[1] >= max_length)
            if eos is not None:
                done = done | torch.isin(next_tokens, eos)
            unfinished = unfinished & ~done
            if unfinished.max() == 0:
                return sequences

    def _beam_search(self, state, batch_size, num_beams, max_length, length_penalty, early_stopping,
                     num_return_sequences):
        """
        transformers 5.23's `GenerationMixin._beam_search` for a one-token prompt, with the beams of the model's own
        beam search (`_LeanBeams`: the same selections, the hypotheses traced back once at the end).
        """
        pad, eos = self._special()
        expand = torch.arange(batch_size).repeat_interleave(num_beams)
        state = self._select(state, expand.numpy())
        device = torch.device("cpu")
        beams = _LeanBeams(batch_size, num_beams, 1, device, max_length=max_length, length_penalty=length_penalty,
                           early_stopping=early_stopping, num_return_sequences=num_return_sequences,
                           pad_token_id=pad, eos_token_ids=eos, stop_length=max_length, stop_ids=eos)
        prompt = torch.full((batch_size * num_beams, 1), self.metadata["decoder_start_token_id"], dtype=torch.long)
        tokens, cur_len = prompt[:, 0], 1
        while True:
            log_probs, state = self.step(tokens.numpy(), state)
            topk_scores, source, topk_tokens, hits = beams.candidates(torch.from_numpy(log_probs).float(), cur_len,
                                                                      normalized=True)
            parents, running_tokens = beams.continue_best(topk_scores, source, topk_tokens, hits)
            beams.keep_finished(topk_scores, source, topk_tokens, hits, cur_len)
            # the recurrent state follows the new running beams (the encoder outputs are the same for one source's)
            state = self._select(state, beams.state_rows(parents).numpy(), recurrent_only=True)
            cur_len += 1
            if not beams.may_improve(hits, cur_len):
                return beams.sequences(prompt)[0]
            tokens = running_tokens.view(-1)


__all__ = ["DecoderStepForExport", "EncoderForExport", "OnnxSeq2SeqLSTM", "export_onnx"]
