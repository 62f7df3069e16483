"""Saving and loading that cannot leave or accept a broken model (issue 14).

Atomic saves: a SIGKILL in the middle of `save_pretrained` over an existing model or tokenizer, or a full disk
(RLIMIT_FSIZE), leaves a folder that loads, with the old weights and vocabulary. Checks at load: weights stored as
another dtype, NaN/infinite weights, shards outside the folder, and a tokenizer that is not the one the model was
trained with (another size or other special-token ids, or the same size with other ids).
"""

import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import time

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from hf_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.checkpoints import CheckpointError, check_model_folder, checkpoint_problem, load_model
from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.configuration_seq2seq_lstm import SAVE_IN_PROGRESS_PREFIX, tokenizer_fingerprints
from hf_seq2seq_lstm.models import check_tokenizer_matches_model, new_model
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.tokenization import load_tokenizer, save_tokenizer, train_tokenizers

from conftest import BLOCK_PACKAGE, PYTHON, load_script
from reliability_helpers import cli, load_weights, subprocess_env

train_script = load_script("train")
translate_script = load_script("translate")


@pytest.fixture(scope="module")
def separate_tokenizer_folder(fixed, tmp_path_factory):
    """A two-vocabulary (Seq2SeqLSTMTokenizer) tokenizer of the fixed-length digit task."""
    records = [json.loads(line)["translation"] for line in fixed[0].read_text().splitlines()]
    tokenizer = train_tokenizers([r["src"] for r in records], [r["tgt"] for r in records], joint=False,
                                 vocab_size=100, split_digits=True)
    folder = tmp_path_factory.mktemp("separate_tokenizer")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_folder(saved_model):
    """conftest's tiny saved model with its joint tokenizer (the fingerprint of which its config.json records)."""
    return saved_model


def _copy(folder, tmp_path, name="model"):
    copy = tmp_path / name
    shutil.copytree(folder, copy)
    return copy


def _assert_same_weights(folder, expected):
    weights = load_weights(folder)
    assert weights.keys() == expected.keys()
    assert all(torch.equal(weights[key], expected[key]) for key in expected)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(SAVE_IN_PROGRESS_PREFIX)]


# ---- atomic saves ------------------------------------------------------------------------------------------------

# The child saves new weights over the folder and stops, at a point given by `phase`, until the test SIGKILLs it:
# "writing": model.safetensors half written (transformers' write patched to cut it and wait), "replacing": right after
# the new model.safetensors took the old one's place, before config.json and the other files.
KILLED_SAVE = """
import os, sys, time
import torch
import hf_seq2seq_lstm
import transformers.modeling_utils as modeling_utils
from transformers import AutoModelForSeq2SeqLM

folder, ready, phase = sys.argv[1:4]
model = AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True)
with torch.no_grad():
    for parameter in model.parameters():
        parameter.add_(1.0)

def wait_to_be_killed():
    open(ready, "w").close()
    time.sleep(300)

if phase == "writing":
    write = modeling_utils.safe_save_file
    def cut_short(tensors, filename, metadata=None):
        write(tensors, filename, metadata=metadata)
        os.truncate(filename, os.path.getsize(filename) // 2)
        wait_to_be_killed()
    modeling_utils.safe_save_file = cut_short
else:
    replace = os.replace
    def replace_then_wait(source, destination):
        replace(source, destination)
        if destination.endswith("model.safetensors"):
            wait_to_be_killed()
    os.replace = replace_then_wait
model.save_pretrained(folder)
sys.exit("the save finished: it should have been killed")
"""


