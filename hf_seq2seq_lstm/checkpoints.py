"""Saved models and training checkpoints: loading a model folder with clear errors (safetensors only, nothing
executed from the folder), choosing a complete checkpoint to resume from after a crash, and averaging the last
checkpoints of a run into one model."""

import itertools
import json
import logging
import os
import zipfile
from collections.abc import Iterator

from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from .files import CHECKPOINT_NAME, check_output_folder, checkpoint_folders, mark_run_folder
from .modeling_seq2seq_lstm import shards_outside_folder
from .models import config_differences
from .tokenization import load_tokenizer, save_tokenizer

logger = logging.getLogger(__name__)

__all__ = [
    "PICKLE_WEIGHTS",
    "CheckpointError",
    "average_checkpoints",
    "check_model_folder",
    "check_model_type",
    "checkpoint_problem",
    "complete_checkpoints",
    "find_resumable_checkpoint",
    "last_checkpoints",
    "load_model",
    "resolve_resume_checkpoint",
]


class CheckpointError(ValueError):
    """A saved model or training checkpoint that cannot be used; the message says why and what to do."""


PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth", "model.ckpt")


def _safetensors_files(folder: str) -> list[str] | None:
    """
    The safetensors weight files of a saved model folder (one file, or the shards of an index); None if none.
    Shards outside the folder (absolute paths, `..`, symlinks pointing out) are refused.
    """
    single = os.path.join(folder, "model.safetensors")
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as handle:
                shards = sorted(set(json.load(handle)["weight_map"].values()))
            outside = shards_outside_folder(folder, shards)
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as error:
            raise CheckpointError(f"{index} is unreadable or not a safetensors index ({error}).") from error
        if outside:
            raise CheckpointError(
                f"{index} names weight files outside {folder} ({', '.join(outside[:4])}): a model's shards must lie "
                f"in its folder, so this index is corrupted or was edited; save or download the model again."
            )
        return [os.path.join(folder, shard) for shard in shards]
    if os.path.isfile(single):
        return [single]
    return None


def _safetensors_problem(path: str) -> str | None:
    """Why a safetensors file is unusable (missing, truncated, not safetensors), or None. Reads only its header."""
    from safetensors import safe_open

    if not os.path.isfile(path):
        return f"{path} is missing"
    try:
        # safe_open checks that the header parses and that the tensors it lists lie inside the file, so a file cut
        # short by a kill or a full disk is caught without reading the weights.
        with safe_open(path, framework="pt") as handle:
            handle.keys()
    except Exception as error:  # SafetensorError is not a subclass of anything more specific
        return f"{path} is truncated or not a safetensors file ({error})"
    return None


def check_model_type(config, folder: str | os.PathLike) -> None:
    """
    Refuses the content of `folder`'s config.json unless it describes a seq2seq_lstm model (`from_dict` would read
    another model's config as a default one of ours).

    Raises:
        `CheckpointError`: naming the model the folder holds.
    """
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type != "seq2seq_lstm":
        architectures = config.get("architectures") if isinstance(config, dict) else None
        raise CheckpointError(
            f"{os.fspath(folder)} holds a {model_type or 'model without a model_type'!r} model (architectures "
            f"{architectures}), not a seq2seq_lstm one: config.json must say \"model_type\": \"seq2seq_lstm\". Pass a "
            f"model saved by this package."
        )


def check_model_folder(path: str | os.PathLike) -> None:
    """
    Checks a local saved-model folder before loading it: a `config.json` that is JSON and describes a seq2seq_lstm
    model, and weights that are safetensors (pickle files are refused: unpickling can run arbitrary code) and not
    truncated.

    Raises:
        `CheckpointError`: saying what is wrong with which file and what to do.
    """
    folder = os.fspath(path)
    config_file = os.path.join(folder, "config.json")
    if not os.path.isfile(config_file):
        raise CheckpointError(
            f"{folder} has no config.json, so it is not a saved model (it has {sorted(os.listdir(folder))}). Pass the "
            f"folder written by save_pretrained / scripts/train.py, or one of its checkpoint-N subfolders."
        )
    try:
        with open(config_file, encoding="utf-8") as handle:
            config = json.load(handle)
    except ValueError as error:
        raise CheckpointError(f"{config_file} is not valid JSON ({error}); the file is corrupted: re-save or "
                              f"re-download the model.") from error
    check_model_type(config, folder)
    files = _safetensors_files(folder)
    if files is None:
        pickles = [name for name in PICKLE_WEIGHTS if os.path.isfile(os.path.join(folder, name))]
        if pickles:
            raise CheckpointError(
                f"{folder} has weights only in pickle format ({', '.join(pickles)}), which this package never loads: "
                f"unpickling a file can run arbitrary code. In an environment where you trust the file, convert it "
                f"with AutoModelForSeq2SeqLM.from_pretrained(path, use_safetensors=False).save_pretrained(new_path), "
                f"which writes model.safetensors."
            )
        raise CheckpointError(
            f"{folder} has a config.json but no weights: model.safetensors is missing (the folder has "
            f"{sorted(os.listdir(folder))}). The save was interrupted or the file was not copied; save or download "
            f"the model again."
        )
    for file in files:
        problem = _safetensors_problem(file)
        if problem:
            raise CheckpointError(f"Cannot load the model in {folder}: {problem}. Save or download the model again.")


