"""Code we did not write, used as a transformers user would: a plain Seq2SeqTrainer loop in a process without this
package, and transformers' own example scripts, unchanged."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.tokenization import SPECIAL_TOKENS, load_tokenizer, train_tokenizer
from hf_seq2seq_lstm.tokenization_seq2seq_lstm import Seq2SeqLSTMTokenizer

from conftest import BLOCK_PACKAGE, REPO_ROOT

GERMAN = ["ein kleiner hund läuft", "zwei männer spielen fußball", "eine frau trinkt kaffee", "ein kind lacht"] * 4
ENGLISH = ["a small dog runs", "two men play football", "a woman drinks coffee", "a child laughs"] * 4
# Set to transformers' examples/pytorch folder (of the installed version) to run its scripts; they are not in its
# sdist, so the suite cannot fetch them offline.
EXAMPLES = os.environ.get("TRANSFORMERS_EXAMPLES_DIR")


@pytest.fixture(scope="module")
def separate_vocabulary_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("separate")
    tokenizer = Seq2SeqLSTMTokenizer(tokenizer_object=train_tokenizer(GERMAN, vocab_size=70).backend_tokenizer,
                                     target_tokenizer_object=train_tokenizer(ENGLISH, vocab_size=45).backend_tokenizer,
                                     **SPECIAL_TOKENS)
    torch.manual_seed(0)
    new_model(tokenizer, hidden_size=16, embedding_size=8, attention="luong_general").save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert tokenizer.target_vocab_size != len(tokenizer)
    return folder


FINE_TUNE = BLOCK_PACKAGE + """
import json, sys
from datasets import Dataset
from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer,
                          Seq2SeqTrainingArguments, pipeline)
folder, output_dir, sources, targets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True)
data = Dataset.from_dict({"src": sources, "tgt": targets}).map(
    lambda batch: tokenizer(batch["src"], text_target=batch["tgt"]), batched=True, remove_columns=["src", "tgt"])
trainer = Seq2SeqTrainer(
    model=model, processing_class=tokenizer, train_dataset=data,
    data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
    args=Seq2SeqTrainingArguments(output_dir=output_dir, max_steps=2, per_device_train_batch_size=4, report_to=[],
                                  use_cpu=True, save_strategy="no"),
)
trainer.train()
trainer.save_model(output_dir)
labels = data[0]["labels"]
translator = pipeline("translation", model=output_dir, trust_remote_code=True)
print(json.dumps({"labels": labels, "translation": translator(sources[0], max_new_tokens=5)[0]["translation_text"],
                  "type": type(translator).__name__}))
"""


def test_plain_seq2seq_trainer_without_the_package_saves_a_complete_folder(separate_vocabulary_model, tmp_path,
                                                                           clean_env):
    """Fine-tuned by a user's own loop on a remote-code model: the saved folder carries every file its configs name,
    and the pipeline loads from it."""
    output_dir = tmp_path / "fine-tuned"
    result = subprocess.run(
        [sys.executable, "-c", FINE_TUNE, str(separate_vocabulary_model), str(output_dir), json.dumps(GERMAN),
         json.dumps(ENGLISH)],
        env=clean_env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    files = {path.name for path in output_dir.iterdir()}
    assert {"configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", "pipeline_seq2seq_lstm.py",
            "tokenization_seq2seq_lstm.py", "target_tokenizer.json", "tokenizer.json"} <= files
    config = json.loads((output_dir / "config.json").read_text(encoding="utf-8"))
    assert set(config["custom_pipelines"]) == {"translation", "summarization", "text2text-generation"}
    assert {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"} <= set(config["auto_map"])
    tokenizer_config = json.loads((output_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_seq2seq_lstm.Seq2SeqLSTMTokenizer"
    # the labels it trained on were target-vocabulary ids
    tokenizer = load_tokenizer(output_dir)
    assert report["labels"] == tokenizer(text_target=ENGLISH[0])["input_ids"] != tokenizer(ENGLISH[0])["input_ids"]
    assert report["type"] == "Seq2SeqLSTMTranslationPipeline" and isinstance(report["translation"], str)


def _example(name: str) -> Path:
    if not EXAMPLES:
        pytest.skip("set TRANSFORMERS_EXAMPLES_DIR to transformers' examples/pytorch: the scripts are not in its sdist")
    script = Path(EXAMPLES) / name
    if not script.is_file():
        pytest.skip(f"{script} not found")
    return script


@pytest.mark.parametrize("task", ["translation", "summarization"])
def test_transformers_example_script_unchanged(separate_vocabulary_model, tmp_path, clean_env, task):
    """run_translation.py / run_summarization.py on a folder with separate vocabularies: labels are target ids and
    predictions decode to target-language text. Offline, the scripts' `evaluate.load("sacrebleu" | "rouge")` finds
    our metric modules when run from hf_seq2seq_lstm/metrics (evaluate loads a local folder of that name first)."""
    script = _example(f"{task}/run_{task}.py")
    records = [{"translation": {"de": de, "en": en}} if task == "translation" else {"text": de, "summary": en}
               for de, en in zip(GERMAN, ENGLISH)]
    data = tmp_path / "data.json"
    data.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    output_dir = tmp_path / "out"
    task_args = (["--source_lang", "de", "--target_lang", "en"] if task == "translation"
                 else ["--text_column", "text", "--summary_column", "summary"])
    result = subprocess.run(
        [sys.executable, str(script), "--model_name_or_path", str(separate_vocabulary_model), "--trust_remote_code",
         "true", "--train_file", str(data), "--validation_file", str(data), *task_args, "--do_train",
         "--do_eval", "--predict_with_generate", "--max_steps", "2",
         "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4", "--output_dir", str(output_dir),
         "--report_to", "none", "--use_cpu", "--generation_max_length", "6"],
        env=clean_env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT / "hf_seq2seq_lstm" / "metrics",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((output_dir / "all_results.json").read_text(encoding="utf-8"))
    assert "eval_loss" in results
