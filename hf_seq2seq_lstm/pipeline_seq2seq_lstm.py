# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""`translation`, `summarization` and `text2text-generation` pipelines for the LSTM/GRU encoder-decoder.

transformers 5 removed these three tasks (`pipeline("translation", ...)` raises KeyError), but `pipeline()` looks up
`config.custom_pipelines` before its list of removed tasks. `Seq2SeqLSTMPreTrainedModel.save_pretrained` copies this
file next to the weights and lists the three classes below in `config.json`, so for a saved model or a Hub repo

    pipe = pipeline("translation", model="org/name", trust_remote_code=True)
    pipe(["a sentence", "another one"], batch_size=2, num_beams=4)   # [{"translation_text": ...}, ...]

works without this package installed. For a model object in memory, build the class directly:

    Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=tokenizer)

This file is copied next to saved weights for `trust_remote_code`: it imports only transformers and the sibling
configuration file (the model, its tokenizer and their code come through the Auto classes).
"""

from transformers import GenerationConfig, Pipeline
from transformers.utils import ModelOutput, logging

from .configuration_seq2seq_lstm import mismatched_vocabularies

logger = logging.get_logger(__name__)


class Seq2SeqLSTMText2TextGenerationPipeline(Pipeline):
    """
    Generates an output text for each input text with `model.generate()`.

    Inputs: a string, or a list of strings (batched with `batch_size=`). Outputs, per input, a list with one dict per
    returned sequence (`num_return_sequences`), `{"<name>_text": str}` and, with `return_tensors=True`,
    `{"<name>_token_ids": tensor}`; for a list of strings with one sequence each, one dict per input.

    Call parameters: any `generate()` parameter (`num_beams`, `max_new_tokens`, `do_sample`, `num_return_sequences`,
    `no_repeat_ngram_size`, ...); `truncation` / `max_source_length` for long sources; `return_text`,
    `return_tensors`, `clean_up_tokenization_spaces`.

    The tokenizer encodes the source and decodes the generated ids: with separate source and target vocabularies it
    is the two-vocabulary tokenizer saved with the model (`Seq2SeqLSTMTokenizer`), which decodes target ids. A
    tokenizer whose vocabularies are not those config.json recorded at training time gets a warning.
    """

    return_name = "generated"

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False
    _pipeline_calls_generate = True
    # Applies only where neither the call nor the model's generation config sets a length.
    _default_generation_config = GenerationConfig(max_new_tokens=256)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.tokenizer is None:
            raise ValueError(f"{type(self).__name__} needs the tokenizer saved with the model: pass tokenizer=.")
        if not self.model.can_generate():
            raise ValueError(f"{type(self).__name__} needs a model that can generate, not {type(self.model).__name__}.")
        separate = getattr(self.model.config, "decoder_vocab_size", None) is not None
        # only the two-vocabulary tokenizer has target_vocab_size (hf_seq2seq_lstm.tokenization.separate_vocabularies)
        if separate and not hasattr(self.tokenizer, "target_vocab_size"):
            raise ValueError(
                f"This model has separate source and target vocabularies, but the tokenizer "
                f"({type(self.tokenizer).__name__}) has one, so it would decode target ids with the source "
                f"vocabulary: pass the model's two-vocabulary tokenizer (AutoTokenizer.from_pretrained(folder, "
                f"trust_remote_code=True)); a folder saved with a target_tokenizer/ subfolder is converted by "
                f"hf_seq2seq_lstm.tokenization.load_tokenizer(folder).save_pretrained(folder)."
            )
        # A warning, not an error: a user may knowingly pair a model with a tokenizer edited in ways that keep its ids.
        mismatched = mismatched_vocabularies(self.model.config, self.tokenizer)
        if mismatched:
            logger.warning(
                f"The tokenizer's {' and '.join(mismatched)} vocabulary is not the one this model was trained with "
                f"(config.json's {mismatched[0]}_vocab_fingerprint): the model reads its ids as other tokens, so the "
                f"outputs will be garbage. Use the tokenizer saved with the model."
            )

    def _sanitize_parameters(
        self,
        return_tensors=None,
        return_text=None,
        clean_up_tokenization_spaces=None,
        truncation=None,
        max_source_length=None,
        **generate_kwargs,
    ):
        preprocess_params = {}
        if truncation is not None:
            preprocess_params["truncation"] = truncation
        if max_source_length is not None:
            preprocess_params["max_source_length"] = max_source_length
            preprocess_params.setdefault("truncation", True)
        postprocess_params = {}
        if return_tensors is not None:
            postprocess_params["return_tensors"] = return_tensors
        if return_text is not None:
            postprocess_params["return_text"] = return_text
        if clean_up_tokenization_spaces is not None:
            postprocess_params["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
        return preprocess_params, generate_kwargs, postprocess_params

    def __call__(self, inputs, **kwargs):
        """
        Args:
            inputs (`str` or `list[str]`): the source text(s).
            kwargs: `batch_size`, `generate()` parameters, and the call parameters listed in the class docstring.

        Returns:
            For a string, a list of dicts (one per returned sequence); for a list of strings, one such list per
            input, or one dict per input when each has a single sequence.
        """
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        result = super().__call__(inputs, **kwargs)
        if isinstance(inputs, list) and all(isinstance(item, str) for item in inputs) and all(
            len(records) == 1 for records in result
        ):
            return [records[0] for records in result]
        return result

    def preprocess(self, inputs, truncation=False, max_source_length=None):
        if not isinstance(inputs, str):
            raise TypeError(f"{type(self).__name__} takes a string or a list of strings, not {type(inputs).__name__}.")
        encoding = self.tokenizer(inputs, return_tensors="pt", truncation=truncation, max_length=max_source_length)
        return {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]}

    def _forward(self, model_inputs, **generate_kwargs):
        batch_size = model_inputs["input_ids"].shape[0]
        output_ids = self.model.generate(**model_inputs, **self._prepare_generate_kwargs(generate_kwargs))
        if isinstance(output_ids, ModelOutput):
            output_ids = output_ids.sequences
        # (B * num_return_sequences, T) -> (B, num_return_sequences, T): the pipeline unbatches along dim 0
        return {"output_ids": output_ids.reshape(batch_size, -1, *output_ids.shape[1:])}

    def postprocess(self, model_outputs, return_tensors=False, return_text=True, clean_up_tokenization_spaces=False):
        records = []
        for output_ids in model_outputs["output_ids"][0]:
            record = {}
            if return_tensors:
                record[f"{self.return_name}_token_ids"] = output_ids
            if return_text:
                text = self.tokenizer.decode(
                    output_ids, skip_special_tokens=True, clean_up_tokenization_spaces=clean_up_tokenization_spaces
                )
                record[f"{self.return_name}_text"] = text.strip()
            records.append(record)
        return records


class Seq2SeqLSTMTranslationPipeline(Seq2SeqLSTMText2TextGenerationPipeline):
    """Translation: outputs `[{"translation_text": ...}]`. See [`Seq2SeqLSTMText2TextGenerationPipeline`]."""

    return_name = "translation"


class Seq2SeqLSTMSummarizationPipeline(Seq2SeqLSTMText2TextGenerationPipeline):
    """Summarization: outputs `[{"summary_text": ...}]`. See [`Seq2SeqLSTMText2TextGenerationPipeline`]."""

    return_name = "summary"


__all__ = [
    "Seq2SeqLSTMSummarizationPipeline",
    "Seq2SeqLSTMText2TextGenerationPipeline",
    "Seq2SeqLSTMTranslationPipeline",
]
