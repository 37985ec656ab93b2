#!/usr/bin/env bash
# Build the one-folder desktop bundle into packaging/dist/llmos/ (see packaging/README.md).
# Needs the venv with the packaging extra: .venv/bin/pip install -e '.[packaging]'
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: PyInstaller is missing; run: $ROOT/.venv/bin/pip install -e '$ROOT[packaging]'" >&2
    exit 2
fi
if [ ! -f "$HERE/icons/llmos.png" ]; then
    QT_QPA_PLATFORM=offscreen "$PY" "$HERE/render_icon.py"
fi

start=$(date +%s)
cd "$ROOT"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$HERE/dist" --workpath "$HERE/build" "$HERE/llmos.spec"
end=$(date +%s)

echo "build.sh: built $HERE/dist/llmos in $((end - start)) s, $(du -sh "$HERE/dist/llmos" | cut -f1)"
echo "build.sh: check it with: $HERE/dist/llmos/llmos --self-test"
