"""Diversity calibration: the sampling temperature a trained model runs at, chosen on the validation split.

Every sample that strays from the listener's likely reaction costs appropriateness (FRCorr, FRDist), and a
model with no spread at all is a deterministic copy machine, which real listeners are not. The recipe states
how diverse its models must be, as a fraction of the spread among the appropriate real reactions (the GT set's
FRDiv on the same inputs), and runs each trained model at the lowest temperature of `GRID` that reaches it
(when none does, the grid temperature with the best validation FRCorr: that model's diversity is not in its
temperature). The rule reads only the model and its validation split, so it is the same for every family and
every data set; the noise correlation and sampler stay the recipe's.

A model whose samples do not differ at any grid temperature (FRDiv below COLLAPSE_FRACTION of the real spread)
has a collapsed latent: a failed training, not a model. The report says `collapsed`, the model runs at
temperature 0 (its mean answer, which is what its samples are anyway) rather than at a temperature that buys
nothing, and `react-ros train` / `recipe` say so loudly (non-zero exit with --strict).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

GRID = (0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.5, 2.0)  # 0: the model's mean answer
COLLAPSE_FRACTION = 0.01


def measure_grid(graphs, data: str | Path, sampling, split: str = "val", directions: str = "speaker->listener",
                 samples: int = 10, seed: int = 0, perceived: str | None = None, grid=GRID,
                 fraction: float | None = None) -> dict:
    """The real reactions' spread and, per grid temperature, the model's FRDiv and FRCorr/pred on `split`. With
    `fraction`, the grid stops at the first temperature whose FRDiv reaches that fraction of the real spread (the
    rule picks it; the temperatures above it would only cost time): `complete` says whether it ran to the end."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.metrics.ccc import frcorr_scores
    from react_ros.metrics.diversity import s_mse
    from react_ros.metrics.references import gt_reference

    tests = test_ground_truths(data, split, directions=directions)
    if not tests:
        raise ValueError(f"{data}: no {split} inputs to calibrate the sampling temperature on")
    features = load_features(data, split, directions, perceived=perceived)
    # the GT row of `react-ros eval`: each input's appropriate reactions as its `samples` predictions
    real = gt_reference([t.gts for t in tests], samples)
    real_spread = float(np.mean([s_mse(np.asarray(r, np.float32)) for r in real]))
    rows = []
    for temperature in sorted(grid):  # only what the rule reads, and FRCorr to show the price (no DTW: slow)
        made = offline_predictions(graphs, features, samples, seed, replace(sampling, temperature=temperature))
        preds = [np.asarray(made[t.id], np.float32)[:, : len(t.speaker)] for t in tests]
        corr = frcorr_scores(preds, [t.gts for t in tests])
        rows.append({"temperature": temperature,
                     "FRCorr_per_pred": float(np.mean([c.sum() / len(p) for c, p in zip(corr, preds, strict=True)])),
                     "FRDiv": float(np.mean([s_mse(p) for p in preds]))})
        if fraction is not None and rows[-1]["FRDiv"] >= fraction * real_spread:
            break
    return {"split": split, "inputs": len(tests), "samples": samples, "seed": seed, "directions": directions,
            "real_frdiv": real_spread, "grid": rows, "complete": len(rows) == len(grid)}


def choose_temperature(measured: dict, fraction: float) -> dict:
    """The report of the rule on a measured grid: the lowest temperature whose FRDiv reaches `fraction` of the
    real spread or, when none does, the one with the best FRCorr/pred: then the model's diversity is not in its
    temperature, and paying appropriateness for diversity that does not come buys nothing."""
    if not 0 < fraction:
        raise ValueError(f"calibrate_diversity must be > 0, got {fraction}")
    target = fraction * measured["real_frdiv"]
    reaching = [r for r in measured["grid"] if r["FRDiv"] >= target]
    best = max(measured["grid"], key=lambda r: r["FRCorr_per_pred"])
    # (a grid stopped early has reached its target, so it is never collapsed)
    collapsed = max(r["FRDiv"] for r in measured["grid"]) < COLLAPSE_FRACTION * measured["real_frdiv"]
    temperature = 0.0 if collapsed else reaching[0]["temperature"] if reaching else best["temperature"]
    return {**measured, "fraction": fraction, "target_frdiv": float(target), "reached": bool(reaching),
            "collapsed": bool(collapsed), "temperature": temperature}


def calibrate_temperature(graphs, data: str | Path, sampling, fraction: float, split: str = "val",
                          directions: str = "speaker->listener", samples: int = 10, seed: int = 0,
                          perceived: str | None = None, grid=GRID) -> tuple[object, dict]:
    """(the sampling setting at the chosen temperature, a report: the target and every grid point's metrics)."""
    if not 0 < fraction:
        raise ValueError(f"calibrate_diversity must be > 0, got {fraction}")
    measured = measure_grid(graphs, data, sampling, split, directions, samples, seed, perceived, grid, fraction)
    report = choose_temperature(measured, fraction)
    return replace(sampling, temperature=report["temperature"]), report


