"""Tests of hf_seq2seq_lstm.tokenization and scripts/train_tokenizer.py."""

import os


# No network here: huggingface_hub reads this when imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

from hf_seq2seq_lstm.tokenization import (  # noqa: E402
    TARGET_TOKENIZER_SUBFOLDER,
    load_tokenizers,
    save_tokenizers,
    train_tokenizer,
    train_tokenizers,
)


REPO_ROOT = Path(__file__).resolve().parents[1]
# CI runs a clean clone with ../shared beside it.
MULTI30K_DIR = REPO_ROOT.parent / "shared" / "data" / "multi30k"
requires_multi30k = pytest.mark.skipif(
    not MULTI30K_DIR.is_dir(), reason=f"Multi30k corpus not found at {MULTI30K_DIR}"
)

GERMAN = [
    "Ein Mann mit einem orangefarbenen Hut starrt auf etwas.",
    "Zwei Männer spielen Fußball auf einer grünen Wiese.",
    "Eine Frau in einem weißen Kleid trinkt Café au lait.",
    "Ein kleines Mädchen klettert über die Brücke.",
    "Die Kinder tragen schöne Jacken und Mützen.",
    "Ein Hund läuft durch den Schnee, während ein Junge zusieht.",
]
ENGLISH = [
    "A man in an orange hat staring at something.",
    "Two men play soccer on a green meadow.",
    "A woman in a white dress drinks a café au lait in the résumé café.",
    "A little girl climbing over the bridge.",
    "The children wear nice jackets and caps.",
    "A dog runs through the snow while a boy watches.",
]
# Unseen sentences made of characters the training texts contain.
ROUND_TRIP = [
    "Zwei Mädchen tragen grüne Mützen.",
    "Ein Junge läuft über die grüne Wiese.",
    "Der Hund trinkt Café.",
    "The boy watches a résumé, staring.",
]


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_special_tokens_and_round_trip(model_type):
    tokenizer = train_tokenizer(GERMAN + ENGLISH, model_type=model_type, vocab_size=150, min_frequency=1)

    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3]) == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (
        0,
        1,
        2,
        3,
    )
    for text in ROUND_TRIP:
        input_ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in input_ids
        assert input_ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(input_ids, skip_special_tokens=True) == text


def test_labels_end_with_eos_and_padding_uses_pad_id():
    tokenizer = train_tokenizer(GERMAN + ENGLISH, vocab_size=150)

    single = tokenizer(["a b"], text_target=["c"])
    padded = tokenizer(["a b", "Zwei Männer spielen"], text_target=["c", "Two men"], padding=True)

    assert single["input_ids"][0][-1] == single["labels"][0][-1] == tokenizer.eos_token_id == 2
    # Padding (here also of the labels: -100 is the data collator's business) uses <pad> = 0.
    for key, unpadded in (("input_ids", single["input_ids"][0]), ("labels", single["labels"][0])):
        padding = [0] * (len(padded[key][1]) - len(unpadded))
        assert padding and padded[key][0] == unpadded + padding
    assert padded["attention_mask"][0] == [1] * len(single["input_ids"][0]) + [0] * (
        len(padded["input_ids"][1]) - len(single["input_ids"][0])
    )


def test_lowercase():
    tokenizer = train_tokenizer(GERMAN + ENGLISH, vocab_size=150, lowercase=True)

    input_ids = tokenizer("ZWEI Männer")["input_ids"]

    assert tokenizer.decode(input_ids, skip_special_tokens=True) == "zwei männer"


def test_unknown_model_type():
    with pytest.raises(ValueError, match=r"model_type must be one of \('bpe', 'unigram'\), got 'wordpiece'"):
        train_tokenizer(GERMAN, model_type="wordpiece")


