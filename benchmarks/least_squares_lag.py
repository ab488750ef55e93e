"""Whose timing a least-squares answer has: the real listeners' median lag on each split beside the median lag,
on the test split, of the linear filter of evaluation/deterministic.py (each attribute from its own past) fitted on
the training split, with the speaker frames it may read starting 1, 4 or 8 frames back (8: a whole window that a
model generates before it sees the speaker frames after its start; 1: a model that generated one frame at a time).

    python benchmarks/least_squares_lag.py out/families60/mirror [...] [--out benchmarks/results/least_squares_lag.json]

If the filter's lag follows the training split's listeners whatever frames it may read, a model's lag that misses the
test split's listeners is the split, not the window. Prints a Markdown table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

FIRST_LAGS = (8, 4, 1)


def measure(root: Path) -> dict:
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation import deterministic
    from react_ros.metrics.ccc import frcorr_scores
    from react_ros.metrics.synchrony import best_lag, max_lag_frames

    longest = max_lag_frames()
    splits = {split: test_ground_truths(root, split, directions="speaker->listener") for split in ("train", "test")}
    row = {"data": str(root), **{f"real_{split}": float(np.median([best_lag(t.listener, t.speaker, longest)
                                                                   for t in tests])) for split, tests in splits.items()}}
    kept = deterministic.MIN_LAG
    try:
        for first in FIRST_LAGS:
            deterministic.MIN_LAG = first
            weights = deterministic.fit_filter(splits["train"])
            answers = [deterministic.apply_filter(weights, t.speaker) for t in splits["test"]]
            row[f"filter_from_{first}"] = {
                "median_lag": float(np.median([best_lag(a, t.speaker, longest) for a, t in
                                                zip(answers, splits["test"], strict=True)])),
                "FRCorr_per_pred": float(np.mean([s.mean() for s in frcorr_scores(
                    [a[None] for a in answers], [t.gts for t in splits["test"]])]))}
    finally:
        deterministic.MIN_LAG = kept
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="+", help="MARS-layout data set roots (one family each)")
    parser.add_argument("--out", default="benchmarks/results/least_squares_lag.json")
    args = parser.parse_args()
    rows = [measure(Path(root)) for root in args.data]
    print("| data | real median lag: train / test | filter's median lag on test (FRCorr/pred, not amplitude matched), "
          + " / ".join(f"from {f}" for f in FIRST_LAGS) + " |")
    print("| --- | --- | --- |")
    for r in rows:
        cells = " / ".join(f"{r[f'filter_from_{f}']['median_lag']:.1f} ({r[f'filter_from_{f}']['FRCorr_per_pred']:.3f})"
                           for f in FIRST_LAGS)
        print(f"| {r['data']} | {r['real_train']:.1f} / {r['real_test']:.1f} | {cells} |")
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
