"""Online performance benchmark: a thin wrapper around `react-ros bench` (react_ros/bench/).

    python benchmarks/bench_online.py                 # everything: benchmarks/results/online.json + docs/performance.md
    python benchmarks/bench_online.py --quick --no-ros --out /tmp/bench
"""
from __future__ import annotations

import sys

from react_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
