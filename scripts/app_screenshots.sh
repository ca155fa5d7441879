#!/usr/bin/env bash
# Screenshots of `o3video app`'s three views in headless Chromium (Debian's `chromium` package):
#   bash scripts/app_screenshots.sh OUT_DIR RESULTS RECORD_KEY DATA SAMPLE_ID [more `o3video app` options]
# writes OUT_DIR/app_ask.png, app_results.png (RESULTS opened on RECORD_KEY) and app_data.png (DATA on SAMPLE_ID).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1" results="$2" record="$3" data="$4" sample="$5"
shift 5
command -v chromium >/dev/null || { echo "needs Debian's chromium: apt-get install chromium" >&2; exit 2; }
source "$root/scripts/venv.sh"
mkdir -p "$out"
port="${PORT:-7861}"
o3video app --results "$results" --data "$data" --port "$port" "$@" &
app=$!
trap 'kill "$app" 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 1; done
quote() { python -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
shoot() {  # name query
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2200 \
    --virtual-time-budget=20000 --screenshot="$out/app_$1.png" "http://127.0.0.1:$port/$2" 2>/dev/null
}
shoot ask "?view=ask"
shoot results "?view=results&record=$(quote "$record")"
shoot data "?view=data&sample=$(quote "$sample")"
ls -l "$out"/app_*.png
