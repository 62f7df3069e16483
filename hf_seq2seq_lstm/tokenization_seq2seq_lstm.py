# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""One tokenizer for a model whose source and target have separate vocabularies, following MarianTokenizer.

A model with one shared vocabulary needs no class of its own: a plain fast tokenizer (`TokenizersBackend`) does both
sides. With two vocabularies, [`Seq2SeqLSTMTokenizer`] holds both `tokenizers` models and switches between them the
way transformers switches any tokenizer for `text_target=`:

    tok = AutoTokenizer.from_pretrained(folder_or_repo, trust_remote_code=True)
    batch = tok(["ein Satz"], text_target=["a sentence"])    # input_ids: source ids, labels: target ids
    tok.batch_decode(model.generate(**tok(["ein Satz"], return_tensors="pt")), skip_special_tokens=True)

This file is copied next to saved weights for `trust_remote_code`: it imports only tokenizers, transformers, the
standard library and the sibling configuration file (which needs no torch).
"""

import json
import os

from tokenizers import Tokenizer
from transformers import TokenizersBackend
from transformers.utils import logging

from .configuration_seq2seq_lstm import mismatched_vocabularies, save_atomically

logger = logging.get_logger(__name__)

TARGET_TOKENIZER_FILE = "target_tokenizer.json"


class Seq2SeqLSTMTokenizer(TokenizersBackend):
    r"""
    A source and a target subword tokenizer with one set of special tokens, as MarianTokenizer with
    `separate_vocabs=True`:

    - `tok(text)` encodes source text with the source vocabulary; `tok(text_target=...)` encodes target text with
      the target vocabulary (into `labels` when both are given).
    - `decode`, `batch_decode` and `convert_ids_to_tokens` read target ids (what `generate()` returns); pass
      `use_source_tokenizer=True` to `decode`/`batch_decode`, or call `convert_source_ids_to_tokens`, for source ids.
    - `len(tok)`, `vocab_size` and `get_vocab()` describe the source vocabulary (the model's `vocab_size`, which
      `resize_token_embeddings(len(tok))` resizes); `target_vocab_size` and `get_target_vocab()` the target one
      (the model's `decoder_vocab_size`). `add_tokens` adds to the source vocabulary.
    - The special tokens (`pad_token_id`, `bos_token_id`, `eos_token_id`, `unk_token_id`) have the same ids in both
      vocabularies; the model config holds one set.

    `save_pretrained` writes `tokenizer.json` (source), `target_tokenizer.json` (target) and `tokenizer_config.json`,
    each atomically.

    Args:
        tokenizer_file (`str`, *optional*): path of the source `tokenizer.json`.
        target_tokenizer_file (`str`, *optional*): path of the target tokenizer's json file.
        tokenizer_object / target_tokenizer_object ([`tokenizers.Tokenizer`], *optional*): the two tokenizers, in
            place of the files.
        kwargs: the special tokens and other [`~transformers.TokenizersBackend`] arguments.
    """

    vocab_files_names = {"tokenizer_file": "tokenizer.json", "target_tokenizer_file": TARGET_TOKENIZER_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, tokenizer_file=None, target_tokenizer_file=None, target_tokenizer_object=None, **kwargs):
        if target_tokenizer_object is not None:
            target = Tokenizer.from_str(target_tokenizer_object.to_str())
        elif target_tokenizer_file is not None and os.path.isfile(target_tokenizer_file):
            target = Tokenizer.from_file(target_tokenizer_file)
        else:
            raise ValueError(
                f"{type(self).__name__} needs the target vocabulary: pass target_tokenizer_file= (the "
                f"{TARGET_TOKENIZER_FILE} saved with it) or target_tokenizer_object=."
            )
        super().__init__(tokenizer_file=tokenizer_file, **kwargs)
        self._source_tokenizer = self._tokenizer
        self._target_tokenizer = target
        target.encode_special_tokens = self._source_tokenizer.encode_special_tokens
        for name in ("pad_token", "bos_token", "eos_token", "unk_token"):
            token = getattr(self, name)
            if token is None:
                continue
            source_id, target_id = self._source_tokenizer.token_to_id(token), target.token_to_id(token)
            if source_id != target_id:
                raise ValueError(
                    f"{name} {token!r} has id {source_id} in the source vocabulary and {target_id} in the target "
                    f"vocabulary: the model has one set of special-token ids, so train both tokenizers with the same "
                    f"special tokens first."
                )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        r"""
        [`~PreTrainedTokenizerBase.from_pretrained`]; from a local model folder, warns when a vocabulary differs from
        the one its config.json recorded at training time (`source_vocab_fingerprint`, `target_vocab_fingerprint`):
        the model would read the ids as other tokens.
        """
        tokenizer = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        folder = os.path.join(os.fspath(pretrained_model_name_or_path), kwargs.get("subfolder") or "")
        try:
            with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, ValueError, TypeError):
            return tokenizer  # a Hub id, a tokenizer without a model, or a broken config.json (the model's to report)
        mismatched = mismatched_vocabularies(config, tokenizer) if isinstance(config, dict) else []
        if mismatched:
            logger.warning(
                f"The {' and '.join(mismatched)} vocabulary of the tokenizer in {folder} is not the one the model's "
                f"config.json beside it was trained with: the model would read its ids as other tokens. Use the "
                f"tokenizer saved with the model."
            )
        return tokenizer

    def save_pretrained(self, save_directory, *args, **kwargs) -> tuple[str, ...]:
        """
        [`~PreTrainedTokenizerBase.save_pretrained`], atomic per file (see `save_atomically`): saving over an
        existing tokenizer, a kill or a full disk at any moment leaves every file whole, old or new.
        """
        return save_atomically(super().save_pretrained, save_directory, *args, **kwargs)[0]

    @classmethod
    def convert_to_native_format(cls, trust_remote_code=False, **kwargs):
        # Both files are whole `tokenizers` serialisations, which `__init__` loads as they are. Without this the base
        # class rebuilds the backend of a subclass with its own `__init__` from the bare vocabulary, losing the
        # BPE merges, normalizer and pre-tokenizer.
        return super().convert_to_native_format(trust_remote_code=True, **kwargs)

    # transformers calls these around `text_target=` encoding (tokenization_utils_base), as for Marian.
    def _switch_to_input_mode(self):
        self._tokenizer = self._source_tokenizer

    def _switch_to_target_mode(self):
        self._tokenizer = self._target_tokenizer

    @property
    def target_vocab_size(self) -> int:
        """Size of the target vocabulary, added tokens included: the model's `decoder_vocab_size`."""
        return self._target_tokenizer.get_vocab_size(with_added_tokens=True)

    def get_target_vocab(self) -> dict[str, int]:
        return self._target_tokenizer.get_vocab(with_added_tokens=True)

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Target ids to target tokens, as `decode` reads them."""
        return self._with_backend(self._target_tokenizer, super().convert_ids_to_tokens, ids, skip_special_tokens)

    def convert_source_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        return self._with_backend(self._source_tokenizer, super().convert_ids_to_tokens, ids, skip_special_tokens)

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None,
                use_source_tokenizer=False, **kwargs) -> str:
        backend = self._source_tokenizer if use_source_tokenizer else self._target_tokenizer
        return self._with_backend(backend, super()._decode, token_ids, skip_special_tokens,
                                  clean_up_tokenization_spaces, **kwargs)

    def _with_backend(self, backend, method, *args, **kwargs):
        active, self._tokenizer = self._tokenizer, backend
        try:
            return method(*args, **kwargs)
        finally:
            self._tokenizer = active

    def _save_pretrained(self, save_directory, file_names, legacy_format=None, filename_prefix=None):
        file_names = self._with_backend(self._source_tokenizer, super()._save_pretrained, save_directory,
                                        file_names, legacy_format, filename_prefix)
        target_file = os.path.join(
            str(save_directory), (filename_prefix + "-" if filename_prefix else "") + TARGET_TOKENIZER_FILE
        )
        self._target_tokenizer.save(target_file)
        return file_names + (target_file,)


__all__ = ["TARGET_TOKENIZER_FILE", "Seq2SeqLSTMTokenizer"]
