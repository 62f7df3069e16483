"""scripts/train.py and scripts/translate.py end to end on every kind of input, on tiny models."""

import json
import subprocess

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from hf_seq2seq_lstm.data import text_pairs_from_dataset
from hf_seq2seq_lstm.inference import length_sorted_batches
from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.tasks import build_date_dataset
from hf_seq2seq_lstm.tokenization import train_tokenizers

from conftest import MULTI30K, PYTHON, REPO_ROOT, load_script

TINY = ["--hidden_size", "32", "--embedding_size", "16", "--vocab_size", "300", "--dropout", "0.0",
        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "32", "--learning_rate", "3e-3",
        "--max_train_samples", "400", "--max_eval_samples", "24", "--max_predict_samples", "24",
        "--max_target_length", "32", "--max_source_length", "48", "--logging_steps", "10",
        "--report_to", "none", "--disable_tqdm", "true", "--seed", "0"]


train_script = load_script("train")
translate_script = load_script("translate")


def train(output_dir, *args, steps=30):
    return train_script.main(["--output_dir", str(output_dir), "--do_train", "--do_eval", "--max_steps", str(steps),
                              "--save_strategy", "no", *TINY, *args])


def assert_saved_model_loads(output_dir):
    model = AutoModelForSeq2SeqLM.from_pretrained(output_dir)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert (tokenizer.pad_token_id == model.config.pad_token_id == 0
            and tokenizer.eos_token_id == model.config.eos_token_id)
    generation_config = json.loads((output_dir / "generation_config.json").read_text())
    assert not {"max_length", "top_k", "num_beams"} & set(generation_config), generation_config
    results = json.loads((output_dir / "all_results.json").read_text())
    return model, tokenizer, results


