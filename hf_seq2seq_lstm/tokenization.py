# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Training subword tokenizers (BPE or Unigram) for the seq2seq model with the 🤗 tokenizers library.

The tokenizers are wrapped as [`~transformers.PreTrainedTokenizerFast`] (called `TokenizersBackend` in transformers
v5), so `save_pretrained` writes `tokenizer.json` + `tokenizer_config.json` and `AutoTokenizer.from_pretrained` loads
them back. Their layout matches the defaults of [`Seq2SeqLSTMConfig`]: `<pad>`=0, `<s>`=1, `</s>`=2, `<unk>`=3, and
every encoded sequence (source and `labels`) ends with `</s>`.

Source and target may share one vocabulary (joint, the default) or have one each. A pair is saved as one tokenizer
folder, with the target tokenizer in a `target_tokenizer/` subfolder only when the vocabularies are separate.
"""

import itertools
import logging
import os
import shutil
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast


logger = logging.getLogger(__name__)

# Order matters: trainers give special tokens the first ids in this order, which the model config expects.
SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
MODEL_TYPES = ("bpe", "unigram")
TARGET_TOKENIZER_SUBFOLDER = "target_tokenizer"


def train_tokenizer(
    texts: Iterable[str],
    *,
    model_type: str = "bpe",
    vocab_size: int = 8000,
    lowercase: bool = False,
    min_frequency: int = 2,
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
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}.")
    special_tokens = list(SPECIAL_TOKENS.values())
    unk_token = SPECIAL_TOKENS["unk_token"]
    eos_token = SPECIAL_TOKENS["eos_token"]

    if model_type == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=unk_token))
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special_tokens
        )
    else:
        tokenizer = Tokenizer(models.Unigram())
        # `unk_token` tells the trainer which special token the trained model maps unknown pieces to.
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=special_tokens, unk_token=unk_token)

    normalizer_steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(normalizer_steps)
    pre_tokenizer_steps = [pre_tokenizers.Metaspace()]
    if split_digits:
        pre_tokenizer_steps.append(pre_tokenizers.Digits(individual_digits=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(pre_tokenizer_steps)
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(texts, trainer=trainer)

    # Set after training so that the eos id is looked up in the trained vocabulary rather than assumed.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A:0 {eos_token}:0",
        pair=f"$A:0 {eos_token}:0 $B:1 {eos_token}:1",
        special_tokens=[(eos_token, tokenizer.token_to_id(eos_token))],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def train_tokenizers(
    source_texts: Iterable[str],
    target_texts: Iterable[str],
    *,
    joint: bool = True,
    model_type: str = "bpe",
    vocab_size: int = 8000,
    lowercase: bool = False,
    min_frequency: int = 2,
    split_digits: bool = False,
) -> tuple[PreTrainedTokenizerFast, PreTrainedTokenizerFast]:
    """
    Trains the source and target tokenizers of a seq2seq task.

    Args:
        source_texts (`Iterable[str]`), target_texts (`Iterable[str]`): training sentences of each side.
        joint (`bool`, defaults to True): train one tokenizer on both sides (a shared vocabulary, needed for
            `share_embeddings`) and return it twice, the same object; otherwise train one tokenizer per side, each
            with `vocab_size` tokens.
        model_type, vocab_size, lowercase, min_frequency, split_digits: see [`train_tokenizer`].

    Returns:
        `tuple[PreTrainedTokenizerFast, PreTrainedTokenizerFast]`: `(source_tokenizer, target_tokenizer)`.
    """
    options = {
        "model_type": model_type,
        "vocab_size": vocab_size,
        "lowercase": lowercase,
        "min_frequency": min_frequency,
        "split_digits": split_digits,
    }
    if joint:
        tokenizer = train_tokenizer(itertools.chain(source_texts, target_texts), **options)
        return tokenizer, tokenizer
    return train_tokenizer(source_texts, **options), train_tokenizer(target_texts, **options)


def save_tokenizers(
    save_directory: str | os.PathLike,
    source_tokenizer: PreTrainedTokenizerFast,
    target_tokenizer: PreTrainedTokenizerFast,
) -> None:
    """
    Saves a tokenizer pair: the source tokenizer in `save_directory` and, only when it is a different object, the
    target tokenizer in `save_directory/target_tokenizer/`.

    A `target_tokenizer/` subfolder left by an earlier save is removed when saving a joint pair: it would otherwise
    make [`load_tokenizers`] return the stale target tokenizer.
    """
    source_tokenizer.save_pretrained(save_directory)
    target_directory = os.path.join(save_directory, TARGET_TOKENIZER_SUBFOLDER)
    if target_tokenizer is not source_tokenizer:
        target_tokenizer.save_pretrained(target_directory)
    elif os.path.isdir(target_directory):
        logger.warning("Removing %s: the saved tokenizers now share one vocabulary.", target_directory)
        shutil.rmtree(target_directory)


def load_tokenizers(
    pretrained_directory: str | os.PathLike,
) -> tuple[PreTrainedTokenizerFast, PreTrainedTokenizerFast]:
    """
    Loads a tokenizer pair written by [`save_tokenizers`].

    Returns:
        `tuple`: `(source_tokenizer, target_tokenizer)`; the same object twice when `pretrained_directory` has no
        `target_tokenizer/` subfolder (a joint vocabulary).
    """
    source_tokenizer = AutoTokenizer.from_pretrained(pretrained_directory)
    target_directory = os.path.join(pretrained_directory, TARGET_TOKENIZER_SUBFOLDER)
    if not os.path.isdir(target_directory):
        return source_tokenizer, source_tokenizer
    return source_tokenizer, AutoTokenizer.from_pretrained(target_directory)
