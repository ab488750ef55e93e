"""How much the real listeners' median lag moves between draws of one family (issue 26's lag check).

    python benchmarks/real_lags.py out/families60/mirror out/families30/mirror ... \
        [--out benchmarks/results/real_lags.json]

Issue 26 asks a model's median lag (FRSyn's best lag of each reaction against its speaker) to be within 3 frames of
the real listeners' on a family's test split. The real median is itself a draw: each split holds a few sessions of
listeners with person-specific delays. Per data set this prints the real median lag of every split (the same
`best_lag` as the families table's "GT, paired only" row), and how much a test-sized split's median varies, by
drawing as many sessions as the test split has from the training split's sessions, with replacement (a session's
clips share their speaker, so sessions, not clips, are drawn): the sd and the 5-95 % range of that median.
Prints a Markdown table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

DRAWS = 2000


def split_lags(root: Path, split: str) -> dict[str, list[float]]:
    """session -> the best lags of its real listeners (robot's direction)."""
    from react_ros.data.protocol import test_ground_truths
    from react_ros.metrics.synchrony import best_lag, max_lag_frames

    by_session: dict[str, list[float]] = defaultdict(list)
    for test in test_ground_truths(root, split, directions="speaker->listener"):
        session = test.id.split("/")[2]  # ClipId: split/role/session/clip
        by_session[session].append(float(best_lag(test.listener, test.speaker, max_lag_frames())))
    return dict(by_session)


def measure(root: Path, seed: int = 0) -> dict:
    splits = {split: split_lags(root, split) for split in ("train", "val", "test")}
    row = {"data": str(root)}
    for split, sessions in splits.items():
        lags = [lag for values in sessions.values() for lag in values]
        row[split] = {"sessions": len(sessions), "inputs": len(lags), "median_lag": float(np.median(lags))}
    rng = np.random.default_rng(seed)
    train = list(splits["train"].values())
    size = len(splits["test"])
    medians = [np.median([lag for i in rng.integers(0, len(train), size) for lag in train[i]]) for _ in range(DRAWS)]
    row["test_sized_median"] = {"sessions": size, "sd": float(np.std(medians)),
                                "p5": float(np.percentile(medians, 5)), "p95": float(np.percentile(medians, 95))}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="+", help="MARS-layout data set roots (one family each)")
    parser.add_argument("--out", default="benchmarks/results/real_lags.json")
    args = parser.parse_args()
    rows = [measure(Path(root)) for root in args.data]
    print("| data | real median lag: train / val / test (frames) | a test-sized split's median: sd, 5-95 % |")
    print("| --- | --- | --- |")
    for r in rows:
        t = r["test_sized_median"]
        print(f"| {r['data']} | {r['train']['median_lag']:.1f} / {r['val']['median_lag']:.1f} / "
              f"{r['test']['median_lag']:.1f} | {t['sd']:.1f}, {t['p5']:.1f}-{t['p95']:.1f} ({t['sessions']} sessions) |")
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