def test_save_and_reload_with_auto_tokenizer(tmp_path):
    tokenizer = train_tokenizer(GERMAN + ENGLISH, vocab_size=150)
    tokenizer.save_pretrained(tmp_path)

    reloaded = AutoTokenizer.from_pretrained(tmp_path)

    assert reloaded.get_vocab() == tokenizer.get_vocab()
    assert (reloaded.pad_token_id, reloaded.bos_token_id, reloaded.eos_token_id, reloaded.unk_token_id) == (0, 1, 2, 3)
    for text in ROUND_TRIP:
        assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
        assert reloaded.decode(reloaded(text)["input_ids"], skip_special_tokens=True) == text


def test_joint_vocabulary_save_and_load(tmp_path):
    source_tokenizer, target_tokenizer = train_tokenizers(GERMAN, ENGLISH, vocab_size=150)
    assert source_tokenizer is target_tokenizer
    assert source_tokenizer.decode(source_tokenizer(ENGLISH[0])["input_ids"], skip_special_tokens=True) == ENGLISH[0]

    save_tokenizers(tmp_path, source_tokenizer, target_tokenizer)
    loaded_source, loaded_target = load_tokenizers(tmp_path)

    assert not (tmp_path / TARGET_TOKENIZER_SUBFOLDER).exists()
    assert loaded_source is loaded_target
    assert loaded_source.get_vocab() == source_tokenizer.get_vocab()


def test_separate_vocabularies_save_and_load(tmp_path):
    source_tokenizer, target_tokenizer = train_tokenizers(
        GERMAN, ENGLISH, joint=False, model_type="unigram", vocab_size=100
    )
    assert source_tokenizer.get_vocab() != target_tokenizer.get_vocab()

    save_tokenizers(tmp_path, source_tokenizer, target_tokenizer)
    loaded_source, loaded_target = load_tokenizers(tmp_path)

    assert (tmp_path / TARGET_TOKENIZER_SUBFOLDER / "tokenizer.json").is_file()
    assert loaded_source.get_vocab() == source_tokenizer.get_vocab()
    assert loaded_target.get_vocab() == target_tokenizer.get_vocab()
    assert loaded_target(ENGLISH[1])["input_ids"] == target_tokenizer(ENGLISH[1])["input_ids"]

    # Saving a joint pair over it removes the stale target tokenizer.
    joint_tokenizer, _ = train_tokenizers(GERMAN, ENGLISH, vocab_size=150)
    save_tokenizers(tmp_path, joint_tokenizer, joint_tokenizer)
    assert not (tmp_path / TARGET_TOKENIZER_SUBFOLDER).exists()
    assert load_tokenizers(tmp_path)[1].get_vocab() == joint_tokenizer.get_vocab()


@requires_multi30k
def test_cli_on_multi30k(tmp_path):
    num_lines = 2000
    for lang in ("de", "en"):
        with open(MULTI30K_DIR / f"train.{lang}", encoding="utf-8") as file:
            head = [next(file) for _ in range(num_lines)]
        (tmp_path / f"train.{lang}").write_text("".join(head), encoding="utf-8")
    output_dir = tmp_path / "tokenizer"
    # The package may not be installed in the environment running the tests: import it from the checkout.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}

    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "train_tokenizer.py"),
            "--train_file",
            str(tmp_path / "train"),
            "--source_lang",
            "de",
            "--target_lang",
            "en",
            "--vocab_size",
            "1000",
            "--separate_vocabularies",
            "--output_dir",
            str(output_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    source_tokenizer = AutoTokenizer.from_pretrained(output_dir)
    target_tokenizer = AutoTokenizer.from_pretrained(output_dir / TARGET_TOKENIZER_SUBFOLDER)
    assert len(source_tokenizer) == len(target_tokenizer) == 1000
    german = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
    english = "Two young, White males are outside near many bushes."
    input_ids = source_tokenizer(german)["input_ids"]
    labels = target_tokenizer(text_target=english)["input_ids"]
    assert input_ids[-1] == labels[-1] == 2
    assert source_tokenizer.decode(input_ids, skip_special_tokens=True) == german
    assert target_tokenizer.decode(labels, skip_special_tokens=True) == english
