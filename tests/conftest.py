"""Shared fixtures: small random models and padded batches that exercise every code path."""

import importlib.util
import os
import struct
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import hf_seq2seq_lstm  # noqa: E402  (registers the Auto classes)

REPO_ROOT = Path(__file__).resolve().parents[1]
MULTI30K = REPO_ROOT.parent / "shared" / "data" / "multi30k"

VOCAB = 41


def make_model(**overrides):
    """A small random model in eval mode; init_range large enough that outputs are not near-uniform."""
    settings = dict(
        vocab_size=VOCAB, embedding_size=12, hidden_size=16, encoder_layers=2, decoder_layers=2,
        bidirectional_encoder=True, dropout=0.0, init_range=0.5,
    )
    settings.update(overrides)
    torch.manual_seed(0)
    config = hf_seq2seq_lstm.Seq2SeqLSTMConfig(**settings)
    return hf_seq2seq_lstm.Seq2SeqLSTMForConditionalGeneration(config).eval()


def padded_batch(lengths=(7, 4, 6, 2), vocab=VOCAB, seed=1, left=False):
    """input_ids (B, max(lengths)) of non-special tokens, padded with 0, and the attention mask."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    input_ids = torch.zeros(len(lengths), width, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        span = slice(width - length, width) if left else slice(0, length)
        input_ids[row, span] = torch.randint(4, vocab, (length,), generator=generator)
        attention_mask[row, span] = 1
    return input_ids, attention_mask


def load_script(name: str):
    """scripts/<name>.py as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """(data file, tokenizer folder) of the fixed-length digit task (tests/reliability_helpers.py)."""
    from reliability_helpers import write_fixed_length_data

    return write_fixed_length_data(tmp_path_factory.mktemp("fixed"))


@pytest.fixture(scope="module")
def saved_model(fixed, tmp_path_factory):
    """A tiny saved model with its joint (15-token, digit-level) tokenizer, whose fingerprint its config.json records:
    the fixed-length task's (`fixed`)."""
    from hf_seq2seq_lstm.models import new_model
    from hf_seq2seq_lstm.tokenization import load_tokenizer

    output_dir = tmp_path_factory.mktemp("saved")
    tokenizer = load_tokenizer(fixed[1])
    torch.manual_seed(0)
    new_model(tokenizer, hidden_size=8, embedding_size=8, attention="luong_general").save_pretrained(
        output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


@pytest.fixture
def clean_env(tmp_path):
    """Environment for a subprocess in which the hf_seq2seq_lstm package cannot be imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["HF_HUB_OFFLINE"] = "1"
    env["HF_MODULES_CACHE"] = str(tmp_path / "hf_modules")
    return env


# Prepended to subprocess code: the package is installed (editable) in the venv, so hide it explicitly.
BLOCK_PACKAGE = """
import sys
class _BlockPackage:
    def find_spec(self, name, path=None, target=None):
        if name == "hf_seq2seq_lstm" or name.startswith("hf_seq2seq_lstm."):
            raise ModuleNotFoundError(f"{name} is hidden in this test")
sys.meta_path.insert(0, _BlockPackage())
"""

PYTHON = sys.executable
