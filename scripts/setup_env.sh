# Sourced by demo.sh and test.sh: creates .venv in the repo root if missing, installs the project, activates it.
# Idempotent: a second run only checks that the install is current.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
STAMP=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$STAMP" ]; then
    python -m pip install -q --upgrade pip
    # torch first and exactly this version: it is the local CPU wheel; anything else pulls a multi-GB CUDA build.
    python -m pip install -q torch==2.13.0
    python -m pip install -q -e ".[dev]"
    rm -f .venv/.installed-*
    touch "$STAMP"
fi
export TOKENIZERS_PARALLELISM=false HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
