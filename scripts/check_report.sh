#!/usr/bin/env bash
# Render an evaluation report (tabsyn evaluate --report / EvaluationResult.to_html) in headless
# Chromium with networking off, and check that every figure was drawn by plotly.
#
#   bash scripts/check_report.sh report.html [screenshot.png]
#
# Needs Debian's chromium (apt-get install chromium). Exits non-zero when the page drew no
# figure or fewer figures than it holds.
set -euo pipefail
report=$(realpath "$1")
shot=${2:-${report%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "check_report: no chromium on PATH (apt-get install chromium)" >&2
    exit 2
fi
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
       --disable-component-update --proxy-server=127.0.0.1:9 --virtual-time-budget=15000)
dom=$(mktemp)
trap 'rm -f "$dom"' EXIT
"$browser" "${flags[@]}" --dump-dom "file://$report" > "$dom" 2>/dev/null
"$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$shot" "file://$report" 2>/dev/null
figures=$( (grep -o "class=\"plotly-graph-div\"" "$report" || true) | wc -l)
drawn=$( (grep -o "class=\"plot-container plotly\"" "$dom" || true) | wc -l)
echo "check_report: $drawn of $figures figures drawn offline; screenshot in $shot"
[ "$figures" -gt 0 ] && [ "$drawn" -eq "$figures" ]
