"""Security scans: no pickle is ever loaded (every torch.load is weights_only, in our code and in the Trainer's
resume), and the files copied next to the weights for trust_remote_code import only torch, transformers and the
standard library and do no I/O or network at import."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PYTHON, REPO_ROOT
from reliability_helpers import subprocess_env

PACKAGE = REPO_ROOT / "hf_seq2seq_lstm"


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _keyword(call, name):
    return next((ast.unparse(k.value) for k in call.keywords if k.arg == name), None)


def test_no_unsafe_loading_anywhere_in_the_repo():
    """Every torch.load passes weights_only=True, no pickle-family module is imported, and every model
    from_pretrained outside tests asks for safetensors (the scripts go through load_model, which does)."""
    files = [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "scripts").glob("*.py")]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + ([node.module] if getattr(node, "module", None) else [])
                assert not {"pickle", "dill", "joblib", "cloudpickle"} & {n.split(".")[0] for n in names}, path
        for call, func in _calls(tree):
            if func == "torch.load":
                assert _keyword(call, "weights_only") == "True", f"{path}:{call.lineno}"
            if func.endswith(".from_pretrained") and "Model" in func:
                assert _keyword(call, "use_safetensors") == "True", f"{path}:{call.lineno}: {func}"


def test_the_trainer_resumes_with_weights_only_torch_load():
    """What remains of torch.load (optimizer, scheduler, RNG states on resume) is transformers': check that 5.23 still
    restricts it to tensors and plain containers, so an upgrade that drops it fails here."""
    import transformers

    root = Path(transformers.__file__).parent
    found = 0
    for name in ("trainer.py", "trainer_utils.py", "trainer_pt_utils.py"):
        for call, func in _calls(ast.parse((root / name).read_text(encoding="utf-8"))):
            if func == "torch.load" or (func == "partial" and call.args and ast.unparse(call.args[0]) == "torch.load"):
                found += 1
                assert _keyword(call, "weights_only") == "True", f"transformers/{name}:{call.lineno}"
    assert found >= 5


REMOTE_CODE_FILES = ["configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", "pipeline_seq2seq_lstm.py",
                     "tokenization_seq2seq_lstm.py"]
# What the remote code may import besides the standard library: transformers' own dependencies, and of
# huggingface_hub only the dataclass validation that transformers 5's configs use (`@strict`), no network code.
ALLOWED_IMPORTS = {"torch", "transformers", "tokenizers", "huggingface_hub.dataclasses"}
# Modules that could reach the network, run programs, load code or unpickle: never imported by remote code.
FORBIDDEN_MODULES = {"subprocess", "socket", "ssl", "http", "urllib", "requests", "httpx", "pickle", "marshal",
                     "shelve", "ctypes", "importlib", "runpy", "multiprocessing", "pty", "code", "codeop",
                     "huggingface_hub"}


@pytest.mark.parametrize("name", REMOTE_CODE_FILES)
def test_remote_code_files_import_only_torch_transformers_and_the_standard_library(name):
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    siblings = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            # single-level sibling imports only (transformers copies those files along)
            assert node.level == 1 and node.module in siblings and node.module + ".py" in REMOTE_CODE_FILES, \
                ast.unparse(node)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
            for module in modules:
                top = module.split(".")[0]
                if module in ALLOWED_IMPORTS:
                    continue
                assert top in ALLOWED_IMPORTS or top in sys.stdlib_module_names, ast.unparse(node)
                assert top not in FORBIDDEN_MODULES, ast.unparse(node)
    # and nothing that turns text (e.g. a config value) into code
    for call, func in _calls(tree):
        assert func not in ("eval", "exec", "compile", "__import__", "globals", "locals"), \
            f"{name}:{call.lineno}: {func}"


NO_IO_AT_IMPORT = """
import builtins, io, os, socket, sys, types
import torch, transformers
from transformers import GenerationMixin, GenerationConfig, Pipeline, PretrainedConfig, PreTrainedModel, AutoTokenizer
from transformers import initialization, cache_utils, modeling_outputs, utils

def refuse(*args, **kwargs):
    raise AssertionError(f"I/O or network at import: {args[:2]}")

import importlib
patched = [(builtins, "open"), (io, "open"), (os, "open"), (socket, "socket"), (socket, "create_connection"),
           (socket, "getaddrinfo")] + [(os, name) for name in ("listdir", "scandir", "remove", "unlink", "mkdir",
                                                              "makedirs", "rename", "replace", "system", "popen")]
saved = [(module, name, getattr(module, name)) for module, name in patched]
for module, name in patched:
    setattr(module, name, refuse)
try:
    package = types.ModuleType("remote_code")
    package.__path__ = [sys.argv[1]]
    sys.modules["remote_code"] = package
    for name in sys.argv[2:]:
        importlib.import_module("remote_code." + name)
finally:
    for module, name, value in saved:
        setattr(module, name, value)
print("imported", sorted(m for m in sys.modules if m.startswith("remote_code.")))
"""


def test_remote_code_files_do_no_io_or_network_at_import(tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    for name in REMOTE_CODE_FILES:
        shutil.copy(PACKAGE / name, folder / name)
    modules = [name[:-3] for name in REMOTE_CODE_FILES]
    env = subprocess_env()
    env.pop("PYTHONPATH", None)
    result = subprocess.run([PYTHON, "-c", NO_IO_AT_IMPORT, str(folder), *modules], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for module in modules:
        assert f"remote_code.{module}" in result.stdout
