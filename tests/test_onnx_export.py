"""ONNX export (hf_seq2seq_lstm/onnx_export.py, scripts/export_onnx.py): the exported encoder and decoder step compute
what the model computes, and decoding on onnxruntime gives the tokens of model.generate()."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'hf-seq2seq-lstm[onnx]')")
pytest.importorskip("onnx", reason="onnx is not installed (pip install 'hf-seq2seq-lstm[onnx]')")

from hf_seq2seq_lstm.onnx_export import OnnxSeq2SeqLSTM, export_onnx  # noqa: E402

from conftest import load_script, make_model, padded_batch  # noqa: E402

VARIANTS = {
    # bidirectional encoder (make_model's default), Luong general attention with input feeding
    "lstm-general-feeding-bi": dict(attention="luong_general", input_feeding=True),
    # reversed source, additive attention before the RNN, a bridge projection (encoder 2 x 10 -> decoder 16)
    "gru-bahdanau-reverse": dict(cell_type="gru", attention="bahdanau", reverse_source=True, encoder_hidden_size=10),
    "lstm-none": dict(attention="none"),
    # two vocabularies, tied output layer with its projection, 2 encoder layers into 1 decoder layer
    "two-vocabularies": dict(decoder_vocab_size=37, attention="luong_concat", tie_word_embeddings=True,
                             bidirectional_encoder=False, decoder_layers=1),
}
TOLERANCE = 1e-4
EOS = 2


def batches():
    """Right and left padding, a batch size and lengths the export never saw, a one-token source."""
    return [padded_batch(lengths=(9, 3, 6, 1, 5), seed=3), padded_batch(lengths=(4, 7, 2), seed=5, left=True)]


@pytest.fixture(scope="module", params=list(VARIANTS))
def exported(request, tmp_path_factory):
    model = make_model(**VARIANTS[request.param])
    with torch.no_grad():  # make EOS likely enough that some hypotheses end early
        model.lm_head.weight[EOS] *= 3
    folder = tmp_path_factory.mktemp(request.param)
    export_onnx(model, folder)
    return model, OnnxSeq2SeqLSTM.from_folder(folder)


def close(actual, expected):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)


def test_encoder_matches_model(exported):
    model, onnx_model = exported
    for input_ids, attention_mask in batches():
        encoded = onnx_model.encode(input_ids.numpy(), attention_mask.numpy())
        with torch.no_grad():
            reference = model.model.encoder(input_ids, attention_mask)
            hidden, cell = model.model.bridge(reference)
        close(encoded["encoder_hidden_states"], reference.last_hidden_state)
        close(encoded["hidden"], hidden)
        assert ("cell" in encoded) == (cell is not None)
        if cell is not None:
            close(encoded["cell"], cell)
        attention = model.model.decoder.attention
        if hasattr(attention, "key_projection"):
            close(encoded["attention_keys"], attention.project_keys(reference.last_hidden_state))


def test_decoder_steps_match_model(exported):
    """Three steps fed the same tokens: the log-probs and the recurrent state of the model's cache, step by step."""
    model, onnx_model = exported
    generator = torch.Generator().manual_seed(7)
    for input_ids, attention_mask in batches():
        batch = input_ids.shape[0]
        tokens = torch.randint(3, model.config.target_vocab_size, (batch, 3), generator=generator)
        tokens[:, 0] = model.config.decoder_start_token_id
        state = onnx_model.initial_state(onnx_model.encode(input_ids.numpy(), attention_mask.numpy()))
        with torch.no_grad():
            encoder_outputs = model.model.encoder(input_ids, attention_mask)
        cache = None
        for t in range(3):
            with torch.no_grad():
                outputs = model(encoder_outputs=encoder_outputs, attention_mask=attention_mask,
                                decoder_input_ids=tokens[:, t : t + 1], past_key_values=cache, use_cache=True)
            cache = outputs.past_key_values
            log_probs, state = onnx_model.step(tokens[:, t].numpy(), state)
            close(log_probs, torch.log_softmax(outputs.logits[:, -1].float(), dim=-1))
            close(state["hidden"], cache.hidden)
            if cache.cell is not None:
                close(state["cell"], cache.cell)
            if cache.attentional is not None:
                close(state["attentional"], cache.attentional)


def assert_same_greedy_tokens(model, onnx_model, input_ids, attention_mask, max_new_tokens):
    """
    ORT's greedy tokens equal the model's; a difference is tolerated only where it begins at a near-tie of the
    model (best and second-best logits closer than 2 x TOLERANCE, within which test_decoder_steps_match_model holds
    the log-probs), which random models have now and then. In practice the tokens are equal.
    """
    output = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                            output_logits=True, return_dict_in_generate=True)
    expected = output.sequences
    actual = onnx_model.generate(input_ids.numpy(), attention_mask.numpy(), max_new_tokens=max_new_tokens)
    if actual.shape == expected.shape and torch.equal(actual, expected):
        return
    top2 = torch.stack(output.logits, dim=1).topk(2, dim=-1).values  # (B, T, 2)
    width = min(actual.shape[1], expected.shape[1])
    for row in range(expected.shape[0]):
        differs = (actual[row, :width] != expected[row, :width]).nonzero()
        if len(differs):
            step = differs[0].item() - 1
            margin = (top2[row, step, 0] - top2[row, step, 1]).item()
            assert margin < 2 * TOLERANCE, (row, step, margin, actual, expected)


