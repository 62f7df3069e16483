#!/usr/bin/env python
"""Push a trained model folder (from scripts/train.py or save_pretrained) to the Hugging Face Hub.

    python scripts/push_to_hub.py outputs/dates --repo_id your-name/seq2seq-lstm-dates
    python scripts/push_to_hub.py outputs/m30k --repo_id your-name/m30k --private --revision experiments \\
        --commit_message "Luong attention, 20 epochs"

Uploads what loading needs and nothing else: the safetensors weights, config.json (with `auto_map` and
`custom_pipelines`), the model, pipeline and tokenizer code (`*.py`, loaded with trust_remote_code=True),
generation_config.json, the tokenizer (with `target_tokenizer.json` for separate vocabularies), the model card
README.md and the results files. Checkpoints, optimizer states, training_args.bin and other pickles stay behind.

The card names the repository: a README.md written by scripts/train.py is pointed at --repo_id, and a folder without
one gets a card written from model_card.md. `--update_code` refreshes the code files and config fields of a folder
saved by an older version of this package (e.g. one without the pipeline file), and converts a tokenizer saved with a
`target_tokenizer/` subfolder into the one two-vocabulary tokenizer. Authentication is huggingface_hub's:
`hf auth login`, HF_TOKEN, or --token. HF_ENDPOINT selects another Hub.
"""

import argparse
import fnmatch
import json
import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import HfApi

from hf_seq2seq_lstm.tokenization_seq2seq_lstm import TARGET_TOKENIZER_FILE

# Shipped files, relative to the folder (fnmatch patterns; "*" does not cross "/" here: see _shipped).
SHIPPED = [
    "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json", "*.py",
    "tokenizer.json", "target_tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.*", "merges.txt", "*.model", "README.md", "all_results.json", "train_results.json", "eval_results.json",
    "predict_results.json", "trainer_state.json",
]
PICKLES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="saved model folder (scripts/train.py's --output_dir)")
    parser.add_argument("--repo_id", required=True, help="namespace/name on the Hub; created if missing")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--commit_message", default=None, help="default: 'Upload <folder name>'")
    parser.add_argument("--revision", default=None, help="branch to commit to (created from main if missing)")
    parser.add_argument("--create_pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--token", default=None, help="Hub token (default: the logged-in one or HF_TOKEN)")
    parser.add_argument("--update_code", action="store_true",
                        help="ship the installed package's model/pipeline/tokenizer code and config fields instead of the "
                             "folder's, converting a target_tokenizer/ subfolder into the one tokenizer")
    parser.add_argument("--dry_run", action="store_true", help="list what would be uploaded and stop")
    return parser.parse_args(argv)


def _shipped(relative_path: str) -> bool:
    depth = relative_path.count("/")
    return any(fnmatch.fnmatch(relative_path, pattern) and pattern.count("/") == depth for pattern in SHIPPED)


def select_files(folder: Path) -> list[str]:
    """Relative paths of the files to upload, sorted."""
    selected = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and _shipped(relative):
            selected.append(relative)
    return selected


def _auto_map_files(auto_map: dict) -> set[str]:
    """The code files an `auto_map` names (a tokenizer's entries are [slow, fast] pairs, either may be None)."""
    references = [ref for value in auto_map.values() for ref in (value if isinstance(value, list) else [value])]
    return {ref.split(".")[0] + ".py" for ref in references if ref}


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def needs_tokenizer_conversion(config: dict, files: list[str]) -> bool:
    """A model with separate vocabularies whose folder has no two-vocabulary tokenizer: saved with the earlier
    layout, the target tokenizer in a `target_tokenizer/` subfolder, which the pipelines no longer read."""
    return config.get("decoder_vocab_size") is not None and TARGET_TOKENIZER_FILE not in files


def check_folder(folder: Path, files: list[str], update_code: bool) -> dict:
    """The folder's config, after checking that the upload will load (safetensors weights, model, pipeline and
    tokenizer code, one tokenizer)."""
    if not (folder / "config.json").is_file():
        raise SystemExit(f"{folder} has no config.json: pass the folder written by save_pretrained / scripts/train.py.")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not any(name.endswith(".safetensors") for name in files):
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLES)
        raise SystemExit(f"{folder} has no safetensors weights{f' (only {pickles})' if pickles else ''}: this script "
                         f"uploads safetensors only. Re-save with model.save_pretrained(folder).")
    if update_code:
        return config
    if needs_tokenizer_conversion(config, files):
        raise SystemExit(f"{folder}: the model has separate vocabularies but the folder has no {TARGET_TOKENIZER_FILE} "
                         f"(a tokenizer saved with a target_tokenizer/ subfolder): pass --update_code to convert it "
                         f"into the one tokenizer the pipelines and AutoTokenizer load.")
    tokenizer_config = _read_json(folder / "tokenizer_config.json")
    named = _auto_map_files(config.get("auto_map") or {}) | _auto_map_files(tokenizer_config.get("auto_map") or {})
    missing = sorted(named - set(files))
    if not config.get("auto_map") or missing:
        raise SystemExit(f"{folder}: config.json has no auto_map or the code it or tokenizer_config.json names is "
                         f"missing ({missing}): trust_remote_code loading would fail. Pass --update_code to ship the "
                         f"package's code.")
    pipelines = config.get("custom_pipelines") or {}
    if not pipelines or any(spec["impl"].split(".")[0] + ".py" not in files for spec in pipelines.values()):
        raise SystemExit(f"{folder} was saved without the pipeline code (config.json custom_pipelines / "
                         f"pipeline_seq2seq_lstm.py): pass --update_code to add it.")
    return config


