#!/usr/bin/env bash
# Regenerate the screenshots in docs/img/ of docs/qgis.md: the Fuse HSI+MSI dialog, the fused demo
# in the map, the report page. QGIS desktop (Debian's 3.22) under Xvfb in a throw-away profile with
# the built plugin zip installed; the report page rendered by headless Chromium.
#
# Needs: apt-get install -y --no-install-recommends qgis python3-qgis xvfb imagemagick pngquant chromium
# and the engine (default <repo>/.venv/bin/pifnet-engine; override with PIFNET_ENGINE).
# Usage: bash tests/qgis/make_screenshots.sh [OUT_DIR]   (default: docs/img); prints what QGIS did (JSON)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
engine="${PIFNET_ENGINE:-$repo/.venv/bin/pifnet-engine}"
out="$(realpath -m "${1:-$repo/docs/img}")"
scratch="$(mktemp -d -t pifnet-shots.XXXXXX)"
xvfb_pid=""
cleanup() {
    [[ -n "$xvfb_pid" ]] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
mkdir -p "$out" "$scratch/home" "$scratch/work" "$scratch/shots" "$scratch/profiles/profiles/default/python/plugins"
mkdir -m 700 "$scratch/runtime"

# the plugin, installed from its zip as an analyst would; enabled; the engine set
(cd "$repo" && /usr/bin/python3 -m qgis_plugin.package -o "$scratch/dist" >/dev/null)
/usr/bin/python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$scratch/dist/pifnet_qgis_plugin.zip" "$scratch/profiles/profiles/default/python/plugins"
mkdir -p "$scratch/profiles/profiles/default/QGIS"
cat > "$scratch/profiles/profiles/default/QGIS/QGIS3.ini" <<INI
[PythonPlugins]
pifnet_qgis_plugin=true
processing=true

[Processing]
Configuration\\PIFNET_ENGINE_PATH=$engine

[qgis]
checkVersion=false
showTips322=false
INI

display=":$(( 90 + RANDOM % 9 ))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 2

# QGIS writes histograms (.aux.xml) beside the layers it shows: show copies, never the bundled files.
mkdir -p "$scratch/demo"
cp "$repo"/pifnet_engine/demo/*.tif "$scratch/demo/"

status=0
env -i PATH=/usr/bin:/bin HOME="$scratch/home" LANG=C.UTF-8 DISPLAY="$display" XDG_RUNTIME_DIR="$scratch/runtime" \
    SHOTS_OUT="$scratch/shots" SHOTS_WORK="$scratch/work" SHOTS_DEMO="$scratch/demo" \
    timeout 300 /usr/bin/qgis --profiles-path "$scratch/profiles" --profile default --nologo --noversioncheck \
    --code "$repo/tests/qgis/screenshots.py" >"$scratch/qgis.log" 2>&1 || status=$?
cat "$scratch/shots/measured.json" 2>/dev/null || { echo "QGIS wrote no measurements (exit $status):"; tail -30 "$scratch/qgis.log"; exit 1; }

# the report page, as a browser shows it (headless Chromium, the top of the page)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1500 \
    --screenshot="$scratch/shots/report.png" "file://$scratch/work/fused_demo.report.html" >/dev/null 2>&1

shrink() {  # $1 source, $2 target name, $3 width: resized, then quantised below 300 kB
    /usr/bin/convert "$1" -resize "${3}x>" "$scratch/resized.png"
    pngquant --force --quality 70-95 --output "$out/$2" "$scratch/resized.png" || cp "$scratch/resized.png" "$out/$2"
}
shrink "$scratch/shots/qgis_fuse_dialog.png" qgis_fuse_dialog.png 1000
shrink "$scratch/shots/qgis_fused_map.png" qgis_fused_map.png 1200
shrink "$scratch/shots/report.png" qgis_report_page.png 900
[[ -f "$scratch/shots/qgis_fuse_log.png" ]] && shrink "$scratch/shots/qgis_fuse_log.png" qgis_fuse_log.png 1000
ls -l "$out"/qgis_*.png
exit "$status"
