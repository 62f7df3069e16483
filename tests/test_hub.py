"""Sharing on the Hub, over real HTTP on 127.0.0.1 only: pulling by repo id without the package (olah serving local
git repositories), pushing (scripts/push_to_hub.py, model.push_to_hub, Trainer push_to_hub) to tests/hub_server.py,
an offline HF cache, the model card, and what remote code may import (pipelines: test_pipeline.py)."""

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, metadata_load
from saved_models import NEW_TOKENS, OUTPUT_KEYS, RESULTS, SOURCES, TARGETS, SavedModel, saved_models, training_texts
from transformers import AutoTokenizer

from hf_seq2seq_lstm import configuration_seq2seq_lstm
from hf_seq2seq_lstm.hub import card_repo_id, render_model_card, set_card_repo_id, write_model_card
from hf_seq2seq_lstm.tokenization import train_tokenizer

from conftest import BLOCK_PACKAGE, PYTHON, REPO_ROOT, load_script
from hub_server import GitRepository, HubServer

OLAH_CLI = Path(sys.executable).with_name("olah-cli")
CODE_FILES = ("configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", "pipeline_seq2seq_lstm.py")
TOKENIZER_CODE_FILE = "tokenization_seq2seq_lstm.py"  # saved with a two-vocabulary tokenizer only
CUSTOM_PIPELINES = configuration_seq2seq_lstm.CUSTOM_PIPELINES


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return saved_models(tmp_path_factory.mktemp("saved"))


# ---- servers -----------------------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    """The folder of git repositories: written by the push server, served by olah (`models/<org>/<name>`)."""
    return tmp_path_factory.mktemp("hub")


