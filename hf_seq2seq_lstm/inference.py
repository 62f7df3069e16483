"""Batch translation of many texts: batches of similar length for speed, outputs in input order."""

import torch
from tqdm.auto import tqdm


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so little compute goes to padding."""
    order = sorted(range(len(lengths)), key=lambda index: -lengths[index])
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@torch.inference_mode()
def translate(model, source_tokenizer, target_tokenizer, texts: list[str], *, batch_size: int = 64,
              max_source_length: int | None = None, progress: bool = True, **generate_kwargs):
    """
    Generates an output for every text. Returns a list of `num_return_sequences` outputs per text (one string per
    text when it is 1), in input order, whatever order the length-sorted batches ran in.
    """
    num_return_sequences = generate_kwargs.get("num_return_sequences", 1)
    encodings = source_tokenizer(texts, truncation=max_source_length is not None, max_length=max_source_length)
    lengths = [len(ids) for ids in encodings["input_ids"]]
    outputs: list = [None] * len(texts)
    model.eval()
    with tqdm(total=len(texts), disable=not progress, unit="sent", desc="translating") as bar:
        for batch in length_sorted_batches(lengths, batch_size):
            features = [{"input_ids": encodings["input_ids"][i], "attention_mask": encodings["attention_mask"][i]}
                        for i in batch]
            inputs = source_tokenizer.pad(features, return_tensors="pt").to(model.device)
            generated = model.generate(**inputs, **generate_kwargs)
            decoded = [text.strip() for text in target_tokenizer.batch_decode(generated, skip_special_tokens=True)]
            for position, index in enumerate(batch):
                candidates = decoded[position * num_return_sequences:(position + 1) * num_return_sequences]
                outputs[index] = candidates[0] if num_return_sequences == 1 else candidates
            bar.update(len(batch))
    return outputs
