"""The model: cached generation equals recomputation, padding invariance, save/load, training signal, errors."""

import json
import subprocess

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from hf_seq2seq_lstm import Seq2SeqLSTMCache, Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, Seq2SeqLSTMModel
from hf_seq2seq_lstm.modeling_seq2seq_lstm import LogitsCrossEntropy

from conftest import BLOCK_PACKAGE, PYTHON, VOCAB, make_model, padded_batch

ATTENTION_VARIANTS = [
    dict(attention="none"),
    dict(attention="bahdanau"),
    dict(attention="luong_dot"),
    dict(attention="luong_general"),
    dict(attention="luong_concat"),
    dict(attention="luong_general", input_feeding=True),
]
VARIANT_IDS = ["none", "bahdanau", "luong_dot", "luong_general", "luong_concat", "luong_general_feed"]


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
@pytest.mark.parametrize("variant", ATTENTION_VARIANTS, ids=VARIANT_IDS)
def test_cached_generation_equals_recomputation(variant, cell_type):
    model = make_model(cell_type=cell_type, **variant)
    input_ids, attention_mask = padded_batch()
    common = dict(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=12, min_new_tokens=3)

    def both(**kwargs):
        runs = []
        for use_cache in (True, False):
            if kwargs.get("do_sample"):
                torch.manual_seed(123)
            runs.append(model.generate(**common, **kwargs, use_cache=use_cache, return_dict_in_generate=True,
                                       output_scores=True))
        return runs

    cached, recomputed = both(do_sample=False)
    assert torch.equal(cached.sequences, recomputed.sequences)
    assert len({tuple(row) for row in cached.sequences.tolist()}) > 1, "outputs ignore the source: proves nothing"

    cached, recomputed = both(num_beams=4, num_return_sequences=2)
    assert torch.equal(cached.sequences, recomputed.sequences)
    torch.testing.assert_close(cached.sequences_scores, recomputed.sequences_scores)

    cached, recomputed = both(do_sample=True, top_k=10, top_p=0.9, temperature=0.8)
    assert torch.equal(cached.sequences, recomputed.sequences)

    cached, recomputed = both(repetition_penalty=1.5, no_repeat_ngram_size=2, bad_words_ids=[[5], [6, 7]],
                              forced_eos_token_id=2, num_beams=3)
    assert torch.equal(cached.sequences, recomputed.sequences)


@pytest.mark.parametrize("variant", ATTENTION_VARIANTS, ids=VARIANT_IDS)
def test_incremental_decoding_matches_full_forward(variant):
    """The fused whole-sequence path and the per-token cached path compute the same function."""
    model = make_model(**variant)
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = padded_batch(lengths=(5, 5, 5, 5), seed=2)[0]
    full = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
    cache, steps = None, []
    for t in range(decoder_input_ids.shape[1]):
        out = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids[:, t:t + 1],
                    past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        steps.append(out.logits)
    assert isinstance(cache, Seq2SeqLSTMCache) and cache.get_seq_length() == decoder_input_ids.shape[1]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("left", [False, True], ids=["right_padding", "left_padding"])
@pytest.mark.parametrize("variant", [dict(attention="none", reverse_source=True), dict(attention="bahdanau"),
                                     dict(attention="luong_general", input_feeding=True, reverse_source=True)],
                         ids=["none_reversed", "bahdanau", "luong_feed_reversed"])
def test_padding_invariance(variant, left):
    model = make_model(**variant)
    input_ids, attention_mask = padded_batch(left=left)
    decoder_input_ids = padded_batch(lengths=(6,) * 4, seed=3)[0]
    batched = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids)
    greedy = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=10, min_new_tokens=10)
    for row in range(input_ids.shape[0]):
        real = attention_mask[row].bool()
        alone = model(input_ids=input_ids[row:row + 1, real], decoder_input_ids=decoder_input_ids[row:row + 1])
        torch.testing.assert_close(alone.logits[0], batched.logits[row], atol=1e-5, rtol=1e-5)
        alone_greedy = model.generate(input_ids=input_ids[row:row + 1, real], max_new_tokens=10, min_new_tokens=10)
        assert torch.equal(alone_greedy[0], greedy[row])


