# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Configuration of the LSTM/GRU encoder-decoder (Sutskever et al., 2014) with optional attention, and what every
model file shares without needing torch: the fingerprint of a vocabulary and the atomic save of a folder.

This file is copied next to saved weights for `trust_remote_code`: it imports only transformers, huggingface_hub
(which transformers requires), the standard library and its sibling model files, and does no I/O at import.
"""

import copy
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

if TYPE_CHECKING:
    # Never imported at run time. transformers copies a remote-code module's relative imports next to the weights
    # (`custom_object_save` reads them from the import lines) and downloads them with it, so every folder that carries
    # this config also carries the pipeline file its `custom_pipelines` below point at, whoever saves it.
    from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline  # noqa: F401


CELL_TYPES = ("lstm", "gru")
ATTENTION_TYPES = ("none", "bahdanau", "luong_dot", "luong_general", "luong_concat")
# transformers 5 removed these pipeline tasks, but `pipeline()` reads `config.custom_pipelines` first, so
# `pipeline("translation", model=folder_or_repo, trust_remote_code=True)` works again with the classes of the
# sibling pipeline file.
CUSTOM_PIPELINES = {
    task: {"impl": f"pipeline_seq2seq_lstm.{name}", "pt": ["AutoModelForSeq2SeqLM"], "type": "text"}
    for task, name in (
        ("translation", "Seq2SeqLSTMTranslationPipeline"),
        ("summarization", "Seq2SeqLSTMSummarizationPipeline"),
        ("text2text-generation", "Seq2SeqLSTMText2TextGenerationPipeline"),
    )
}
# The temporary folder of a save in progress (see `save_atomically`).
SAVE_IN_PROGRESS_PREFIX = ".tmp-save_pretrained-"


def vocabulary_fingerprint(vocab: dict[str, int]) -> str:
    """
    A 16-hex-digit digest (sha256) of a token -> id map, sorted by token: equal for two vocabularies exactly when
    they give every token the same id (up to hash collisions), whatever their tokenizer classes or files.
    """
    pairs = json.dumps(sorted(vocab.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(pairs.encode("utf-8")).hexdigest()[:16]


def tokenizer_fingerprints(tokenizer) -> tuple[str, str | None]:
    """
    The `(source, target)` vocabulary fingerprints of a tokenizer, as `Seq2SeqLSTMConfig` records them: the target
    one is None for one shared vocabulary, i.e. a tokenizer without `get_target_vocab` (the two-vocabulary
    `Seq2SeqLSTMTokenizer` has it). Added tokens count: they are part of the token -> id map.
    """
    target = tokenizer.get_target_vocab() if hasattr(tokenizer, "get_target_vocab") else None
    return vocabulary_fingerprint(tokenizer.get_vocab()), None if target is None else vocabulary_fingerprint(target)


def mismatched_vocabularies(config: "Seq2SeqLSTMConfig | dict", tokenizer) -> list[str]:
    """
    The sides ("source", "target") whose vocabulary in `tokenizer` is not the one `config` (a `Seq2SeqLSTMConfig`,
    or the dict of a config.json) recorded at training time. A side without a recorded fingerprint (a model saved
    before they existed, or resized since) is not compared.
    """
    def recorded(side):
        name = f"{side}_vocab_fingerprint"
        return config.get(name) if isinstance(config, dict) else getattr(config, name, None)

    return [side for side, actual in zip(("source", "target"), tokenizer_fingerprints(tokenizer))
            if recorded(side) not in (None, actual)]


def fsync_folder(folder: str) -> None:
    """Makes the renames in `folder` durable (a no-op where folders cannot be opened or synced, e.g. Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _replacement_order(name: str) -> tuple[int, str]:
    # A file goes in after those it names: the shards before their index, the code and vocabulary files before
    # config.json / tokenizer_config.json (their auto_map), so a folder read between two renames finds them.
    return (2 if name.endswith("config.json") else 1 if ".index." in name else 0), name


# The options of `save_pretrained(push_to_hub=True, ...)` that are `push_to_hub`'s (`PushToHubMixin.push_to_hub`).
_PUSH_OPTIONS = ("repo_id", "commit_message", "commit_description", "private", "token", "revision", "create_pr", "tags")


def save_atomically(save_pretrained: Callable[..., Any], save_directory: str | os.PathLike, *args,
                    **kwargs) -> tuple[Any, list[str]]:
    """
    Calls a transformers `save_pretrained(folder, *args, **kwargs)` (a model's, a tokenizer's, ...) on a new
    temporary folder inside `save_directory`, fsyncs every file it wrote, then moves each over its namesake in
    `save_directory` with `os.replace`, which is atomic within one filesystem. So a kill, a full disk or an error at
    any moment leaves each file of `save_directory` whole, as it was or as this save wrote it; an error before the
    moves (a full disk while writing the weights) leaves the folder untouched. The temporary folder is removed on
    every exit; one left by a killed process is removed by the next save into the folder, which assumes one save at
    a time per folder, as transformers' own removal of obsolete shards does.

    Returns:
        `(result, written)`: what `save_pretrained` returned, paths into the temporary folder (the files a tokenizer
        reports) made final; and the paths, relative to `save_directory`, of the files it wrote.
    """
    target = os.fspath(save_directory)
    os.makedirs(target, exist_ok=True)
    for entry in os.scandir(target):
        if entry.name.startswith(SAVE_IN_PROGRESS_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
    # transformers would push from the folder it saves into, the temporary one (named after it, and gone if the
    # upload fails): push from `save_directory` once the save is complete, as `push_to_hub` does (from a copy).
    push = kwargs.pop("push_to_hub", False)
    hub_options = {name: kwargs.pop(name) for name in _PUSH_OPTIONS if name in kwargs}
    temporary = tempfile.mkdtemp(prefix=SAVE_IN_PROGRESS_PREFIX, dir=target)
    try:
        result = save_pretrained(temporary, *args, **kwargs)
        written = sorted(
            (os.path.relpath(os.path.join(root, name), temporary) for root, _, names in os.walk(temporary)
             for name in names),
            key=_replacement_order,
        )
        for name in written:
            descriptor = os.open(os.path.join(temporary, name), os.O_RDWR)  # Windows fsyncs writable files only
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        for name in written:
            destination = os.path.join(target, name)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            os.replace(os.path.join(temporary, name), destination)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    fsync_folder(target)
    if isinstance(result, tuple):
        result = tuple(
            os.path.join(target, os.path.relpath(path, temporary))
            if isinstance(path, str) and path.startswith(temporary + os.sep) else path
            for path in result
        )
    if push:
        if "max_shard_size" in kwargs:
            hub_options["max_shard_size"] = kwargs["max_shard_size"]
        save_pretrained.__self__.push_to_hub(
            hub_options.pop("repo_id", os.path.basename(os.path.normpath(target))), **hub_options)
    return result, written


@strict
class Seq2SeqLSTMConfig(PreTrainedConfig):
    r"""
    Configuration for [`Seq2SeqLSTMModel`] and [`Seq2SeqLSTMForConditionalGeneration`].

    Args:
        vocab_size (`int`, defaults to 8000): source vocabulary size (and target vocabulary when
            `decoder_vocab_size` is None).
        decoder_vocab_size (`int`, *optional*): target vocabulary size; None means source and target share one
            vocabulary. `get_text_config(decoder=True).vocab_size` is the target size in both cases.
        embedding_size (`int`, defaults to 256): size of the source and target token embeddings.
        hidden_size (`int`, defaults to 512): decoder RNN size; also the size of the attentional vector.
        encoder_hidden_size (`int`, *optional*): encoder RNN size per direction. None means `hidden_size // 2` for
            a bidirectional encoder (its two directions concatenated then match the decoder, as in OpenNMT's brnn)
            and `hidden_size` otherwise.
        encoder_layers / decoder_layers (`int`, defaults to 1): number of stacked RNN layers.
        cell_type (`str`, defaults to "lstm"): "lstm" or "gru", for both encoder and decoder.
        bidirectional_encoder (`bool`, defaults to False): run the encoder in both directions.
        attention (`str`, defaults to "none"): "none" (the decoder sees the source only through the encoder's final
            state, the original model of Sutskever et al.), "bahdanau" (additive scores; the query is the previous
            decoder state and the context is fed into the RNN input, Bahdanau et al. 2015), or Luong et al. 2015's
            "luong_dot", "luong_general", "luong_concat" (the query is the current decoder state).
        input_feeding (`bool`, defaults to False): Luong's input feeding: the previous attentional vector is
            concatenated to the decoder input. Needs a Luong attention.
        dropout (`float`, defaults to 0.1): dropout on embeddings, between RNN layers and before the output layer.
        teacher_forcing_ratio (`float`, defaults to 1.0): probability of feeding the gold previous token in training;
            below 1.0 the model's own previous prediction is fed otherwise (scheduled sampling).
        reverse_source (`bool`, defaults to False): read each source sentence backwards (Sutskever et al.'s trick);
            padding stays where it is, and outputs and attention weights are reported in the original source order.
        tie_word_embeddings (`bool`, defaults to False): tie the output layer to the decoder embedding (a bias-free
            projection from `hidden_size` to `embedding_size` is added when they differ).
        share_embeddings (`bool`, defaults to False): encoder and decoder use one embedding matrix (needs a shared
            vocabulary).
        label_smoothing (`float`, defaults to 0.0): label smoothing of the cross-entropy loss.
        init_range (`float`, defaults to 0.1): embeddings and linear layers start uniform in [-init_range,
            init_range] (OpenNMT's `param_init`); the RNNs keep torch's own init. A Transformer's normal(0, 0.02)
            starves an RNN of input signal and stalls early training.
        pad_token_id / bos_token_id / eos_token_id / decoder_start_token_id (`int`): special token ids, the same in
            both vocabularies; the defaults match tokenizers trained with `<pad> <s> </s> <unk>` first.
            `decoder_start_token_id` None means `bos_token_id`.
        use_cache (`bool`, defaults to True): return the decoder state as `past_key_values`.
        source_vocab_fingerprint / target_vocab_fingerprint (`str`, *optional*): [`vocabulary_fingerprint`] of the
            source and target vocabularies the model was trained with (target None for one shared vocabulary), so
            that another tokenizer of the same size is recognised; None means unknown (not checked). Resizing an
            embedding clears its fingerprint.
    """

    model_type = "seq2seq_lstm"
    keys_to_ignore_at_inference = ["past_key_values"]
    # generate() sizes caches with `num_hidden_layers`; the decoder is the generating stack.
    attribute_map = {"num_hidden_layers": "decoder_layers"}
    # One attention distribution per target step: cross-attentions have the library's (B, heads, T, S) shape with
    # one head. Not a field: nothing can be configured.
    num_attention_heads = 1

    vocab_size: int = 8000
    decoder_vocab_size: int | None = None
    embedding_size: int = 256
    hidden_size: int = 512
    encoder_hidden_size: int | None = None
    encoder_layers: int = 1
    decoder_layers: int = 1
    cell_type: str = "lstm"
    bidirectional_encoder: bool = False
    attention: str = "none"
    input_feeding: bool = False
    dropout: float | int = 0.1
    teacher_forcing_ratio: float | int = 1.0
    reverse_source: bool = False
    tie_word_embeddings: bool = False
    share_embeddings: bool = False
    label_smoothing: float | int = 0.0
    init_range: float | int = 0.1
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    decoder_start_token_id: int | None = None
    use_cache: bool = True
    is_encoder_decoder: bool = True
    source_vocab_fingerprint: str | None = None
    target_vocab_fingerprint: str | None = None

    def __post_init__(self, **kwargs):
        # Like Marian, generation starts from a dedicated token; the BOS token is the natural choice here.
        if self.decoder_start_token_id is None:
            self.decoder_start_token_id = self.bos_token_id
        # Other tasks a user registered stay; ours always point at the sibling pipeline file.
        custom_pipelines = kwargs.pop("custom_pipelines", None) or {}
        kwargs["custom_pipelines"] = {**custom_pipelines, **copy.deepcopy(CUSTOM_PIPELINES)}
        super().__post_init__(**kwargs)

    @property
    def target_vocab_size(self) -> int:
        return self.vocab_size if self.decoder_vocab_size is None else self.decoder_vocab_size

    @property
    def encoder_directions(self) -> int:
        return 2 if self.bidirectional_encoder else 1

    @property
    def encoder_rnn_size(self) -> int:
        """Encoder RNN size per direction."""
        if self.encoder_hidden_size is not None:
            return self.encoder_hidden_size
        return self.hidden_size // 2 if self.bidirectional_encoder else self.hidden_size

    @property
    def encoder_output_size(self) -> int:
        """Size of an encoder output vector (both directions concatenated)."""
        return self.encoder_rnn_size * self.encoder_directions

    def get_text_config(self, decoder=None, encoder=None) -> PreTrainedConfig:
        """
        This config describes both sides with one set of fields, of which only the vocabulary differs: the library
        reads the size of the logits from `get_text_config().vocab_size` (`compute_transition_scores`, beam indices,
        watermarking) and the decoder's from `get_text_config(decoder=True)`, so both views report the target
        vocabulary, and `get_text_config(encoder=True)` the source's. The base class's flat encoder-decoder view
        (`decoder_*` fields renamed) does not apply: `encoder_hidden_size` is a per-direction size, for example.
        A view is a copy only where its vocabulary differs from `vocab_size`.
        """
        if (encoder and not decoder) or self.target_vocab_size == self.vocab_size:
            return self
        decoder_view = copy.deepcopy(self)
        decoder_view.vocab_size = self.target_vocab_size
        return decoder_view

    def to_dict(self) -> dict:
        output = super().to_dict()
        # pipeline() turns the "pt" class names of the entry it uses into classes, in place: write ours afresh.
        output["custom_pipelines"] = {**output.get("custom_pipelines", {}), **copy.deepcopy(CUSTOM_PIPELINES)}
        return output

    def validate_architecture(self):
        """Part of `@strict`-powered validation: the rules that tie fields together, with what to change."""

        def fail(field, value, allowed):
            raise ValueError(f"Seq2SeqLSTMConfig: invalid {field}={value!r}; {allowed}.")

        for field in ("vocab_size", "embedding_size", "hidden_size", "encoder_layers", "decoder_layers",
                      "decoder_vocab_size", "encoder_hidden_size"):
            value = getattr(self, field)
            if value is not None and value < 1:
                fail(field, value, "it must be a positive integer")
        if self.cell_type not in CELL_TYPES:
            fail("cell_type", self.cell_type, f"allowed values are {', '.join(CELL_TYPES)}")
        if self.attention not in ATTENTION_TYPES:
            fail("attention", self.attention, f"allowed values are {', '.join(ATTENTION_TYPES)}")
        if self.bidirectional_encoder and self.encoder_hidden_size is None and self.hidden_size % 2:
            fail("hidden_size", self.hidden_size,
                 "a bidirectional encoder without encoder_hidden_size uses hidden_size // 2 per direction, so "
                 "hidden_size must be even (or set encoder_hidden_size)")
        if not 0.0 <= self.dropout < 1.0:
            fail("dropout", self.dropout, "it must be in [0, 1)")
        if not 0.0 <= self.teacher_forcing_ratio <= 1.0:
            fail("teacher_forcing_ratio", self.teacher_forcing_ratio,
                 "it must be in [0, 1]: 1.0 always feeds the gold previous token in training")
        if not 0.0 <= self.label_smoothing < 1.0:
            fail("label_smoothing", self.label_smoothing, "it must be in [0, 1)")
        if self.init_range <= 0:
            fail("init_range", self.init_range, "it must be positive")
        if self.input_feeding and self.attention == "none":
            fail("input_feeding", True, "input feeding feeds the previous attentional vector, so it needs "
                 "attention='luong_dot', 'luong_general' or 'luong_concat'")
        if self.input_feeding and self.attention == "bahdanau":
            fail("input_feeding", True, "Bahdanau attention already feeds its context into the decoder RNN; "
                 "use input_feeding with a Luong attention")
        if self.attention == "luong_dot" and self.encoder_output_size != self.hidden_size:
            fail("attention", self.attention,
                 f"dot scores need encoder outputs of the decoder's size, but the encoder gives "
                 f"{self.encoder_output_size} (encoder_hidden_size x directions) and hidden_size is "
                 f"{self.hidden_size}; use 'luong_general' or matching sizes")
        if self.share_embeddings and self.decoder_vocab_size not in (None, self.vocab_size):
            fail("share_embeddings", True,
                 f"sharing needs one vocabulary, but vocab_size={self.vocab_size} and "
                 f"decoder_vocab_size={self.decoder_vocab_size}; set decoder_vocab_size=None or share_embeddings=False")
        smallest_vocabulary = min(self.vocab_size, self.target_vocab_size)
        for field in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            values = getattr(self, field)
            for value in values if isinstance(values, list) else [values]:
                if value is not None and not 0 <= value < smallest_vocabulary:
                    fail(field, value, f"token ids must lie in [0, {smallest_vocabulary}), in both vocabularies")


__all__ = ["Seq2SeqLSTMConfig"]
