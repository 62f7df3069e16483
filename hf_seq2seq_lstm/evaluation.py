"""Scores by source-length bucket: how quality changes with input length, the measure of the encoder bottleneck.

    edges = [5, 11, 21, 31, 41, 51, 61]                    # buckets 5-10, 11-20, ..., 51-60
    rows = score_by_bucket(source_lengths, edges, lambda indices: {"bleu": corpus_bleu(indices)})
    # [{"bucket": "5-10", "low": 5, "high": 10, "count": 212, "bleu": 31.2}, ...]
"""

import bisect
from collections.abc import Callable, Sequence

__all__ = ["bleu_by_bucket", "bucket_indices", "bucket_label", "score_by_bucket", "sequence_scores"]


def bucket_label(low: int, high: int) -> str:
    return f"{low}-{high}" if high != low else str(low)


def bucket_indices(lengths: Sequence[int], edges: Sequence[int]) -> list[tuple[int, int, list[int]]]:
    """
    Groups example indices by length. `edges` are increasing bucket starts plus one end: bucket i holds lengths in
    [edges[i], edges[i + 1] - 1]. Lengths outside [edges[0], edges[-1]) are left out.

    Returns one `(low, high, indices)` per bucket, in order; empty buckets included.
    """
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be at least two increasing integers, got {list(edges)}.")
    buckets = [(low, high - 1, []) for low, high in zip(edges, edges[1:])]
    for index, length in enumerate(lengths):
        position = bisect.bisect_right(edges, length) - 1
        if 0 <= position < len(buckets):
            buckets[position][2].append(index)
    return buckets


def score_by_bucket(lengths: Sequence[int], edges: Sequence[int],
                    score: Callable[[list[int]], dict[str, float]], *, skip_empty: bool = True) -> list[dict]:
    """
    One row per length bucket: `{"bucket", "low", "high", "count", **score(indices)}`, where `score` gets the
    indices of the bucket's examples and returns named scores. Empty buckets are skipped (or kept, with no scores).
    """
    rows = []
    for low, high, indices in bucket_indices(lengths, edges):
        if not indices and skip_empty:
            continue
        row = {"bucket": bucket_label(low, high), "low": low, "high": high, "count": len(indices)}
        if indices:
            row.update(score(indices))
        rows.append(row)
    return rows


def sequence_scores(predictions: Sequence[Sequence[int]], references: Sequence[Sequence[int]]
                    ) -> Callable[[list[int]], dict[str, float]]:
    """
    A `score` for `score_by_bucket` over token sequences: `token_accuracy` (percent of positions where the
    prediction has the reference's token, counted over the longer of the two, pooled over the bucket) and
    `exact_match` (percent of examples predicted exactly).
    """

    def score(indices):
        correct = total = exact = 0
        for i in indices:
            prediction, reference = list(predictions[i]), list(references[i])
            correct += sum(p == r for p, r in zip(prediction, reference))
            total += max(len(prediction), len(reference))
            exact += prediction == reference
        return {"token_accuracy": 100.0 * correct / max(total, 1), "exact_match": 100.0 * exact / len(indices)}

    return score


def bleu_by_bucket(lengths: Sequence[int], edges: Sequence[int], predictions: Sequence[str],
                   references: Sequence[str], metric=None) -> list[dict]:
    """Corpus sacreBLEU of each length bucket (the package's offline `sacrebleu` metric unless `metric` is given)."""
    if metric is None:
        from .metrics import load_metric

        metric = load_metric("sacrebleu")

    def score(indices):
        result = metric.compute(predictions=[predictions[i] for i in indices],
                                references=[[references[i]] for i in indices])
        return {"bleu": float(result["score"])}

    return score_by_bucket(lengths, edges, score)