def test_reverse_source_reads_each_sentence_backwards():
    """Reversing per sentence equals feeding the reversed sentence to the non-reversing model."""
    reversed_model = make_model(attention="luong_dot", reverse_source=True)
    plain_model = make_model(attention="luong_dot", reverse_source=False)
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = padded_batch(lengths=(4,) * 4, seed=4)[0]
    out = reversed_model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                         output_attentions=True)
    for row in range(input_ids.shape[0]):
        tokens = input_ids[row, attention_mask[row].bool()]
        plain = plain_model(input_ids=tokens.flip(0)[None], decoder_input_ids=decoder_input_ids[row:row + 1],
                            output_attentions=True)
        torch.testing.assert_close(plain.logits[0], out.logits[row], atol=1e-5, rtol=1e-5)
        # attention weights are reported in the original source order
        torch.testing.assert_close(plain.cross_attentions[0][0, 0].flip(-1),
                                   out.cross_attentions[0][row, 0, :, :len(tokens)], atol=1e-5, rtol=1e-5)


def test_outputs_attentions_hidden_states_and_embeddings():
    model = make_model(attention="luong_general", input_feeding=True)
    input_ids, attention_mask = padded_batch()
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=input_ids[:, :5],
                output_attentions=True, output_hidden_states=True)
    (weights,) = out.cross_attentions
    assert weights.shape == (4, 1, 5, 7)  # (batch, heads, target, source), the library's layout, one head
    weights = weights[:, 0]
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 5))
    assert torch.all(weights.masked_select(~attention_mask.bool()[:, None, :].expand_as(weights)) == 0)
    assert len(out.encoder_hidden_states) == 3 and out.encoder_hidden_states[-1].shape == (4, 7, 16)
    assert len(out.decoder_hidden_states) == 3 and out.decoder_hidden_states[-1].shape == (4, 5, 16)

    # The seed's example: continuous vectors in and out, (5, 7, 10) -> (5, 8, 10).
    torch.manual_seed(0)
    base = Seq2SeqLSTMModel(Seq2SeqLSTMConfig(vocab_size=VOCAB, embedding_size=10, hidden_size=10))
    out = base(inputs_embeds=torch.randn(5, 7, 10), decoder_inputs_embeds=torch.randn(5, 8, 10))
    assert out.last_hidden_state.shape == (5, 8, 10)

    generated = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6, min_new_tokens=6,
                               output_attentions=True, return_dict_in_generate=True, num_beams=2)
    assert len(generated.cross_attentions) == 6 and generated.cross_attentions[0][0].shape[-1] == 7


def test_loss_ignores_padding_and_applies_label_smoothing():
    model = make_model(attention="bahdanau", label_smoothing=0.1)
    input_ids, attention_mask = padded_batch()
    labels = padded_batch(lengths=(5, 3, 4, 1), seed=5)[0].masked_fill(
        padded_batch(lengths=(5, 3, 4, 1), seed=5)[1] == 0, -100)
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits.reshape(-1, VOCAB), labels.reshape(-1), ignore_index=-100,
                                                 label_smoothing=0.1)
    torch.testing.assert_close(out.loss, expected)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=labels)
    assert decoder_input_ids[0, 0] == model.config.decoder_start_token_id
    assert torch.equal(decoder_input_ids[:, 1:][labels[:, :-1] != -100], labels[:, :-1][labels[:, :-1] != -100])
    assert not (decoder_input_ids == -100).any()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_fused_cross_entropy_matches_torch_value_and_gradient(label_smoothing, dtype):
    generator = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(40, 23, generator=generator)).to(dtype).requires_grad_()
    labels = torch.randint(0, 23, (40,), generator=generator)
    labels[::3] = -100
    loss = LogitsCrossEntropy.apply(logits, labels, label_smoothing)
    (gradient,) = torch.autograd.grad(2.5 * loss, logits)
    reference_logits = logits.detach().to(torch.promote_types(dtype, torch.float32)).requires_grad_()
    expected = torch.nn.functional.cross_entropy(reference_logits, labels, ignore_index=-100,
                                                 label_smoothing=label_smoothing)
    (expected_gradient,) = torch.autograd.grad(2.5 * expected, reference_logits)
    assert gradient.dtype == dtype
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    tolerance = 1e-2 if dtype == torch.bfloat16 else 1e-6
    torch.testing.assert_close(gradient.to(expected_gradient.dtype), expected_gradient, rtol=tolerance, atol=tolerance)
    assert gradient[labels == -100].abs().sum() == 0


@pytest.mark.parametrize("teacher_forcing_ratio", [1.0, 0.5])
def test_overfits_eight_sentences(teacher_forcing_ratio):
    model = make_model(attention="luong_general", input_feeding=teacher_forcing_ratio == 1.0, init_range=0.1,
                       teacher_forcing_ratio=teacher_forcing_ratio, hidden_size=48, embedding_size=24).train()
    input_ids, attention_mask = padded_batch(lengths=(6, 5, 7, 4, 6, 3, 5, 7), seed=7)
    labels = torch.cat([input_ids.flip(1)[:, :5], torch.full((8, 1), 2)], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    model.eval()
    generated = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6)
    assert torch.equal(generated[:, 1:7], labels)


