"""Batch translation of many texts: batches of similar length for speed, outputs in input order; blank texts stay
blank and truncated ones are reported."""

import logging
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

# the truncation training applies to its sources, with the flags of which texts it cut
from .data import encode_truncated

__all__ = ["CrossAttention", "length_sorted_batches", "translate"]

logger = logging.getLogger(__name__)

# how many line numbers of truncated texts a warning lists
SHOWN_LINE_NUMBERS = 5


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so little compute goes to padding."""
    order = sorted(range(len(lengths)), key=lambda index: -lengths[index])
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@dataclass
class CrossAttention:
    """The attention of one output over its source: `weights` (T, S), row t for the t-th generated token."""

    source_tokens: list[str]
    target_tokens: list[str]
    weights: torch.Tensor


@torch.inference_mode()
def translate(model, tokenizer, texts: list[str], *, batch_size: int = 64,
              max_source_length: int | None = None, progress: bool = True, return_attentions: bool = False,
              **generate_kwargs):
    """
    Generates an output for every text. Returns a list of `num_return_sequences` outputs per text (one string per
    text when it is 1), in input order, whatever order the length-sorted batches ran in.

    With `return_attentions=True` (a model with attention), returns `(outputs, attentions)`: one `CrossAttention`
    per text, for its first (best) output, with the source tokens (no padding) and the generated tokens (up to
    `</s>`); works with greedy, sampling and beam search. Plot one with `plotting.plot_attention`.

    A blank (empty or whitespace-only) text is not sent to the model, which would invent an output for it: its
    output is "" (a list of `num_return_sequences` of them) and its attention None. A text longer than
    `max_source_length` tokens (`</s>` included) is truncated to it. Both are counted in a warning of this module's
    logger, the truncated ones with their line numbers (their positions in `texts`, from 1).
    """
    num_return_sequences = generate_kwargs.get("num_return_sequences", 1)
    if return_attentions:
        if getattr(model.config, "attention", None) == "none":
            raise ValueError("This model has no attention (attention='none'): there are no weights to return.")
        generate_kwargs = {**generate_kwargs, "output_attentions": True, "return_dict_in_generate": True}
    outputs: list = ["" if num_return_sequences == 1 else [""] * num_return_sequences for _ in texts]
    attentions: list = [None] * len(texts)
    kept = [index for index, text in enumerate(texts) if text.strip()]
    if len(kept) < len(texts):
        blank = len(texts) - len(kept)
        logger.warning("%d blank input line%s left blank (not sent to the model).", blank, "s" * (blank != 1))
    if not kept:  # the tokenizer and the model refuse an empty batch
        return (outputs, attentions) if return_attentions else outputs
    kept_texts = [texts[index] for index in kept]
    if max_source_length is None:
        encodings = tokenizer(kept_texts)
    else:
        encodings, cut = encode_truncated(tokenizer, kept_texts, max_source_length)
        _warn_truncated([kept[position] + 1 for position, is_cut in enumerate(cut) if is_cut], len(texts),
                        max_source_length)
    lengths = [len(ids) for ids in encodings["input_ids"]]
    model.eval()
    with tqdm(total=len(kept), disable=not progress, unit="sent", desc="translating") as bar:
        for rows in length_sorted_batches(lengths, batch_size):  # rows of `encodings`, i.e. of kept_texts
            batch = [kept[row] for row in rows]
            features = [{"input_ids": encodings["input_ids"][row], "attention_mask": encodings["attention_mask"][row]}
                        for row in rows]
            inputs = tokenizer.pad(features, return_tensors="pt").to(model.device)
            generated = model.generate(**inputs, **generate_kwargs)
            sequences = generated.sequences if return_attentions else generated
            decoded = [text.strip() for text in tokenizer.batch_decode(sequences, skip_special_tokens=True)]
            for position, index in enumerate(batch):
                candidates = decoded[position * num_return_sequences:(position + 1) * num_return_sequences]
                outputs[index] = candidates[0] if num_return_sequences == 1 else candidates
                if return_attentions:
                    attentions[index] = _cross_attention(generated, position, num_return_sequences, inputs,
                                                         tokenizer)
            bar.update(len(batch))
    return (outputs, attentions) if return_attentions else outputs


def _warn_truncated(line_numbers: list[int], total: int, max_source_length: int) -> None:
    """A warning, not a silent cut: a truncated source is translated without its end."""
    if not line_numbers:
        return
    shown = ", ".join(map(str, line_numbers[:SHOWN_LINE_NUMBERS]))
    more = len(line_numbers) - SHOWN_LINE_NUMBERS
    logger.warning(
        "%d of %d input lines are longer than max_source_length=%d tokens and were truncated to it (line%s %s%s); "
        "raise --max_source_length to translate them whole.",
        len(line_numbers), total, max_source_length, "s" * (len(line_numbers) != 1), shown,
        f" and {more} more" if more > 0 else "",
    )


def _cross_attention(generated, position, num_return_sequences, inputs, tokenizer):
    from .plotting import cross_attention_matrix, ids_to_source_tokens, ids_to_target_tokens  # imports matplotlib

    weights, target_ids = cross_attention_matrix(generated, position * num_return_sequences,
                                                 eos_token_id=tokenizer.eos_token_id)
    keep = inputs["attention_mask"][position].bool().cpu()
    source_ids = inputs["input_ids"][position].cpu()[keep].tolist()
    return CrossAttention(source_tokens=ids_to_source_tokens(tokenizer, source_ids),
                          target_tokens=ids_to_target_tokens(tokenizer, target_ids),
                          weights=weights[:, keep])
