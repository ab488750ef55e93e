#!/usr/bin/env bash
# The README's test command: set up, then run the whole suite (unit, integration with real rclpy, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check .
python3 -m pytest -q -p no:cacheprovider "$@" test
