#!/usr/bin/env python
"""Push a trained model folder (from scripts/train.py or save_pretrained) to the Hugging Face Hub.

    python scripts/push_to_hub.py outputs/dates --repo_id your-name/seq2seq-lstm-dates
    python scripts/push_to_hub.py outputs/m30k --repo_id your-name/m30k --private --revision experiments \\
        --commit_message "Luong attention, 20 epochs"

Uploads what loading needs and nothing else: the safetensors weights, config.json (with `auto_map` and
`custom_pipelines`), the model and pipeline code (`*.py`, loaded with trust_remote_code=True), generation_config.json,
the tokenizer (and `target_tokenizer/` for separate vocabularies), the model card README.md and the results files.
Checkpoints, optimizer states, training_args.bin and other pickles stay behind.

The card names the repository: a README.md written by scripts/train.py is pointed at --repo_id, and a folder without
one gets a card written from model_card.md. `--update_code` refreshes the code files and config fields of a folder
saved by an older version of this package (e.g. one without the pipeline file). Authentication is huggingface_hub's:
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

# Shipped files, relative to the folder (fnmatch patterns; "*" does not cross "/" here: see _shipped).
SHIPPED = [
    "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json", "*.py",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.*",
    "merges.txt", "*.model", "README.md", "all_results.json", "train_results.json", "eval_results.json",
    "predict_results.json", "trainer_state.json",
    "target_tokenizer/tokenizer.json", "target_tokenizer/tokenizer_config.json",
    "target_tokenizer/special_tokens_map.json", "target_tokenizer/added_tokens.json", "target_tokenizer/vocab.*",
    "target_tokenizer/merges.txt", "target_tokenizer/*.model",
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
                        help="ship the installed package's model/pipeline code and config fields instead of the folder's")
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


def check_folder(folder: Path, files: list[str], update_code: bool) -> dict:
    """The folder's config, after checking that the upload will load (safetensors weights, model code, pipelines)."""
    if not (folder / "config.json").is_file():
        raise SystemExit(f"{folder} has no config.json: pass the folder written by save_pretrained / scripts/train.py.")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not any(name.endswith(".safetensors") for name in files):
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLES)
        raise SystemExit(f"{folder} has no safetensors weights{f' (only {pickles})' if pickles else ''}: this script "
                         f"uploads safetensors only. Re-save with model.save_pretrained(folder).")
    if update_code:
        return config
    missing = sorted({module.split(".")[0] + ".py" for module in (config.get("auto_map") or {}).values()} - set(files))
    if not config.get("auto_map") or missing:
        raise SystemExit(f"{folder}: config.json has no auto_map or the code it names is missing ({missing}): "
                         f"trust_remote_code loading would fail. Pass --update_code to ship the package's code.")
    pipelines = config.get("custom_pipelines") or {}
    if not pipelines or any(spec["impl"].split(".")[0] + ".py" not in files for spec in pipelines.values()):
        raise SystemExit(f"{folder} was saved without the pipeline code (config.json custom_pipelines / "
                         f"pipeline_seq2seq_lstm.py): pass --update_code to add it.")
    return config


def refreshed_code(config: dict) -> tuple[dict, dict[str, bytes]]:
    """config.json and the code files as the installed package writes them."""
    import hf_seq2seq_lstm
    from hf_seq2seq_lstm import modeling_seq2seq_lstm

    package = Path(hf_seq2seq_lstm.__file__).parent
    config = {**config, "auto_map": {**(config.get("auto_map") or {}), **modeling_seq2seq_lstm.AUTO_MAP},
              "custom_pipelines": modeling_seq2seq_lstm.CUSTOM_PIPELINES}
    names = ("configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", modeling_seq2seq_lstm.PIPELINE_FILE)
    return config, {name: (package / name).read_bytes() for name in names}


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
        config, code = refreshed_code(config)
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
