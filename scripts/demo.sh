#!/usr/bin/env bash
# The main job: installs what it needs into .venv/, then runs the most complete pipeline that exists.
# Today that is scoring the bundled example completions (all six task types) with the paper's rewards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/venv.sh"
cd "$root"
mkdir -p runs/demo
o3video score --input examples/completions.jsonl --out runs/demo/example_scores.jsonl "$@"
echo "[o3video] per-completion scores written to runs/demo/example_scores.jsonl" >&2