def test_scheduled_sampling_feeds_predictions_in_training_only():
    model = make_model(attention="luong_dot", teacher_forcing_ratio=0.0)
    input_ids, attention_mask = padded_batch()
    labels = padded_batch(lengths=(6,) * 4, seed=8)[0]
    evaluation = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits
    model.train()
    sampled = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits
    # ratio 0: the model always reads its own greedy predictions, which is exactly greedy decoding
    model.eval()
    cache, tokens, greedy_logits = None, torch.full((4, 1), model.config.decoder_start_token_id), []
    for _ in range(labels.shape[1]):
        step = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=tokens,
                     past_key_values=cache, use_cache=True)
        cache, tokens = step.past_key_values, step.logits.argmax(-1)
        greedy_logits.append(step.logits)
    torch.testing.assert_close(sampled, torch.cat(greedy_logits, dim=1), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(sampled, evaluation)


@pytest.mark.parametrize("overrides", [
    dict(attention="bahdanau", cell_type="gru", tie_word_embeddings=True, share_embeddings=True),
    dict(attention="luong_concat", input_feeding=True, encoder_layers=1, decoder_layers=3, teacher_forcing_ratio=0.5),
    dict(attention="none", bidirectional_encoder=False, encoder_hidden_size=20, decoder_vocab_size=30),
], ids=["gru_bahdanau_tied", "concat_feed_layers", "none_projected"])
def test_gradients_reach_every_parameter(overrides):
    model = make_model(**overrides).train()
    input_ids, attention_mask = padded_batch()
    labels = padded_batch(lengths=(5,) * 4, seed=9, vocab=model.config.target_vocab_size)[0]
    model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_bad_inputs_get_clear_errors():
    model = make_model()
    with pytest.raises(ValueError, match="outside"):
        model(input_ids=torch.tensor([[5, VOCAB + 3]]), decoder_input_ids=torch.tensor([[1]]))
    with pytest.raises(ValueError, match="all padding"):
        model.generate(input_ids=torch.tensor([[5, 6], [0, 0]]), attention_mask=torch.tensor([[1, 1], [0, 0]]))
    with pytest.raises(ValueError, match="empty"):
        model.generate(input_ids=torch.zeros(0, 3, dtype=torch.long), max_new_tokens=3)
    with pytest.raises(ValueError, match="stateful"):
        model.generate(input_ids=torch.tensor([[5, 6, 7]]), prompt_lookup_num_tokens=2, max_new_tokens=4)


def test_bfloat16_forward_and_generate():
    model = make_model(attention="luong_general", input_feeding=True).to(torch.bfloat16)
    input_ids, attention_mask = padded_batch()
    assert model(input_ids=input_ids, attention_mask=attention_mask, labels=input_ids).logits.dtype == torch.bfloat16
    assert model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=4,
                          num_beams=2).shape[0] == 4


