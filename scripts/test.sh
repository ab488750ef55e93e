#!/usr/bin/env bash
# The README's test command: set up, then run the whole suite (unit, integration with real rclpy, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian tools only the tests use (the run command does not need them): headless Chromium for the operator
# console's browser test (Debian's build; Playwright's own browser download is not used) and espeak-ng for
# real test speech. Installed as root where apt exists; without them those tests skip with the reason.
missing=()
command -v chromium-headless-shell >/dev/null || [ -x /usr/lib/chromium/chromium-headless-shell ] \
  || missing+=(chromium-headless-shell)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
   || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }) \
   || echo "test.sh: could not install ${missing[*]}; the tests that need them will skip" >&2
fi
python3 -m ruff check .
python3 -m pytest -q -p no:cacheprovider "$@" test
