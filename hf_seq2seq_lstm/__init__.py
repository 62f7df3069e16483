"""hf-seq2seq-lstm: the LSTM/GRU encoder-decoder with attention, as a native transformers model.

Importing the package registers the model with AutoConfig, AutoModel and AutoModelForSeq2SeqLM, and its
two-vocabulary tokenizer with AutoTokenizer.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .modeling_seq2seq_lstm import (
    Seq2SeqLSTMCache,
    Seq2SeqLSTMDecoderOutput,
    Seq2SeqLSTMEncoderOutput,
    Seq2SeqLSTMForConditionalGeneration,
    Seq2SeqLSTMModel,
    Seq2SeqLSTMPreTrainedModel,
)
from .quantization import quantize
from .tokenization_seq2seq_lstm import Seq2SeqLSTMTokenizer

AutoConfig.register(Seq2SeqLSTMConfig.model_type, Seq2SeqLSTMConfig, exist_ok=True)
AutoModel.register(Seq2SeqLSTMConfig, Seq2SeqLSTMModel, exist_ok=True)
AutoModelForSeq2SeqLM.register(Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, exist_ok=True)
AutoTokenizer.register(Seq2SeqLSTMConfig, fast_tokenizer_class=Seq2SeqLSTMTokenizer, exist_ok=True)

# save_pretrained then copies the model files next to the weights and writes `auto_map`, so that
# people without this package load the model with trust_remote_code=True.
Seq2SeqLSTMConfig.register_for_auto_class()
Seq2SeqLSTMModel.register_for_auto_class("AutoModel")
Seq2SeqLSTMForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
Seq2SeqLSTMTokenizer.register_for_auto_class("AutoTokenizer")

__version__ = "0.1.0"

__all__ = [
    "Seq2SeqLSTMCache",
    "Seq2SeqLSTMDecoderOutput",
    "Seq2SeqLSTMConfig",
    "Seq2SeqLSTMEncoderOutput",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMModel",
    "Seq2SeqLSTMPreTrainedModel",
    "Seq2SeqLSTMTokenizer",
    "quantize",
]
