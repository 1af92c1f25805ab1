#!/usr/bin/env bash
# A virtual environment holding a Label Studio server, apart from mmrare's own (their pins differ),
# for the Label Studio integration test and for trying push/pull locally (docs/labelstudio.md).
# Usage: scripts/labelstudio-env.sh [DIR]   (default .labelstudio-venv; nothing to do when present)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.labelstudio-venv}
VERSION=1.23.2
PYTHON=${PYTHON:-python3}
if [ -x "$VENV/bin/label-studio" ] \
  && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('label-studio') != '$VERSION')"; then
  echo "$VENV: label-studio $VERSION present"
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "label-studio==$VERSION"
echo "$VENV: label-studio $VERSION installed"
