"""A new model for a tokenizer, and the checks that a model agrees with its tokenizer and with a saved folder: what
the scripts do around the architecture (which is `modeling_seq2seq_lstm.py`'s) before training or translating."""

import os

from transformers import GenerationConfig

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig, mismatched_vocabularies, tokenizer_fingerprints
from .modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from .tokenization import separate_vocabularies, target_vocab_size

SPECIAL_TOKENS = ("pad_token_id", "bos_token_id", "eos_token_id")


def parse_config_overrides(overrides: str | None) -> dict:
    """`"hidden_size=256,attention=luong_general,input_feeding=true"` -> typed dict, as in transformers' examples."""
    # transformers' `PreTrainedConfig.update_from_string` parses the same strings but types each value by the field's
    # current value, so it cannot set a field whose default is None (encoder_hidden_size, decoder_vocab_size: a
    # TypeError), has no spelling for None, and fails on a malformed entry with a bare unpacking error. Here the value
    # is typed by its spelling, the config's strict validation then checks it, and errors are one line.
    parsed = {}
    for item in filter(None, (part.strip() for part in (overrides or "").split(","))):
        if "=" not in item:
            raise ValueError(f"--config_overrides entry {item!r} is not key=value (e.g. hidden_size=256).")
        key, value = (s.strip() for s in item.split("=", 1))
        if key not in Seq2SeqLSTMConfig().to_dict():
            raise ValueError(f"--config_overrides: {key!r} is not a Seq2SeqLSTMConfig field.")
        lowered = value.lower()
        if lowered in ("true", "false"):
            parsed[key] = lowered == "true"
        elif lowered in ("none", "null"):
            parsed[key] = None
        else:
            try:
                parsed[key] = int(value)
            except ValueError:
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
    return parsed


def special_token_ids(tokenizer) -> dict:
    return {name: getattr(tokenizer, name) for name in SPECIAL_TOKENS}


def new_model(tokenizer, **config_kwargs) -> Seq2SeqLSTMForConditionalGeneration:
    """A fresh model sized to the tokenizer's vocabularies, with its special-token ids and the fingerprints of its
    vocabularies (which `check_tokenizer_matches_model` compares with a tokenizer later)."""
    source_fingerprint, target_fingerprint = tokenizer_fingerprints(tokenizer)
    config = Seq2SeqLSTMConfig(
        vocab_size=len(tokenizer),
        decoder_vocab_size=target_vocab_size(tokenizer) if separate_vocabularies(tokenizer) else None,
        source_vocab_fingerprint=source_fingerprint,
        target_vocab_fingerprint=target_fingerprint,
        **special_token_ids(tokenizer),
        **config_kwargs,
    )
    model = Seq2SeqLSTMForConditionalGeneration(config)
    model.generation_config = clean_generation_config(model.config)
    return model


def clean_generation_config(config: Seq2SeqLSTMConfig) -> GenerationConfig:
    """Only the special tokens: everything else stays at generate()'s defaults unless the user sets it."""
    return GenerationConfig(
        pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
        decoder_start_token_id=config.decoder_start_token_id,
    )


def check_tokenizer_matches_model(model, tokenizer):
    """A tokenizer that disagrees with the model silently produces garbage; say what differs and what to do."""
    config = model.config
    if separate_vocabularies(tokenizer) != (config.decoder_vocab_size is not None):
        raise ValueError(
            f"The model has "
            f"{'separate source and target vocabularies' if config.decoder_vocab_size else 'one vocabulary'}"
            f" but the tokenizer ({type(tokenizer).__name__}) has "
            f"{'two' if separate_vocabularies(tokenizer) else 'one'}: use the tokenizer saved with the model."
        )
    for name, size, model_size, resize in (
        ("source", len(tokenizer), config.vocab_size, "resize_token_embeddings"),
        ("target", target_vocab_size(tokenizer), config.target_vocab_size, "resize_decoder_token_embeddings"),
    ):
        if size > model_size:
            raise ValueError(
                f"The tokenizer's {name} vocabulary has {size} tokens but the model's {name} embedding has "
                f"{model_size}: ids >= {model_size} would index past it. Use the tokenizer the model was trained "
                f"with, or call model.{resize}({size}) before fine-tuning."
            )
    mismatched = mismatched_vocabularies(config, tokenizer)
    if mismatched:
        # Same sizes, other token -> id maps: another model's tokenizer, whose ids the model would read as other tokens.
        raise ValueError(
            f"The tokenizer's {' and '.join(mismatched)} vocabulary is not the one the model was trained with "
            f"(config.json's {mismatched[0]}_vocab_fingerprint differs): the model would read its ids as other "
            f"tokens. Use the tokenizer saved with the model."
        )
    for name in SPECIAL_TOKENS:
        model_id, tokenizer_id = getattr(config, name), getattr(tokenizer, name)
        if tokenizer_id is not None and model_id != tokenizer_id:
            raise ValueError(
                f"Special token mismatch: the tokenizer's {name} is {tokenizer_id} but the model's config says "
                f"{model_id}. Use the tokenizer saved with the model, or fix {name} in config.json."
            )


# Config fields that do not describe the model: use_cache only switches what inference returns (and gradient
# checkpointing turns it off in the config of the checkpoints it saves).
_NOT_THE_MODEL = {"use_cache"}
# Fields whose None means "not recorded" (a checkpoint saved before they existed), not a value that differs.
_NONE_IF_UNRECORDED = {"source_vocab_fingerprint", "target_vocab_fingerprint"}


def config_differences(config: Seq2SeqLSTMConfig, folder: str | os.PathLike) -> list[str]:
    """
    How the model `config` differs from the one saved in `folder` (its config.json): "hidden_size is 16 there and
    24 here" for every Seq2SeqLSTMConfig field that differs, or for model_type; [] when they describe the same model.
    A resumed run must build the model of its checkpoint: the weights would not load into another (a load_state_dict
    traceback), or they would load into a model that trains differently (another dropout, teacher forcing, ...).
    """
    saved, _ = Seq2SeqLSTMConfig.get_config_dict(os.fspath(folder))
    model_type = saved.get("model_type")
    if model_type != Seq2SeqLSTMConfig.model_type:
        return [f"model_type is {model_type!r} there and {Seq2SeqLSTMConfig.model_type!r} here"]
    saved_config = Seq2SeqLSTMConfig.from_dict(saved)
    return [f"{name} is {getattr(saved_config, name)!r} there and {getattr(config, name)!r} here"
            for name in Seq2SeqLSTMConfig.__annotations__
            if name not in _NOT_THE_MODEL and getattr(saved_config, name) != getattr(config, name)
            and not (name in _NONE_IF_UNRECORDED and getattr(saved_config, name) is None)]


__all__ = ["check_tokenizer_matches_model", "clean_generation_config", "config_differences", "new_model",
           "parse_config_overrides", "special_token_ids"]
