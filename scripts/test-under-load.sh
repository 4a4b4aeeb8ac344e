#!/usr/bin/env bash
# The README's test line three times in a row, each from a fresh clone of this repository's HEAD, beside two
# CPU-bound processes (`yes > /dev/null`): the suite must hold on a busy machine (issue 18). Prints each run's exit
# code and time; the logs are in $WORK (default /tmp/storyflow-under-load). Takes 25–30 minutes on two cores.
set -u
REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
WORK=${WORK:-/tmp/storyflow-under-load}
rm -rf "$WORK" && mkdir -p "$WORK" && git clone -q "$REPO" "$WORK/clone" && cd "$WORK/clone" || exit 1
git log --oneline -1
yes > /dev/null &
Y1=$!
yes > /dev/null &
Y2=$!
trap 'kill $Y1 $Y2 2>/dev/null' EXIT
failed=0
for i in 1 2 3; do
  start=$(date +%s)
  (npm ci --no-audit --no-fund && npm run test:services && npm test && npm run test:node22) > "$WORK/run-$i.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || failed=1
  echo "run $i: exit $rc in $(($(date +%s) - start)) s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
exit $failed
