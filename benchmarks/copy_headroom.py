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
Then what diversity costs, 10 samples per input (the issue asks FRDiv >= half the real reactions' spread):
- amplitude-matched filter + residuals: each sample adds a stretch of a training listener's residual (their real
  reaction minus the filter's answer), i.e. an ideal generator of what the filter leaves, added on top;
- delayed mimicry, amplitude matched: each attribute's deviations from the speaker's training mean scaled to
  the real listeners' spread (one gain per attribute, training split), at the fitted delay;
- person delays, amplitude matched: the same, each sample at a delay drawn from the training listeners' own
  best delays (diversity in timing, as between real listeners, rather than added on top);
- amplitude-matched filter, samples differ in gain and timing: each sample scales the filter's deviations by
  exp(N(0, sd)) and shifts it by up to +-7 frames (at most the filter's minimum lag less one, so still causal).
With --nonlinear, two more deterministic rows, amplitude matched like the filter: is there much in the speaker's
signal above a per-attribute filter? A ridge over all attributes at lags 8, 10, ... 48 (each listener attribute
read from every speaker attribute), and a small MLP on the same inputs (2 x 256, dropout, early stopping on
the validation split).
With --models, each family's bundle (MODELS/<family>/bundle) at its card's sampling, 10 samples, is the last
row, with its samples' spread over the real listeners' (1 = as lively as they are). Prints a Markdown table and
writes JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from react_ros.evaluation.deterministic import (  # the deterministic rows are the library's reference rows
    MLP,
    RIDGE,
    amplitude_ratio,
    apply_filter,
    fit_filter,
    fit_nonlinear,
)

ROOT = Path(__file__).resolve().parents[1]
DIRECTION = "speaker->listener"


def mimicry_gain(train) -> tuple[np.ndarray, np.ndarray]:
    """(gains, the speakers' mean), (25,) each: per attribute, the listeners' spread over the speakers'."""
    speakers = np.concatenate([t.speaker for t in train])
    listeners = np.concatenate([t.listener for t in train])
    return np.clip(listeners.std(0) / np.maximum(speakers.std(0), 1e-6), 0.3, 3.0), speakers.mean(0)


def best_delays(train, delays=range(0, 61, 2)) -> list[int]:
    """Each training listener's own delay: the one whose copy of their speaker has the highest CCC."""
    from react_ros.metrics.ccc import ccc
    from react_ros.metrics.mimicry import delayed_copy

    return [max(delays, key=lambda d: float(np.mean(ccc(delayed_copy(t.speaker, d), t.listener)))) for t in train]


def residual_stretch(residuals: list[np.ndarray], length: int, rng) -> np.ndarray:
    """`length` frames of one training listener's residual, from a random start (repeated when shorter)."""
    r = residuals[rng.integers(len(residuals))]
    r = np.tile(r, (-(-length // len(r)), 1))
    start = rng.integers(len(r) - length + 1)
    return r[start:start + length]


def gain_and_shift(filtered: np.ndarray, centre: np.ndarray, sd: float, shift: int, rng) -> np.ndarray:
    """One sample: the filter's deviations from `centre` scaled by exp(N(0, sd)), moved by up to +-shift frames
    (the ends held)."""
    from react_ros import schema

    moved = int(rng.integers(-shift, shift + 1))
    index = np.clip(np.arange(len(filtered)) + moved, 0, len(filtered) - 1)
    return schema.clip_to_range(centre + np.exp(rng.normal(0.0, sd)) * (filtered[index] - centre))


def family_rows(data: Path, models: Path | None, samples: int, nonlinear: bool = False) -> dict[str, dict[str, float]]:
    from react_ros import schema
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import fit_mimicry_delays
    from react_ros.metrics.diversity import s_mse
    from react_ros.metrics.evaluate import evaluate_ragged
    from react_ros.metrics.mimicry import delayed_copy
    from react_ros.metrics.references import gt_reference

    train = test_ground_truths(data, "train", count=1, directions=DIRECTION)
    tests = test_ground_truths(data, "test", directions=DIRECTION)
    weights = fit_filter(train)
    fitted = [apply_filter(weights, t.speaker) for t in train]
    ratio = amplitude_ratio(train, fitted)
    centre = np.concatenate([t.listener for t in train]).mean(0)
    delay = fit_mimicry_delays(data, [DIRECTION])[DIRECTION]
    filtered = [apply_filter(weights, t.speaker) for t in tests]
    stretched = [centre + ratio * (f - centre) for f in filtered]
    rng = np.random.default_rng(0)
    residuals = [t.listener - (centre + ratio * (f - centre)) for t, f in zip(train, fitted, strict=True)]
    gain, speaker_centre = mimicry_gain(train)
    person_delays = best_delays(train)

    def copy(speaker: np.ndarray, at: int) -> np.ndarray:
        return schema.clip_to_range(centre + gain * (delayed_copy(speaker, at) - speaker_centre))

    preds = {  # (samples, L, 25) per input
        f"delayed mimicry ({delay} fr)": [delayed_copy(t.speaker, delay)[None] for t in tests],
        "linear filter": [f[None] for f in filtered],
        "linear filter, amplitude matched": [schema.clip_to_range(f)[None] for f in stretched],
        "amplitude-matched filter + residuals": [
            np.stack([schema.clip_to_range(f + residual_stretch(residuals, len(f), rng)) for _ in range(samples)])
            for f in stretched],
        "delayed mimicry, amplitude matched": [copy(t.speaker, delay)[None] for t in tests],
        "person delays, amplitude matched": [np.stack([copy(t.speaker, int(rng.choice(person_delays)))
                                                       for _ in range(samples)]) for t in tests],
        **{f"amplitude-matched filter, gain sd {sd}, shift {shift}": [
            np.stack([gain_and_shift(f, centre, sd, shift, rng) for _ in range(samples)]) for f in stretched]
           for sd, shift in ((0.3, 7), (0.5, 0))},
    }
    if nonlinear:
        val = test_ground_truths(data, "val", count=1, directions=DIRECTION)
        names = {RIDGE: "cross-attribute ridge, amplitude matched", MLP: "MLP, amplitude matched"}
        for key, predict in fit_nonlinear(train, val).items():
            name = names[key]
            gains = amplitude_ratio(train, [predict(t.speaker) for t in train])
            preds[name] = [schema.clip_to_range(centre + gains * (predict(t.speaker) - centre))[None] for t in tests]
    real = gt_reference([t.gts for t in tests], samples)
    rows = {"real reactions": {"FRDiv": float(np.mean([s_mse(np.asarray(r, np.float32)) for r in real]))}}
    for name, made in preds.items():
        scores = evaluate_ragged([np.asarray(p, np.float32) for p in made], [t.gts for t in tests],
                                 [t.speaker for t in tests], progress=False)
        rows[name] = {"FRCorr_per_pred": scores["FRCorr_per_pred"], "FRDist_per_pred": scores["FRDist_per_pred"],
                      "FRDiv": float(scores["FRDiv"]) if len(made[0]) > 1 else 0.0,
                      "spread_vs_real": float(np.mean([p.std(1).mean() / t.listener.std(0).mean()
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
            "FRDiv": float(scores["FRDiv"]),
            "spread_vs_real": float(np.mean([p.std(1).mean() / t.listener.std(0).mean()
                                             for p, t in zip(preds, tests, strict=True)]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="out/families_data", help="one MARS-layout data set per family")
    parser.add_argument("--families", nargs="+", default=None, help="default: every data set under --data-root")
    parser.add_argument("--models", default=None, help="run directories with <family>/bundle (react-ros recipe's)")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--nonlinear", action="store_true", help="add the cross-attribute ridge and MLP rows")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "copy_headroom.json"))
    args = parser.parse_args()

    root = Path(args.data_root)
    names = args.families or sorted(p.name for p in root.iterdir() if p.is_dir())
    results = {name: family_rows(root / name, Path(args.models) if args.models else None, args.samples,
                                 args.nonlinear) for name in names}
    print("| family | row | FRCorr/pred | FRDist/pred | FRDiv | spread vs real |\n"
          "| --- | --- | ---: | ---: | ---: | ---: |")
    for name, rows in results.items():
        print(f"| {name} | real reactions (the FRDiv target is half) | | | {rows['real reactions']['FRDiv']:.4f} | |")
        for row, values in rows.items():
            if row != "real reactions":
                print(f"| {name} | {row} | {values['FRCorr_per_pred']:.3f} | {values['FRDist_per_pred']:.2f} | "
                      f"{values['FRDiv']:.4f} | {values['spread_vs_real']:.2f} |")
    command = "python benchmarks/copy_headroom.py --data-root " + args.data_root + (
        " --families " + " ".join(names) if args.families else "") + (f" --models {args.models}" if args.models else "") + (
        " --nonlinear" if args.nonlinear else "")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"command": command, "results": results}, indent=2))


if __name__ == "__main__":
    main()
