#!/usr/bin/env bash
# Install the llmos desktop entry and icon for the current user, pointing to the built bundle.
#   packaging/install-desktop-entry.sh [BUNDLE_DIR]     (default: packaging/dist/llmos)
#   packaging/install-desktop-entry.sh --uninstall
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA_HOME/applications"
ICONS="$DATA_HOME/icons/hicolor"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$APPS/llmos.desktop" "$ICONS/256x256/apps/llmos.png" "$ICONS/scalable/apps/llmos.svg"
    echo "removed the llmos desktop entry"
    exit 0
fi

BUNDLE="$(cd "${1:-$HERE/dist/llmos}" 2>/dev/null && pwd)" || {
    echo "install-desktop-entry.sh: no bundle at ${1:-$HERE/dist/llmos}; build it with packaging/build.sh" >&2
    exit 2
}
if [ ! -x "$BUNDLE/llmos" ]; then
    echo "install-desktop-entry.sh: $BUNDLE/llmos is missing or not executable" >&2
    exit 2
fi

mkdir -p "$APPS" "$ICONS/256x256/apps" "$ICONS/scalable/apps"
install -m 644 "$HERE/icons/llmos.png" "$ICONS/256x256/apps/llmos.png"
install -m 644 "$HERE/icons/llmos.svg" "$ICONS/scalable/apps/llmos.svg"
# Exec takes the bundle's absolute path, quoted as the Desktop Entry spec asks.
sed -e "s|^Exec=.*|Exec=\"$BUNDLE/llmos\"|" -e "s|^Icon=.*|Icon=llmos|" "$HERE/llmos.desktop" > "$APPS/llmos.desktop"
chmod 644 "$APPS/llmos.desktop"

command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$ICONS" || true
echo "installed $APPS/llmos.desktop -> $BUNDLE/llmos"
