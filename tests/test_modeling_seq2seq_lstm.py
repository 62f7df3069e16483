"""transformers' common model and config tests run against this model, as `tests/models/marian/test_modeling_marian.py`
runs them for Marian, for three variants: a biLSTM with Luong "general" attention and input feeding, a GRU without
attention, and two vocabularies of different sizes.

The common tests come from transformers' sdist at test time (tests/common_test_source.py). Each test that does
not apply to a recurrent model is skipped below with its reason. Run them alone with
`bash scripts/test.sh tests/test_modeling_seq2seq_lstm.py`.
"""

import unittest
from unittest.mock import patch

import pytest
import torch
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES, MODEL_MAPPING_NAMES

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, Seq2SeqLSTMModel

from common_test_source import common_tests, unavailable_reason
from conftest import padded_batch

COMMON = common_tests()
if COMMON is None:
    pytest.skip(unavailable_reason(), allow_module_level=True)

from transformers_common_tests.test_configuration_common import ConfigTester  # noqa: E402
from transformers_common_tests.test_modeling_common import ModelTesterMixin  # noqa: E402

# Why a common test does not apply; every other one runs.
NOT_FOR_A_RECURRENT_MODEL = {
    "test_generation_tester_mixin_inheritance": "GenerationTesterMixin is not in transformers' sdist; our generate() "
                                                "checks are in test_modeling.py and below",
    "test_attention_outputs": "an RNN has no self-attention: only cross_attentions, whose (B, 1, T, S) shape "
                              "test_cross_attentions_have_the_library_layout checks",
    "test_retain_grad_hidden_states_attentions": "an RNN has no self-attention weights to retain gradients on",
}


class Seq2SeqLSTMModelTester:
    def __init__(self, parent, batch_size=3, seq_length=7, decoder_seq_length=7, **config_overrides):
        self.parent = parent
        self.batch_size = batch_size
        self.seq_length = seq_length
        self.decoder_seq_length = decoder_seq_length
        self.encoder_seq_length = seq_length
        self.key_length = seq_length
        self.is_training = True
        self.config_kwargs = dict(
            # embeddings as wide as the RNN: the common tests expect hidden_states[0] of hidden_size (test_modeling.py
            # covers other widths)
            vocab_size=41, embedding_size=16, hidden_size=16, encoder_layers=2, decoder_layers=2, dropout=0.0,
            init_range=0.5, **config_overrides,
        )
        config = self.get_config()
        self.vocab_size = config.vocab_size
        self.hidden_size = config.hidden_size
        self.num_hidden_layers = config.num_hidden_layers
        self.num_attention_heads = config.num_attention_heads

    def get_config(self):
        return Seq2SeqLSTMConfig(**self.config_kwargs)

    def prepare_config_and_inputs_for_common(self):
        config = self.get_config()
        input_ids, attention_mask = padded_batch(lengths=(7, 5, 3), vocab=config.vocab_size, seed=1)
        # as long as the sources: the common tests build labels of seq_length for the decoder inputs
        decoder_input_ids, _ = padded_batch(lengths=(7, 7, 7), vocab=config.target_vocab_size, seed=2)
        decoder_input_ids[:, 0] = config.decoder_start_token_id
        return config, {"input_ids": input_ids, "attention_mask": attention_mask,
                        "decoder_input_ids": decoder_input_ids}


class Seq2SeqLSTMCommonTests(ModelTesterMixin):
    all_model_classes = (Seq2SeqLSTMModel, Seq2SeqLSTMForConditionalGeneration)
    is_encoder_decoder = True
    test_missing_keys = False  # shared/tied embeddings are declared per instance
    config_overrides: dict = {}
    not_for_this_variant: dict = {}

    def setUp(self):
        # The common tests tell base models from seq2seq LMs (which get labels) by the class names in transformers'
        # own mappings, which list built-in models only: list ours there, as registering a built-in model would.
        for mapping, model_class in ((MODEL_MAPPING_NAMES, Seq2SeqLSTMModel),
                                     (MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
                                      Seq2SeqLSTMForConditionalGeneration)):
            patcher = patch.dict(mapping, {Seq2SeqLSTMConfig.model_type: model_class.__name__})
            patcher.start()
            self.addCleanup(patcher.stop)
        self.model_tester = Seq2SeqLSTMModelTester(self, **self.config_overrides)
        self.config_tester = ConfigTester(self, config_class=Seq2SeqLSTMConfig, **self.model_tester.config_kwargs)

    def run(self, result=None):
        name = self._testMethodName.split("_0")[0]
        reason = NOT_FOR_A_RECURRENT_MODEL.get(name) or self.not_for_this_variant.get(name)
        if reason is not None:
            setattr(self, self._testMethodName, unittest.skip(reason)(getattr(self, self._testMethodName)))
        return super().run(result)

    def test_config(self):
        self.config_tester.run_common_tests()

    def test_inputs_embeds_matches_input_ids(self):
        # The common test embeds decoder ids with the encoder's table; the decoder has its own (another vocabulary
        # where decoder_vocab_size is set).
        config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            model = model_class(config).eval()
            with torch.no_grad():
                from_ids = model(**inputs)[0]
                from_embeds = model(
                    inputs_embeds=model.get_encoder().get_input_embeddings()(inputs["input_ids"]),
                    attention_mask=inputs["attention_mask"],
                    decoder_inputs_embeds=model.get_decoder().get_input_embeddings()(inputs["decoder_input_ids"]),
                )[0]
            torch.testing.assert_close(from_embeds, from_ids)

    def test_cross_attentions_have_the_library_layout(self):
        config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
        model = Seq2SeqLSTMForConditionalGeneration(config).eval()
        outputs = model(**inputs, output_attentions=True)
        if config.attention == "none":
            self.assertIsNone(outputs.cross_attentions)
            return
        (weights,) = outputs.cross_attentions
        self.assertEqual(tuple(weights.shape), (3, config.num_attention_heads, 7, 7))
        torch.testing.assert_close(weights.sum(-1), torch.ones(3, 1, 7))


class BiLSTMLuongGeneralInputFeedingTest(Seq2SeqLSTMCommonTests, unittest.TestCase):
    config_overrides = dict(bidirectional_encoder=True, attention="luong_general", input_feeding=True)


class GRUWithoutAttentionTest(Seq2SeqLSTMCommonTests, unittest.TestCase):
    config_overrides = dict(cell_type="gru")


class SeparateVocabulariesTest(Seq2SeqLSTMCommonTests, unittest.TestCase):
    config_overrides = dict(decoder_vocab_size=29, attention="bahdanau")
    not_for_this_variant = dict.fromkeys(
        ("test_resize_tokens_embeddings", "test_resize_embeddings_untied"),
        "it assumes one vocabulary: the input one read from get_text_config().vocab_size (the target vocabulary "
        "here, as generate() needs) and the output layer resized with it; "
        "test_modeling.py::test_resize_with_two_vocabularies covers this variant",
    )
