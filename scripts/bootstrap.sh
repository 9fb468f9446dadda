#!/usr/bin/env bash
# Create (first use) or reuse the project's virtual environment in .venv.
# On a machine without CUDA this never pulls a CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
STAMP=.venv/.neurodeck-stamp
want=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
echo "neurodeck: setting up .venv (first use or changed requirements)..." >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
torch_pin=$(grep -E '^torch==' constraints.txt)
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    "${PIP[@]}" install -q "$torch_pin"                       # CUDA machine: the default build
  elif "${PIP[@]}" install -q --no-index "$torch_pin" 2>/dev/null; then
    :                                                          # a local CPU wheel (find-links)
  else
    "${PIP[@]}" install -q "$torch_pin" --index-url https://download.pytorch.org/whl/cpu \
      || { echo "neurodeck: could not install a CPU build of $torch_pin" >&2; exit 1; }
  fi
fi
"${PIP[@]}" install -q -c constraints.txt -e ".[gui,bench,dev]"
echo "$want" > "$STAMP"
