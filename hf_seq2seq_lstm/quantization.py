# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""int8 serving on CPU: `quantize(model)` returns a copy of a model with int8 weights, for `generate()` and the
pipelines.

    model = hf_seq2seq_lstm.quantize(load_model("outputs/multi30k"))
    model.generate(**batch, num_beams=5)          # greedy, beam search and sampling alike

Dynamic quantization (torch's eager int8 kernels, fbgemm/x86 or qnnpack): every weight matrix is quantized to int8
once, per output channel, and prepacked for the kernels; activations are quantized on the fly per call, so there is
no calibration data to give. Quantized:

- every `nn.Linear`: attention projections and scores, the attentional `combine`, the bridge projections, the output
  projection and `lm_head` (the int8 `lm_head` is its own copy: a tied embedding stays fp32);
- every encoder and decoder LSTM/GRU layer (both matrices of each gate, both directions).

Not quantized: the embeddings. A lookup is a gather, not a matmul, so int8 kernels would save no compute, and an
int8 table would add a dequantization to every looked-up row and cost accuracy; they stay fp32. Everything
element-wise (gate non-linearities, softmax, tanh) runs in fp32 as before: only the matrix products are int8.

The decoder layers are `Int8RNN` modules: one set of prepacked weights serves both the per-token cell step of the
step-by-step decoder and generation (`rnn_cell_step` of the modeling file calls their `cell_step`), and the fused
multi-token call of a teacher-forced forward. The encoder layers are torch's dynamic quantized `LSTM`/`GRU`, which
read packed sequences as `nn.LSTM`/`nn.GRU` do.

The result is for inference: it has no gradients (`torch.ao` int8 modules do not train), and it cannot be saved
(`save_pretrained` / `push_to_hub` raise): save the fp32 model, and quantize after loading. Outputs are close to
fp32's, not equal: int8 rounding changes logits by a small fraction of their scale, which can flip a near-tie between
two tokens; and the int8 kernels differ between CPUs (AVX2, AVX-512, ARM), so the exact outputs may too. CPU only
(torch has no CUDA kernels for these modules).

torch 2.13 marks its eager quantization API (`torch.ao.quantization`, quantized tensors) as deprecated; it still
works, and the deprecation warnings it gives while the weights are packed are silenced here.
"""

import copy
import warnings

import torch
import torch.ao.nn.quantized.dynamic as dynamic_quantized
from torch import nn
from torch.ao.nn.quantized.dynamic.modules.rnn import PackedParameter
from torch.ao.quantization import per_channel_dynamic_qconfig

__all__ = ["Int8RNN", "is_quantized", "quantize"]


def _int8(module: nn.Module, quantized_class):
    """`quantized_class.from_float(module)`: int8 weights per output channel, prepacked."""
    module = copy.copy(module)  # from_float reads `qconfig` off the module: set it on a shallow copy
    module.qconfig = per_channel_dynamic_qconfig
    return quantized_class.from_float(module)


class Int8RNN(nn.Module):
    """
    A single-layer, one-direction `nn.LSTM`/`nn.GRU` (batch first) with int8 weights, for the decoder:
    `forward(inputs, state)` as the float module's for a whole sequence, and `cell_step(inputs, hidden, cell)` as
    `rnn_cell_step` for one token. Both use the same weights, quantized and prepacked once.
    """

    def __init__(self, rnn: nn.LSTM | nn.GRU):
        super().__init__()
        if rnn.num_layers != 1 or rnn.bidirectional or not rnn.batch_first or not rnn.bias:
            raise ValueError(f"Int8RNN takes a single-layer, one-direction, batch-first RNN with biases, not {rnn}.")
        self.is_lstm = isinstance(rnn, nn.LSTM)
        cell_class, float_cell_class = (
            (dynamic_quantized.LSTMCell, nn.LSTMCell) if self.is_lstm else (dynamic_quantized.GRUCell, nn.GRUCell)
        )
        float_cell = float_cell_class(rnn.input_size, rnn.hidden_size)
        float_cell.load_state_dict({name: getattr(rnn, f"{name}_l0") for name in
                                    ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
        self.cell = _int8(float_cell, cell_class)
        # The fused module for sequences, on the cell's packed weights (its constructor's random ones are replaced).
        fused_class = dynamic_quantized.LSTM if self.is_lstm else dynamic_quantized.GRU
        self.sequence = fused_class(rnn.input_size, rnn.hidden_size, batch_first=True)
        self.sequence._all_weight_values = nn.ModuleList([PackedParameter(
            torch.ops.quantized.make_quantized_cell_params_dynamic(
                self.cell._packed_weight_ih, self.cell._packed_weight_hh, self.cell.bias_ih, self.cell.bias_hh, True
            )
        )])
        self.input_size, self.hidden_size = rnn.input_size, rnn.hidden_size
        self._cell_op = (torch.ops.quantized.quantized_lstm_cell_dynamic if self.is_lstm
                         else torch.ops.quantized.quantized_gru_cell_dynamic)

    def forward(self, inputs, state=None):
        return self.sequence(inputs, state)

    def cell_step(self, inputs, hidden, cell=None):
        """inputs (B, in), hidden and cell (B, H) -> new hidden and cell (None for a GRU), as `rnn_cell_step`."""
        packed = (self.cell._packed_weight_ih, self.cell._packed_weight_hh, self.cell.bias_ih, self.cell.bias_hh)
        if self.is_lstm:
            return self._cell_op(inputs, (hidden, cell), *packed)
        return self._cell_op(inputs, hidden, *packed), None

    def extra_repr(self):
        return f"{'LSTM' if self.is_lstm else 'GRU'}, {self.input_size}, {self.hidden_size}, dtype=torch.qint8"


def _refuse_save(*args, **kwargs):
    raise NotImplementedError(
        "This model was quantized to int8 by hf_seq2seq_lstm.quantize() and cannot be saved (its weights are packed "
        "for torch's int8 kernels, not tensors a safetensors file or from_pretrained can hold): save the fp32 model "
        "and call quantize() after loading it."
    )


def is_quantized(model: nn.Module) -> bool:
    """Whether `model` came from `quantize()`."""
    return getattr(model, "_int8_quantized", False)


def quantize(model: nn.Module, inplace: bool = False) -> nn.Module:
    """
    An int8 copy of `model` (a `Seq2SeqLSTMForConditionalGeneration` or `Seq2SeqLSTMModel`, on CPU) for inference:
    every `nn.Linear` and every encoder and decoder LSTM/GRU layer gets int8 weights, quantized per output channel
    and prepacked once; the embeddings stay fp32. It runs `generate()` (greedy, beam search, sampling), the
    pipelines and teacher-forced forwards, in eval mode and without gradients, and cannot be saved. With
    `inplace=True` the given model is converted (and returned) instead of a copy. See the module docstring.
    """
    if is_quantized(model):
        return model
    if any(tensor.device.type != "cpu" for tensor in model.parameters()):
        raise ValueError("quantize() runs on CPU only (torch's int8 kernels have no CUDA version): call "
                         "model.to('cpu') first.")
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    base = getattr(model, "model", model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(deprecated|quantiz).*", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        decoder_layers = base.decoder.layers
        for i, rnn in enumerate(decoder_layers):
            decoder_layers[i] = Int8RNN(rnn)
        encoder_layers = base.encoder.layers
        for i, rnn in enumerate(encoder_layers):
            quantized_class = dynamic_quantized.LSTM if isinstance(rnn, nn.LSTM) else dynamic_quantized.GRU
            encoder_layers[i] = _int8(rnn, quantized_class)
        linears = [(name, module) for name, module in model.named_modules() if type(module) is nn.Linear]
        for name, module in linears:
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, _int8(module, dynamic_quantized.Linear))
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    model._int8_quantized = True
    model.save_pretrained = _refuse_save
    model.push_to_hub = _refuse_save
    return model
