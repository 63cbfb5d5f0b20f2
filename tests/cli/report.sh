#!/usr/bin/env bash
# report.sh: `coldstart report` as a person uses it: tiny world -> model ->
# report with a k sweep (a tune.json written here), then checks the page:
# every section, no reference outside the file, every SVG well-formed XML,
# the numbers equal `evaluate`'s, the regressor's loss curve from the history train writes,
# a bad tune.json refused before anything is written; finally the page is
# rendered by headless Chromium and the screenshot must have the asked size
# and real content (not blank, many colours, ink on most rows).
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(realpath "$(mktemp -d "${CS_TMP:-/tmp}/report.XXXXXX")")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "report.sh: $*" >&2; exit 1; }

"$CS" synth --scale tiny --seed 1 --out "$TMP/logs" --quiet
"$CS" prepare --logs "$TMP/logs" --space svd --dim 16 --seed 1 --out "$TMP/ds" --quiet
"$CS" train "$TMP/ds" --out "$TMP/model" --clusters 40 --input-clusters 8 \
  --epochs 3 --seed 1 --quiet

# the k sweep `coldstart tune` is to write (docs/report.md)
mkdir -p "$TMP/sweep"
cat >"$TMP/sweep/tune.json" <<'JSON'
{"points": [
  {"k": 10, "inertia": 410.5, "seconds": 0.05,
   "validation": {"semi": {"precision": 0.40, "recall": 0.39, "ndcg": 0.36},
                  "soft": {"precision": 0.44, "recall": 0.43, "ndcg": 0.39}}},
  {"k": 20, "inertia": 352.0, "seconds": 0.06,
   "validation": {"semi": {"precision": 0.45, "recall": 0.44, "ndcg": 0.40},
                  "soft": {"precision": 0.50, "recall": 0.49, "ndcg": 0.44}}},
  {"k": 40, "inertia": 318.2, "seconds": 0.08,
   "validation": {"semi": {"precision": 0.47, "recall": 0.46, "ndcg": 0.42},
                  "soft": {"precision": 0.53, "recall": 0.52, "ndcg": 0.46}}},
  {"k": 80, "inertia": 301.9, "seconds": 0.12,
   "validation": {"semi": {"precision": 0.44, "recall": 0.43, "ndcg": 0.40},
                  "soft": {"precision": 0.52, "recall": 0.51, "ndcg": 0.45}}}],
 "elbow": {"k": 20},
 "chosen": {"k": 40, "rule": "best validation NDCG@50 of soft"}}
JSON

OUT="$TMP/report.html"
SOURCE_DATE_EPOCH=1700000000 "$CS" report "$TMP/model" "$TMP/ds" --tune "$TMP/sweep" \
  --out "$OUT" --quiet
[ -s "$OUT" ] || fail "no report written"

# every section, once, with its heading
for id in comparison ndcg-at-k segments regressor tune examples inputs; do
  n=$(grep -c "<section id=\"$id\">" "$OUT" || true)
  [ "$n" -eq 1 ] || fail "section $id appears $n times"
done
for h in 'Strategy comparison' 'NDCG@K for K = 1 to 100' 'The segments' \
  'The regressor: loss per epoch' 'Choosing k: inertia and validation NDCG' \
  'Three example users' 'What went in'; do
  grep -qF "<h2>$h</h2>" "$OUT" || fail "no heading '$h'"
done
for id in user-idle user-typical user-active chart-comparison chart-ndcg-at-k \
  chart-segment-sizes chart-segment-songs chart-segment-top10 chart-segment-pca \
  chart-tune-inertia chart-tune-ndcg; do
  grep -q "id=\"$id\"" "$OUT" || fail "no element #$id"
done
grep -q 'id="chart-loss"' "$OUT" || fail "no loss curve (train writes the history into the model)"
grep -q 'elbow k = 20' "$OUT" || fail "elbow not marked"
grep -q 'chosen k = 40' "$OUT" || fail "chosen k not marked"
grep -q '2023-11-14 22:13:20 UTC' "$OUT" || fail "SOURCE_DATE_EPOCH not used for the date"

# self-contained: nothing that could fetch or run anything
bad=$(grep -noE 'http:|https:|src=|url\(|<script|@import|//|<link|@font-face' "$OUT" | head -5 || true)
[ -z "$bad" ] || fail "external reference or script: $bad"
bad=$(grep -oE 'href="[^"]*"' "$OUT" | grep -v 'href="#' | head -3 || true)
[ -z "$bad" ] || fail "link leaving the page: $bad"

