"""The lean beam search behind generate() (modeling_seq2seq_lstm.lean_beam_search) against transformers' own
`_beam_search`: the same sequences and sequence scores, and the lean path taken exactly where it applies."""

from unittest.mock import patch

import pytest
import torch
from transformers import GenerationConfig

from hf_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm import modeling_seq2seq_lstm as modeling

from conftest import make_model, padded_batch

VARIANTS = {
    "lstm_luong_feeding": dict(attention="luong_general", input_feeding=True),
    "gru_no_attention": dict(cell_type="gru"),
    "two_vocabularies_bahdanau": dict(decoder_vocab_size=29, attention="bahdanau"),
}

SETTINGS = [
    dict(num_beams=2, max_new_tokens=7),
    dict(num_beams=3, max_new_tokens=9, min_new_tokens=4),
    dict(num_beams=4, max_new_tokens=10, num_return_sequences=3, length_penalty=2.0, early_stopping="never"),
    dict(num_beams=5, max_new_tokens=8, num_return_sequences=5, length_penalty=0.0, early_stopping=True),
    dict(num_beams=3, max_new_tokens=12, length_penalty=1.0, early_stopping=False, num_return_sequences=2),
    # several frequent tokens as eos: hypotheses end early, at different lengths, and M = 3 or 4 x num_beams
    dict(num_beams=4, max_new_tokens=10, eos_token_id=[2, 5, 9], early_stopping=True, num_return_sequences=4),
    dict(num_beams=3, max_new_tokens=10, eos_token_id=[2, 7], early_stopping="never", length_penalty=2.0,
         min_new_tokens=3),
    dict(num_beams=5, max_new_tokens=10, eos_token_id=[2, 11, 13], early_stopping=False, length_penalty=0.0,
         num_return_sequences=3),
    dict(num_beams=2, max_new_tokens=10, eos_token_id=[2, 6], min_length=5),
]


def _common_eos_tokens(model, inputs):
    """Tokens that greedy decoding emits, so that using them as eos ends hypotheses early."""
    greedy = model.generate(**inputs, num_beams=1, max_new_tokens=6)[:, 1:]
    counts = torch.bincount(greedy.flatten(), minlength=model.config.target_vocab_size)
    counts[: 4] = 0  # pad, bos, eos, unk
    return counts.topk(3).indices.tolist()


def _lean_and_reference(model, inputs, **settings):
    """(sequences, scores) of the lean path and of transformers' _beam_search with the lean path forced off."""
    captured = []
    original = modeling._lean_beam_search

    def capture(*args, **kwargs):
        captured.append(original(*args, **kwargs))
        return captured[-1]

    with patch.object(modeling, "_lean_beam_search", side_effect=capture), \
            patch.object(Seq2SeqLSTMForConditionalGeneration, "_beam_search",
                         side_effect=AssertionError("transformers' _beam_search ran")):
        lean = model.generate(**inputs, **settings)
    assert len(captured) == 1
    assert torch.equal(lean, captured[0][0])
    reference = model.generate(**inputs, **settings, lean_beam_search=False, return_dict_in_generate=True,
                               output_scores=True)
    return lean, captured[0][1], reference.sequences, reference.sequences_scores


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_lean_beam_search_matches_transformers(variant, setting):
    model = make_model(**VARIANTS[variant])
    input_ids, attention_mask = padded_batch(lengths=(7, 4, 6, 2, 5))
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)
    settings = dict(SETTINGS[setting])
    if "eos_token_id" in settings:  # [2, a, b]: replace the placeholders with tokens this model emits
        frequent = _common_eos_tokens(model, inputs)
        settings["eos_token_id"] = [2] + frequent[: len(settings["eos_token_id"]) - 1]
    sequences, scores, expected, expected_scores = _lean_and_reference(model, inputs, **settings)
    assert sequences.shape == expected.shape
    assert torch.equal(sequences, expected), (sequences, expected)
    torch.testing.assert_close(scores, expected_scores, atol=1e-5, rtol=0)