class _DropLoadReport(logging.Filter):
    def filter(self, record):
        return "LOAD REPORT" not in str(record.msg)


def load_model(path: str | os.PathLike, strict: bool = True, **kwargs):
    """
    `AutoModelForSeq2SeqLM.from_pretrained(path)` for the scripts, with safetensors only, no remote code, and clear
    errors for every way a saved model can be wrong.

    transformers loads a checkpoint whose weights lack some of the model's parameters (e.g. a base model into the
    generation model, or another `attention`) with a warning, those parameters randomly initialized; with `strict`
    (the default) that is an error here, as are weights whose shapes differ from `config.json`. Weights stored as
    another dtype than the model's, holding NaN or infinity, or in shards outside the folder are refused by the
    model's own `from_pretrained`, whatever `strict`.

    Args:
        path: a local folder (checked first with [`check_model_folder`]) or a Hub repo id.
        strict (`bool`, defaults to True): refuse missing, unexpected or differently shaped weights.
        kwargs: passed to `from_pretrained` (e.g. `torch_dtype`, `revision`); `use_safetensors` stays True and
            `trust_remote_code` defaults to False (the registered classes of this package are used).

    Raises:
        `CheckpointError` (a `ValueError`): what is wrong, in which file, and what to do.
    """
    name = os.fspath(path)
    if kwargs.pop("use_safetensors", True) is not True:
        raise CheckpointError("load_model loads safetensors only (use_safetensors=True): pickle weights are refused.")
    kwargs.setdefault("trust_remote_code", False)
    if os.path.isdir(name):
        check_model_folder(name)
    elif os.path.exists(name):
        raise CheckpointError(f"{name} is a file; pass the folder that holds config.json and model.safetensors.")
    config = kwargs.pop("config", None) or _read_config(name, kwargs)
    if getattr(config, "model_type", None) != "seq2seq_lstm":
        raise CheckpointError(f"{name} holds a {config.model_type!r} model, not a seq2seq_lstm one; pass a model "
                              f"saved by this package.")
    ignore_mismatched_sizes = kwargs.pop("ignore_mismatched_sizes", False)
    # The load report that transformers logs would come before our error and say the same less clearly. (A filter,
    # not a level: transformers 5.23 runs extra checks and warnings when this logger's level is WARNING or above.)
    modeling_logger = logging.getLogger("transformers.modeling_utils")
    report_filter = _DropLoadReport()
    if strict:
        modeling_logger.addFilter(report_filter)
    try:
        model, info = AutoModelForSeq2SeqLM.from_pretrained(
            name, config=config, use_safetensors=True, output_loading_info=True, ignore_mismatched_sizes=True,
            **kwargs)
    except Exception as error:
        if type(error).__name__ == "SafetensorError" or isinstance(error, (OSError, ValueError, RuntimeError)):
            raise CheckpointError(f"Cannot load the model in {name}: {error}") from error
        raise
    finally:
        modeling_logger.removeFilter(report_filter)
    if strict:
        _check_load_report(name, info, ignore_mismatched_sizes)
    return model


def _read_config(name: str, kwargs: dict):
    """The config of `name` (a folder or Hub repo id), read with `load_model`'s Hub options; one-line errors."""
    try:
        return AutoConfig.from_pretrained(
            name, trust_remote_code=kwargs["trust_remote_code"],
            **{k: kwargs[k] for k in ("revision", "cache_dir", "token", "local_files_only") if k in kwargs})
    except (ValueError, OSError, StrictDataclassError) as error:
        where = "" if os.path.isdir(name) else " (it is not a local folder, so it was looked up as a Hub repo id)"
        message = " ".join(str(error).split())  # strict config errors span several lines
        raise CheckpointError(f"Cannot read the config of {name}{where}: {message}") from error