def converted_tokenizer(folder: Path) -> dict[str, bytes]:
    """The files of the folder's tokenizer in the one-tokenizer layout: its `target_tokenizer/` subfolder and the
    source tokenizer read into one two-vocabulary tokenizer, saved again."""
    from hf_seq2seq_lstm.tokenization import load_tokenizer, separate_vocabularies

    tokenizer = load_tokenizer(folder)
    if not separate_vocabularies(tokenizer):
        raise SystemExit(f"{folder}: the model has separate vocabularies but the folder has neither "
                         f"{TARGET_TOKENIZER_FILE} nor a target_tokenizer/ subfolder: save the model's tokenizer "
                         f"into it (tokenizer.save_pretrained(folder)).")
    with tempfile.TemporaryDirectory(prefix="push_to_hub_tokenizer_") as saved:
        tokenizer.save_pretrained(saved)
        return {path.name: path.read_bytes() for path in sorted(Path(saved).iterdir()) if path.is_file()}


def refreshed_code(config: dict, tokenizer_config: dict) -> tuple[dict, dict[str, bytes]]:
    """config.json and the code files as the installed package writes them: the model's, and the tokenizer's where
    `tokenizer_config` (the folder's tokenizer_config.json) names it in its auto_map."""
    from hf_seq2seq_lstm import (
        configuration_seq2seq_lstm,
        modeling_seq2seq_lstm,
        pipeline_seq2seq_lstm,
        tokenization_seq2seq_lstm,
    )

    paths = [Path(module.__file__) for module in (configuration_seq2seq_lstm, modeling_seq2seq_lstm,
                                                  pipeline_seq2seq_lstm)]
    tokenizer_code = Path(tokenization_seq2seq_lstm.__file__)
    if tokenizer_code.name in _auto_map_files(tokenizer_config.get("auto_map") or {}):
        paths.append(tokenizer_code)
    config = {**config,
              "auto_map": {**(config.get("auto_map") or {}),
                           "AutoConfig": "configuration_seq2seq_lstm.Seq2SeqLSTMConfig",
                           **modeling_seq2seq_lstm.MODEL_AUTO_MAP},
              "custom_pipelines": {**(config.get("custom_pipelines") or {}),
                                   **configuration_seq2seq_lstm.CUSTOM_PIPELINES}}
    return config, {path.name: path.read_bytes() for path in paths}


def stage(folder: Path, files: list[str], replaced: dict[str, bytes], staging: Path) -> None:
    """Links (or copies) the shipped files into `staging`, writing `replaced` ones from memory."""
    for relative in sorted(set(files) | set(replaced)):
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative in replaced:
            target.write_bytes(replaced[relative])
            continue
        try:
            os.link(folder / relative, target)
        except OSError:
            shutil.copy2(folder / relative, target)


def main(argv=None):
    args = parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder.")
    files = select_files(folder)
    config = check_folder(folder, files, args.update_code)

    replaced: dict[str, bytes] = {}
    if args.update_code:
        if needs_tokenizer_conversion(config, files):
            replaced.update(converted_tokenizer(folder))
        tokenizer_config = (json.loads(replaced["tokenizer_config.json"]) if "tokenizer_config.json" in replaced
                            else _read_json(folder / "tokenizer_config.json"))
        config, code = refreshed_code(config, tokenizer_config)
        replaced.update(code)
        replaced["config.json"] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()

    from hf_seq2seq_lstm.hub import README_NAME, render_model_card, set_card_repo_id

    readme = folder / README_NAME
    if readme.is_file():
        card = readme.read_text(encoding="utf-8")
        updated = set_card_repo_id(card, args.repo_id)
        if updated != card:
            replaced[README_NAME] = updated.encode()
    else:
        replaced[README_NAME] = render_model_card(folder, repo_id=args.repo_id).encode()

    shipped = sorted(set(files) | set(replaced))
    if args.dry_run:
        for relative in shipped:
            print(f"{relative}{'  (rewritten)' if relative in replaced else ''}")
        return None

    api = HfApi(token=args.token)
    repo_url = api.create_repo(args.repo_id, private=args.private, exist_ok=True)
    if args.revision and not args.create_pr:
        api.create_branch(args.repo_id, branch=args.revision, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="push_to_hub_") as staging:
        stage(folder, files, replaced, Path(staging))
        commit = api.upload_folder(
            repo_id=args.repo_id, folder_path=staging, revision=args.revision, create_pr=args.create_pr,
            commit_message=args.commit_message or f"Upload {folder.resolve().name}",
        )
    report = {"repo_id": repo_url.repo_id, "commit": commit.oid, "commit_url": commit.commit_url,
              "pr_url": commit.pr_url, "files": shipped}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
