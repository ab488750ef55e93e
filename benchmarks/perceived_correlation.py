"""Do the mesh front end's attributes track a data set's labels? Per-channel correlation on measured frames.

    react-ros perceive DATA --out PERCEIVED --jobs 2          # first: the mesh front end over the tree
    python benchmarks/perceived_correlation.py --data DATA --perceived PERCEIVED [--split test] \
        [--out benchmarks/results/perceived_correlation.json]

On the synthetic data set (`react-ros data synth`) the renderer draws each frame from its label, so this is
how faithfully perceived attributes carry the labels' information (react_ros/media_perception/compare.py). Prints a
Markdown table and writes JSON. `--probe`: render one face per value and level instead and print what the
mesh front end reads (does a rendered brow raise raise the measured brow?).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--perceived")
    parser.add_argument("--probe", action="store_true",
                        help="instead: render one face per value and level and print what the mesh front end reads")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-recordings", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "perceived_correlation.json"))
    args = parser.parse_args()

    from react_ros.media_perception.compare import compare_split, format_table, probe_renderer

    if args.probe:
        print("| value | level | perceived | measure | measure value |\n|---|---:|---:|---|---:|")
        for name, rows in probe_renderer().items():
            for level, value, feature, measure in rows:
                print(f"| {name} | {level} | {value} | {feature} | {measure} |")
        return
    if not (args.data and args.perceived):
        parser.error("--data and --perceived are required (or --probe)")

    result = compare_split(args.data, args.perceived, args.split, max_recordings=args.max_recordings)
    result["command"] = ("python benchmarks/perceived_correlation.py --data " + args.data + " --perceived "
                         + args.perceived + " --split " + args.split)
    print(format_table(result))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