def _reusable(report: dict | None, key: dict, fraction: float) -> bool:
    """A card's earlier calibration measured the same grid on the same data with the same base setting, far enough
    up the grid for `fraction` (a grid stopped early answers only fractions it reached)."""
    if not report or report.get("key") != key:
        return False
    return report.get("complete", True) or choose_temperature(report, fraction)["reached"]


def calibrate_bundle(bundle: str | Path, data: str | Path, fraction: float, directions: str, progress: bool = True,
                     perceived: str | None = None, split: str = "val", samples: int = 10, seed: int = 0) -> dict:
    """Calibrate a bundle's temperature on `data`'s validation split and write it, with the report, to its card
    (the card's sampling setting is the starting point; a model trained on perceived speakers reads them: from
    `perceived`, the tree it was trained on, else perceived into the cache). A grid the card already holds for
    the same data and base setting is reused: changing the fraction only re-applies the rule."""
    from dataclasses import asdict

    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    # Amplitude gains belong to one temperature (calibrate_amplitude runs after this): measured without them.
    card = card.with_sampling(replace(card.sampling, amplitude=(), amplitude_center=()))
    base = {k: v for k, v in asdict(card.sampling).items() if k not in ("temperature", "amplitude", "amplitude_center")}
    key = {"data": str(data), "split": split, "samples": samples, "seed": seed, "directions": directions,
           "grid": list(GRID), "base_sampling": base}
    earlier = card.extra.get("diversity_calibration")
    if _reusable(earlier, key, fraction):
        measured = {k: earlier[k] for k in ("split", "inputs", "samples", "seed", "directions", "real_frdiv", "grid")}
        measured["complete"] = earlier.get("complete", True)
    else:
        loaded = load_graphs("torch", model_dir=bundle, threads=None)
        measured = measure_grid(loaded.graphs, data, card.sampling, split, directions, samples, seed,
                                speaker_source(card, data, split, perceived), fraction=fraction)
    report = dict(choose_temperature(measured, fraction), key=key)
    card = replace(card.with_sampling(replace(card.sampling, temperature=report["temperature"])),
                   extra=dict(card.extra, diversity_calibration=report))
    card.write(bundle)
    if progress:
        print(f"calibrated temperature {report['temperature']} on {data}/{split}: FRDiv target "
              f"{report['target_frdiv']:.4f} ({fraction} x the real reactions' {report['real_frdiv']:.4f})"
              + ("" if report["reached"] else ", not reached: the temperature with the best FRCorr"), flush=True)
    if report["collapsed"]:
        print(f"COLLAPSED LATENT: {bundle}: the model's samples do not differ at any temperature up to {max(GRID)} "
              f"(FRDiv at most {max(r['FRDiv'] for r in report['grid']):.2e} against the real reactions' "
              f"{report['real_frdiv']:.2e}); it runs at temperature 0, its mean answer", flush=True)
    return report


# Amplitude calibration: how much a model flattens its reactions, measured on the validation split.
AMPLITUDE_LIMITS = (0.5, 3.0)  # a gain outside these is a model that does not move that attribute at all