def test_eos_settings_end_hypotheses_early():
    """The eos settings above do what they are for: some returned hypotheses are shorter than others."""
    model = make_model(**VARIANTS["lstm_luong_feeding"])
    input_ids, attention_mask = padded_batch(lengths=(7, 4, 6, 2, 5))
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)
    eos = [2] + _common_eos_tokens(model, inputs)[:2]
    sequences = model.generate(**inputs, num_beams=4, max_new_tokens=10, eos_token_id=eos, num_return_sequences=4)
    ends = torch.isin(sequences[:, 1:], torch.tensor(eos)).any(-1)
    assert ends.any() and sequences.shape[1] > 2
    lengths = (~torch.isin(sequences, torch.tensor(eos))).cumprod(-1).sum(-1)
    assert lengths.unique().numel() > 1


def test_lean_beam_search_with_a_generation_config_and_a_batch_of_one():
    model = make_model()
    input_ids, attention_mask = padded_batch(lengths=(5,))
    config = GenerationConfig(num_beams=3, max_new_tokens=6, num_return_sequences=2, eos_token_id=2, pad_token_id=0,
                              decoder_start_token_id=1, bos_token_id=1)
    sequences, scores, expected, expected_scores = _lean_and_reference(
        model, dict(input_ids=input_ids, attention_mask=attention_mask), generation_config=config
    )
    assert torch.equal(sequences, expected)
    torch.testing.assert_close(scores, expected_scores, atol=1e-5, rtol=0)


@pytest.mark.parametrize("options", [
    dict(lean_beam_search=False),
    dict(output_scores=True, return_dict_in_generate=True),
    dict(return_dict_in_generate=True),
    dict(output_attentions=True, return_dict_in_generate=True),
    dict(output_hidden_states=True, return_dict_in_generate=True),
    dict(repetition_penalty=1.3),
    dict(no_repeat_ngram_size=2),
    dict(forced_eos_token_id=2),
    dict(num_beams=1),
    dict(do_sample=True),
    dict(use_cache=False),
], ids=lambda options: ",".join(options))
def test_transformers_beam_search_where_the_lean_one_does_not_apply(options):
    model = make_model()
    input_ids, attention_mask = padded_batch()
    settings = {"num_beams": 3, "max_new_tokens": 5, **options}
    with patch.object(modeling, "_lean_beam_search", side_effect=AssertionError("lean path taken")):
        outputs = model.generate(input_ids=input_ids, attention_mask=attention_mask, **settings)
    sequences = outputs.sequences if settings.get("return_dict_in_generate") else outputs
    assert sequences.shape[0] == input_ids.shape[0]


def test_a_generation_config_attribute_turns_the_lean_path_off():
    model = make_model()
    input_ids, attention_mask = padded_batch()
    model.generation_config.lean_beam_search = False
    with patch.object(modeling, "_lean_beam_search", side_effect=AssertionError("lean path taken")):
        model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=4)
    # an explicit argument wins over the attribute
    calls = []
    original = modeling._lean_beam_search
    with patch.object(modeling, "_lean_beam_search", side_effect=lambda *a, **k: calls.append(1) or original(*a, **k)):
        model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=4,
                       lean_beam_search=True)
    assert calls == [1]


def test_the_lean_path_falls_back_when_called_with_an_unsupported_processor():
    """The custom_generate callable itself checks the prepared processors and criteria."""
    from transformers.generation.logits_process import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

    model = make_model()
    input_ids, attention_mask = padded_batch()
    processors = LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.5)])
    with patch.object(modeling, "_lean_beam_search", side_effect=AssertionError("lean path taken")):
        fallback = model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=5,
                                  logits_processor=processors)
    expected = model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=5,
                              repetition_penalty=1.5, lean_beam_search=False)
    assert torch.equal(fallback, expected)
