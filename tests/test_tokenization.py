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
    LEGACY_TARGET_SUBFOLDER,
    SPECIAL_TOKENS,
    load_tokenizer,
    target_vocab_size,
    train_tokenizer,
    train_tokenizers,
)
from hf_seq2seq_lstm.tokenization_seq2seq_lstm import Seq2SeqLSTMTokenizer  # noqa: E402

from conftest import BLOCK_PACKAGE  # noqa: E402

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


def test_joint_vocabulary_is_a_plain_fast_tokenizer(tmp_path):
    tokenizer = train_tokenizers(GERMAN, ENGLISH, vocab_size=150)
    assert type(tokenizer) is PreTrainedTokenizerFast  # no remote code needed
    tokenizer.save_pretrained(tmp_path)
    assert "auto_map" not in (tmp_path / "tokenizer_config.json").read_text(encoding="utf-8")
    loaded = load_tokenizer(tmp_path)
    assert loaded.get_vocab() == tokenizer.get_vocab() and target_vocab_size(loaded) == len(loaded)
    batch = loaded(GERMAN[:2], text_target=ENGLISH[:2])
    assert batch["labels"] == [tokenizer(text)["input_ids"] for text in ENGLISH[:2]]


def test_separate_vocabularies_are_one_tokenizer_like_marian(tmp_path):
    assert type(train_tokenizers(GERMAN, ENGLISH, joint=False, vocab_size=100)) is Seq2SeqLSTMTokenizer
    source = train_tokenizer(GERMAN, model_type="unigram", vocab_size=100)
    target = train_tokenizer(ENGLISH, model_type="unigram", vocab_size=90)
    assert source.get_vocab() != target.get_vocab()
    tokenizer = Seq2SeqLSTMTokenizer(tokenizer_object=source.backend_tokenizer,
                                     target_tokenizer_object=target.backend_tokenizer, **SPECIAL_TOKENS)

    batch = tokenizer(GERMAN[:2], text_target=ENGLISH[:2])
    assert batch["input_ids"] == [source(text)["input_ids"] for text in GERMAN[:2]]
    assert batch["labels"] == [target(text)["input_ids"] for text in ENGLISH[:2]]
    assert tokenizer(text_target=ENGLISH[3])["input_ids"] == target(ENGLISH[3])["input_ids"]
    assert tokenizer(GERMAN[3])["input_ids"] == source(GERMAN[3])["input_ids"]  # back in source mode after text_target
    # decoding reads target ids (what generate() returns); source ids on request
    assert tokenizer.batch_decode(batch["labels"], skip_special_tokens=True) == ENGLISH[:2]
    assert tokenizer.decode(batch["input_ids"][0], skip_special_tokens=True, use_source_tokenizer=True) == GERMAN[0]
    assert tokenizer.convert_ids_to_tokens(batch["labels"][0]) == target.convert_ids_to_tokens(batch["labels"][0])
    assert tokenizer.convert_source_ids_to_tokens(batch["input_ids"][0]) == source.convert_ids_to_tokens(
        batch["input_ids"][0])
    # sizes: len() and vocab_size are the source's (the model's vocab_size), target_vocab_size the target's
    assert (len(tokenizer), tokenizer.vocab_size, tokenizer.target_vocab_size) == (len(source), source.vocab_size,
                                                                                   len(target))
    assert tokenizer.get_target_vocab() == target.get_vocab()
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (
        0, 1, 2, 3)

    tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "target_tokenizer.json").is_file() and (tmp_path / "tokenization_seq2seq_lstm.py").is_file()
    for loaded in (AutoTokenizer.from_pretrained(tmp_path), load_tokenizer(tmp_path)):
        assert type(loaded) is Seq2SeqLSTMTokenizer
        assert loaded(GERMAN[:2], text_target=ENGLISH[:2]) == batch
        assert loaded.batch_decode(batch["labels"], skip_special_tokens=True) == ENGLISH[:2]


def test_special_tokens_must_have_the_same_ids_in_both_vocabularies():
    source = train_tokenizer(GERMAN, vocab_size=100)
    target = train_tokenizer(ENGLISH, vocab_size=100)
    with pytest.raises(ValueError, match="pad_token '</s>' has id 2 in the source vocabulary and"):
        Seq2SeqLSTMTokenizer(tokenizer_object=source.backend_tokenizer, pad_token="</s>",
                             target_tokenizer_object=_without_token(target, "</s>"))


def _without_token(tokenizer, token):
    import json

    from tokenizers import Tokenizer
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] != token]
    data["post_processor"] = None
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = {k: v for k, v in vocab.items() if k != token} if isinstance(vocab, dict) else vocab
    return Tokenizer.from_str(json.dumps(data))


def test_folders_with_a_target_tokenizer_subfolder_still_load(tmp_path):
    """The layout before one tokenizer: the source in the folder, the target in target_tokenizer/."""
    source = train_tokenizer(GERMAN, vocab_size=100)
    target = train_tokenizer(ENGLISH, vocab_size=90)
    source.save_pretrained(tmp_path)
    target.save_pretrained(tmp_path / LEGACY_TARGET_SUBFOLDER)
    loaded = load_tokenizer(tmp_path)
    assert type(loaded) is Seq2SeqLSTMTokenizer and loaded.target_vocab_size == len(target)
    batch = loaded(GERMAN[:1], text_target=ENGLISH[:1])
    assert batch["labels"] == [target(ENGLISH[0])["input_ids"]]
    assert loaded.batch_decode(batch["labels"], skip_special_tokens=True) == ENGLISH[:1]


def test_two_vocabulary_tokenizer_loads_without_the_package(tmp_path, clean_env):
    """AutoTokenizer with trust_remote_code, in a process that cannot import hf_seq2seq_lstm."""
    tokenizer = train_tokenizers(GERMAN, ENGLISH, joint=False, vocab_size=120)
    tokenizer.save_pretrained(tmp_path)
    expected = tokenizer(GERMAN[:2], text_target=ENGLISH[:2])
    code = BLOCK_PACKAGE + f"""
import json
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained({str(tmp_path)!r}, trust_remote_code=True)
batch = tok({GERMAN[:2]!r}, text_target={ENGLISH[:2]!r})
print(json.dumps([type(tok).__name__, dict(batch), tok.batch_decode(batch["labels"], skip_special_tokens=True)]))
"""
    result = subprocess.run([sys.executable, "-c", code], env=clean_env, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    name, batch, decoded = __import__("json").loads(result.stdout.splitlines()[-1])
    assert name == "Seq2SeqLSTMTokenizer" and batch == dict(expected) and decoded == ENGLISH[:2]


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

    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert len(tokenizer) == tokenizer.target_vocab_size == 1000
    german = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
    english = "Two young, White males are outside near many bushes."
    batch = tokenizer(german, text_target=english)
    assert batch["input_ids"][-1] == batch["labels"][-1] == 2
    assert tokenizer.decode(batch["input_ids"], skip_special_tokens=True, use_source_tokenizer=True) == german
    assert tokenizer.decode(batch["labels"], skip_special_tokens=True) == english