# the SVGs parse as XML, and there are the expected 9 (the loss chart included)
python3 - "$OUT" <<'PY'
import re, sys, xml.etree.ElementTree as ET
html = open(sys.argv[1], encoding="utf-8").read()
svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
if len(svgs) != 9:
    sys.exit(f"expected 9 charts (with the loss curve), found {len(svgs)}")
for s in svgs:
    root = ET.fromstring(s)  # raises on malformed XML
    if root.find("title") is None or not root.find("title").text:
        sys.exit("a chart without a title")
    if len(list(root.iter("text"))) < 5:
        sys.exit("a chart with almost no labels: " + root.find("title").text)
PY

# the numbers beside the bars are evaluate's (2 decimals, in %), and the
# NDCG@K table's K = 50 column is the comparison's NDCG@50
"$CS" evaluate "$TMP/model" "$TMP/ds" --split test --k 50 --format csv --quiet >"$TMP/eval.csv"
python3 - "$OUT" "$TMP/eval.csv" <<'PY'
import csv, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
rows = list(csv.DictReader(open(sys.argv[2])))
table = html[html.index('<table class="numbers">'):]
table = table[:table.index("</table>")]
curve = html[html.index('<table class="curve-values">'):]
curve = curve[:curve.index("</table>")]
for r in rows:
    name = r["strategy"]
    want = [f"{100 * float(r[m]):.2f} \u00b1 {100 * float(r[m + '_std']):.2f}"
            for m in ("precision", "recall", "ndcg")]
    m = re.search(r"</span>" + re.escape(name) + r"</td>(.*?)</tr>", table)
    if not m:
        sys.exit(f"no row for {name}")
    got = re.findall(r"<td[^>]*>([^<]*)</td>", m.group(1))[:3]
    if got != want:
        sys.exit(f"{name}: page {got}, evaluate {want}")
    m = re.search(r"</span>" + re.escape(name) + r"</td>(.*?)</tr>", curve)
    cells = re.findall(r"<td>([^<]*)</td>", m.group(1))
    if cells[4] != f"{100 * float(r['ndcg']):.2f}":  # K = 1 5 10 20 50 100
        sys.exit(f"{name}: NDCG@50 on the curve {cells[4]}, evaluate {want[2]}")
PY

# a bad tune.json: refused with file and JSON path, nothing written, an
# existing report left as it was
printf '{"points": [{"k": 5, "inertia": "lots"}]}' >"$TMP/sweep/tune.json"
cp "$OUT" "$TMP/before.html"
set +e
"$CS" report "$TMP/model" "$TMP/ds" --tune "$TMP/sweep" --out "$OUT" --quiet 2>"$TMP/err"; rc=$?
"$CS" report "$TMP/model" "$TMP/ds" --quiet 2>/dev/null; rc2=$?
set -e
[ "$rc" -eq 65 ] || fail "bad tune.json: exit $rc, expected 65"
grep -q "sweep/tune.json: points\[0\].inertia: expected a number" "$TMP/err" ||
  fail "bad tune.json message: $(cat "$TMP/err")"
cmp -s "$OUT" "$TMP/before.html" || fail "a failed run changed the existing report"
[ "$rc2" -eq 2 ] || fail "no --out: exit $rc2, expected 2"

# rendered by a browser: the asked size, and a real picture
PROFILE="$TMP/chromium-profile"
mkdir -p "$PROFILE"
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$PROFILE" --window-size=1280,4000 --screenshot="$TMP/shot.png" \
  "file://$OUT" >"$TMP/chromium.log" 2>&1 || fail "chromium failed: $(tail -3 "$TMP/chromium.log")"
[ -s "$TMP/shot.png" ] || fail "no screenshot"
read -r w h ink colors rows < <(python3 "$HERE/png_stats.py" "$TMP/shot.png")
[ "$w" -eq 1280 ] && [ "$h" -eq 4000 ] || fail "screenshot is ${w}x${h}, expected 1280x4000"
awk -v i="$ink" 'BEGIN { exit !(i > 0.04) }' || fail "screenshot nearly blank (ink $ink)"
[ "$colors" -gt 50 ] || fail "screenshot has only $colors colours"
awk -v r="$rows" 'BEGIN { exit !(r > 0.6) }' || fail "ink on only $rows of the rows"
echo "report.sh: ok (screenshot ${w}x${h}, ink $ink, $colors colours, rows $rows)"
