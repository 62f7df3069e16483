"""hf_seq2seq_lstm.quantize(): int8 LSTM/GRU and Linear layers that run generate(), the pipelines and translate.py.

int8 kernels differ between CPUs (fbgemm on AVX2 / AVX-512, qnnpack on ARM), so outputs are compared with fp32's
for closeness (logits relative to their scale, agreement rates of argmax decisions), never for equality.
"""

import pytest
import torch
import torch.ao.nn.quantized.dynamic as dynamic_quantized
from torch import nn

import hf_seq2seq_lstm
from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.inference import translate
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.quantization import Int8RNN, is_quantized
from hf_seq2seq_lstm.tokenization import load_tokenizer

from conftest import load_script, make_model, padded_batch
from reliability_helpers import save_digit_model

TARGET_VOCAB = 37
VARIANTS = {
    "lstm": dict(),
    "gru": dict(cell_type="gru"),
    "lstm_bahdanau": dict(attention="bahdanau"),
    "gru_bahdanau_two_vocabularies": dict(cell_type="gru", attention="bahdanau", decoder_vocab_size=TARGET_VOCAB),
    "lstm_luong_general_input_feeding": dict(attention="luong_general", input_feeding=True),
    "gru_luong_general_input_feeding": dict(cell_type="gru", attention="luong_general", input_feeding=True),
    # one-direction encoder of another size: the bridge projects the final states (more Linear layers)
    "lstm_no_attention_bridge": dict(attention="none", bidirectional_encoder=False, encoder_hidden_size=10),
    "lstm_luong_dot_tied": dict(attention="luong_dot", tie_word_embeddings=True),
}
LENGTHS = [3 + (i * 5) % 9 for i in range(32)]  # 32 sources of 3 to 11 tokens


def quantized_pair(name):
    model = make_model(**VARIANTS[name])
    return model, hf_seq2seq_lstm.quantize(model)


def target_vocab(model):
    return model.config.target_vocab_size


@pytest.mark.parametrize("name", VARIANTS)
def test_linear_and_rnn_layers_are_int8_and_the_original_is_untouched(name):
    model, int8 = quantized_pair(name)
    assert is_quantized(int8) and not is_quantized(model)
    # nothing float is left but the embeddings
    leftover = [n for n, m in int8.named_modules() if isinstance(m, (nn.Linear, nn.RNNBase, nn.RNNCellBase))]
    assert leftover == []
    linears = [m for m in int8.modules() if isinstance(m, dynamic_quantized.Linear)]
    assert len(linears) == sum(isinstance(m, nn.Linear) for m in model.modules())
    for linear in linears:
        weight = linear.weight()
        assert weight.dtype == torch.qint8 and weight.qscheme() == torch.per_channel_affine
        assert linear._packed_params._packed_params is not None  # prepacked once, at quantize()
    rnn_class = dynamic_quantized.LSTM if model.config.cell_type == "lstm" else dynamic_quantized.GRU
    encoder_layers = list(int8.model.encoder.layers)
    assert all(type(layer) is rnn_class for layer in encoder_layers)
    assert encoder_layers[0].bidirectional == model.config.bidirectional_encoder
    for layer in encoder_layers:
        assert len(layer._all_weight_values) == (2 if layer.bidirectional else 1)
    for layer in int8.model.decoder.layers:
        assert isinstance(layer, Int8RNN) and layer.is_lstm == (model.config.cell_type == "lstm")
        assert layer.cell.get_weight()["weight_ih"].dtype == torch.qint8
        assert layer.cell.get_weight()["weight_hh"].dtype == torch.qint8
    # embeddings stay fp32, and the fp32 model keeps its float modules
    assert int8.model.encoder.embed_tokens.weight.dtype == torch.float32
    assert int8.model.decoder.embed_tokens.weight.dtype == torch.float32
    assert type(model.lm_head) is nn.Linear and type(model.model.decoder.layers[0]) in (nn.LSTM, nn.GRU)
    assert not any(p.requires_grad for p in int8.parameters())


