# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""OpenNMT-py 3.5.1, the peer of the benchmark (`scripts/benchmark.py --peer opennmt`, `benchmark.peer_benchmark`):
installed into its own venv (never copied into the repo), fed the very same subword ids as our model, configured like
our variant, measured the same way: target tokens/s of `onmt_train` from its own per-step report, sentences/s of
`onmt_translate` from its own mean time per sentence.

OpenNMT-py's metadata asks for torch<2.3, which would pull GBs of CUDA wheels; it is installed with `--no-deps` next
to torch==2.13.0 and the pinned requirements its training and translation code import.
"""

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from ..data import load_text_pairs
from ..tokenization import separate_vocabularies

__all__ = ["ATTENTION", "OPENNMT", "REQUIREMENTS", "STEP_LINE", "TRAINING_OPTIONS", "ensure_installed", "first_lines",
           "options_for", "prepare", "prepare_peer", "train_throughput", "translate_throughput"]

OPENNMT = "OpenNMT-py==3.5.1"
REQUIREMENTS = [
    "ConfigArgParse==1.9.0", "PyYAML==6.0.4", "sacrebleu==2.6.0", "six==1.17.0", "RapidFuzz==3.14.6",
    "pyahocorasick==2.3.1", "pyonmttok==1.38.1", "spacy==3.8.18", "tensorboard==2.21.0", "fasttext-wheel==0.9.2",
]
# What OpenNMT-py's training gets besides the model (the learning rate is the benchmark's: `options_for`).
TRAINING_OPTIONS = dict(optim="adam", batch_type="sents", param_init=0.1, seed=0, num_workers=0)
# Our attention -> OpenNMT-py's global_attention, where the two compute the same thing.
ATTENTION = {"none": "none", "luong_dot": "dot", "luong_general": "general"}
STEP_LINE = re.compile(r"Step\s+(\d+)/\s*\d+;.*?(\d+)/\s*(\d+) tok/s")
# Checkpoints the benchmark wrote itself hold an argparse.Namespace, which torch>=2.6 refuses to unpickle by default.
TRUSTED_CHECKPOINT_ENV = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}


def options_for(config, learning_rate: float) -> dict:
    """
    OpenNMT-py's options for the model of our `Seq2SeqLSTMConfig` and Adam at `learning_rate`. Its `brnn` encoder
    splits hidden_size between the two directions, so a bidirectional encoder must be 2 x encoder_hidden_size =
    hidden_size, as in the benchmark's reference model; anything OpenNMT-py cannot build the same raises ValueError.
    """
    if config.bidirectional_encoder and config.encoder_output_size != config.hidden_size:
        raise ValueError(f"OpenNMT-py's brnn needs encoder_hidden_size x 2 = hidden_size, not "
                         f"{config.encoder_output_size} and {config.hidden_size}.")
    if config.encoder_layers != config.decoder_layers or config.attention not in ATTENTION:
        raise ValueError(f"OpenNMT-py has no model with {config.encoder_layers} encoder and {config.decoder_layers} "
                         f"decoder layers and attention {config.attention!r}; use equal layers and one of "
                         f"{list(ATTENTION)}.")
    return dict(TRAINING_OPTIONS, encoder_type="brnn" if config.bidirectional_encoder else "rnn", decoder_type="rnn",
                rnn_type=config.cell_type.upper(), layers=config.encoder_layers, hidden_size=config.hidden_size,
                word_vec_size=config.embedding_size, global_attention=ATTENTION[config.attention],
                input_feed=int(config.input_feeding), dropout=[config.dropout], learning_rate=learning_rate)


def ensure_installed(venv: Path) -> Path:
    """The venv's bin folder, creating the venv and installing OpenNMT-py into it on first use."""
    bin_dir = venv / "bin"
    if (bin_dir / "onmt_train").exists():
        return bin_dir
    print(f"installing {OPENNMT} into {venv} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["torch==2.13.0"], check=True)  # first, so nothing later pulls a CUDA build
    subprocess.run(pip + ["--no-deps", OPENNMT], check=True)
    subprocess.run(pip + REQUIREMENTS, check=True)
    return bin_dir


def write_token_ids(path: Path, rows) -> None:
    """One line per row of subword ids, the ids as words (ids, not token strings: some BPE tokens contain characters
    that OpenNMT's whitespace splitting would break)."""
    path.write_text("".join(" ".join(map(str, row)) + "\n" for row in rows))


def prepare(workdir: Path, tokenizer, train_pairs, test_pairs) -> None:
    """Writes the tokenized corpus (source ids and target ids), and per side a vocabulary of every non-special id of
    our tokenizer, so that both models have the same embedding and output layer sizes (OpenNMT adds its own 4 special
    tokens)."""
    def source_ids(texts):
        return tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def target_ids(texts):
        return tokenizer(text_target=list(texts), add_special_tokens=False)["input_ids"]

    workdir.mkdir(parents=True, exist_ok=True)
    write_token_ids(workdir / "train.src", source_ids(train_pairs["source"]))
    write_token_ids(workdir / "train.tgt", target_ids(train_pairs["target"]))
    write_token_ids(workdir / "test.src", source_ids(test_pairs["source"]))
    target_vocab = tokenizer.get_target_vocab() if separate_vocabularies(tokenizer) else tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids)  # the same ids in both vocabularies
    for side, vocab in (("src", tokenizer.get_vocab()), ("tgt", target_vocab)):
        ids = sorted(set(vocab.values()) - special)
        (workdir / f"vocab.{side}").write_text("".join(f"{i} 1\n" for i in ids))


