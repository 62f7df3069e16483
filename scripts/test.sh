#!/usr/bin/env bash
# Sets up .venv (see setup_env.sh), lints (ruff, configured in pyproject.toml) and runs the test suite. Extra
# arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
python -m ruff check .
python -m pytest tests "$@"