def _check_load_report(name: str, info: dict, ignore_mismatched_sizes: bool) -> None:
    """Raises unless `from_pretrained`'s loading info shows every weight of the model loaded, with its shape."""
    problems = []
    mismatched = sorted(info.get("mismatched_keys") or [], key=lambda item: item[0])
    if mismatched and not ignore_mismatched_sizes:
        shown = ", ".join(f"{key} {tuple(saved)} in the file vs {tuple(expected)} from config.json"
                          for key, saved, expected in mismatched[:3])
        problems.append(f"{len(mismatched)} weight(s) have other shapes than config.json implies ({shown})")
    for kind in ("missing", "unexpected"):
        keys = sorted(info.get(f"{kind}_keys") or [])
        if keys:
            problems.append(f"{len(keys)} {kind} weight(s) ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})")
    if problems:
        raise CheckpointError(
            f"The weights in {name} do not belong to the model its config.json describes: {'; '.join(problems)}. "
            f"config.json and model.safetensors come from different models (or the architecture fields were "
            f"edited); use the pair saved together."
        )


# Resuming training




def checkpoint_problem(checkpoint: str | os.PathLike, require_optimizer: bool = True) -> str | None:
    """
    Why a Trainer checkpoint folder cannot be resumed from, or None when it is complete.

    The Trainer writes a checkpoint in place, `trainer_state.json` last, so a run killed while saving leaves a folder
    without it or with files cut short. Checked, without unpickling anything: `trainer_state.json` parses and names
    the folder's step; the safetensors weights are whole; `optimizer.pt` exists (unless `require_optimizer` is False,
    for `--save_only_model` runs); every `.pt`/`.pth` file (optimizer, scheduler, RNG states, scaler) is an intact
    zip archive (their CRCs are checked).
    """
    folder = os.fspath(checkpoint)
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    state_file = os.path.join(folder, "trainer_state.json")
    if not os.path.isfile(state_file):
        return "trainer_state.json is missing (the save was interrupted: it is written last)"
    try:
        with open(state_file, encoding="utf-8") as handle:
            step = json.load(handle)["global_step"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"trainer_state.json is unreadable ({type(error).__name__}: {error})"
    match = CHECKPOINT_NAME.match(os.path.basename(os.path.normpath(folder)))
    if match and int(match.group(1)) != step:
        return f"trainer_state.json says step {step}, not {match.group(1)}"
    if any(name.startswith(("global_step", "pytorch_model_fsdp", "optimizer_0")) for name in os.listdir(folder)):
        return None  # DeepSpeed / FSDP sharded layout: trainer_state.json, written last, is all we check
    try:
        files = _safetensors_files(folder)
    except CheckpointError as error:
        return str(error)
    if files is None:
        return "model.safetensors is missing"
    for file in files:
        problem = _safetensors_problem(file)
        if problem:
            return problem.replace(folder + os.sep, "")
    if require_optimizer and not os.path.isfile(os.path.join(folder, "optimizer.pt")):
        return "optimizer.pt is missing"
    for name in sorted(os.listdir(folder)):
        if name.endswith((".pt", ".pth")):
            try:
                with zipfile.ZipFile(os.path.join(folder, name)) as archive:
                    bad = archive.testzip()
            except (OSError, zipfile.BadZipFile) as error:
                return f"{name} is truncated or corrupted ({error})"
            if bad is not None:
                return f"{name} is corrupted (bad checksum in {bad})"
    return None


def find_resumable_checkpoint(output_dir: str | os.PathLike, require_optimizer: bool = True) -> str | None:
    """
    The latest complete `checkpoint-N` in `output_dir` (see [`checkpoint_problem`]), or None. Incomplete later ones
    are skipped with a warning saying which and why; they are left in place (training overwrites them when it
    reaches their step again). Use instead of `transformers.trainer_utils.get_last_checkpoint`, which takes the
    highest-numbered folder whatever its state.
    """
    folder = os.fspath(output_dir)
    if not os.path.isdir(folder):
        return None
    return next(complete_checkpoints(folder, require_optimizer), None)


def complete_checkpoints(folder: str, require_optimizer: bool) -> Iterator[str]:
    """The complete `checkpoint-N` folders of `folder`, latest first; each incomplete one met on the way is skipped
    with a warning saying which and why (see [`checkpoint_problem`])."""
    for checkpoint in reversed(checkpoint_folders(folder)):
        problem = checkpoint_problem(checkpoint, require_optimizer=require_optimizer)
        if problem is None:
            yield checkpoint
        else:
            logger.warning("Skipping incomplete checkpoint %s: %s. Trying the previous one.", checkpoint, problem)


def resolve_resume_checkpoint(resume_from_checkpoint: str | bool | None, output_dir: str | os.PathLike,
                              require_optimizer: bool = True) -> str | None:
    """
    What `trainer.train(resume_from_checkpoint=...)` should get. None: the latest complete checkpoint in `output_dir`
    if any (a fresh start otherwise); "true"/"latest": the same, but there must be one; a path: that checkpoint,
    which must be complete.

    Raises:
        `CheckpointError`: no complete checkpoint where one was asked for, or the given one is incomplete.
    """
    if isinstance(resume_from_checkpoint, bool) or str(resume_from_checkpoint).lower() in ("true", "latest"):
        if resume_from_checkpoint is False:
            return None
        checkpoint = find_resumable_checkpoint(output_dir, require_optimizer)
        if checkpoint is None:
            raise CheckpointError(f"--resume_from_checkpoint {resume_from_checkpoint}: no complete checkpoint-N in "
                                  f"{os.fspath(output_dir)} to resume from.")
        return checkpoint
    if resume_from_checkpoint is None:
        checkpoint = find_resumable_checkpoint(output_dir, require_optimizer)
        if checkpoint is not None:
            logger.warning("Resuming from the latest complete checkpoint in --output_dir: %s (use another "
                           "--output_dir to start afresh).", checkpoint)
        return checkpoint
    problem = checkpoint_problem(resume_from_checkpoint, require_optimizer)
    if problem:
        parent = os.path.dirname(os.path.normpath(os.fspath(resume_from_checkpoint)))
        fallback = find_resumable_checkpoint(parent, require_optimizer) if parent else None
        hint = f" The latest complete checkpoint there is {fallback}." if fallback else ""
        raise CheckpointError(f"Cannot resume from {os.fspath(resume_from_checkpoint)}: {problem}.{hint}")
    return os.fspath(resume_from_checkpoint)


# Averaging

def last_checkpoints(run_dir: str | os.PathLike, count: int) -> list[str]:
    """
    The `count` latest complete `checkpoint-N` folders of a training run's `run_dir`, oldest first (incomplete ones,
    see [`checkpoint_problem`], are skipped with a warning).

    Raises:
        `CheckpointError`: `run_dir` holds fewer than `count` complete checkpoints.
    """
    folder = os.fspath(run_dir)
    if not os.path.isdir(folder):
        raise CheckpointError(f"{folder} is not a folder: pass the --output_dir of a training run.")
    complete = list(itertools.islice(complete_checkpoints(folder, require_optimizer=False), count))
    if len(complete) == count:
        return complete[::-1]
    raise CheckpointError(f"{folder} holds {len(complete)} complete checkpoint-N folder(s), fewer than the {count} "
                          f"to average: train with a --save_total_limit of at least {count}, or average fewer.")


def average_checkpoints(checkpoints: list[str | os.PathLike], output_dir: str | os.PathLike):
    """
    Saves to `output_dir` a model whose every weight is the mean of that weight in `checkpoints` (the averaging of
    the last checkpoints of Vaswani et al. (2017), as OpenNMT-py's `onmt_average_models` and fairseq's
    `average_checkpoints.py` do it): a normal model folder with the last checkpoint's config, generation config and
    tokenizer, which every script and `from_pretrained` load as any other. The sums are taken in float64.

    Every checkpoint is loaded with [`load_model`] (so each is checked) and must describe the same model: the same
    config fields (`models.config_differences`) and the same vocabularies. `output_dir` must be new, empty or a
    folder this function (or a training run) wrote (`files.check_output_folder`).

    Returns:
        The averaged model.

    Raises:
        `CheckpointError`: fewer than two checkpoints, or checkpoints of different models.
    """
    names = [os.fspath(checkpoint) for checkpoint in checkpoints]
    if len(names) < 2:
        raise CheckpointError(f"Averaging needs at least two checkpoints; got {len(names)}.")
    check_output_folder(output_dir)
    last = load_model(names[-1])
    last_state = last.state_dict()
    sums = {name: tensor.double() for name, tensor in last_state.items() if tensor.is_floating_point()}
    for name in names[:-1]:
        differences = config_differences(last.config, name)
        if differences:
            raise CheckpointError(f"{name} holds another model than {names[-1]}: {'; '.join(differences)}. Average "
                                  f"checkpoints of one training run.")
        for key, tensor in load_model(name).state_dict().items():
            if key in sums:
                sums[key] += tensor.double()
    averaged = {key: (total / len(names)).to(last_state[key].dtype) for key, total in sums.items()}
    last.load_state_dict(averaged, strict=False)  # the non-float tensors (none today) stay the last checkpoint's
    os.makedirs(output_dir, exist_ok=True)
    mark_run_folder(output_dir)
    last.save_pretrained(output_dir)
    save_tokenizer(load_tokenizer(names[-1]), output_dir)
    logger.info("Averaged %d checkpoints (%s ... %s) into %s", len(names), names[0], names[-1], output_dir)
    return last