@pytest.mark.parametrize("overrides", [
    dict(attention="luong_general", tie_word_embeddings=True, share_embeddings=True),
    dict(attention="bahdanau", cell_type="gru", decoder_vocab_size=30, reverse_source=True),
], ids=["tied_shared", "gru_separate_vocab"])
def test_save_load_round_trip(tmp_path, overrides):
    model = make_model(**overrides)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert {"configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py"} <= {p.name for p in tmp_path.iterdir()}
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert set(auto_map) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    generation_config = json.loads((tmp_path / "generation_config.json").read_text())
    assert not {"max_length", "top_k", "num_beams", "temperature"} & set(generation_config)

    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert (type(loaded) is Seq2SeqLSTMForConditionalGeneration
            and type(AutoConfig.from_pretrained(tmp_path)) is Seq2SeqLSTMConfig)
    # The weights come back bit for bit; the logits are computed again from tensors at other addresses, where BLAS
    # may pick another kernel (a last-bit difference, ~1e-8, on some CPUs), so they are compared with a tolerance
    # that a wrong or missing weight exceeds by orders of magnitude.
    saved, reloaded = model.state_dict(), loaded.state_dict()
    assert saved.keys() == reloaded.keys()
    for name in saved:
        assert torch.equal(saved[name], reloaded[name]), name
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = padded_batch(lengths=(5,) * 4, seed=2, vocab=30)[0]
    torch.testing.assert_close(
        loaded(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits,
        model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits,
        rtol=1e-5, atol=1e-6)
    if model.config.tie_word_embeddings:
        assert loaded.lm_head.weight is loaded.model.decoder.embed_tokens.weight
        assert loaded.model.decoder.embed_tokens.weight is loaded.model.encoder.embed_tokens.weight
    assert type(AutoModel.from_pretrained(tmp_path)) is Seq2SeqLSTMModel


def test_fresh_process_without_package_loads_with_trust_remote_code(tmp_path, clean_env):
    model = make_model(attention="luong_concat", input_feeding=True)
    model.save_pretrained(tmp_path / "saved")
    input_ids, attention_mask = padded_batch()
    expected = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=8, num_beams=3)
    code = BLOCK_PACKAGE + f"""
import importlib.util, json, torch
from transformers import AutoModel, AutoModelForSeq2SeqLM
assert importlib.util.find_spec("transformers") is not None
try:
    import hf_seq2seq_lstm
    raise SystemExit("package importable")
except ModuleNotFoundError:
    pass
path = {str(tmp_path / "saved")!r}
model = AutoModelForSeq2SeqLM.from_pretrained(path, trust_remote_code=True).eval()
base = AutoModel.from_pretrained(path, trust_remote_code=True)
input_ids = torch.tensor({input_ids.tolist()})
attention_mask = torch.tensor({attention_mask.tolist()})
out = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=8, num_beams=3)
print(json.dumps({{"tokens": out.tolist(), "model": type(model).__name__, "base": type(base).__name__,
                   "module": type(model).__module__}}))
"""
    result = subprocess.run([PYTHON, "-c", code], cwd=tmp_path, env=clean_env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["tokens"] == expected.tolist()
    assert report["model"] == "Seq2SeqLSTMForConditionalGeneration" and report["base"] == "Seq2SeqLSTMModel"
    assert report["module"].startswith("transformers_modules")


def two_vocabulary_model(decoder_vocab_size, **overrides):
    return make_model(decoder_vocab_size=decoder_vocab_size, attention="luong_general", **overrides)


@pytest.mark.parametrize("decoder_vocab_size", [23, 67])  # smaller and larger than the source's 41
def test_generate_scores_with_vocabularies_of_different_sizes(decoder_vocab_size):
    """The library reads the logits' width from get_text_config(): beam scores, compute_transition_scores."""
    model = two_vocabulary_model(decoder_vocab_size)
    assert model.config.get_text_config(decoder=True).vocab_size == decoder_vocab_size
    assert model.config.get_text_config().vocab_size == decoder_vocab_size
    assert model.config.get_text_config(encoder=True).vocab_size == VOCAB
    input_ids, attention_mask = padded_batch()
    out = model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=5,
                         min_new_tokens=5, output_scores=True, return_dict_in_generate=True, length_penalty=0.0)
    assert out.scores[0].shape[-1] == decoder_vocab_size
    transition = model.compute_transition_scores(out.sequences, out.scores, out.beam_indices, normalize_logits=False)
    # with length_penalty 0 a beam's score is the sum of its transition scores
    torch.testing.assert_close(transition.sum(-1), out.sequences_scores, rtol=1e-4, atol=1e-4)
    # greedy: each transition score is the log-probability of the chosen token, recomputed by a teacher-forced pass
    greedy = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=5, min_new_tokens=5,
                            output_logits=True, return_dict_in_generate=True)
    transition = model.compute_transition_scores(greedy.sequences, greedy.logits, normalize_logits=True)
    logits = model(input_ids=input_ids, attention_mask=attention_mask,
                   decoder_input_ids=greedy.sequences[:, :-1]).logits
    expected = logits.log_softmax(-1).gather(-1, greedy.sequences[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(transition, expected, rtol=1e-4, atol=1e-4)


def test_logits_processors_with_vocabularies_of_different_sizes():
    model = two_vocabulary_model(23)
    input_ids, attention_mask = padded_batch()
    banned = [[5], [7, 8]]
    out = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6, num_beams=2,
                         bad_words_ids=banned, forced_eos_token_id=2, min_new_tokens=1)
    assert not (out == 5).any() and (out == 2).any(dim=1).all()  # banned word absent, every output ends
    assert out.max() < 23
    with pytest.raises(ValueError, match="separate source and target vocabularies"):
        model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=3,
                       encoder_repetition_penalty=1.5)
    # one vocabulary: the penalty applies (source ids are target ids)
    make_model().generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=3,
                          encoder_repetition_penalty=1.5)


