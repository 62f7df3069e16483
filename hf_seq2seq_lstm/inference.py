"""Batch translation of many texts: batches of similar length for speed, outputs in input order."""

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm


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
    """
    num_return_sequences = generate_kwargs.get("num_return_sequences", 1)
    if return_attentions:
        if getattr(model.config, "attention", None) == "none":
            raise ValueError("This model has no attention (attention='none'): there are no weights to return.")
        generate_kwargs = {**generate_kwargs, "output_attentions": True, "return_dict_in_generate": True}
    encodings = tokenizer(texts, truncation=max_source_length is not None, max_length=max_source_length)
    lengths = [len(ids) for ids in encodings["input_ids"]]
    outputs: list = [None] * len(texts)
    attentions: list = [None] * len(texts)
    model.eval()
    with tqdm(total=len(texts), disable=not progress, unit="sent", desc="translating") as bar:
        for batch in length_sorted_batches(lengths, batch_size):
            features = [{"input_ids": encodings["input_ids"][i], "attention_mask": encodings["attention_mask"][i]}
                        for i in batch]
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


def _cross_attention(generated, position, num_return_sequences, inputs, tokenizer):
    from .plotting import cross_attention_matrix, ids_to_source_tokens, ids_to_target_tokens  # imports matplotlib

    weights, target_ids = cross_attention_matrix(generated, position * num_return_sequences,
                                                 eos_token_id=tokenizer.eos_token_id)
    keep = inputs["attention_mask"][position].bool().cpu()
    source_ids = inputs["input_ids"][position].cpu()[keep].tolist()
    return CrossAttention(source_tokens=ids_to_source_tokens(tokenizer, source_ids),
                          target_tokens=ids_to_target_tokens(tokenizer, target_ids),
                          weights=weights[:, keep])
