#!/usr/bin/env bash
# Screenshots of `o3video app`'s three views in headless Chromium (Debian's `chromium` package, driven by Playwright),
# each taken once the view has finished rendering (scripts/app_screenshots.py):
#   bash scripts/app_screenshots.sh OUT_DIR VIDEO QUESTION RESULTS RECORD_KEY DATA SAMPLE_ID [more `o3video app` options]
# writes OUT_DIR/app_ask.png (VIDEO asked QUESTION with the app's --model), app_results.png (RESULTS opened on
# RECORD_KEY) and app_data.png (DATA on SAMPLE_ID). The README's pictures:
#   o3video synth --out data/easy --sft 40 --rl 20 --bench 10
#   o3video eval vstar --anno data/easy/vstar_test.json --videos data/easy/videos --model bases/perception \
#     --out runs/base.jsonl --max-new-tokens 96 --judge exact
#   o3video eval vstar --anno data/easy/vstar_test.json --baseline whole --out runs/whole.jsonl --judge exact
#   bash scripts/app_screenshots.sh docs/pictures data/easy/videos/test_00003.mp4 "Where is the green triangle?" \
#     runs/base.jsonl 4:test_00002 data/easy/stgr_sft.json sft-000034 --model bases/perception --compare runs/whole.jsonl
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1" video="$2" question="$3" results="$4" record="$5" data="$6" sample="$7"
shift 7
command -v chromium >/dev/null || { echo "needs Debian's chromium: apt-get install chromium" >&2; exit 2; }
source "$root/scripts/venv.sh"
port="${PORT:-7861}"
o3video app --results "$results" --data "$data" --port "$port" "$@" &
app=$!
trap 'kill "$app" 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 1; done
python "$root/scripts/app_screenshots.py" "http://127.0.0.1:$port/" "$out" --video "$video" --question "$question" \
  --record "$record" --sample "$sample"
ls -l "$out"/app_*.png
