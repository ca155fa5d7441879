#!/usr/bin/env bash
# Create or update .venv/ at the repo root with everything the project needs.
# Sourced by the README's commands; installs the exact tested set (constraints.txt) and re-installs only
# when pyproject.toml or constraints.txt changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x "$venv/bin/python" ]; then
  echo "[o3video] creating $venv" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
stamp="$venv/.o3video-installed"
want="$(cat "$root/pyproject.toml" "$root/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[o3video] installing o3video and its dependencies into $venv (first run: a few minutes)" >&2
  "$venv/bin/python" -m pip install -q -e "$root[all,dev,bench,lmms,app]" -c "$root/constraints.txt"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
