"""`Seq2SeqLSTMConfig`: its validation names the field and the fix."""

import pytest
from huggingface_hub.errors import StrictDataclassError

from hf_seq2seq_lstm import Seq2SeqLSTMConfig


@pytest.mark.parametrize("overrides,field", [
    (dict(cell_type="rnn"), "cell_type"),
    (dict(attention="multihead"), "attention"),
    (dict(input_feeding=True), "input_feeding"),
    (dict(attention="bahdanau", input_feeding=True), "input_feeding"),
    (dict(attention="luong_dot", bidirectional_encoder=True, encoder_hidden_size=100), "attention"),
    (dict(share_embeddings=True, decoder_vocab_size=50), "share_embeddings"),
    (dict(dropout=1.5), "dropout"),
    (dict(teacher_forcing_ratio=-0.1), "teacher_forcing_ratio"),
    (dict(hidden_size=0), "hidden_size"),
    (dict(encoder_layers=1.5), "encoder_layers"),
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(pad_token_id=500), "pad_token_id"),
    (dict(dropout="0.1"), "dropout"),  # a hand-edited config.json
    (dict(dropout=None), "dropout"),
    (dict(bidirectional_encoder="yes"), "bidirectional_encoder"),
])
def test_invalid_config_raises(overrides, field):
    """Cross-field rules name the field and the fix; wrong types are caught by the strict dataclass, per field."""
    with pytest.raises(StrictDataclassError, match=rf"invalid {field}=|field '{field}'"):
        Seq2SeqLSTMConfig(vocab_size=100, **overrides)
