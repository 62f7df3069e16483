"""A loopback stand-in for the Hugging Face Hub's *write* API, for tests only.

It answers the requests that huggingface_hub 2.4's upload path makes (`create_repo`, `create_branch`,
`create_commit` / `upload_folder` / `push_to_hub`, the model-card checks) and nothing more:

    POST /api/repos/create                           create a repository (409 when it exists)
    POST /api/models/{org}/{name}/branch/{branch}     create a branch from main (409 when it exists)
    POST /api/validate-yaml                          parse a model card's YAML header (400 when invalid)
    POST /api/models/{org}/{name}/preupload/{rev}    answer uploadMode "regular" for every file: no LFS, no Xet
    POST /api/models/{org}/{name}/commit/{rev}       NDJSON commit, files inline as base64
    HEAD/GET /{org}/{name}/resolve/{rev}/{path}       a file of a commit (push_to_hub reads README.md back)

Each commit becomes a git commit in a bare repository at `<root>/models/<org>/<name>`, which is the layout that
olah (a self-hosted Hub mirror) serves read-only with `mirrors-path = [<root>]` and `offline = true`. Pushing here and
pulling from olah therefore exercises the real huggingface_hub client on both sides, over HTTP on 127.0.0.1.

What it is not: no authentication (tokens are accepted and ignored), no access control (`private` is recorded and
not enforced), no LFS or Xet upload protocol (an `lfsFile` in a commit is refused), no pull requests, no repo
listing or model-info API. Run the client with HF_HUB_DISABLE_XET=1 so that uploads stay on the regular path.
"""

import base64
import json
import os
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

INITIAL_GITATTRIBUTES = b"# Regular files only: this test server has no LFS.\n*.safetensors binary\n"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "hub-server", "GIT_AUTHOR_EMAIL": "hub-server@127.0.0.1",
    "GIT_COMMITTER_NAME": "hub-server", "GIT_COMMITTER_EMAIL": "hub-server@127.0.0.1",
}


class HubError(Exception):
    def __init__(self, status, message, error_code=None, **payload):
        super().__init__(message)
        self.status, self.message, self.error_code, self.payload = status, message, error_code, payload


