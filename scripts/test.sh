#!/usr/bin/env bash
# The test suite: installs what it needs into .venv/, then runs pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/venv.sh"
cd "$root"
exec python -m pytest "$@"
