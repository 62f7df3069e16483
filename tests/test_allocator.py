"""The scripts keep freed memory for reuse (hf_seq2seq_lstm/allocator.py): a tensor allocated again after one of the
same size was freed costs no page faults. Each case runs in a fresh process, because the setting is process-wide."""

import ast
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

SIXTY_FOUR_MB = 64 * 2**20

# Takes the allocator step and runs main through run_cli, as a script's __main__ block does; main allocates and fills
# a 64 MB tensor and frees it, a few times, and reports the minor page faults of the last fill and the resident size
# before and after the first free. (The first reuse may still fault: torch asks for 64-byte aligned blocks, and the
# freed block is a little too small for the padded request until it has merged with its neighbours; a training loop
# is past that after its first steps.)
CHILD = f"""
import json, resource, sys
import torch
from hf_seq2seq_lstm import allocator
from hf_seq2seq_lstm.cli import run_cli

def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()

def main(argv):
    report = {{"reused": REUSED}}
    numel = {SIXTY_FOUR_MB} // 4
    first = torch.ones(numel)
    report["rss_before_free"] = rss_bytes()
    del first
    report["rss_after_free"] = rss_bytes()
    for _ in range(2):
        torch.ones(numel)  # freed at once
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    last = torch.ones(numel)
    report["faults"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps(report))

REUSED = allocator.reuse_freed_memory()
sys.exit(run_cli(main))
"""


def run_child(system_malloc: bool) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.pop("HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC", None)
    if system_malloc:
        env["HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC"] = "1"
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt and /proc are glibc/Linux only")
def test_scripts_reuse_freed_memory_without_page_faults():
    report = run_child(system_malloc=False)
    assert report["reused"]
    # The 64 MB stay in the process after the free, and filling a new tensor of that size faults in (nearly) no
    # page: 16,384 pages of 4 KB would otherwise each cost a fault.
    assert report["rss_after_free"] > report["rss_before_free"] - SIXTY_FOUR_MB // 8
    assert report["faults"] < 256


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt and /proc are glibc/Linux only")
def test_opting_out_keeps_the_system_allocator():
    report = run_child(system_malloc=True)
    assert not report["reused"]
    # glibc's default: a block this large is an mmap of its own, unmapped when freed.
    assert report["rss_after_free"] < report["rss_before_free"] - SIXTY_FOUR_MB * 3 // 4


# Scripts whose __main__ block keeps freed memory for reuse: at least those that did when `cli.run_cli` took that
# step for every script that ran through it (and the benchmark, which measures with it).
REUSING_SCRIPTS = {"average_checkpoints", "benchmark", "export_onnx", "multi30k", "push_to_hub", "train",
                   "train_tokenizer", "translate"}


def test_the_scripts_take_the_allocator_step_in_their_main_block():
    """run_cli only runs main: each script's __main__ block calls reuse_freed_memory() itself, where it is seen."""
    calling = set()
    for path in sorted((REPO_ROOT / "scripts").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        main_blocks = [node for node in tree.body if isinstance(node, ast.If)
                       and ast.unparse(node.test) in ("__name__ == '__main__'", '__name__ == "__main__"')]
        calls = {ast.unparse(node.func) for block in main_blocks for node in ast.walk(block)
                 if isinstance(node, ast.Call)}
        if "reuse_freed_memory" in calls:
            calling.add(path.stem)
    assert REUSING_SCRIPTS <= calling, sorted(REUSING_SCRIPTS - calling)