def amplitude_gains(real: list[np.ndarray], made: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(gains, centres), (25,) each: per attribute, the real reactions' temporal spread (std over time, averaged
    over inputs) over the model's (averaged over inputs and samples), and the model's own mean, which the
    stretch keeps. real: (L, 25) paired reactions; made: (K, L, 25) samples of the same inputs."""
    real_std = np.mean([r.std(axis=0) for r in real], axis=0)
    made_std = np.mean([m.std(axis=1).mean(axis=0) for m in made], axis=0)
    gains = np.clip(real_std / np.maximum(made_std, 1e-6), *AMPLITUDE_LIMITS)
    centres = np.concatenate([m.reshape(-1, m.shape[-1]) for m in made]).mean(axis=0)
    return gains, centres


def calibrate_amplitude(graphs, data: str | Path, sampling, split: str = "val", directions: str = "speaker->listener",
                        samples: int = 10, seed: int = 0, perceived: str | None = None) -> tuple[object, dict]:
    """(the sampling setting with the amplitude gains, a report). The gains make the model's samples as lively as
    the real listeners of the validation split; each attribute's is kept only when it raises the split's
    FRCorr/pred (the stretch also stretches whatever the model gets wrong there: one gate for all 25 kept gains
    that cost 0.007 on mirror's test split), tried one attribute at a time."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.metrics.ccc import frcorr_scores
    from react_ros.model.generator import match_amplitude

    tests = test_ground_truths(data, split, directions=directions)
    if not tests:
        raise ValueError(f"{data}: no {split} inputs to calibrate the amplitude on")
    features = load_features(data, split, directions, perceived=perceived)
    plain = replace(sampling, amplitude=(), amplitude_center=())
    made = offline_predictions(graphs, features, samples, seed, plain)
    preds = [np.asarray(made[t.id], np.float32)[:, : len(t.speaker)] for t in tests]
    measured, centres = amplitude_gains([t.listener for t in tests], preds)

    def per_pred(gains):
        stretched = [match_amplitude(p, gains, centres) for p in preds]
        return float(np.mean([s.mean() for s in frcorr_scores(stretched, [t.gts for t in tests])]))

    gains = np.ones_like(measured)
    before = after = per_pred(gains)
    for attribute in np.argsort(-np.abs(np.log(measured))):  # the largest corrections first
        trial = gains.copy()
        trial[attribute] = measured[attribute]
        score = per_pred(trial)
        if score > after:
            gains, after = trial, score
    report = {"split": split, "inputs": len(tests), "samples": samples, "seed": seed, "temperature": sampling.temperature,
              "gains": gains.round(4).tolist(), "measured_gains": measured.round(4).tolist(),
              "centres": centres.round(5).tolist(),
              "FRCorr_per_pred_before": before, "FRCorr_per_pred_after": after, "applied": after > before}
    if not report["applied"]:
        return plain, report
    return replace(sampling, amplitude=tuple(report["gains"]), amplitude_center=tuple(report["centres"])), report


def calibrate_bundle_amplitude(bundle: str | Path, data: str | Path, directions: str, progress: bool = True,
                               perceived: str | None = None) -> dict:
    """Measure a bundle's amplitude gains at its card's sampling setting (after the temperature calibration) and
    write them, with the report, to its card."""
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    loaded = load_graphs("torch", model_dir=bundle, threads=None)
    sampling, report = calibrate_amplitude(loaded.graphs, data, card.sampling, directions=directions,
                                           perceived=speaker_source(card, data, "val", perceived))
    card = replace(card.with_sampling(sampling), extra=dict(card.extra, amplitude_calibration=report))
    card.write(bundle)
    if progress:
        print(f"amplitude gains {np.round(report['gains'], 2).tolist()} on {data}/val: FRCorr/pred "
              f"{report['FRCorr_per_pred_before']:.3f} -> {report['FRCorr_per_pred_after']:.3f}"
              + ("" if report["applied"] else ", no gain: not applied"), flush=True)
    return report


# Style calibration: how much real listeners' expressiveness varies around the model's mean answer.
STYLE_LIMITS = (0.0, 0.6)


def style_spread(real: list[np.ndarray], mean: list[np.ndarray]) -> float:
    """The sd over inputs of log(real listener's spread over time / the mean answer's), averaged over the
    attributes that move: how much more or less expressive than the model's mean one listener is, from person to
    person. real: (L, 25) paired reactions; mean: (L, 25) the model's answers at temperature 0 to the same inputs."""
    logs = []
    for r, m in zip(real, mean, strict=True):
        r_std, m_std = r.std(axis=0), m.std(axis=0)
        moving = (r_std > 1e-3) & (m_std > 1e-3)
        if moving.any():
            logs.append(float(np.mean(np.log(r_std[moving] / m_std[moving]))))
    return float(np.clip(np.std(logs), *STYLE_LIMITS)) if len(logs) > 1 else 0.0


def calibrate_bundle_style(bundle: str | Path, data: str | Path, directions: str, progress: bool = True,
                           perceived: str | None = None, split: str = "val") -> dict:
    """Measure the listener-style spread (SamplingConfig.style_gain_sd) of a bundle on `data`'s validation split
    and write it to its card, before the temperature is calibrated (which then counts its diversity)."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    tests = test_ground_truths(data, split, directions=directions)
    if not tests:
        raise ValueError(f"{data}: no {split} inputs to calibrate the listener style on")
    features = load_features(data, split, directions, perceived=speaker_source(card, data, split, perceived))
    loaded = load_graphs("torch", model_dir=bundle, threads=None)
    mean_sampling = replace(card.sampling, temperature=0.0, amplitude=(), amplitude_center=(), style_gain_sd=0.0)
    made = offline_predictions(loaded.graphs, features, 1, 0, mean_sampling)
    sd = style_spread([t.listener for t in tests], [np.asarray(made[t.id][0, : len(t.speaker)]) for t in tests])
    report = {"split": split, "inputs": len(tests), "style_gain_sd": round(sd, 4)}
    card = replace(card.with_sampling(replace(card.sampling, style_gain_sd=report["style_gain_sd"])),
                   extra=dict(card.extra, style_calibration=report))
    card.write(bundle)
    if progress:
        print(f"listener style on {data}/{split}: expressiveness sd {report['style_gain_sd']:.3f} (log gain)",
              flush=True)
    return report