@pytest.mark.parametrize("name", VARIANTS)
def test_teacher_forced_logits_are_close_to_fp32(name):
    model, int8 = quantized_pair(name)
    input_ids, attention_mask = padded_batch(LENGTHS, seed=3)
    labels = torch.randint(4, target_vocab(model), (len(LENGTHS), 7), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        actual = int8(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    # relative to the logits' spread over the vocabulary (softmax ignores a shift per row): ~3% on x86
    centred = expected.logits - expected.logits.mean(-1, keepdim=True)
    error = (actual.logits - expected.logits).norm() / centred.norm()
    assert error < 0.12, f"int8 logits differ by {error:.3f} of their scale"
    assert abs(actual.loss - expected.loss) < 0.05 * expected.loss
    # the step-by-step path (input feeding, Bahdanau) and the fused one both went through the int8 layers
    assert not torch.equal(actual.logits, expected.logits)


@pytest.mark.parametrize("name", VARIANTS)
def test_greedy_decisions_agree_with_fp32(name):
    """
    Random models have small top-1 margins, where int8 rounding may flip a near-tie; the test therefore checks
    agreement rates over many decisions: the argmax at each step of fp32's greedy outputs, fed to both models
    (one decision per position, >= 95% agree on x86), and whole greedy sequences (62-90% of rows on x86).
    """
    model, int8 = quantized_pair(name)
    input_ids, attention_mask = padded_batch(LENGTHS, seed=3)
    with torch.no_grad():
        expected = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, do_sample=False)
        actual = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, do_sample=False)
        fp32_logits = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=expected).logits
        int8_logits = int8(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=expected).logits
    agreement = (fp32_logits.argmax(-1) == int8_logits.argmax(-1)).float().mean()
    assert agreement >= 0.85, f"int8 picks fp32's token at {agreement:.0%} of the steps"
    assert actual.shape[0] == expected.shape[0] and actual.max() < target_vocab(model)
    width = min(actual.shape[1], expected.shape[1])
    same_rows = (actual[:, :width] == expected[:, :width]).all(1).float().mean()
    assert same_rows >= 0.4, f"only {same_rows:.0%} of the greedy outputs equal fp32's"


def test_greedy_equals_fp32_where_margins_are_large():
    """
    A model whose greedy steps are won by wide margins decodes as fp32 does: its output layer scores token 7 with
    +3 s and token 9 with -3 s (all others 0), s the decoder output along one direction, so each step's margin is
    3 |s| and int8 (a few percent of s) changes a token only where s is near 0. Rows whose smallest fp32 margin is
    large must then decode to fp32's tokens.
    """
    model = make_model(attention="luong_general", input_feeding=True)
    direction = torch.nn.functional.normalize(torch.randn(model.lm_head.weight.shape[1],
                                                          generator=torch.Generator().manual_seed(5)), dim=0)
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.weight[7] = 3 * direction
        model.lm_head.weight[9] = -3 * direction
    int8 = hf_seq2seq_lstm.quantize(model)
    input_ids, attention_mask = padded_batch(LENGTHS, seed=3)
    with torch.no_grad():
        expected = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=5, do_sample=False,
                                  output_scores=True, return_dict_in_generate=True)
        actual = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=5, do_sample=False)
    top2 = torch.stack(expected.scores, 1).topk(2, -1).values
    margins = (top2[..., 0] - top2[..., 1]).min(1).values  # each row's narrowest step
    large = margins > 0.25 * margins.median()
    assert large.float().mean() >= 0.5
    assert actual.shape == expected.sequences.shape
    same = (actual == expected.sequences).all(1)
    assert same[large].float().mean() >= 0.9, (margins, same)


@pytest.mark.parametrize("name", VARIANTS)
def test_beam_search_and_sampling_run(name):
    model, int8 = quantized_pair(name)
    input_ids, attention_mask = padded_batch()
    vocab = target_vocab(model)
    with torch.no_grad():
        beams = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, num_beams=4,
                              num_return_sequences=2, output_scores=True, return_dict_in_generate=True)
        assert beams.sequences.shape[0] == 2 * input_ids.shape[0] and beams.sequences.max() < vocab
        assert torch.isfinite(beams.sequences_scores).all()
        fp32_beams = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, num_beams=4,
                                    num_return_sequences=2, output_scores=True, return_dict_in_generate=True)
        # the beams' scores (mean log-probabilities) are close to fp32's
        assert (beams.sequences_scores - fp32_beams.sequences_scores).abs().max() < 0.5
        torch.manual_seed(0)
        sampled = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, do_sample=True,
                                top_k=10, num_return_sequences=3)
    assert sampled.shape[0] == 3 * input_ids.shape[0] and sampled.max() < vocab


