#!/usr/bin/env bash
# A throwaway environment with verl 0.9.1 beside o3video, to load the verl reward function with verl's own loader
# (tests/test_verl.py); prints the environment's python.
#
# verl 0.9.1 requires transformers <5.11 and o3video's tested set pins 5.23, so verl cannot join .venv. .venv/verl is a
# venv of its own that sees .venv's packages (its .pth adds .venv's site-packages, editable o3video included, after its
# own) and holds only verl, what verl's reward module imports (ray, tensordict, omegaconf, hydra, codetiming) and the
# transformers verl requires, at the versions pinned below. Created once (about a minute), then reused; remade when
# these pins change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
main="$root/.venv"
venv="$main/verl"
pins=(ray==2.46.0 tensordict==0.8.3 codetiming==1.4.0 hydra-core==1.3.2 omegaconf==2.3.0
      antlr4-python3-runtime==4.9.3 transformers==5.10.4)
[ -x "$main/bin/python" ] || { echo "verl_venv.sh: $main is missing; run scripts/test.sh (or source scripts/venv.sh) first" >&2; exit 2; }
want="$(printf '%s\n' verl==0.9.1 "${pins[@]}" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.o3video-installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[o3video] creating $venv: verl 0.9.1 over .venv's packages (once, about a minute)" >&2
  rm -rf "$venv"
  "$main/bin/python" -m venv "$venv"
  site="$("$main/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  own="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "import site; site.addsitedir('$site')" > "$own/o3video-main.pth"
  "$venv/bin/python" -m pip install -q --no-deps verl==0.9.1
  "$venv/bin/python" -m pip install -q "${pins[@]}"
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
