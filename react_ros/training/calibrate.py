"""Diversity calibration: the sampling temperature a trained model runs at, chosen on the validation split.

Every sample that strays from the listener's likely reaction costs appropriateness (FRCorr, FRDist), and a
model with no spread at all is a deterministic copy machine, which real listeners are not. The recipe states
how diverse its models must be, as a fraction of the spread among the appropriate real reactions (the GT set's
FRDiv on the same inputs), and runs each trained model at the lowest temperature of `GRID` that reaches it
(the highest when none does). The rule reads only the model and its validation split, so it is the same for
every family and every data set; the noise correlation and sampler stay the recipe's.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

GRID = (0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2)


def calibrate_temperature(graphs, data: str | Path, sampling, fraction: float, split: str = "val",
                          directions: str = "speaker->listener", samples: int = 10, seed: int = 0,
                          perceived: str | None = None, grid=GRID) -> tuple[object, dict]:
    """(the sampling setting at the chosen temperature, a report: the target and every grid point's metrics)."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions, score
    from react_ros.metrics.references import gt_reference

    if not 0 < fraction:
        raise ValueError(f"calibrate_diversity must be > 0, got {fraction}")
    tests = test_ground_truths(data, split, directions=directions)
    if not tests:
        raise ValueError(f"{data}: no {split} inputs to calibrate the sampling temperature on")
    features = load_features(data, split, directions, perceived=perceived)
    real = gt_reference([t.gts for t in tests], samples)
    real_spread = score({t.id: np.asarray(r, np.float32) for t, r in zip(tests, real)}, tests)["FRDiv"]
    target = fraction * real_spread
    rows = []
    for temperature in sorted(grid):
        metrics = score(offline_predictions(graphs, features, samples, seed, replace(sampling, temperature=temperature)),
                        tests)
        rows.append({"temperature": temperature, **{k: float(metrics[k]) for k in
                                                    ("FRCorr_per_pred", "FRDist", "FRDiv", "FRSyn")}})
    reaching = [r for r in rows if r["FRDiv"] >= target]
    chosen = reaching[0] if reaching else rows[-1]
    report = {"split": split, "inputs": len(tests), "samples": samples, "fraction": fraction,
              "real_frdiv": float(real_spread), "target_frdiv": float(target), "reached": bool(reaching),
              "temperature": chosen["temperature"], "grid": rows}
    return replace(sampling, temperature=chosen["temperature"]), report


def calibrate_bundle(bundle: str | Path, data: str | Path, fraction: float, directions: str, progress: bool = True,
                     perceived: str | None = None, **kwargs) -> dict:
    """Calibrate a bundle's temperature on `data`'s validation split and write it, with the report, to its card
    (the card's sampling setting is the starting point; a model trained on perceived speakers reads them: from
    `perceived`, the tree it was trained on, else perceived into the cache)."""
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    split = kwargs.pop("split", "val")
    loaded = load_graphs("torch", model_dir=bundle, threads=None)
    perceived = speaker_source(card, data, split, perceived)
    sampling, report = calibrate_temperature(loaded.graphs, data, card.sampling, fraction, split, directions,
                                             perceived=perceived, **kwargs)
    card = card.with_sampling(sampling)
    card = replace(card, extra=dict(card.extra, diversity_calibration=report))
    card.write(bundle)
    if progress:
        print(f"calibrated temperature {sampling.temperature} on {data}/{split}: FRDiv target {report['target_frdiv']:.4f}"
              f" ({fraction} x the real reactions' {report['real_frdiv']:.4f})", flush=True)
    return report