@pytest.mark.parametrize("name", ["lstm", "gru_bahdanau_two_vocabularies"])
def test_plain_beam_search_matches_transformers_beam_search(name):
    """Beam search without optional outputs (the modeling file's lean beam search) on the int8 model."""
    _, int8 = quantized_pair(name)
    input_ids, attention_mask = padded_batch()
    with torch.no_grad():
        lean = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, num_beams=4)
        reference = int8.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, num_beams=4,
                                  lean_beam_search=False)
    assert torch.equal(lean, reference)


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_int8_rnn_cell_steps_match_its_fused_call(cell_type):
    """Int8RNN's per-token cell step and its whole-sequence call share one set of packed weights."""
    torch.manual_seed(0)
    rnn = (nn.LSTM if cell_type == "lstm" else nn.GRU)(6, 5, batch_first=True)
    layer = Int8RNN(rnn)
    inputs = torch.randn(3, 4, 6)
    hidden = torch.randn(1, 3, 5) * 0.5
    cell = torch.randn(1, 3, 5) * 0.5 if cell_type == "lstm" else None
    with torch.no_grad():
        fused, _ = layer(inputs, (hidden, cell) if cell is not None else hidden)
        expected, _ = rnn(inputs, (hidden, cell) if cell is not None else hidden)
        h, c, steps = hidden[0], cell[0] if cell is not None else None, []
        for t in range(inputs.shape[1]):
            h, c = layer.cell_step(inputs[:, t], h, c)
            steps.append(h)
    stepped = torch.stack(steps, 1)
    assert stepped.shape == fused.shape == expected.shape
    assert (stepped - fused).abs().max() < 0.05 and (stepped - expected).abs().max() < 0.05


def test_save_pretrained_refuses_and_quantize_is_idempotent(tmp_path):
    int8 = hf_seq2seq_lstm.quantize(make_model())
    with pytest.raises(NotImplementedError, match="cannot be saved"):
        int8.save_pretrained(tmp_path / "int8")
    assert not (tmp_path / "int8").exists()
    assert hf_seq2seq_lstm.quantize(int8) is int8
    model = make_model()
    assert hf_seq2seq_lstm.quantize(model, inplace=True) is model and is_quantized(model)


def test_base_model_quantizes():
    config = make_model().config
    base = hf_seq2seq_lstm.Seq2SeqLSTMModel(config).eval()
    int8 = hf_seq2seq_lstm.quantize(base)
    input_ids, attention_mask = padded_batch()
    with torch.no_grad():
        expected = base(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :3])
        actual = int8(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :3])
    scale = expected.last_hidden_state.abs().max()
    assert (actual.last_hidden_state - expected.last_hidden_state).abs().max() < 0.1 * scale


@pytest.fixture(scope="module")
def saved(fixed, tmp_path_factory):
    """A tiny untrained model of the digit task with large weights, saved with its tokenizer."""
    return save_digit_model(fixed, tmp_path_factory.mktemp("model"), hidden_size=16, attention="bahdanau")


SOURCES = ["12345678", "87654321", "1234", "99887766", "5", "31415926"]


def test_translation_pipeline_runs_on_the_int8_model(saved):
    model, tokenizer = load_model(saved), load_tokenizer(saved)
    int8 = hf_seq2seq_lstm.quantize(model)
    pipe = Seq2SeqLSTMTranslationPipeline(model=int8, tokenizer=tokenizer, max_new_tokens=8)
    outputs = pipe(SOURCES, batch_size=3)
    assert len(outputs) == len(SOURCES) and all(isinstance(o["translation_text"], str) for o in outputs)
    beams = pipe(SOURCES[:2], num_beams=4, num_return_sequences=2)
    assert [len(per_input) for per_input in beams] == [2, 2]
    # the same text as generate() on the int8 model, in this process (same CPU, same kernels)
    assert [o["translation_text"] for o in outputs] == translate(int8, tokenizer, SOURCES, max_new_tokens=8,
                                                                 progress=False)


def test_translate_script_int8_flag(saved, tmp_path):
    translate_script = load_script("translate")
    (tmp_path / "in.txt").write_text("\n".join(SOURCES) + "\n", encoding="utf-8")
    output = tmp_path / "out.txt"
    translate_script.main(["--model_name_or_path", str(saved), "--input", str(tmp_path / "in.txt"), "--output",
                           str(output), "--max_new_tokens", "8", "--num_beams", "3", "--disable_tqdm", "--device",
                           "cpu", "--int8"])
    int8 = hf_seq2seq_lstm.quantize(load_model(saved))
    expected = translate(int8, load_tokenizer(saved), SOURCES, max_new_tokens=8, num_beams=3, progress=False)
    assert output.read_text(encoding="utf-8").splitlines() == expected
    assert translate_script.parse_args(["--model_name_or_path", "m"]).int8 is False


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU to refuse")
def test_quantize_refuses_a_model_on_gpu():
    with pytest.raises(ValueError, match="CPU only"):
        hf_seq2seq_lstm.quantize(make_model().cuda())
