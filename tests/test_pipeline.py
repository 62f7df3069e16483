"""The pipelines transformers 5 removed (translation, summarization, text2text-generation), as a saved folder ships
them for `pipeline(..., trust_remote_code=True)` and as classes for a model in memory."""

import json
from pathlib import Path

import pytest
from saved_models import NEW_TOKENS, OUTPUT_KEYS, SOURCES, saved_models
from transformers import AutoTokenizer, pipeline

from hf_seq2seq_lstm import configuration_seq2seq_lstm
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import (
    Seq2SeqLSTMSummarizationPipeline,
    Seq2SeqLSTMText2TextGenerationPipeline,
    Seq2SeqLSTMTranslationPipeline,
)

CUSTOM_PIPELINES = configuration_seq2seq_lstm.CUSTOM_PIPELINES


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return saved_models(tmp_path_factory.mktemp("saved"))


@pytest.mark.parametrize("task", ["translation", "summarization", "text2text-generation"])
def test_pipelines_of_a_saved_folder(saved, task):
    """pipeline(<removed task>, model=<saved folder>, trust_remote_code=True): batching, strings and lists,
    generation parameters, several returned sequences; separate vocabularies decoded by the two-vocabulary tokenizer
    the folder carries."""
    key = OUTPUT_KEYS[task]
    for model in [saved["joint"]] + ([saved["separate"]] if task == "translation" else []):
        pipe = pipeline(task, model=str(model.folder), trust_remote_code=True)
        expected = [{key: text} for text in model.texts]
        assert pipe(SOURCES, max_new_tokens=NEW_TOKENS, batch_size=3) == expected
        assert pipe(SOURCES[1], max_new_tokens=NEW_TOKENS) == [expected[1]]
    assert pipe(tuple(SOURCES[:2]), max_new_tokens=NEW_TOKENS) == expected[:2]
    several = pipe(SOURCES[:3], batch_size=2, num_beams=3, num_return_sequences=2, max_new_tokens=NEW_TOKENS)
    assert [len(records) for records in several] == [2, 2, 2] and all(key in r for rs in several for r in rs)
    short = pipe(SOURCES[0], max_new_tokens=2, return_tensors=True)[0]
    assert short[key.replace("_text", "_token_ids")].shape[-1] <= 3
    with pytest.raises(ValueError, match="not used"):  # generate() rejects unknown parameters
        pipe(SOURCES[0], max_new_tokns=3)


def test_in_memory_pipeline_one_liner(saved):
    """pipeline() refuses the removed task names for a model object; the pipeline class takes it directly, with the
    one tokenizer of the model (no target tokenizer argument, also for separate vocabularies)."""
    joint, separate = saved["joint"], saved["separate"]
    with pytest.raises(KeyError, match="has been removed"):
        pipeline("translation", model=joint.model, tokenizer=joint.tokenizer)
    pipe = Seq2SeqLSTMTranslationPipeline(model=joint.model, tokenizer=joint.tokenizer, max_new_tokens=NEW_TOKENS)
    assert pipe(SOURCES, batch_size=2) == [{"translation_text": text} for text in joint.texts]
    summarizer = Seq2SeqLSTMSummarizationPipeline(model=separate.model, tokenizer=separate.tokenizer)
    assert summarizer(SOURCES, max_new_tokens=NEW_TOKENS) == [{"summary_text": text} for text in separate.texts]
    generator = Seq2SeqLSTMText2TextGenerationPipeline(model=separate.model,
                                                       tokenizer=AutoTokenizer.from_pretrained(separate.folder))
    assert generator(SOURCES[0], max_new_tokens=NEW_TOKENS) == [{"generated_text": separate.texts[0]}]
    # separate vocabularies and a one-vocabulary tokenizer: an error, not text in the wrong vocabulary
    with pytest.raises(ValueError, match="separate source and target vocabularies"):
        Seq2SeqLSTMTranslationPipeline(model=separate.model, tokenizer=joint.tokenizer)


def test_saved_folder_carries_pipeline_code(saved, tmp_path):
    folder = saved["joint"].folder
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"] == CUSTOM_PIPELINES
    package = Path(configuration_seq2seq_lstm.__file__).parent
    assert (folder / "pipeline_seq2seq_lstm.py").read_bytes() == (package / "pipeline_seq2seq_lstm.py").read_bytes()
    import hf_seq2seq_lstm.pipeline_seq2seq_lstm as pipelines
    for spec in config["custom_pipelines"].values():
        module, name = spec["impl"].split(".")
        assert module == "pipeline_seq2seq_lstm" and issubclass(getattr(pipelines, name), pipelines.Pipeline)
    # pipeline() turns the entries' class names into classes on the config object; saving again still works
    pipe = pipeline("translation", model=str(folder), trust_remote_code=True)
    pipe.model.save_pretrained(tmp_path / "again")
    assert (json.loads((tmp_path / "again" / "config.json").read_text())["custom_pipelines"]
            == config["custom_pipelines"])
