#!/usr/bin/env bash
# The main job: installs what it needs into .venv/, then runs the end-to-end demo — the synthetic
# world's lowest rung (one object), the tiny model (the perception-pretrained base of bases/perception) before training, after SFT and
# after GSPO, evaluated on held-out V-STaR records —
# and writes runs/demo/report.md and runs/demo/report.html (~10-15 minutes on 2 CPU cores).
# Extra arguments go to `o3video demo` (e.g. --quick, --fresh, --out DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/venv.sh"
cd "$root"
o3video demo "$@"
