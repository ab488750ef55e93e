"""Choose the sampling setting (sampler, steps, temperature) of a trained model by the REACT metrics on the
validation split, and record it in the model card so every tool and node uses it by default.

The choice rule, stated so it can be argued with: among settings whose FRDiv is at least half of the
best FRDiv seen (diverse enough), take the best sum of ranks of FRCorr (high) and FRDist (low); ties go
to fewer steps (faster on the robot)."""
from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path

from react_ros.model.generator import SamplingConfig

GRID = [SamplingConfig(sampler, steps, 1.0, temperature)
        for sampler, steps in (("dpm", 2), ("dpm", 4), ("ddim", 10))
        for temperature in (1.0, 1.25, 1.5)]


def sweep(graphs, root: str | Path, split: str = "val", grid=GRID, samples: int = 5, inputs: int = 12,
          seed: int = 0, perceived: str | None = None) -> list[dict]:
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions, score

    tests = test_ground_truths(root, split)[:inputs]
    wanted = {t.id for t in tests}
    features = [f for f in load_features(root, split, perceived=perceived) if f.id in wanted]
    rows = []
    for setting in grid:
        metrics = score(offline_predictions(graphs, features, samples, seed, setting), tests)
        rows.append({**asdict(setting), **{k: metrics[k] for k in ("FRCorr_per_pred", "FRDist_per_pred", "FRDiv",
                                                                  "FRSyn", "FD_frame", "FD_delta")}})
    return rows


def choose(rows: list[dict]) -> dict:
    best_div = max(r["FRDiv"] for r in rows)
    eligible = [r for r in rows if r["FRDiv"] >= 0.5 * best_div]
    by_corr = sorted(eligible, key=lambda r: -r["FRCorr_per_pred"])
    by_dist = sorted(eligible, key=lambda r: r["FRDist_per_pred"])
    rank = {id(r): by_corr.index(r) + by_dist.index(r) for r in eligible}
    return min(eligible, key=lambda r: (rank[id(r)], r["steps"]))


def markdown(rows: list[dict], chosen: dict) -> str:
    keys = ["sampler", "steps", "temperature", "FRCorr_per_pred", "FRDist_per_pred", "FRDiv", "FRSyn", "FD_frame",
            "FD_delta"]
    lines = ["| " + " | ".join(keys) + " | chosen |", "|" + " --- |" * (len(keys) + 1)]
    for r in rows:
        cells = [f"{r[k]:.4f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + f" | {'**yes**' if r is chosen else ''} |")
    return "\n".join(lines) + "\n"


def add_commands(commands) -> None:
    tune = commands.add_parser("tune-sampling", help="choose sampler/steps/temperature on the validation split")
    tune.add_argument("--data", required=True)
    tune.add_argument("--model", default=None, help="bundle directory (default: the shipped demo model)")
    tune.add_argument("--split", default="val")
    tune.add_argument("--inputs", type=int, default=12)
    tune.add_argument("--samples", type=int, default=5)
    tune.add_argument("--out", default=None, help="write the table as Markdown here")
    tune.add_argument("--write-card", action="store_true", help="record the choice in the bundle's card.json")
    tune.set_defaults(func=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.bundle import load_bundle
    from react_ros.runtime.torch_backend import TorchGraphs

    bundle = load_bundle(args.model)
    perceived = speaker_source(bundle.card, args.data, args.split)
    rows = sweep(TorchGraphs(bundle.model), args.data, args.split, samples=args.samples, inputs=args.inputs,
                 perceived=perceived)
    chosen = choose(rows)
    table = markdown(rows, chosen)
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(f"# Sampling settings of {bundle.directory.name} on {args.split}\n\n"
                                  f"{__doc__.split(chr(10) + chr(10))[1]}\n\n{table}")
    if args.write_card:
        sampling = SamplingConfig(**{k: chosen[k] for k in ("sampler", "steps", "guidance", "temperature")})
        card = bundle.card.with_sampling(sampling)
        replace(card, extra=dict(card.extra, sampling_sweep=rows)).write(bundle.directory)
    return 0