def _kill_when_ready(code, args, ready, tmp_path):
    """Runs `code` in a child, waits until it creates `ready`, SIGKILLs it."""
    child = subprocess.Popen([PYTHON, "-c", code, *map(str, args)], env=subprocess_env(), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            if child.poll() is not None:
                pytest.fail(f"the child ended before it was killed: {child.stderr.read()[-3000:]}")
            assert time.monotonic() < deadline, "the child never reached the point to kill it at"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("phase", ["writing", "replacing"])
def test_save_pretrained_killed_over_an_existing_model_leaves_a_model_that_loads(model_folder, tmp_path, phase):
    folder = _copy(model_folder, tmp_path)
    old = load_weights(folder)
    old_config = (folder / "config.json").read_bytes()
    _kill_when_ready(KILLED_SAVE, [folder, tmp_path / "ready", phase], tmp_path / "ready", tmp_path)

    check_model_folder(folder)  # no file cut short
    model = load_model(folder)
    assert (folder / "config.json").read_bytes() == old_config
    if phase == "writing":  # nothing was replaced: the old model, whole
        _assert_same_weights(folder, old)
    else:  # the new weights, whole, beside the old config.json (the same architecture)
        _assert_same_weights(folder, {key: value + 1.0 for key, value in old.items()})
    assert torch.equal(model.lm_head.weight, load_weights(folder)["lm_head.weight"])

    # The killed save's temporary folder is left inside the model folder; the next save removes it.
    assert _leftovers(folder)
    model.save_pretrained(folder)
    assert not _leftovers(folder)
    _assert_same_weights(folder, load_weights(folder))


# The child adds a token and saves the tokenizer over the folder, then stops with tokenizer.json cut in half.
KILLED_TOKENIZER_SAVE = """
import os, sys, time
import hf_seq2seq_lstm
from transformers import TokenizersBackend
from hf_seq2seq_lstm.tokenization import load_tokenizer, save_tokenizer

folder, ready, how = sys.argv[1:4]
tokenizer = load_tokenizer(folder)
tokenizer.add_tokens(["<new>"])
write = TokenizersBackend._save_pretrained

def cut_short(self, save_directory, *args, **kwargs):
    files = write(self, save_directory, *args, **kwargs)
    path = os.path.join(save_directory, "tokenizer.json")
    os.truncate(path, os.path.getsize(path) // 2)
    open(ready, "w").close()
    time.sleep(300)

TokenizersBackend._save_pretrained = cut_short
tokenizer.save_pretrained(folder) if how == "save_pretrained" else save_tokenizer(tokenizer, folder)
sys.exit("the save finished: it should have been killed")
"""


@pytest.mark.parametrize("vocabularies", ["joint", "separate"])
def test_tokenizer_save_killed_over_an_existing_tokenizer_leaves_the_old_one(fixed, separate_tokenizer_folder,
                                                                           tmp_path, vocabularies):
    # the plain fast tokenizer of one vocabulary through save_tokenizer, the two-vocabulary one by its own method
    folder = _copy(fixed[1] if vocabularies == "joint" else separate_tokenizer_folder, tmp_path, "tokenizer")
    old = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
    how = "save_tokenizer" if vocabularies == "joint" else "save_pretrained"
    _kill_when_ready(KILLED_TOKENIZER_SAVE, [folder, tmp_path / "ready", how], tmp_path / "ready", tmp_path)

    for name, content in old.items():
        assert (folder / name).read_bytes() == content, name
    tokenizer = load_tokenizer(folder)
    assert "<new>" not in tokenizer.get_vocab()
    assert tokenizer.decode(tokenizer("1234")["input_ids"], skip_special_tokens=True) == "1234"


def test_a_tokenizer_saved_atomically_reports_its_final_files(fixed, separate_tokenizer_folder, tmp_path):
    for source, save in ((fixed[1], save_tokenizer), (separate_tokenizer_folder, None)):
        tokenizer = load_tokenizer(source)
        folder = tmp_path / os.path.basename(source)
        files = save(tokenizer, folder) if save else tokenizer.save_pretrained(folder)
        assert files and all(os.path.dirname(path) == str(folder) and os.path.isfile(path) for path in files)
        assert not _leftovers(folder)
        assert load_tokenizer(folder).get_vocab() == tokenizer.get_vocab()


FULL_DISK = """
import resource, signal, sys
import hf_seq2seq_lstm
from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.tokenization import load_tokenizer

folder, limit = sys.argv[1], int(sys.argv[2])
model, tokenizer = load_model(folder), load_tokenizer(folder)
tokenizer.add_tokens(["<new>"])
# Past RLIMIT_FSIZE a write fails with EFBIG once SIGXFSZ (which would kill the process) is ignored: a full disk.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
errors = []
for save, file_limit in ((model.save_pretrained, limit), (tokenizer.save_pretrained, 512)):
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, hard))
    try:
        save(folder)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
print("\\n".join(errors))
"""


def test_a_full_disk_during_save_pretrained_leaves_the_old_model(fixed, separate_tokenizer_folder, tmp_path):
    folder = tmp_path / "model"
    tokenizer = load_tokenizer(separate_tokenizer_folder)
    torch.manual_seed(0)
    new_model(tokenizer, hidden_size=256, embedding_size=64).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    old = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
    limit = 256 * 1024  # more than every code and config file, less than the weights
    assert max(len(content) for name, content in old.items() if not name.endswith(".safetensors")) < limit
    assert len(old["model.safetensors"]) > 2 * limit

    result = subprocess.run([PYTHON, "-c", FULL_DISK, str(folder), str(limit)], capture_output=True, text=True,
                            env=subprocess_env(), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    errors = result.stdout.strip().splitlines()
    assert len(errors) == 2 and all("File too large" in error or "FileTooLarge" in error for error in errors), errors

    assert {name: (folder / name).read_bytes() for name in os.listdir(folder)} == old  # and no temporary folder
    load_model(folder)
    assert "<new>" not in load_tokenizer(folder).get_vocab()


def test_sharded_and_unsharded_saves_replace_each_other(model_folder, tmp_path):
    folder = _copy(model_folder, tmp_path)
    model = load_model(folder)
    weights = load_weights(folder)

    def weight_files():
        return sorted(name for name in os.listdir(folder) if ".safetensors" in name)

    model.save_pretrained(folder, max_shard_size="2KB")
    shards = weight_files()
    assert "model.safetensors" not in shards and shards[-1] == "model.safetensors.index.json" and len(shards) > 3
    reloaded = load_model(folder)
    assert all(torch.equal(reloaded.state_dict()[key], value) for key, value in weights.items())

    model.save_pretrained(folder, max_shard_size="4KB")  # fewer shards: the others are gone
    fewer = weight_files()
    assert len(fewer) < len(shards) and all(f"-of-{len(fewer) - 1:05d}" in name for name in fewer[:-1])
    load_model(folder)

    model.save_pretrained(folder)
    assert weight_files() == ["model.safetensors"]
    _assert_same_weights(folder, weights)
    assert not _leftovers(folder)


# ---- weights checked at load -------------------------------------------------------------------------------------


def _set_header_dtype(path, dtypes):
    """Rewrites the `dtype` of tensors ({name: new dtype}) in a safetensors header; the tensor data stays as it is."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    for name, dtype in dtypes.items():
        header[name]["dtype"] = dtype
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded = encoded.ljust(-(-len(encoded) // 8) * 8)  # data offsets count from the header's end; 8-byte aligned
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data[8 + length :])


def _one_line_error(error_info, *fragments):
    message = str(error_info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_weights_stored_as_another_dtype_are_refused(model_folder, tmp_path):
    # Same byte size, so safetensors accepts the file: transformers would read the float bits as integers and cast
    # them to floats (weights around 1e9: the model then decodes one token over and over).
    folder = _copy(model_folder, tmp_path)
    _set_header_dtype(folder / "model.safetensors",
                      {"lm_head.weight": "I32", "model.encoder.embed_tokens.weight": "U32"})
    for load in (AutoModelForSeq2SeqLM.from_pretrained, Seq2SeqLSTMForConditionalGeneration.from_pretrained):
        with pytest.raises(ValueError) as error:
            load(folder, use_safetensors=True)
        _one_line_error(error, "2 weight tensor(s)", "stored as another dtype than the model's",
                        "lm_head.weight I32 in model.safetensors vs F32", "model.encoder.embed_tokens.weight U32",
                        "corrupted or edited safetensors header")
    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    _one_line_error(error, "Cannot load the model in", "lm_head.weight I32")

    # Half precision: a header saying bfloat16 where config.json says float16 (the same size) is refused too...
    half = tmp_path / "half"
    load_model(model_folder).half().save_pretrained(half)
    assert Seq2SeqLSTMForConditionalGeneration.from_pretrained(half).dtype == torch.float16
    names = list(load_weights(half))
    _set_header_dtype(half / "model.safetensors", dict.fromkeys(names, "BF16"))
    with pytest.raises(ValueError) as error:
        Seq2SeqLSTMForConditionalGeneration.from_pretrained(half)
    _one_line_error(error, f"{len(names)} weight tensor(s)", "BF16 in model.safetensors vs F16",
                    "pass dtype= to from_pretrained")
    # ... while a conversion asked for with dtype= is one: the weights are floating-point either way.
    assert Seq2SeqLSTMForConditionalGeneration.from_pretrained(half, dtype=torch.float32).dtype == torch.float32
    assert Seq2SeqLSTMForConditionalGeneration.from_pretrained(half, dtype="bfloat16").dtype == torch.bfloat16
    converted = Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_folder, dtype=torch.float16)
    assert converted.dtype == torch.float16


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(model_folder, tmp_path, value):
    folder = _copy(model_folder, tmp_path)
    weights = load_weights(folder)
    weights["lm_head.weight"][:] = value
    weights["model.decoder.combine.weight"][0, 0] = value
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError) as error:
        AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True)
    _one_line_error(error, "2 weight tensor(s)", "hold NaN or infinite values",
                    "lm_head.weight", "model.decoder.combine.weight", "use an earlier checkpoint")
    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    _one_line_error(error, "hold NaN or infinite values")


def test_weights_of_another_shape_are_an_error_in_from_pretrained_too(model_folder, tmp_path):
    # transformers raises, after its load report, unless ignore_mismatched_sizes=True; load_model says it in a line.
    folder = _copy(model_folder, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_size": 16}))
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        Seq2SeqLSTMForConditionalGeneration.from_pretrained(folder)
    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    _one_line_error(error, "weight(s) have other shapes than config.json implies")


def _sharded(model_folder, tmp_path):
    folder = tmp_path / "sharded"
    load_model(model_folder).save_pretrained(folder, max_shard_size="2KB")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    return folder, index, sorted(set(index["weight_map"].values()))[0]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_shards_outside_the_folder_are_refused(model_folder, tmp_path, how):
    folder, index, shard = _sharded(model_folder, tmp_path)
    outside = tmp_path / "elsewhere" / shard
    outside.parent.mkdir()
    shutil.move(folder / shard, outside)
    if how == "symlink":
        (folder / shard).symlink_to(outside)
        name = shard
    else:
        name = "../elsewhere/" + shard if how == "dotdot" else str(outside)
        index["weight_map"] = {key: name if value == shard else value for key, value in index["weight_map"].items()}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError) as error:
        AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True)
    _one_line_error(error, "names weight files outside its folder", name)
    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    _one_line_error(error, "names weight files outside", name)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 1}))  # as a Trainer checkpoint
    assert "outside" in checkpoint_problem(folder, require_optimizer=False)


def test_a_hub_cache_snapshot_with_symlinks_into_its_blobs_loads(model_folder, tmp_path):
    # The Hub cache's layout (what snapshot_download returns): snapshots/<revision>/<file> -> ../../blobs/<hash>.
    folder, _, _ = _sharded(model_folder, tmp_path)
    repo = tmp_path / "models--org--name"
    snapshot, blobs = repo / "snapshots" / "0123abc", repo / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    for number, name in enumerate(sorted(os.listdir(folder))):
        shutil.copy(folder / name, blobs / f"blob{number}")
        (snapshot / name).symlink_to(os.path.join("..", "..", "blobs", f"blob{number}"))
    model = load_model(snapshot)
    assert torch.equal(model.lm_head.weight, load_model(folder).lm_head.weight)


# ---- the tokenizer the model was trained with ---------------------------------------------------------------------


def _swap_ids(tokenizer_file, first="1", second="2"):
    """Another tokenizer of the same size: two tokens swap their ids (as another training run would number them)."""
    data = json.loads(tokenizer_file.read_text())
    vocab = data["model"]["vocab"]
    vocab[first], vocab[second] = vocab[second], vocab[first]
    tokenizer_file.write_text(json.dumps(data))


def test_new_model_records_the_vocabulary_fingerprints_and_saving_keeps_them(model_folder, separate_tokenizer_folder,
                                                                           tmp_path):
    joint = load_tokenizer(model_folder)
    config = json.loads((model_folder / "config.json").read_text())
    assert (config["source_vocab_fingerprint"], config.get("target_vocab_fingerprint")) == tokenizer_fingerprints(joint)
    assert config.get("target_vocab_fingerprint") is None and len(config["source_vocab_fingerprint"]) == 16

    separate = load_tokenizer(separate_tokenizer_folder)
    model = new_model(separate, hidden_size=8, embedding_size=8)
    source, target = tokenizer_fingerprints(separate)
    assert (model.config.source_vocab_fingerprint, model.config.target_vocab_fingerprint) == (source, target)
    # fine-tuning a saved model keeps them
    model.save_pretrained(tmp_path / "saved")
    load_model(tmp_path / "saved").save_pretrained(tmp_path / "again")
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert (again["source_vocab_fingerprint"], again["target_vocab_fingerprint"]) == (source, target)


def test_resizing_an_embedding_clears_its_fingerprint(separate_tokenizer_folder):
    model = new_model(load_tokenizer(separate_tokenizer_folder), hidden_size=8, embedding_size=8)
    source, target = model.config.source_vocab_fingerprint, model.config.target_vocab_fingerprint
    model.resize_token_embeddings(model.config.vocab_size)  # the same size: the same vocabulary
    assert model.config.source_vocab_fingerprint == source
    model.resize_token_embeddings(model.config.vocab_size + 2)
    assert model.config.source_vocab_fingerprint is None and model.config.target_vocab_fingerprint == target
    model.resize_decoder_token_embeddings(model.config.target_vocab_size + 1)
    assert model.config.target_vocab_fingerprint is None


def test_a_tokenizer_of_the_same_size_but_other_ids_is_refused(model_folder, separate_tokenizer_folder, tmp_path,
                                                               capsys):
    model = load_model(model_folder)
    check_tokenizer_matches_model(model, load_tokenizer(model_folder))

    other = _copy(model_folder, tmp_path, "other")
    _swap_ids(other / "tokenizer.json")
    other_tokenizer = load_tokenizer(other)
    assert len(other_tokenizer) == model.config.vocab_size
    with pytest.raises(ValueError) as error:
        check_tokenizer_matches_model(model, other_tokenizer)
    _one_line_error(error, "The tokenizer's source vocabulary is not the one the model was trained with",
                    "Use the tokenizer saved with the model")

    # through scripts/translate.py (train.py calls the same check)
    (tmp_path / "in.txt").write_text("123\n", encoding="utf-8")
    capsys.readouterr()
    status = run_cli(translate_script.main, ["--model_name_or_path", str(model_folder), "--tokenizer_name", str(other),
                                             "--input", str(tmp_path / "in.txt"), "--disable_tqdm"])
    stderr = capsys.readouterr().err
    assert status == 1 and "is not the one the model was trained with" in stderr and "Traceback" not in stderr

    # a model saved before fingerprints (or resized since) is not checked
    model.config.source_vocab_fingerprint = None
    check_tokenizer_matches_model(model, other_tokenizer)

    # two vocabularies: the target one is compared too
    separate_model = new_model(load_tokenizer(separate_tokenizer_folder), hidden_size=8, embedding_size=8)
    other_target = _copy(separate_tokenizer_folder, tmp_path, "other_target")
    _swap_ids(other_target / "target_tokenizer.json")
    with pytest.raises(ValueError, match="The tokenizer's target vocabulary is not the one"):
        check_tokenizer_matches_model(separate_model, load_tokenizer(other_target))


def test_tokenizer_that_does_not_match_the_model_is_refused_by_train_py(saved_model, fixed, tmp_path, capsys):
    common = ["--train_file", fixed[0], "--source_lang", "src", "--target_lang", "tgt", "--do_train",
              "--max_steps", "1", "--output_dir", tmp_path / "out", "--model_name_or_path", saved_model]
    # a larger vocabulary than the model's embedding
    bigger = train_tokenizers(["a b c d e f g h i j k l m n o p q r s t u v w x y z"] * 3, ["x"], vocab_size=60)
    bigger.save_pretrained(tmp_path / "bigger")
    status, stderr = cli(train_script, [*common, "--tokenizer_name", tmp_path / "bigger"], capsys)
    assert status == 1
    assert (f"The tokenizer's source vocabulary has {len(bigger)} tokens but the model's source embedding has 15"
            in stderr)
    assert "Use the tokenizer the model was trained with, or call model.resize_token_embeddings" in stderr

    # special-token ids that disagree with config.json
    tokenizer = load_tokenizer(saved_model)
    tokenizer.pad_token = "</s>"
    tokenizer.save_pretrained(tmp_path / "other_pad")
    status, stderr = cli(train_script, [*common, "--tokenizer_name", tmp_path / "other_pad"], capsys)
    assert status == 1
    assert "Special token mismatch: the tokenizer's pad_token_id is 2 but the model's config says 0" in stderr
    assert "Use the tokenizer saved with the model" in stderr


def test_the_pipeline_and_the_tokenizer_warn_about_another_vocabulary(model_folder, separate_tokenizer_folder,
                                                                      tmp_path, caplog):
    model = load_model(model_folder)
    other = _copy(model_folder, tmp_path, "other")
    _swap_ids(other / "tokenizer.json")
    with caplog.at_level(logging.WARNING):
        Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=load_tokenizer(model_folder))
        assert "vocabulary" not in caplog.text
        Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=load_tokenizer(other))
    assert "The tokenizer's source vocabulary is not the one this model was trained with" in caplog.text

    # the two-vocabulary tokenizer, loaded from a model folder whose config.json recorded other vocabularies
    folder = tmp_path / "separate_model"
    new_model(load_tokenizer(separate_tokenizer_folder), hidden_size=8, embedding_size=8).save_pretrained(folder)
    for name in os.listdir(separate_tokenizer_folder):
        shutil.copy(separate_tokenizer_folder / name, folder / name)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        AutoTokenizer.from_pretrained(folder)
    assert "vocabulary" not in caplog.text
    _swap_ids(folder / "target_tokenizer.json")
    with caplog.at_level(logging.WARNING):
        AutoTokenizer.from_pretrained(folder)
    assert "The target vocabulary of the tokenizer in" in caplog.text
    assert "is not the one the model's config.json beside it was trained with" in caplog.text


def test_the_model_files_stay_importable_without_the_package(model_folder, separate_tokenizer_folder, tmp_path,
                                                              clean_env):
    """The model files, which now import each other for the atomic save and the fingerprints, load and save with
    trust_remote_code alone: a model folder, and a two-vocabulary tokenizer saved without a model (which now
    carries the configuration file, and the pipeline file that one names, beside its own)."""
    folder, tokenizer_folder = tmp_path / "model", tmp_path / "tokenizer"
    shutil.copytree(model_folder, folder)
    shutil.copytree(separate_tokenizer_folder, tokenizer_folder)
    assert {"configuration_seq2seq_lstm.py", "tokenization_seq2seq_lstm.py"} <= set(os.listdir(tokenizer_folder))
    code = BLOCK_PACKAGE + (
        "import sys\n"
        "from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline\n"
        "model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1], trust_remote_code=True, use_safetensors=True)\n"
        "model.save_pretrained(sys.argv[1])\n"
        "pipe = pipeline('translation', model=sys.argv[1], trust_remote_code=True)\n"
        "print(pipe('123', max_new_tokens=3))\n"
        "tokenizer = AutoTokenizer.from_pretrained(sys.argv[2], trust_remote_code=True)\n"
        "print(type(tokenizer).__module__, tokenizer.save_pretrained(sys.argv[2]))\n"
    )
    result = subprocess.run([PYTHON, "-c", code, str(folder), str(tokenizer_folder)], capture_output=True, text=True,
                            env=clean_env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "translation_text" in result.stdout and "transformers_modules." in result.stdout
    assert not _leftovers(folder) and not _leftovers(tokenizer_folder)
    resaved, original = load_tokenizer(tokenizer_folder), load_tokenizer(separate_tokenizer_folder)
    assert resaved.get_target_vocab() == original.get_target_vocab()