@pytest.mark.parametrize("num_beams, length_penalty, early_stopping", [
    (1, 1.0, False), (4, 1.0, False), (4, 0.0, True), (4, 2.0, "never"), (3, -1.0, False),
])
def test_generate_matches_model(exported, num_beams, length_penalty, early_stopping):
    """Greedy and beam search, with padding (right and left), EOS reached by some hypotheses and not others."""
    model, onnx_model = exported
    for input_ids, attention_mask in batches():
        if num_beams == 1:
            assert_same_greedy_tokens(model, onnx_model, input_ids, attention_mask, 12)
            continue
        expected = model.generate(input_ids, attention_mask=attention_mask, num_beams=num_beams, max_new_tokens=12,
                                  length_penalty=length_penalty, early_stopping=early_stopping)
        actual = onnx_model.generate(input_ids.numpy(), attention_mask.numpy(), num_beams=num_beams,
                                     max_new_tokens=12, length_penalty=length_penalty, early_stopping=early_stopping)
        assert actual.shape == expected.shape and torch.equal(actual, expected), (actual, expected)


def test_generate_returns_several_sequences_and_refuses_empty_sources(exported):
    model, onnx_model = exported
    input_ids, attention_mask = batches()[0]
    expected = model.generate(input_ids, attention_mask=attention_mask, num_beams=4, num_return_sequences=2,
                              max_new_tokens=6)
    assert torch.equal(onnx_model.generate(input_ids, attention_mask, num_beams=4, num_return_sequences=2,
                                           max_new_tokens=6), expected)
    attention_mask[1] = 0
    with pytest.raises(ValueError, match="all padding"):
        onnx_model.generate(input_ids, attention_mask)
    with pytest.raises(ValueError, match="outside"):
        onnx_model.generate(input_ids + 1000)


def test_int8_export_decodes(tmp_path):
    model = make_model(attention="luong_general", input_feeding=True)
    metadata = export_onnx(model, tmp_path, int8=True)
    assert metadata["int8"]
    onnx_model = OnnxSeq2SeqLSTM.from_folder(tmp_path)
    input_ids, attention_mask = batches()[0]
    encoded = onnx_model.encode(input_ids, attention_mask)
    with torch.no_grad():
        reference = model.model.encoder(input_ids, attention_mask).last_hidden_state.numpy()
    # quantized weights: close to the model, not equal
    assert np.abs(encoded["encoder_hidden_states"] - reference).max() < 0.2
    output = onnx_model.generate(input_ids, attention_mask, num_beams=2, max_new_tokens=5)
    assert output.shape[0] == input_ids.shape[0] and output.shape[1] <= 6
    assert (output[:, 0] == model.config.decoder_start_token_id).all()


def test_export_script_writes_loadable_folder(tmp_path):
    from transformers import AutoTokenizer

    from hf_seq2seq_lstm.tokenization import train_tokenizers

    sentences = [f"sentence number {i} of {i % 7} words" for i in range(60)]
    tokenizer = train_tokenizers(sentences, sentences, vocab_size=60)
    torch.manual_seed(0)
    from hf_seq2seq_lstm.models import new_model

    model = new_model(tokenizer, hidden_size=16, embedding_size=12, attention="bahdanau", bidirectional_encoder=True,
                      init_range=0.5).eval()
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")

    script = load_script("export_onnx")
    out = tmp_path / "onnx"
    assert script.run_cli(script.main, ["--model_name_or_path", str(tmp_path / "model"), "--output_dir", str(out)]) == 0
    names = {path.name for path in out.iterdir()}
    assert {"encoder.onnx", "decoder.onnx", "onnx_config.json", "config.json", "generation_config.json"} <= names
    assert not [name for name in names if name.startswith(".tmp-")]
    assert json.loads((out / "config.json").read_text())["model_type"] == "seq2seq_lstm"
    loaded_tokenizer = AutoTokenizer.from_pretrained(out)
    batch = loaded_tokenizer(["sentence number 3 of 3", "words"], return_tensors="pt", padding=True)
    onnx_model = OnnxSeq2SeqLSTM.from_folder(out)
    for num_beams in (1, 4):
        expected = model.generate(**batch, num_beams=num_beams, max_new_tokens=8)
        assert torch.equal(onnx_model.generate(batch["input_ids"], batch["attention_mask"], num_beams=num_beams,
                                               max_new_tokens=8), expected)


def test_unsupported_generation_options_are_refused(tmp_path):
    model = make_model(attention="none")
    export_onnx(model, tmp_path)
    (tmp_path / "generation_config.json").write_text(json.dumps({"no_repeat_ngram_size": 3, "min_length": 0}))
    input_ids, attention_mask = batches()[0]
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        OnnxSeq2SeqLSTM.from_folder(tmp_path).generate(input_ids, attention_mask)
