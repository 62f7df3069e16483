# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Training subword tokenizers (BPE or Unigram) for the seq2seq model with the 🤗 tokenizers library.

The tokenizers are wrapped as [`~transformers.PreTrainedTokenizerFast`] (called `TokenizersBackend` in transformers
v5), so `save_pretrained` writes `tokenizer.json` + `tokenizer_config.json` and `AutoTokenizer.from_pretrained` loads
them back. Their layout matches the defaults of [`Seq2SeqLSTMConfig`]: `<pad>`=0, `<s>`=1, `</s>`=2, `<unk>`=3, and
every encoded sequence (source and `labels`) ends with `</s>`.

Source and target may share one vocabulary (joint, the default: a plain fast tokenizer) or have one each: a
[`Seq2SeqLSTMTokenizer`] holding both, which `AutoTokenizer` loads (with `trust_remote_code=True` where this package is
not installed). Either way the model is used with one tokenizer: `tok(src, text_target=tgt)`, `tok.batch_decode(ids)`.
"""

import itertools
import logging
import os
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from .configuration_seq2seq_lstm import save_atomically
from .tokenization_seq2seq_lstm import Seq2SeqLSTMTokenizer

__all__ = [
    "DEFAULT_MIN_FREQUENCY",
    "DEFAULT_MODEL_TYPE",
    "DEFAULT_VOCAB_SIZE",
    "LEGACY_TARGET_SUBFOLDER",
    "MODEL_TYPES",
    "SPECIAL_TOKENS",
    "load_tokenizer",
    "save_tokenizer",
    "separate_vocabularies",
    "target_vocab_size",
    "train_tokenizer",
    "train_tokenizers",
]

logger = logging.getLogger(__name__)

# Order matters: trainers give special tokens the first ids in this order, which the model config expects.
SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
MODEL_TYPES = ("bpe", "unigram")
# The defaults of the training options, which the scripts' flags take from here.
DEFAULT_MODEL_TYPE = "bpe"
DEFAULT_VOCAB_SIZE = 8000
DEFAULT_MIN_FREQUENCY = 2
# Where folders saved before the one-tokenizer layout keep the target tokenizer; they still load.
LEGACY_TARGET_SUBFOLDER = "target_tokenizer"


def train_tokenizer(
    texts: Iterable[str],
    *,
    model_type: str = DEFAULT_MODEL_TYPE,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    lowercase: bool = False,
    min_frequency: int = DEFAULT_MIN_FREQUENCY,
    split_digits: bool = False,
) -> PreTrainedTokenizerFast:
    """
    Trains a subword tokenizer on `texts` and wraps it for transformers.

    The pipeline is: NFKC normalization (then lowercasing when `lowercase`), a Metaspace pre-tokenizer (spaces become
    `▁` and are kept inside the subwords, so decoding restores them exactly), the BPE or Unigram model, and a
    post-processor appending `</s>` to every sequence. `<pad> <s> </s> <unk>` get ids 0, 1, 2, 3.

    Decoding with `skip_special_tokens=True` gives back the NFKC-normalized input (lowercased when `lowercase`) for
    text whose characters all occur in the training texts; other characters become `<unk>`.

    Args:
        texts (`Iterable[str]`): training sentences; read once, so a generator works.
        model_type (`str`, defaults to "bpe"): "bpe" (byte-pair encoding) or "unigram" (SentencePiece's unigram LM).
        vocab_size (`int`, defaults to 8000): target vocabulary size, special tokens included. Small corpora may
            give fewer BPE tokens.
        lowercase (`bool`, defaults to False): lowercase all text before tokenization.
        min_frequency (`int`, defaults to 2): minimum count of a BPE merge. Unigram has no such threshold and
            ignores it.
        split_digits (`bool`, defaults to False): every digit is its own token, so numbers never merge into
            subwords; a model then learns digits once instead of every number it saw (dates, quantities).

    Returns:
        [`~transformers.PreTrainedTokenizerFast`]: the trained tokenizer.
    """
    tokenizer, trainer = _untrained_tokenizer(model_type, vocab_size, min_frequency)
    normalizer_steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(normalizer_steps)
    pre_tokenizer_steps = [pre_tokenizers.Metaspace()]
    if split_digits:
        pre_tokenizer_steps.append(pre_tokenizers.Digits(individual_digits=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(pre_tokenizer_steps)
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(texts, trainer=trainer)

    # Set after training so that the eos id is looked up in the trained vocabulary rather than assumed.
    eos_token = SPECIAL_TOKENS["eos_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A:0 {eos_token}:0",
        pair=f"$A:0 {eos_token}:0 $B:1 {eos_token}:1",
        special_tokens=[(eos_token, tokenizer.token_to_id(eos_token))],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def _untrained_tokenizer(model_type: str, vocab_size: int, min_frequency: int) -> tuple[Tokenizer, trainers.Trainer]:
    """The BPE or Unigram model of [`train_tokenizer`] and the trainer that gives the special tokens ids 0-3."""
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}.")
    special_tokens = list(SPECIAL_TOKENS.values())
    unk_token = SPECIAL_TOKENS["unk_token"]
    if model_type == "bpe":
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special_tokens)
        return Tokenizer(models.BPE(unk_token=unk_token)), trainer
    # `unk_token` tells the trainer which special token the trained model maps unknown pieces to.
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=special_tokens, unk_token=unk_token)
    return Tokenizer(models.Unigram()), trainer


def train_tokenizers(
    source_texts: Iterable[str],
    target_texts: Iterable[str],
    *,
    joint: bool = True,
    model_type: str = DEFAULT_MODEL_TYPE,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    lowercase: bool = False,
    min_frequency: int = DEFAULT_MIN_FREQUENCY,
    split_digits: bool = False,
) -> PreTrainedTokenizerFast:
    """
    Trains the tokenizer of a seq2seq task.

    Args:
        source_texts (`Iterable[str]`), target_texts (`Iterable[str]`): training sentences of each side.
        joint (`bool`, defaults to True): one vocabulary trained on both sides (needed for `share_embeddings`),
            returned as a plain fast tokenizer; otherwise one vocabulary per side, each with `vocab_size` tokens, held
            by one [`Seq2SeqLSTMTokenizer`].
        model_type, vocab_size, lowercase, min_frequency, split_digits: see [`train_tokenizer`].
    """
    options = {
        "model_type": model_type,
        "vocab_size": vocab_size,
        "lowercase": lowercase,
        "min_frequency": min_frequency,
        "split_digits": split_digits,
    }
    if joint:
        return train_tokenizer(itertools.chain(source_texts, target_texts), **options)
    source, target = train_tokenizer(source_texts, **options), train_tokenizer(target_texts, **options)
    return Seq2SeqLSTMTokenizer(
        tokenizer_object=source.backend_tokenizer, target_tokenizer_object=target.backend_tokenizer, **SPECIAL_TOKENS
    )


def target_vocab_size(tokenizer: PreTrainedTokenizerBase) -> int:
    """The number of target ids `tokenizer` can produce: the model's `decoder_vocab_size` (or `vocab_size`)."""
    return tokenizer.target_vocab_size if separate_vocabularies(tokenizer) else len(tokenizer)


def separate_vocabularies(tokenizer: PreTrainedTokenizerBase) -> bool:
    # By what only the two-vocabulary tokenizer has, not by class: one loaded with trust_remote_code is the class from
    # the model folder, not this package's. The pipeline file applies the same rule.
    return hasattr(tokenizer, "target_vocab_size")


def load_tokenizer(pretrained_directory: str | os.PathLike, **kwargs) -> PreTrainedTokenizerBase:
    """
    Loads the tokenizer saved with a model (`kwargs` go to `AutoTokenizer.from_pretrained`). A folder of the earlier
    layout, with the target tokenizer in a `target_tokenizer/` subfolder, gives a [`Seq2SeqLSTMTokenizer`] too.
    """
    source = AutoTokenizer.from_pretrained(pretrained_directory, **kwargs)
    legacy_target = os.path.join(pretrained_directory, LEGACY_TARGET_SUBFOLDER, "tokenizer.json")
    if separate_vocabularies(source) or not os.path.isfile(legacy_target):
        return source
    return Seq2SeqLSTMTokenizer(
        tokenizer_object=source.backend_tokenizer, target_tokenizer_object=Tokenizer.from_file(legacy_target),
        **{name: getattr(source, name) for name in SPECIAL_TOKENS}, name_or_path=source.name_or_path,
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerBase, save_directory: str | os.PathLike, **kwargs) -> tuple[str, ...]:
    """
    `tokenizer.save_pretrained(save_directory, **kwargs)`, atomic per file for any tokenizer: saving over an existing
    one, a kill or a full disk at any moment leaves every file whole, old or new (see
    `configuration_seq2seq_lstm.save_atomically`). The two-vocabulary tokenizer's own `save_pretrained` already is;
    a plain fast tokenizer's (one shared vocabulary) is transformers', which rewrites the files in place.

    Returns:
        The paths of the files written, as `save_pretrained` returns them.
    """
    return save_atomically(tokenizer.save_pretrained, save_directory, **kwargs)[0]