@pytest.fixture(scope="module")
def dates_model(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("dates")
    metrics = train(output_dir, "--do_predict", "--split_digits", "--attention", "luong_general", steps=60)
    return output_dir, metrics


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    """An untrained model with large weights: its outputs differ from input to input, which order tests need."""
    output_dir = tmp_path_factory.mktemp("random")
    pairs = text_pairs_from_dataset(build_date_dataset(train_size=500), source_lang="text", target_lang="iso")
    tokenizer = train_tokenizers(pairs["train"]["source"], pairs["train"]["target"], vocab_size=200)
    torch.manual_seed(0)
    new_model(tokenizer, hidden_size=32, embedding_size=16, attention="luong_dot",
              init_range=0.5).save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def test_train_default_task(dates_model):
    output_dir, metrics = dates_model
    _, _, results = assert_saved_model_loads(output_dir)
    for key in ("eval_bleu", "eval_chrf", "eval_exact_match", "predict_bleu", "predict_chrf", "train_loss"):
        assert key in results and results[key] == pytest.approx(metrics[key])
    assert results["eval_chrf"] > 0


def test_train_json_translation_column(tmp_path):
    records = [{"translation": {"de": f"Nummer {i} ist {'gerade' if i % 2 == 0 else 'ungerade'}",
                                "en": f"number {i} is {'even' if i % 2 == 0 else 'odd'}"}} for i in range(200)]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    train(tmp_path / "out", "--train_file", str(data), "--validation_file", str(data),
          "--source_lang", "de", "--target_lang", "en", "--attention", "bahdanau", "--cell_type", "gru")
    _, _, results = assert_saved_model_loads(tmp_path / "out")
    assert {"eval_bleu", "eval_chrf"} <= set(results)


@pytest.mark.skipif(not MULTI30K.is_dir(), reason=f"Multi30k not found at {MULTI30K}")
def test_train_multi30k_parallel_text(tmp_path):
    train(tmp_path / "out", "--train_file", str(MULTI30K / "train"), "--validation_file", str(MULTI30K / "val"),
          "--source_lang", "de", "--target_lang", "en", "--max_train_samples", "2000",
          "--attention", "luong_general", "--input_feeding", "true", "--separate_vocabularies", "true")
    model, _, results = assert_saved_model_loads(tmp_path / "out")
    assert model.config.decoder_vocab_size is not None and (tmp_path / "out" / "target_tokenizer.json").is_file()
    assert {"eval_bleu", "eval_chrf"} <= set(results)


def test_train_summarization_columns(tmp_path):
    records = [{"document": f"the weather in city {i} was {w} all day and people stayed {p}",
                "summary": f"{w} in city {i}"}
               for i in range(100) for w, p in (("sunny", "outside"), ("rainy", "inside"))]
    data = tmp_path / "data.json"
    data.write_text(json.dumps(records), encoding="utf-8")
    train(tmp_path / "out", "--train_file", str(data), "--validation_file", str(data),
          "--text_column", "document", "--summary_column", "summary")
    _, _, results = assert_saved_model_loads(tmp_path / "out")
    assert {"eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rougeLsum"} <= set(results)
    assert "eval_bleu" not in results


def test_resume_from_checkpoint_continues_from_saved_step(tmp_path):
    output_dir = tmp_path / "out"
    common = ["--output_dir", str(output_dir), "--do_train", "--save_strategy", "steps", "--save_steps", "10", *TINY]
    train_script.main([*common, "--max_steps", "20"])
    assert (output_dir / "checkpoint-20").is_dir()
    train_script.main([*common, "--max_steps", "30", "--resume_from_checkpoint", str(output_dir / "checkpoint-20")])
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == 30
    # the resumed run logged only steps after 20: it did not start over
    logged_steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged_steps == [10, 20, 30]
    checkpoint_state = json.loads((output_dir / "checkpoint-20" / "trainer_state.json").read_text())
    assert checkpoint_state["global_step"] == 20


def test_length_sorted_batches_cover_every_index_once():
    lengths = [5, 1, 9, 3, 9, 2, 7]
    batches = length_sorted_batches(lengths, 3)
    assert sorted(i for batch in batches for i in batch) == list(range(7))
    flat = [lengths[i] for batch in batches for i in batch]
    assert flat == sorted(lengths, reverse=True)


def test_translate_keeps_input_order_with_length_batching(random_model, tmp_path):
    output_dir = random_model
    sources = ["3. März 2021", "12/25/2024", "the 4th of July, 1976", "1999-01-02", "le mardi 14 juillet 1981",
               "MON, 29 FEB 2016", "5.6.1950", "el sábado, 1 de enero de 2000"]
    (tmp_path / "in.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    batched, alone = tmp_path / "batched.txt", tmp_path / "alone.txt"
    translate_script.main(["--model_name_or_path", str(output_dir), "--input", str(tmp_path / "in.txt"), "--output",
                           str(batched), "--batch_size", "3", "--disable_tqdm", "--max_new_tokens", "16"])
    translate_script.main(["--model_name_or_path", str(output_dir), "--input", str(tmp_path / "in.txt"), "--output",
                           str(alone), "--batch_size", "1", "--disable_tqdm", "--max_new_tokens", "16"])
    batched_lines = batched.read_text(encoding="utf-8").splitlines()
    assert len(batched_lines) == len(sources)
    assert batched_lines == alone.read_text(encoding="utf-8").splitlines()
    assert len(set(batched_lines)) > 1


def test_translate_scores_against_references_in_a_fresh_process(dates_model, tmp_path):
    output_dir, _ = dates_model
    (tmp_path / "src.txt").write_text("3. März 2021\n12/25/2024\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("2021-03-03\n2024-12-25\n", encoding="utf-8")
    result = subprocess.run(
        [PYTHON, str(REPO_ROOT / "scripts" / "translate.py"), "--model_name_or_path", str(output_dir), "--input",
         str(tmp_path / "src.txt"), "--references", str(tmp_path / "ref.txt"), "--metrics_file",
         str(tmp_path / "scores.json"), "--num_beams", "3", "--disable_tqdm"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.splitlines()) == 2
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["sentences"] == 2 and 0 <= scores["bleu"] <= 100 and 0 <= scores["chrf"] <= 100