def prepare_peer(venv: Path, workdir: Path, tokenizer, data_dir: Path, source_lang: str = "de",
                 target_lang: str = "en") -> Path:
    """Installs OpenNMT-py into `venv` if missing and writes its corpus into `workdir`: our tokenizer's ids of the
    training split of `data_dir` and of its test2016 sources. Returns the venv's bin folder."""
    bin_dir = ensure_installed(venv)
    data = load_text_pairs(train_file=data_dir / "train", test_file=data_dir / "test2016", source_lang=source_lang,
                           target_lang=target_lang)
    prepare(workdir, tokenizer, data["train"], data["test"])
    return bin_dir


def first_lines(workdir: Path, count: int) -> Path:
    """A source file of the first `count` test sources (the batch-1 latency sentences, as ours), written once."""
    path = workdir / f"test.first{count}.src"
    path.write_text("".join((workdir / "test.src").read_text().splitlines(True)[:count]))
    return path


def corpus(workdir: Path) -> dict:
    return {"corpus_1": {"path_src": str(workdir / "train.src"), "path_tgt": str(workdir / "train.tgt")}}


def write_yaml(path: Path, options: dict) -> None:
    # YAML is a superset of JSON, so no YAML library is needed on our side.
    path.write_text(json.dumps(options, indent=1))


def run(command, env: dict | None = None) -> tuple[str, int]:
    """Runs a peer command with `env` added to the environment; returns its combined output and its own peak RSS in
    KB (from wait4, not the max over every child of this process)."""
    with open(os.devnull, "rb") as stdin:
        process = subprocess.Popen([str(part) for part in command], stdin=stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code != 0:
        raise RuntimeError(f"{command[0]} failed (exit {exit_code}):\n{output[-3000:]}")
    return output, usage.ru_maxrss


def train_throughput(bin_dir: Path, workdir: Path, name: str, options: dict, batch_size: int, warmup_steps: int,
                     timed_steps: int, env: dict | None = None) -> dict:
    """Target tokens/s (median over the timed steps, from OpenNMT's own per-step report) and peak RSS of training
    the model of `options` ([`options_for`]); `env` is added to onmt_train's environment."""
    steps = warmup_steps + timed_steps
    config = workdir / f"train-{name}.yaml"
    # One bucket = the whole training split, sorted by (source, target) length and cut into batches: the batching
    # the benchmark gives our model too (`loop.shuffled_batches`). (OpenNMT's default bucket of 262,144 examples
    # makes the same batches from 9 copies of the corpus and only costs start-up time and memory.)
    write_yaml(config, dict(options, src_vocab=str(workdir / "vocab.src"), tgt_vocab=str(workdir / "vocab.tgt"),
                            data=corpus(workdir), save_model=str(workdir / f"model-{name}"),
                            save_checkpoint_steps=steps, train_steps=steps, report_every=1, batch_size=batch_size,
                            bucket_size=len((workdir / "train.src").read_text().splitlines())))
    output, peak_rss_kb = run([bin_dir / "onmt_train", "-config", config], env)
    rates = [int(target) for step, _, target in STEP_LINE.findall(output) if int(step) > warmup_steps]
    if len(rates) != timed_steps:
        raise RuntimeError(f"expected {timed_steps} timed step reports from onmt_train, found {len(rates)}")
    return {"target_tokens_per_s": statistics.median(rates), "peak_rss_mb": peak_rss_kb / 1024,
            "checkpoint": str(workdir / f"model-{name}_step_{steps}.pt")}


def translate_throughput(bin_dir: Path, workdir: Path, checkpoint: str, num_beams: int, batch_size: int,
                         new_tokens: int, env: dict | None = None, source: Path | None = None) -> float:
    """Sentences/s of onmt_translate on `source` (default: the test sources), every output exactly `new_tokens`
    long; `env` is added to its environment."""
    source = source or workdir / "test.src"
    prediction = workdir / f"{source.stem}.beam{num_beams}.pred"
    output, _ = run([bin_dir / "onmt_translate", "-model", checkpoint, "-src", source,
                     "-output", prediction, "-beam_size", num_beams,
                     "-batch_size", batch_size, "-batch_type", "sents", "-min_length", new_tokens,
                     "-max_length", new_tokens, "-max_length_ratio", 0, "-report_time"],
                    env={**TRUSTED_CHECKPOINT_ENV, **(env or {})})
    lengths = {len(line.split()) for line in prediction.read_text().splitlines()}
    if lengths != {new_tokens}:
        raise RuntimeError(f"onmt_translate output lengths {sorted(lengths)}, expected all {new_tokens}")
    # The mean ms per sentence it prints (to 0.1 ms): its total line is rounded to 0.1 s, no finer at 1,000 sentences
    # and 20x coarser at 50.
    match = re.search(r"Average translation time \(ms\): ([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"onmt_translate printed no 'Average translation time' (-report_time):\n{output[-3000:]}")
    return 1000 / float(match.group(1))