@pytest.mark.parametrize("overrides", [dict(), dict(tie_word_embeddings=True), dict(share_embeddings=True)])
def test_resize_with_one_vocabulary_keeps_both_sides_in_step(tmp_path, overrides):
    model = make_model(embedding_size=16, **overrides)
    model.resize_token_embeddings(VOCAB + 2)
    assert model.config.vocab_size == VOCAB + 2 and model.config.decoder_vocab_size is None
    assert model.get_input_embeddings().num_embeddings == VOCAB + 2
    assert model.model.get_decoder_input_embeddings().num_embeddings == VOCAB + 2
    assert model.lm_head.out_features == VOCAB + 2
    if overrides:
        assert model.lm_head.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr() or \
            not model.config.tie_word_embeddings
    model.save_pretrained(tmp_path)
    reloaded = Seq2SeqLSTMForConditionalGeneration.from_pretrained(tmp_path).eval()
    input_ids, attention_mask = padded_batch(vocab=VOCAB + 2)
    decoder_input_ids = torch.full((4, 3), VOCAB + 1)
    torch.testing.assert_close(reloaded(input_ids=input_ids, decoder_input_ids=decoder_input_ids).logits,
                               model(input_ids=input_ids, decoder_input_ids=decoder_input_ids).logits)


@pytest.mark.parametrize("tied", [False, True])
def test_resize_with_two_vocabularies(tmp_path, tied):
    """resize_token_embeddings is the source side (run_translation.py calls it with len(tokenizer));
    resize_decoder_token_embeddings the target side, as Marian's."""
    model = two_vocabulary_model(23, embedding_size=16, tie_word_embeddings=tied)
    model.resize_token_embeddings(VOCAB + 3)
    assert (model.config.vocab_size, model.config.decoder_vocab_size) == (VOCAB + 3, 23)
    assert model.model.get_decoder_input_embeddings().num_embeddings == model.lm_head.out_features == 23
    model.resize_decoder_token_embeddings(25)
    assert model.config.decoder_vocab_size == 25 == model.config.get_text_config(decoder=True).vocab_size
    assert model.model.get_decoder_input_embeddings().num_embeddings == model.lm_head.out_features == 25
    assert (model.lm_head.weight is model.model.decoder.embed_tokens.weight) == tied
    model.save_pretrained(tmp_path)
    reloaded = Seq2SeqLSTMForConditionalGeneration.from_pretrained(tmp_path).eval()
    input_ids = torch.full((2, 4), VOCAB + 2)
    decoder_input_ids = torch.full((2, 3), 24)
    torch.testing.assert_close(reloaded(input_ids=input_ids, decoder_input_ids=decoder_input_ids).logits,
                               model(input_ids=input_ids, decoder_input_ids=decoder_input_ids).logits)
    with pytest.raises(ValueError, match="share_embeddings=True"):
        make_model(share_embeddings=True).resize_decoder_token_embeddings(50)


def test_labels_and_decoder_inputs_of_different_lengths_get_a_clear_error():
    model = make_model()
    with pytest.raises(ValueError, match=r"labels \(1, 3\) and decoder_input_ids \(1, 2\) differ in shape"):
        model(input_ids=torch.tensor([[5, 6]]), decoder_input_ids=torch.tensor([[1, 5]]),
              labels=torch.tensor([[5, 6, 2]]))


@pytest.mark.parametrize("step", ["prefill", "cached step"])
def test_generation_step_inputs_are_those_of_generation_mixin(step):
    """Our lean `prepare_inputs_for_generation` gives the model the same inputs as transformers' generic one."""
    from transformers import GenerationMixin

    model = make_model().eval()
    input_ids, attention_mask = padded_batch()
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    prefix = torch.tensor([[1], [1], [1], [1]]) if step == "prefill" else torch.tensor([[1, 5, 6]] * 4)
    kwargs = {"encoder_outputs": encoder_outputs, "attention_mask": attention_mask, "use_cache": True,
              "output_attentions": False, "labels": prefix, "decoder_attention_mask": torch.ones_like(prefix)}
    if step == "cached step":
        with torch.no_grad():
            prefill = {key: value for key, value in kwargs.items() if key not in ("labels", "decoder_attention_mask")}
            kwargs["past_key_values"] = model(decoder_input_ids=prefix[:, :-1], **prefill).past_key_values
        kwargs["next_sequence_length"] = 1
    ours = model.prepare_inputs_for_generation(prefix, **kwargs)
    generic = GenerationMixin.prepare_inputs_for_generation(model, prefix, **kwargs)
    assert ours.keys() == generic.keys() and "labels" not in ours
    for key, value in ours.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, generic[key]) and value.is_contiguous(), key
        else:
            assert value is generic[key], key
