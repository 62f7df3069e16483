# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Experiments and benchmarks: what the README's tables and figures come from, importable and tested, apart from
the library that users train and serve with. Each module has a command line in `scripts/`, which only parses its
arguments and calls it.

* `recipe`: the Multi30k recipe's `scripts/train.py` flags and its ablation (`scripts/multi30k.py`);
* `bottleneck`: the bottleneck study, attention vs none by source length (`scripts/bottleneck_study.py`);
* `benchmark`: training and generation throughput, the architecture's FLOP model, the generation cache's speed-up
  (`scripts/benchmark.py`, `scripts/benchmark_generate.py`);
* `opennmt`: OpenNMT-py, the benchmark's peer toolkit, installed apart and run on the same data;
* `loop`: the plain training loop that the study and the benchmark share, and the batch order they train on;
* `machine`: the machine's fp32 matmul rate, printed beside figures so that machines can be compared.

They run from a checkout of the repository: the recipe runs `scripts/train.py`, and the data is looked for next to
the checkout ([`MULTI30K`]).
"""

from pathlib import Path

__all__ = ["MULTI30K", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where the experiments find Multi30k unless told otherwise: never copied into the repository (non-commercial
# research and education use only).
MULTI30K = REPO_ROOT.parent / "shared" / "data" / "multi30k"
