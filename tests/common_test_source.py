"""transformers' own common model tests (`ModelTesterMixin`, `ConfigTester`), obtained at test time.

They ship as the top-level `tests/*.py` of transformers' source distribution on the package registry; nothing of
them is kept in this repo. `common_tests()` downloads the sdist of the installed version once (`pip download`, into
`.cache/` of the checkout, git-ignored), extracts those files into an importable package and returns it, or returns
None with the reason when the registry cannot be reached.

`test_modeling_common.py` imports three modules that live in transformers' repository but not in its sdist; the
stand-ins written here are ours, and what they stand for is tested elsewhere:
- `generation/test_utils.py`: `GenerationTesterMixin` (the library's generate() tests). Ours are in
  `test_modeling.py` and `test_modeling_seq2seq_lstm.py` (cache on/off equality for every decoding mode, scores and
  logits processors with two vocabularies); the stand-in is an empty mixin.
- `exporters/test_export.py`: `ExportTesterMixin` (torch.export tests, which need a traceable forward: issue 15's
  export path); an empty mixin.
- `utils/test_configuration_utils.py`: `config_common_kwargs`, the base config's common arguments that
  `ConfigTester.check_config_arguments_init` sets and reads back; ours is a selection of `PreTrainedConfig`'s fields.
"""

import importlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import transformers

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE = REPO_ROOT / ".cache" / f"transformers-{transformers.__version__}-tests"
PACKAGE = "transformers_common_tests"

STAND_INS = {
    "generation/test_utils.py": ('''"""Stand-in: the library's GenerationTesterMixin is not in the sdist; '''
                                 '''see tests/common_test_source.py."""


class GenerationTesterMixin:
    pass
'''),
    "exporters/test_export.py": ('''"""Stand-in: the library's ExportTesterMixin is not in the sdist; '''
                                 '''see tests/common_test_source.py."""


class ExportTesterMixin:
    pass
'''),
    "utils/test_configuration_utils.py": ('''"""Stand-in for the repository's config_common_kwargs: '''
                                          '''common PreTrainedConfig arguments and non-default values."""

config_common_kwargs = {
    "return_dict": False,
    "output_hidden_states": True,
    "output_attentions": True,
    "dtype": "float16",
    "chunk_size_feed_forward": 5,
    "architectures": ["Seq2SeqLSTMForConditionalGeneration"],
    "finetuning_task": "translation",
    "id2label": {0: "label"},
    "label2id": {"label": "0"},
    "tokenizer_class": "TokenizersBackend",
    "prefix": "prefix",
    "problem_type": "regression",
}
'''),
}

_unavailable_reason = None


def common_tests():
    """The importable package of transformers' common tests, or None (then `unavailable_reason()` says why)."""
    global _unavailable_reason
    package_dir = CACHE / PACKAGE
    if not (package_dir / "test_modeling_common.py").is_file():
        try:
            _build(package_dir)
        except (OSError, subprocess.SubprocessError, tarfile.TarError) as error:
            _unavailable_reason = f"transformers {transformers.__version__} sdist not obtainable: {error}"
            return None
    if str(CACHE) not in sys.path:
        sys.path.insert(0, str(CACHE))
    return importlib.import_module(PACKAGE)


def unavailable_reason() -> str | None:
    return _unavailable_reason


def _build(package_dir: Path):
    download_dir = CACHE / "sdist"
    download_dir.mkdir(parents=True, exist_ok=True)
    archive = download_dir / f"transformers-{transformers.__version__}.tar.gz"
    if not archive.is_file():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"transformers=={transformers.__version__}", "--dest", str(download_dir)],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not archive.is_file():
            raise OSError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "pip download failed")
    staging = CACHE / f"{PACKAGE}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    prefix = f"transformers-{transformers.__version__}/tests/"
    with tarfile.open(archive) as sdist:
        for member in sdist.getmembers():
            relative = member.name[len(prefix):] if member.name.startswith(prefix) else ""
            if member.isfile() and relative.endswith(".py") and "/" not in relative:
                (staging / relative).write_bytes(sdist.extractfile(member).read())
    (staging / "__init__.py").write_text("", encoding="utf-8")
    for relative, text in STAND_INS.items():
        path = staging / relative
        path.parent.mkdir(exist_ok=True)
        (path.parent / "__init__.py").write_text("", encoding="utf-8")
        path.write_text(text, encoding="utf-8")
    shutil.rmtree(package_dir, ignore_errors=True)
    staging.rename(package_dir)  # complete or absent: an interrupted build is redone next time
