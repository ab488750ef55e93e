"""How far is a family's model from what a plain filter of the speaker already gets? Reference rows without a model.

    python benchmarks/copy_headroom.py --data-root out/families_data [--families mirror partial ...] \
        [--models runs/recipe] [--out benchmarks/results/copy_headroom.json]

Per family, robot's direction, test split, one prediction per input (FRCorr/pred; FRDist per prediction):
- delayed mimicry: the speaker's attributes after the delay fitted on the training split (the issue's baseline);
- linear filter: each attribute predicted from that attribute's own last 48 speaker values, at lags of at least
  the model's window (8 frames: a window's last frame is generated before the speaker frames after its first
  are seen), least squares on the training split: what a squared-error model can reach from the speaker alone;
- linear filter, amplitude matched: the same, each attribute's deviations from the training mean stretched so
  its spread over time equals the real listeners' (fitted on the training split): squared errors answer an
  uncertain listener with a flattened average, and CCC counts flatness against it.
With --models, each family's bundle (MODELS/<family>/bundle) at its card's sampling, 10 samples, is the last
row, with its samples' spread over the real listeners' (1 = as lively as they are). Prints a Markdown table and
writes JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIRECTION = "speaker->listener"
TAPS = 48
MIN_LAG = 8


def lagged(speaker: np.ndarray) -> np.ndarray:
    """(L, 25) -> (L, lags, 25): the speaker at lags MIN_LAG..TAPS, the first frame held before the start."""
    from react_ros.metrics.mimicry import delayed_copy

    return np.stack([delayed_copy(speaker, lag) for lag in range(MIN_LAG, TAPS + 1)], axis=1)


def fit_filter(train) -> list[np.ndarray]:
    """Per attribute, ridge weights over its own lagged values (+ a bias)."""
    weights = []
    for d in range(train[0].speaker.shape[1]):
        x = np.concatenate([lagged(t.speaker)[:, :, d] for t in train])
        x = np.c_[x, np.ones(len(x))]
        y = np.concatenate([t.listener[:, d] for t in train])
        weights.append(np.linalg.solve(x.T @ x + 1e-2 * np.eye(x.shape[1]), x.T @ y))
    return weights


def apply_filter(weights: list[np.ndarray], speaker: np.ndarray) -> np.ndarray:
    lags = lagged(speaker)
    return np.stack([np.c_[lags[:, :, d], np.ones(len(speaker))] @ w for d, w in enumerate(weights)], axis=1)


def family_rows(data: Path, models: Path | None, samples: int) -> dict[str, dict[str, float]]:
    from react_ros import schema
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import fit_mimicry_delays
    from react_ros.metrics.evaluate import evaluate_ragged
    from react_ros.metrics.mimicry import delayed_copy

    train = test_ground_truths(data, "train", count=1, directions=DIRECTION)
    tests = test_ground_truths(data, "test", directions=DIRECTION)
    weights = fit_filter(train)
    fitted = [apply_filter(weights, t.speaker) for t in train]
    ratio = np.mean([t.listener.std(0) for t in train], 0) / np.maximum(np.mean([f.std(0) for f in fitted], 0), 1e-6)
    centre = np.concatenate([t.listener for t in train]).mean(0)
    delay = fit_mimicry_delays(data, [DIRECTION])[DIRECTION]
    filtered = [apply_filter(weights, t.speaker) for t in tests]
    preds = {
        f"delayed mimicry ({delay} fr)": [delayed_copy(t.speaker, delay) for t in tests],
        "linear filter": filtered,
        "linear filter, amplitude matched": [schema.clip_to_range(centre + ratio * (f - centre)) for f in filtered],
    }
    rows = {}
    for name, made in preds.items():
        scores = evaluate_ragged([np.asarray(p, np.float32)[None] for p in made], [t.gts for t in tests],
                                 [t.speaker for t in tests], progress=False)
        rows[name] = {"FRCorr_per_pred": scores["FRCorr_per_pred"], "FRDist_per_pred": scores["FRDist_per_pred"],
                      "spread_vs_real": float(np.mean([p.std(0).mean() / t.listener.std(0).mean()
                                                       for p, t in zip(made, tests, strict=True)]))}
    if models is not None:
        rows["model"] = model_row(models / data.name / "bundle", data, tests, samples)
    return rows


def model_row(bundle: Path, data: Path, tests, samples: int) -> dict[str, float]:
    from react_ros.data.features import load_features
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.metrics.evaluate import evaluate_ragged
    from react_ros.model.bundle import load_bundle
    from react_ros.runtime.torch_backend import TorchGraphs

    loaded = load_bundle(bundle)
    made = offline_predictions(TorchGraphs(loaded.model.float()), load_features(data, "test", DIRECTION), samples,
                               0, loaded.card.sampling)
    preds = [np.asarray(made[t.id], np.float32)[:, : len(t.speaker)] for t in tests]
    scores = evaluate_ragged(preds, [t.gts for t in tests], [t.speaker for t in tests], progress=False)
    return {"FRCorr_per_pred": scores["FRCorr_per_pred"], "FRDist_per_pred": scores["FRDist_per_pred"],
            "spread_vs_real": float(np.mean([p.std(1).mean() / t.listener.std(0).mean()
                                             for p, t in zip(preds, tests, strict=True)]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="out/families_data", help="one MARS-layout data set per family")
    parser.add_argument("--families", nargs="+", default=None, help="default: every data set under --data-root")
    parser.add_argument("--models", default=None, help="run directories with <family>/bundle (react-ros recipe's)")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "copy_headroom.json"))
    args = parser.parse_args()

    root = Path(args.data_root)
    names = args.families or sorted(p.name for p in root.iterdir() if p.is_dir())
    results = {name: family_rows(root / name, Path(args.models) if args.models else None, args.samples)
               for name in names}
    print("| family | row | FRCorr/pred | FRDist/pred | spread vs real |\n| --- | --- | ---: | ---: | ---: |")
    for name, rows in results.items():
        for row, values in rows.items():
            print(f"| {name} | {row} | {values['FRCorr_per_pred']:.3f} | {values['FRDist_per_pred']:.2f} | "
                  f"{values['spread_vs_real']:.2f} |")
    command = "python benchmarks/copy_headroom.py --data-root " + args.data_root + (
        " --families " + " ".join(names) if args.families else "") + (f" --models {args.models}" if args.models else "")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"command": command, "results": results}, indent=2))


if __name__ == "__main__":
    main()