class GitRepository:
    """A bare git repository written with plumbing commands, so any branch can be committed to without a checkout."""

    def __init__(self, path):
        self.path = path

    def git(self, *args, input=None, env=None):
        result = subprocess.run(["git", "--git-dir", self.path, *args], input=input, capture_output=True,
                                env={**os.environ, **GIT_IDENTITY, **(env or {})}, check=False)
        if result.returncode != 0:
            raise HubError(500, f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout

    def create(self):
        os.makedirs(self.path)
        subprocess.run(["git", "init", "--bare", "-q", "-b", "main", self.path], check=True)

    def head(self, revision):
        """The commit of a branch or commit id; None for a branch with no commit yet."""
        result = subprocess.run(["git", "--git-dir", self.path, "rev-parse", "--verify", "-q",
                                 f"{revision}^{{commit}}"],
                                capture_output=True, check=False)
        return result.stdout.decode().strip() or None

    def blob(self, revision, path):
        """(content, blob id) of a file at a revision, or None."""
        commit = self.head(revision)
        if commit is None:
            return None
        result = subprocess.run(["git", "--git-dir", self.path, "rev-parse", "--verify", "-q", f"{commit}:{path}"],
                                capture_output=True, check=False)
        blob_id = result.stdout.decode().strip()
        if not blob_id or self.git("cat-file", "-t", blob_id).strip() != b"blob":
            return None
        return self.git("cat-file", "blob", blob_id), blob_id, commit

    def commit(self, branch, message, files, deleted_files, deleted_folders, parent_commit=None):
        """Writes a commit on `branch` (created at the first commit of `main`) and returns its id."""
        parent = self.head(branch)
        if parent is None and branch != "main":
            raise HubError(404, f"Branch {branch} does not exist", "RevisionNotFound")
        if parent_commit is not None and parent is not None and not parent.startswith(parent_commit):
            raise HubError(412, f"Parent commit {parent_commit} is not the head of {branch} ({parent})")
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            if parent is not None:
                self.git("read-tree", parent, env=env)
            removed = list(deleted_files)
            for folder in deleted_folders:
                if parent is not None:
                    listing = self.git("ls-tree", "-r", "-z", "--name-only", parent, "--", folder.rstrip("/") + "/")
                    removed += [path for path in listing.decode().split("\0") if path]
            # --index-info lines: "<mode> <blob>\t<path>"; mode 0 removes the path
            entries = [f"0 {'0' * 40}\t{path}" for path in removed]
            for path, content in files.items():
                blob_id = self.git("hash-object", "-w", "--stdin", input=content).decode().strip()
                entries.append(f"100644 {blob_id}\t{path}")
            if entries:
                self.git("update-index", "--index-info", input="\n".join(entries).encode() + b"\n", env=env)
            tree = self.git("write-tree", env=env).decode().strip()
        commit_args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        commit = self.git(*commit_args).decode().strip()
        self.git("update-ref", f"refs/heads/{branch}", commit)
        return commit


class HubServer:
    """`HubServer(root).start()` serves on a free port of 127.0.0.1; `.url` is the HF_ENDPOINT to give clients."""

    def __init__(self, root):
        self.root = str(root)
        self.lock = threading.Lock()
        self.requests = []  # (method, path) of every request, for tests to inspect
        self.private = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = None

    def repository(self, repo_id):
        org, name = repo_id.split("/")
        return GitRepository(os.path.join(self.root, "models", org, name))

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- endpoints -------------------------------------------------------------------------------------------

    def create_repo(self, body):
        if body.get("type", "model") != "model":
            raise HubError(400, "This test server only hosts model repositories")
        if not body.get("organization"):
            raise HubError(400, "Give the repository as org/name")
        repo_id = f"{body['organization']}/{body['name']}"
        repository = self.repository(repo_id)
        with self.lock:
            if os.path.exists(repository.path):
                # the Hub's 409 carries the url, which create_repo(exist_ok=True) returns
                raise HubError(409, "You already created this model repo", url=f"{self.url}/{repo_id}")
            repository.create()
            # Like the Hub, a new repository starts with one commit, so that branches can be made from main.
            repository.commit("main", "initial commit", {".gitattributes": INITIAL_GITATTRIBUTES}, [], [])
            self.private[repo_id] = body.get("visibility") == "private" or bool(body.get("private"))
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id}

    def create_branch(self, repo_id, branch, body):
        repository = self.existing(repo_id)
        with self.lock:
            if repository.head(f"refs/heads/{branch}") is not None:
                raise HubError(409, f"Branch {branch} already exists")
            start = repository.head(body.get("startingPoint") or "main")
            if start is None:
                raise HubError(404, f"Revision {body.get('startingPoint')} not found", "RevisionNotFound")
            repository.git("update-ref", f"refs/heads/{branch}", start)
        return 200, {}

    def preupload(self, repo_id, body):
        self.existing(repo_id)
        files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                 for f in body.get("files", [])]
        return 200, {"files": files, "commitOid": None}

    def commit(self, repo_id, revision, ndjson, query):
        repository = self.existing(repo_id)
        if query.get("create_pr"):
            raise HubError(400, "This test server does not do pull requests")
        header, files, deleted_files, deleted_folders = None, {}, [], []
        for line in filter(None, ndjson.splitlines()):
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, f"Unsupported encoding {value.get('encoding')}")
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                deleted_files.append(value["path"])
            elif key == "deletedFolder":
                deleted_folders.append(value["path"])
            else:  # lfsFile, deletedEntry from copies, ...
                raise HubError(422, f"This test server takes regular files only, not {key!r} "
                                    "(set HF_HUB_DISABLE_XET=1)")
        if header is None:
            raise HubError(400, "Commit without a header line")
        message = header.get("summary") or "commit"
        if header.get("description"):
            message += "\n\n" + header["description"]
        with self.lock:
            commit = repository.commit(revision, message, files, deleted_files, deleted_folders,
                                       header.get("parentCommit"))
        return 200, {"success": True, "commitOid": commit, "commitUrl": f"{self.url}/{repo_id}/commit/{commit}",
                     "hookOutput": "", "pullRequestUrl": None}

    def validate_yaml(self, body):
        content = body.get("content", "")
        if not content.startswith("---"):
            return 200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]}
        try:
            metadata = yaml.safe_load(content.split("---", 2)[1])
        except (yaml.YAMLError, IndexError) as error:
            return 400, {"errors": [{"message": f"Invalid YAML: {error}"}], "warnings": []}
        if not isinstance(metadata, dict):
            return 400, {"errors": [{"message": "The YAML header must be a mapping"}], "warnings": []}
        return 200, {"errors": [], "warnings": []}

    def existing(self, repo_id):
        repository = self.repository(repo_id)
        if not os.path.isdir(repository.path):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repository

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                self._dispatch("POST")

            def do_GET(self):
                self._dispatch("GET")

            def do_HEAD(self):
                self._dispatch("HEAD")

            def _dispatch(self, method):
                url = urlsplit(self.path)
                parts = [unquote(p) for p in url.path.split("/") if p]
                query = parse_qs(url.query)
                server.requests.append((method, url.path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    if method == "POST":
                        self._post(parts, raw, query)
                    elif len(parts) >= 5 and parts[2] == "resolve":
                        self._resolve(method, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
                    else:
                        raise HubError(404, f"{method} {url.path} is not implemented by this test server")
                except HubError as error:
                    self._json(error.status, {"error": error.message, **error.payload}, error.error_code,
                               method != "HEAD")

            def _post(self, parts, raw, query):
                if parts == ["api", "repos", "create"]:
                    self._json(*server.create_repo(json.loads(raw)))
                elif parts == ["api", "validate-yaml"]:
                    self._json(*server.validate_yaml(json.loads(raw)))
                elif len(parts) == 6 and parts[:2] == ["api", "models"]:
                    repo_id, action, revision = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
                    if action == "preupload":
                        self._json(*server.preupload(repo_id, json.loads(raw)))
                    elif action == "commit":
                        self._json(*server.commit(repo_id, revision, raw.decode(), query))
                    elif action == "branch":
                        self._json(*server.create_branch(repo_id, revision, json.loads(raw or b"{}")))
                    else:
                        raise HubError(404, f"POST {self.path} is not implemented by this test server")
                else:
                    raise HubError(404, f"POST {self.path} is not implemented by this test server")

            def _resolve(self, method, repo_id, revision, path):
                repository = server.existing(repo_id)
                found = repository.blob(revision, path)
                if found is None:
                    if repository.head(revision) is None and revision != "main":
                        raise HubError(404, f"Revision {revision} not found", "RevisionNotFound")
                    raise HubError(404, f"{path} not found at {revision}", "EntryNotFound")
                content, blob_id, commit = found
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(content)))
                self.send_header("ETag", f'"{blob_id}"')
                self.send_header("X-Repo-Commit", commit)
                self.end_headers()
                if method == "GET":
                    self.wfile.write(content)

            def _json(self, status, payload, error_code=None, with_body=True):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if error_code:
                    self.send_header("X-Error-Code", error_code)
                    self.send_header("X-Error-Message", payload.get("error", ""))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

        return Handler