@pytest.fixture(scope="module")
def olah(hub_root, tmp_path_factory):
    """olah in offline mode serving the git repositories under hub_root, read-only, as the Hub's download API."""
    if not OLAH_CLI.exists():
        pytest.skip("olah is not installed: pip install -e .[dev]")
    work = tmp_path_factory.mktemp("olah")
    port = free_port()
    (work / "olah.toml").write_text(
        f"[basic]\nhost = \"127.0.0.1\"\nport = {port}\nrepos-path = {json.dumps(str(work / 'repos'))}\n"
        f"mirrors-path = [{json.dumps(str(hub_root))}]\nmetadata-cache-ttl = 0\n\n[accessibility]\noffline = true\n",
        encoding="utf-8")
    log = open(work / "olah.log", "wb")
    process = subprocess.Popen([str(OLAH_CLI), "-c", "olah.toml", "--log-path", str(work / "logs")], cwd=work,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/models/org/none/revision/{'0' * 40}", timeout=2)
            break
        except urllib.error.HTTPError:
            break  # answering
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                pytest.fail(f"olah did not start: {(work / 'olah.log').read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def hub(hub_root):
    server = HubServer(hub_root).start()
    yield server
    server.stop()


def publish(hub_root, repo_id, folder):
    """Commits a folder to a git repository under hub_root, as if pushed; returns the commit id."""
    repository = GitRepository(str(Path(hub_root) / "models" / repo_id))
    repository.create()
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}
    return repository.commit("main", "upload", files, [], [])


def hub_env(tmp_path, endpoint, offline=False):
    """Environment of a client process: one Hub endpoint, its own caches, no proxies, light on CPU."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.lower().endswith("_proxy")}
    env.update(HF_ENDPOINT=endpoint, HF_HUB_OFFLINE="1" if offline else "0", HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_CACHE=str(tmp_path / "hub_cache"), HF_MODULES_CACHE=str(tmp_path / "hf_modules"),
               HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               HF_TOKEN="hf_test_token", NO_PROXY="127.0.0.1,localhost", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1")
    return env


def run_client(code, spec, env, cwd):
    """Runs `code` in a fresh interpreter with `spec` as sys.argv[1]; returns (last stdout line as JSON, stdout)."""
    result = subprocess.run([PYTHON, "-c", code, json.dumps(spec)], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout


# Loads each job's repo by id with the package hidden: model, its one tokenizer (encoding pairs, decoding target ids),
# generation, streaming, the pipeline (no target_tokenizer argument), a snapshot of the files, and a re-save of the
# remotely loaded model.
PULL = BLOCK_PACKAGE + """
import json, sys, tempfile, torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer, TextStreamer, pipeline
from huggingface_hub import snapshot_download
try:
    import hf_seq2seq_lstm
    raise SystemExit("the package is importable")
except ModuleNotFoundError:
    pass
spec = json.loads(sys.argv[1])
report = {}
for job in spec["jobs"]:
    repo, revision = job["repo_id"], job.get("revision")
    model = AutoModelForSeq2SeqLM.from_pretrained(repo, revision=revision, trust_remote_code=True,
                                                  use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(repo, revision=revision, trust_remote_code=True)
    batch = tokenizer(spec["sources"], padding=True, return_tensors="pt")
    with torch.no_grad():
        greedy = model.generate(**batch, max_new_tokens=spec["new_tokens"])
        beam = model.generate(**batch, max_new_tokens=spec["new_tokens"], num_beams=3)
        print("<<stream " + repo + ">>", flush=True)
        one = tokenizer(spec["sources"][:1], return_tensors="pt")
        streamed = model.generate(**one, max_new_tokens=spec["new_tokens"],
                                  streamer=TextStreamer(tokenizer, skip_special_tokens=True))
        print("<<end>>", flush=True)
    pipe = pipeline(job["task"], model=repo, revision=revision, trust_remote_code=True,
                    model_kwargs={"use_safetensors": True})
    entry = {"module": type(model).__module__, "config": type(AutoConfig.from_pretrained(
                 repo, revision=revision, trust_remote_code=True)).__name__,
             "tokenizer_class": type(tokenizer).__name__, "tokenizer_module": type(tokenizer).__module__,
             "labels": tokenizer(spec["sources"], text_target=spec["targets"])["labels"],
             "greedy": greedy.tolist(), "beam": beam.tolist(),
             "decoded": [text.strip() for text in tokenizer.batch_decode(greedy, skip_special_tokens=True)],
             "streamed": tokenizer.decode(streamed[0], skip_special_tokens=True).strip(),
             "pipeline_class": type(pipe).__name__, "pipeline_module": type(pipe).__module__,
             "pipeline": pipe(spec["sources"], batch_size=2, max_new_tokens=spec["new_tokens"])}
    if job.get("snapshot"):
        entry["snapshot"] = snapshot_download(repo, revision=revision)
    if job.get("resave"):
        with tempfile.TemporaryDirectory() as folder:
            pipe.model.save_pretrained(folder)
            entry["resaved_config"] = json.load(open(folder + "/config.json"))
            entry["resaved_pipeline_file"] = open(folder + "/pipeline_seq2seq_lstm.py").read()
    report[repo] = entry
print(json.dumps(report))
"""


def check_pulled(entry, model: SavedModel, task):
    assert entry["module"].startswith("transformers_modules.") and entry["config"] == "Seq2SeqLSTMConfig"
    # one tokenizer either way: the two-vocabulary one is remote code too, a joint vocabulary a plain fast tokenizer
    assert entry["tokenizer_class"] == type(model.tokenizer).__name__
    assert entry["tokenizer_module"].startswith("transformers_modules.") == model.separate
    assert entry["labels"] == model.labels
    assert entry["greedy"] == model.greedy and entry["beam"] == model.beam
    assert entry["decoded"] == model.texts and entry["streamed"] == model.texts[0]
    assert entry["pipeline_module"].startswith("transformers_modules.")
    assert entry["pipeline"] == [{OUTPUT_KEYS[task]: text} for text in model.texts]


def test_pull_by_repo_id_without_the_package(saved, hub_root, olah, tmp_path):
    """olah serves the saved folders as Hub repos: a process without the package loads the model and its one tokenizer,
    generates, streams and builds the removed pipelines by repo id at a pinned commit, token for token like the
    original."""
    joint_commit = publish(hub_root, "org/pulled", saved["joint"].folder)
    separate_commit = publish(hub_root, "org/pulled-separate", saved["separate"].folder)
    jobs = [{"repo_id": "org/pulled", "revision": joint_commit, "task": "translation", "resave": True},
            {"repo_id": "org/pulled-separate", "revision": separate_commit, "task": "text2text-generation"}]
    report, stdout = run_client(PULL, {"jobs": jobs, "sources": SOURCES, "targets": TARGETS, "new_tokens": NEW_TOKENS},
                                hub_env(tmp_path, olah), tmp_path)
    check_pulled(report["org/pulled"], saved["joint"], "translation")
    # separate vocabularies: AutoTokenizer(trust_remote_code=True) gave the two-vocabulary tokenizer, which decodes
    # target ids, and the pipeline built from the repo id decodes with it
    check_pulled(report["org/pulled-separate"], saved["separate"], "text2text-generation")
    assert joint_commit in report["org/pulled"]["module"] and separate_commit in report["org/pulled-separate"]["module"]
    assert separate_commit in report["org/pulled-separate"]["tokenizer_module"]
    # TextStreamer printed the decoded text to stdout as it was generated
    streamed = stdout.split("<<stream org/pulled>>")[1].split("<<end>>")[0]
    assert saved["joint"].texts[0] in streamed
    # a model loaded as remote code and saved again still carries its code and pipelines
    resaved = report["org/pulled"]
    assert resaved["resaved_config"]["custom_pipelines"] == CUSTOM_PIPELINES
    assert set(resaved["resaved_config"]["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    assert resaved["resaved_pipeline_file"] == (saved["joint"].folder / "pipeline_seq2seq_lstm.py").read_text()


# Pushes with the CLI and with transformers' own push methods (the package importable: this is the training side).
PUSH = """
import importlib.util, json, sys
spec = json.loads(sys.argv[1])
module_spec = importlib.util.spec_from_file_location("push_to_hub", spec["script"])
push = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(push)
report = {}
report["joint"] = push.main([spec["joint"], "--repo_id", "org/pushed", "--private", "--commit_message", "First push"])
report["separate"] = push.main([spec["separate"], "--repo_id", "org/pushed-separate", "--revision", "dev"])

import hf_seq2seq_lstm
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
model = AutoModelForSeq2SeqLM.from_pretrained(spec["joint"], use_safetensors=True)
tokenizer = AutoTokenizer.from_pretrained(spec["joint"])
report["method"] = model.push_to_hub("org/method", commit_message="model.push_to_hub").oid
report["method_tokenizer"] = tokenizer.push_to_hub("org/method", commit_message="tokenizer.push_to_hub").oid
model.save_pretrained(spec["resave"], push_to_hub=True, repo_id="org/saved-and-pushed")
separate = AutoTokenizer.from_pretrained(spec["separate"])
report["method_separate"] = separate.push_to_hub("org/method-separate", commit_message="tokenizer.push_to_hub").oid
print(json.dumps(report))
"""


def test_push_then_pull_back_byte_for_byte(saved, hub, hub_root, olah, tmp_path):
    """scripts/push_to_hub.py and model/tokenizer.push_to_hub against the loopback Hub; pulled back through olah,
    the files are byte-identical and generate the same tokens."""
    joint, separate = saved["joint"], saved["separate"]
    spec = {"script": str(REPO_ROOT / "scripts" / "push_to_hub.py"), "joint": str(joint.folder),
            "separate": str(separate.folder), "resave": str(tmp_path / "resaved")}
    pushed, _ = run_client(PUSH, spec, hub_env(tmp_path / "push", hub.url), tmp_path)

    calls = {(method, path) for method, path in hub.requests}
    for expected in [("POST", "/api/repos/create"), ("POST", "/api/validate-yaml"),
                     ("POST", "/api/models/org/pushed/preupload/main"), ("POST", "/api/models/org/pushed/commit/main"),
                     ("POST", "/api/models/org/pushed-separate/branch/dev"),
                     ("POST", "/api/models/org/pushed-separate/commit/dev"),
                     ("HEAD", "/org/method/resolve/main/README.md")]:
        assert expected in calls, expected
    assert hub.private["org/pushed"] and not hub.private["org/pushed-separate"]
    repository = GitRepository(str(hub_root / "models" / "org" / "pushed"))
    assert repository.git("log", "-1", "--format=%s", pushed["joint"]["commit"]).decode().strip() == "First push"
    assert pushed["joint"]["files"] == sorted(joint.files())
    assert "training_args.bin" not in pushed["joint"]["files"]
    assert {"target_tokenizer.json", TOKENIZER_CODE_FILE} <= set(pushed["separate"]["files"])
    assert not {"target_tokenizer.json", TOKENIZER_CODE_FILE} & set(pushed["joint"]["files"])

    # transformers' push paths ship the pipeline file too (save_pretrained(push_to_hub=True) included)
    for repo_id in ("org/method", "org/saved-and-pushed"):
        git = GitRepository(str(hub_root / "models" / repo_id))
        config = json.loads(git.blob("main", "config.json")[0])
        assert config["custom_pipelines"] == CUSTOM_PIPELINES
        for name in CODE_FILES:
            assert git.blob("main", name)[0] == (joint.folder / name).read_bytes(), (repo_id, name)
    assert GitRepository(str(hub_root / "models" / "org" / "method")).blob("main", "tokenizer.json") is not None
    # a two-vocabulary tokenizer pushes both vocabularies and its code
    git = GitRepository(str(hub_root / "models" / "org" / "method-separate"))
    for name in ("tokenizer.json", "target_tokenizer.json", TOKENIZER_CODE_FILE):
        assert git.blob("main", name)[0] == (separate.folder / name).read_bytes(), name
    tokenizer_config = json.loads(git.blob("main", "tokenizer_config.json")[0])
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_seq2seq_lstm.Seq2SeqLSTMTokenizer"

    jobs = [{"repo_id": "org/pushed", "revision": pushed["joint"]["commit"], "task": "translation", "snapshot": True},
            {"repo_id": "org/pushed-separate", "revision": pushed["separate"]["commit"], "task": "summarization",
             "snapshot": True}]
    report, _ = run_client(PULL, {"jobs": jobs, "sources": SOURCES, "targets": TARGETS, "new_tokens": NEW_TOKENS},
                           hub_env(tmp_path / "pull", olah), tmp_path)
    check_pulled(report["org/pushed"], joint, "translation")
    check_pulled(report["org/pushed-separate"], separate, "summarization")

    def snapshot_files(path):
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in Path(path).rglob("*")
                if p.is_file() and p.name != ".gitattributes"}

    assert snapshot_files(report["org/pushed"]["snapshot"]) == joint.files()
    # the card written without a repo id was pointed at the repo it was pushed to; every other byte is the same
    expected = separate.files()
    expected["README.md"] = set_card_repo_id(expected["README.md"].decode(), "org/pushed-separate").encode()
    assert snapshot_files(report["org/pushed-separate"]["snapshot"]) == expected
    assert card_repo_id(expected["README.md"].decode()) == "org/pushed-separate"


TRAIN_AND_PUSH = """
import json, sys, torch
spec = json.loads(sys.argv[1])
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainingArguments
import hf_seq2seq_lstm
from hf_seq2seq_lstm.tokenization import train_tokenizers
from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.training import Seq2SeqLSTMTrainer
source, target = spec["source"], spec["target"]
tokenizer = train_tokenizers(source, target, joint=False, vocab_size=90)
torch.manual_seed(0)
model = new_model(tokenizer, hidden_size=16, embedding_size=8, attention="luong_general", dropout=0.0)
features = [dict(tokenizer(s, text_target=t)) for s, t in zip(source, target)]
args = Seq2SeqTrainingArguments(
    output_dir=spec["output_dir"], push_to_hub=True, hub_model_id="org/trained", hub_strategy="every_save",
    max_steps=4, save_strategy="steps", save_steps=2, per_device_train_batch_size=8, learning_rate=1e-2,
    logging_steps=2, report_to="none", use_cpu=True, disable_tqdm=True, seed=0, save_total_limit=1)
trainer = Seq2SeqLSTMTrainer(model=model, args=args, train_dataset=features, processing_class=tokenizer,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100))
trainer.train()
commit = trainer.push_to_hub(commit_message="End of training")
model.eval()
batch = tokenizer(spec["sources"], padding=True, return_tensors="pt")
with torch.no_grad():
    greedy = model.generate(**batch, max_new_tokens=spec["new_tokens"])
print(json.dumps({"commit": commit.oid, "greedy": greedy.tolist(),
                  "texts": [t.strip() for t in tokenizer.batch_decode(greedy, skip_special_tokens=True)]}))
"""


def test_trainer_push_to_hub(hub, hub_root, olah, tmp_path):
    """Seq2SeqTrainingArguments(push_to_hub=True, hub_model_id=...): a few training steps with separate vocabularies,
    pushes on save and at the end; the final commit is a complete trust_remote_code repo (the two-vocabulary tokenizer
    and its code included) that generates like the trained model."""
    source, target = training_texts()
    spec = {"source": source[:64], "target": target[:64], "output_dir": str(tmp_path / "trained"),
            "sources": SOURCES, "new_tokens": NEW_TOKENS}
    trained, _ = run_client(TRAIN_AND_PUSH, spec, hub_env(tmp_path / "train", hub.url), tmp_path)

    repository = GitRepository(str(hub_root / "models" / "org" / "trained"))
    messages = repository.git("log", "--format=%s", "main").decode().splitlines()
    assert messages[0] == "End of training" and any(m.startswith("Training in progress") for m in messages)
    files = set(repository.git("ls-tree", "-r", "--name-only", trained["commit"]).decode().split())
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "target_tokenizer.json",
            "README.md", *CODE_FILES, TOKENIZER_CODE_FILE} <= files
    assert not any(name.startswith("checkpoint-") for name in files)
    # every commit pushed during training carries the code its config.json and tokenizer_config.json name, so each
    # one loads
    for commit in repository.git("rev-list", "main").decode().split():
        pushed = set(repository.git("ls-tree", "-r", "--name-only", commit).decode().split())
        assert "config.json" not in pushed or set(CODE_FILES) <= pushed, (commit, pushed)
        assert "tokenizer_config.json" not in pushed or {TOKENIZER_CODE_FILE, "target_tokenizer.json"} <= pushed
    config = json.loads(repository.blob(trained["commit"], "config.json")[0])
    assert config["custom_pipelines"] == CUSTOM_PIPELINES and "AutoModel" in config["auto_map"]

    jobs = [{"repo_id": "org/trained", "revision": trained["commit"], "task": "translation"}]
    report, _ = run_client(PULL, {"jobs": jobs, "sources": SOURCES, "targets": TARGETS, "new_tokens": NEW_TOKENS},
                           hub_env(tmp_path / "pull", olah), tmp_path)
    entry = report["org/trained"]
    assert entry["tokenizer_class"] == "Seq2SeqLSTMTokenizer" and entry["greedy"] == trained["greedy"]
    assert entry["decoded"] == trained["texts"]
    assert entry["pipeline"] == [{"translation_text": text} for text in trained["texts"]]


def test_offline_cache_snapshot_loads_by_repo_id(saved, tmp_path):
    """A hand-made HF_HUB_CACHE (models--org--name/refs/main + snapshots/<commit>/) loads by repo id under
    HF_HUB_OFFLINE=1, with the endpoint pointing at a closed port: no HTTP at all."""
    model = saved["separate"]
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_cache = tmp_path / "hub_cache" / "models--org--offline"
    shutil.copytree(model.folder, repo_cache / "snapshots" / commit)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(commit, encoding="utf-8")  # no trailing newline
    jobs = [{"repo_id": "org/offline", "task": "summarization"}]
    report, _ = run_client(PULL, {"jobs": jobs, "sources": SOURCES, "targets": TARGETS, "new_tokens": NEW_TOKENS},
                           hub_env(tmp_path, f"http://127.0.0.1:{free_port()}", offline=True), tmp_path)
    check_pulled(report["org/offline"], model, "summarization")


# ---- safety --------------------------------------------------------------------------------------------------------


def test_remote_code_imports_only_torch_and_transformers(saved):
    """What trust_remote_code runs: the .py files of a saved folder (the model's, and the tokenizer's with separate
    vocabularies) import the standard library, torch, transformers and what transformers itself requires
    (tokenizers, huggingface_hub), and each other (relative, single level), nothing else."""
    assert sorted(p.name for p in saved["joint"].folder.glob("*.py")) == sorted(CODE_FILES)
    folder = saved["separate"].folder
    code_files = sorted(p.name for p in folder.glob("*.py"))
    assert code_files == sorted((*CODE_FILES, TOKENIZER_CODE_FILE))
    allowed = {"torch", "transformers", "tokenizers", "huggingface_hub"} | set(sys.stdlib_module_names)
    for name in code_files:
        tree = ast.parse((folder / name).read_text(), filename=name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.level == 1 and f"{node.module}.py" in code_files, (name, node.module)
                    continue
                modules = [node.module]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{name} imports {module}"
    for call in ("eval(", "exec(", "pickle", "torch.load", "subprocess"):
        assert not any(call in (folder / name).read_text() for name in code_files), call


def test_model_loading_is_safetensors_only(saved, tmp_path):
    """Every model loader of the package and scripts passes use_safetensors=True (or forwards kwargs that hold it),
    and the push script ships safetensors only."""
    for path in [*(REPO_ROOT / "scripts").glob("*.py"), *(REPO_ROOT / "hf_seq2seq_lstm").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "from_pretrained" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id.startswith(("AutoModel", "Seq2SeqLSTM"))):
                keywords = {k.arg: k.value for k in node.keywords}
                forwarded = None in keywords
                assert forwarded or (isinstance(keywords.get("use_safetensors"), ast.Constant)
                                     and keywords["use_safetensors"].value is True), f"{path.name}:{node.lineno}"
    push = load_script("push_to_hub")
    folder = tmp_path / "pickled"
    shutil.copytree(saved["joint"].folder, folder)
    (folder / "training_args.bin").write_bytes(b"pickle")
    (folder / "checkpoint-2").mkdir()
    (folder / "checkpoint-2" / "model.safetensors").write_bytes(b"x")
    files = push.select_files(folder)
    assert "training_args.bin" not in files and not any(f.startswith("checkpoint-") for f in files)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match="safetensors"):
        push.check_folder(folder, push.select_files(folder), update_code=False)


def test_push_script_refreshes_code_of_older_folders(saved, tmp_path, capsys):
    """A folder saved before the pipelines existed, and one saved with its target tokenizer in a target_tokenizer/
    subfolder: refused as is, shipped with --update_code (dry run: no HTTP), the latter with its tokenizer converted
    into the one two-vocabulary tokenizer and that tokenizer's code."""
    push = load_script("push_to_hub")
    folder = tmp_path / "old"
    shutil.copytree(saved["joint"].folder, folder)
    (folder / "pipeline_seq2seq_lstm.py").unlink()
    (folder / "README.md").unlink()
    config = json.loads((folder / "config.json").read_text())
    del config["custom_pipelines"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="--update_code"):
        push.main([str(folder), "--repo_id", "org/old", "--dry_run"])
    capsys.readouterr()
    push.main([str(folder), "--repo_id", "org/old", "--dry_run", "--update_code"])
    listed = capsys.readouterr().out.splitlines()
    for name in ("config.json", "README.md", *CODE_FILES):
        assert f"{name}  (rewritten)" in listed, name
    assert "model.safetensors" in listed and "tokenizer.json" in listed
    assert not any(TOKENIZER_CODE_FILE in line for line in listed)  # a joint vocabulary needs no tokenizer code
    refreshed, code = push.refreshed_code(config, json.loads((folder / "tokenizer_config.json").read_text()))
    assert refreshed["custom_pipelines"] == CUSTOM_PIPELINES
    assert refreshed["auto_map"] == json.loads((saved["joint"].folder / "config.json").read_text())["auto_map"]
    assert sorted(code) == sorted(CODE_FILES)
    assert code["pipeline_seq2seq_lstm.py"] == (saved["joint"].folder / "pipeline_seq2seq_lstm.py").read_bytes()

    separate = saved["separate"]
    _, code = push.refreshed_code(config, json.loads((separate.folder / "tokenizer_config.json").read_text()))
    assert code[TOKENIZER_CODE_FILE] == (separate.folder / TOKENIZER_CODE_FILE).read_bytes()  # named by its auto_map

    # the layout before one tokenizer: the source tokenizer in the folder, the target one in target_tokenizer/
    legacy = tmp_path / "legacy"
    shutil.copytree(separate.folder, legacy)
    for name in ("tokenizer.json", "target_tokenizer.json", "tokenizer_config.json", TOKENIZER_CODE_FILE):
        (legacy / name).unlink()
    source_texts, target_texts = training_texts()  # trained as train_tokenizers(joint=False) does
    train_tokenizer(source_texts, vocab_size=90).save_pretrained(legacy)
    train_tokenizer(target_texts, vocab_size=90).save_pretrained(legacy / "target_tokenizer")
    with pytest.raises(ValueError, match="--update_code"):
        push.main([str(legacy), "--repo_id", "org/legacy", "--dry_run"])
    capsys.readouterr()
    push.main([str(legacy), "--repo_id", "org/legacy", "--dry_run", "--update_code"])
    listed = capsys.readouterr().out.splitlines()
    for name in ("tokenizer.json", "target_tokenizer.json", "tokenizer_config.json", TOKENIZER_CODE_FILE, *CODE_FILES):
        assert f"{name}  (rewritten)" in listed, name
    assert not any(line.startswith("target_tokenizer/") for line in listed)
    converted = tmp_path / "converted"
    converted.mkdir()
    for name, data in push.converted_tokenizer(legacy).items():
        (converted / name).write_bytes(data)
    tokenizer = AutoTokenizer.from_pretrained(converted, trust_remote_code=True)
    assert type(tokenizer).__name__ == "Seq2SeqLSTMTokenizer"
    assert tokenizer(SOURCES, text_target=TARGETS)["labels"] == separate.labels
    assert ([text.strip() for text in tokenizer.batch_decode(separate.greedy, skip_special_tokens=True)]
            == separate.texts)


# ---- model card ----------------------------------------------------------------------------------------------------


def test_model_card_metadata_and_model_index(saved, tmp_path):
    readme = saved["joint"].folder / "README.md"
    card = ModelCard.load(readme)
    metadata = metadata_load(readme)
    assert metadata["library_name"] == "transformers" and metadata["pipeline_tag"] == "translation"
    assert metadata["language"] == ["en", "de"] and metadata["license"] == "apache-2.0"
    assert {"seq2seq-lstm", "lstm", "luong-attention", "translation"} <= set(metadata["tags"])
    assert metadata["metrics"] == ["bleu", "chrf", "exact_match"]
    scores = {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert scores == {("validation", "bleu"): RESULTS["eval_bleu"], ("validation", "chrf"): RESULTS["eval_chrf"],
                      ("validation", "exact_match"): RESULTS["eval_exact_match"],
                      ("test", "bleu"): RESULTS["predict_bleu"], ("test", "chrf"): RESULTS["predict_chrf"],
                      ("test", "exact_match"): RESULTS["predict_exact_match"]}
    assert card.data.model_name == "org/pushed" and all(r.task_type == "translation" for r in card.data.eval_results)
    text = card.content
    for section in ("## Model architecture", "## Intended use", "## The information bottleneck and attention",
                    "## Training data", "## Training procedure", "## Evaluation", "## Limitations", "## How to use",
                    "## Citations", "trust_remote_code=True", "sutskever2014sequence", "bahdanau2015neural",
                    "luong2015effective", "| validation | 20 | 12.35 |"):
        assert section in text, section
    assert "{{" not in text
    # one tokenizer encodes pairs and decodes; a joint vocabulary is a plain tokenizer, with no code of its own
    assert "text_target=" in text and "tokenizer.batch_decode(outputs, skip_special_tokens=True)" in text
    assert "target_tokenizer" not in text and TOKENIZER_CODE_FILE not in text

    # a summarization run with separate vocabularies, ROUGE results and training arguments
    folder = tmp_path / "summarizer"
    shutil.copytree(saved["separate"].folder, folder)
    (folder / "all_results.json").write_text(json.dumps({"eval_rouge1": 31.5, "eval_rougeL": 29.0, "eval_samples": 8}))
    from transformers import Seq2SeqTrainingArguments
    write_model_card(folder, data_args={"text_column": "document", "summary_column": "summary",
                                        "dataset_name": "org/news", "dataset_config_name": "v1"},
                     training_args=Seq2SeqTrainingArguments(output_dir=str(folder), hub_model_id="org/summarizer",
                                                            learning_rate=3e-3, report_to="none"),
                     model_args={"tokenizer_type": "unigram", "separate_vocabularies": True})
    metadata = metadata_load(folder / "README.md")
    assert metadata["pipeline_tag"] == "summarization" and metadata["datasets"] == ["org/news"]
    assert metadata["metrics"] == ["rouge"] and metadata["language"] == []
    results = metadata["model-index"][0]["results"]
    assert metadata["model-index"][0]["name"] == "org/summarizer"
    assert [(m["name"], m["value"]) for m in results[0]["metrics"]] == [("ROUGE-1", 31.5), ("ROUGE-L", 29.0)]
    assert results[0]["dataset"] == {"name": "org/news", "type": "org/news", "config": "v1", "split": "validation"}
    content = (folder / "README.md").read_text()
    assert "| learning rate | 0.003 |" in content
    # separate vocabularies: the same one-tokenizer usage, the tokenizer's code listed, no target_tokenizer/ subfolder
    assert "text_target=" in content and f"`{TOKENIZER_CODE_FILE}`" in content and "target_tokenizer" not in content
    # and the usage code runs as written, pointed at the folder
    usage = content.split("## How to use", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(usage.replace('repo_id = "org/summarizer"', f"repo_id = {str(folder)!r}"), {})

    # no results: still a valid card, with an empty model-index entry
    (folder / "all_results.json").unlink()
    card = render_model_card(folder)
    assert metadata_load_text(card)["model-index"] == [{"name": f"your-username/{folder.name}", "results": []}]
    assert card_repo_id(set_card_repo_id(card, "someone/else")) == "someone/else"
    assert "# else" in set_card_repo_id(card, "someone/else")


def test_model_card_refuses_a_bad_template_non_numeric_results_and_another_models_config(saved, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(saved["joint"].folder, folder)
    template = tmp_path / "card.md"
    template.write_text("---\n{{ card_data }}\n---\n\n# {{ model_name }\n")
    with pytest.raises(ValueError, match=r"card.md', line 5: .*fix the template"):
        render_model_card(folder, template=template)
    with pytest.raises(ValueError, match="missing.md' does not exist"):
        render_model_card(folder, template=tmp_path / "missing.md")
    (folder / "all_results.json").write_text(json.dumps({"eval_bleu": "high", "epoch": 3}))
    with pytest.raises(ValueError, match=r"all_results.json': 'eval_bleu' is 'high', not a number"):
        render_model_card(folder)
    with pytest.raises(ValueError, match=r"^results: 'eval_bleu' is None, not a number"):
        render_model_card(folder, results={"eval_bleu": None})
    (folder / "all_results.json").unlink()
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "marian"}))
    with pytest.raises(ValueError, match="holds a 'marian' model .*, not a seq2seq_lstm one"):
        render_model_card(folder)


def metadata_load_text(card: str) -> dict:
    import yaml

    return yaml.safe_load(card.split("---", 2)[1])


def test_wheel_install_writes_model_cards(saved, tmp_path):
    """A non-editable install (a wheel) carries the card template: write a card with it in a fresh process."""
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ behind
    shutil.copytree(REPO_ROOT / "hf_seq2seq_lstm", source / "hf_seq2seq_lstm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    subprocess.run([PYTHON, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "wheel",
                    source], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("hf_seq2seq_lstm-*.whl")
    subprocess.run([PYTHON, "-m", "pip", "install", "--no-deps", "-q", "--target", tmp_path / "site", wheel],
                   check=True, capture_output=True)
    folder = tmp_path / "model"
    shutil.copytree(saved["joint"].folder, folder)
    (folder / "README.md").unlink()
    script = (
        "import sys, hf_seq2seq_lstm.hub as hub\n"
        f"assert hub.__file__.startswith({str(tmp_path / 'site')!r}), hub.__file__\n"
        "hub.write_model_card(sys.argv[1], repo_id=sys.argv[2], data_args={'source_lang': 'en', 'target_lang': 'de'})\n"
    )
    original = saved["joint"].folder / "README.md"
    subprocess.run([PYTHON, "-c", script, folder, card_repo_id(original.read_text())], check=True, cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert (tmp_path / "site/hf_seq2seq_lstm/model_card.md").read_bytes() == (REPO_ROOT / "model_card.md").read_bytes()
    assert (folder / "README.md").read_text() == original.read_text()
