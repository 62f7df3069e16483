# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""What this machine can do: its fp32 matmul rate, printed beside benchmark and recipe figures so that readers can
compare machines (a time-limited recipe trains fewer epochs on a slower CPU)."""

import statistics
import time

import torch

__all__ = ["matmul_flops_per_second"]


def matmul_flops_per_second(size: int = 1024, repeats: int = 20) -> float:
    """The median fp32 FLOP/s of a (size x size) @ (size x size) matmul on this machine's current threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / statistics.median(times)
