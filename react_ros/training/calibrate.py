"""Diversity calibration: how a trained model is sampled, chosen on the validation split.

Every sample that strays from the listener's likely reaction costs appropriateness (FRCorr, FRDist), and a
model with no spread at all is a deterministic copy machine, which real listeners are not. The recipe states
how diverse its models must be, as a fraction of the spread among the appropriate real reactions (the GT set's
FRDiv on the same inputs), and how appropriate they must stay: above delayed mimicry's FRCorr/pred (less 0.01)
and Mime's on the same split, with a margin. Diversity comes in two kinds, measured in this order because the
first costs less (docs/model.md "What diversity costs"): the held listener style (each sampled conversation's
expressiveness, per-attribute copying and delay, measured on the validation split as real listeners' spread
around the model's mean answer) at temperature 0, narrowed or widened (STYLE_SCALES); then the diffusion
stage's noise (the temperatures of GRID). Of the settings that reach the target above the floor, the most
appropriate runs; when none reaches it, the most diverse above the floor; when none is above it, the most
appropriate (the plain mean answer is measured too when even the narrowest style falls below the floor). Each
setting is judged as it will run, stretched by the amplitude gains the last step gives it.
The rule reads only the model and its validation split, so it is the same for every family and every data set;
the noise correlation and sampler stay the recipe's.

A model whose samples differ no more at any temperature than at temperature 0 has a collapsed latent: a failed
training, not a model. The report says `collapsed`, the model runs at temperature 0 (its mean answer, with the
held style) rather than at a temperature that buys nothing, and `react-ros train` / `recipe` say so loudly
(non-zero exit with --strict).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.model.generator import MAX_STYLE_DELAY, MAX_STYLE_GAIN_SD

GRID = (0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.5, 2.0)  # 0: the model's mean answer
COLLAPSE_FRACTION = 0.01
# The appropriateness a sampled model must keep on the validation split (issue 26's check 2, with this much to
# spare because a validation split is a small sample): FRCorr/pred at least delayed mimicry's less 0.01 and above
# Mime's. Diversity is bought only down to it.
MIMICRY_MARGIN, FLOOR_MARGIN = 0.01, 0.01
COLLAPSE_CHECK = 1.0  # the grid always reaches this temperature: a latent that moves nothing there is collapsed


def _frcorr_per_pred(preds: list[np.ndarray], tests) -> float:
    from react_ros.metrics.ccc import frcorr_scores

    return float(np.mean([c.mean() for c in frcorr_scores(preds, [t.gts for t in tests])]))


def appropriateness_floor(data: str | Path, tests, samples: int) -> dict:
    """The FRCorr/pred of delayed mimicry (its delay fitted on the training split) and of Mime on `tests`, and
    the floor a sampled model keeps above them (MIMICRY_MARGIN, FLOOR_MARGIN)."""
    from react_ros.evaluation.pipeline import fit_mimicry_delays
    from react_ros.metrics.references import delayed_mimicry_reference, mime_reference

    speakers = [t.speaker for t in tests]
    delays = fit_mimicry_delays(data, [t.direction for t in tests])
    mimicry = _frcorr_per_pred([np.asarray(p, np.float32) for p in delayed_mimicry_reference(
        speakers, samples, [delays[t.direction.value] for t in tests])], tests)
    mime = _frcorr_per_pred([np.asarray(p, np.float32) for p in mime_reference(speakers, samples)], tests)
    return {"delayed_mimicry": mimicry, "mime": mime,
            "floor": max(mimicry - MIMICRY_MARGIN, mime) + FLOOR_MARGIN}


# The held listener style's width, tried before any noise is added (the cheap kind of diversity first), from half
# the measured person-to-person spread (as diverse as asked, no more) to three times it.
STYLE_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


def scaled_style(sampling, scale: float):
    """`sampling` with its held listener style (expressiveness, per-attribute copying, timing spread) `scale` times
    as wide. Wider than measured is not a contradiction: the appropriate reactions to an input are more varied
    than listeners' person-to-person spread around the mean (they include reactions to alike speakers), and this
    kind of diversity costs the least appropriateness."""
    return replace(sampling, style_gain_sd=min(sampling.style_gain_sd * scale, MAX_STYLE_GAIN_SD),
                   style_channel_sd=min(sampling.style_channel_sd * scale, MAX_STYLE_GAIN_SD),
                   style_delay_sd=min(sampling.style_delay_sd * scale, MAX_STYLE_DELAY))


def measure_grid(graphs, data: str | Path, sampling, split: str = "val", directions: str = "speaker->listener",
                 samples: int = 10, seed: int = 0, perceived: str | None = None, grid=GRID,
                 fraction: float | None = None, scales=STYLE_SCALES, stretch: bool = True) -> dict:
    """The real reactions' spread, the appropriateness floor and the model's FRDiv and FRCorr/pred on `split` for
    two ladders of settings, the cheap kind of diversity first: the held listener style widened by each of `scales`
    at temperature 0 (only when the setting has a style; when even the narrowest falls below the floor, the plain
    mean answer, style x0, as the last resort), then each grid temperature at the widest style that kept above the
    floor. With `fraction`, each ladder stops where the rule has its answer (a setting whose FRDiv reaches
    that fraction of the real spread above the floor, or one below the floor: wider or hotter only costs more),
    and the temperatures are measured at least up to COLLAPSE_CHECK. `complete`: every setting was measured.
    With `stretch`, each setting is judged as it will run: with the amplitude gains the calibration gives it
    afterwards (measured on the split's real listeners, kept where they raise its FRCorr/pred). Judged unstretched,
    a setting looked both less appropriate and less diverse than it runs, and dialogue's and lookaway's styles
    stopped at x1 with their test FRDiv under a quarter of the real spread."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.metrics.diversity import s_mse
    from react_ros.metrics.references import gt_reference
    from react_ros.model.generator import match_amplitude

    tests = test_ground_truths(data, split, directions=directions)
    if not tests:
        raise ValueError(f"{data}: no {split} inputs to calibrate the sampling temperature on")
    features = load_features(data, split, directions, perceived=perceived)
    # the GT row of `react-ros eval`: each input's appropriate reactions as its `samples` predictions
    real = gt_reference([t.gts for t in tests], samples)
    real_spread = float(np.mean([s_mse(np.asarray(r, np.float32)) for r in real]))
    floor = appropriateness_floor(data, tests, samples)
    target = np.inf if fraction is None else fraction * real_spread
    rows = []
    # a held style acts around the centre it will run with (the amplitude step keeps this one on the card)
    styled_centres = mean_answer_centres(graphs, features, tests, seed, sampling) if has_style(sampling) else None

    def measure(temperature: float, scale: float) -> dict:  # only what the rule reads (no DTW: slow)
        setting = scaled_style(replace(sampling, temperature=temperature), scale)
        made = offline_predictions(graphs, features, samples, seed, centred(setting, styled_centres))
        preds = [np.asarray(made[t.id], np.float32)[:, : len(t.speaker)] for t in tests]
        row = {"temperature": temperature, "style_scale": scale}
        if stretch:
            row["FRCorr_per_pred_unstretched"] = _frcorr_per_pred(preds, tests)
            measured, centres = amplitude_gains([t.listener for t in tests], preds)
            centres = centres if styled_centres is None else styled_centres
            gains = gate_gains(preds, tests, measured, centres)[0]
            preds = [match_amplitude(p, gains, centres) for p in preds]
        row.update({"FRCorr_per_pred": _frcorr_per_pred(preds, tests), "FRDiv": float(np.mean([s_mse(p) for p in preds]))})
        rows.append(row)
        return rows[-1]

    styles = tuple(sorted(scales)) if has_style(sampling) else (1.0,)
    for scale in styles:
        last = measure(0.0, scale)
        if last["FRDiv"] >= target or last["FRCorr_per_pred"] < floor["floor"]:
            break
    ladder = len(rows)
    resort = has_style(sampling) and rows[0]["FRCorr_per_pred"] < floor["floor"]
    if resort:
        measure(0.0, 0.0)  # even the narrowest style costs too much: the last resort is the plain mean answer
    kept = [r["style_scale"] for r in rows if r["FRCorr_per_pred"] >= floor["floor"]]
    base = max(kept, default=1.0)
    hot = sorted(t for t in grid if t > 0)
    answered = any(r["FRDiv"] >= target and r["FRCorr_per_pred"] >= floor["floor"] for r in rows)
    for temperature in hot:
        if answered and any(r["temperature"] >= COLLAPSE_CHECK for r in rows):
            break
        if answered and temperature < max(COLLAPSE_CHECK, hot[0]):
            continue  # the rule has its answer: only the collapse check is left
        last = measure(temperature, base)
        answered = answered or last["FRDiv"] >= target or last["FRCorr_per_pred"] < floor["floor"]
    return {"split": split, "inputs": len(tests), "samples": samples, "seed": seed, "directions": directions,
            "real_frdiv": real_spread, "appropriateness": floor, "grid": rows, "stretched": stretch,
            "complete": ladder == len(styles) and len(rows) - ladder - resort == len(hot)}


def has_style(sampling) -> bool:
    return bool(sampling.style_gain_sd or sampling.style_channel_sd or sampling.style_delay_sd)


def choose_temperature(measured: dict, fraction: float) -> dict:
    """The report of the rule on a measured grid (`temperature` and `style_scale`). Eligible are the settings whose
    FRCorr/pred stays above the appropriateness floor; of those reaching `fraction` of the real spread, the most
    appropriate; when none reaches it, the most diverse eligible one (diversity as far as appropriateness allows);
    when none is eligible, the one with the best FRCorr/pred. A latent whose samples differ no more at any
    temperature than at 0 with the same style is collapsed: the model runs at temperature 0 (its mean answer, with
    the held style the same rule picks among temperature 0's settings)."""
    if not 0 < fraction:
        raise ValueError(f"calibrate_diversity must be > 0, got {fraction}")
    grid = [{"style_scale": 1.0, **r} for r in measured["grid"]]
    target = fraction * measured["real_frdiv"]
    floor = measured.get("appropriateness", {}).get("floor", -np.inf)
    at_zero = {r["style_scale"]: r["FRDiv"] for r in grid if r["temperature"] == 0}
    latent_frdiv = max((r["FRDiv"] - at_zero.get(r["style_scale"], 0.0) for r in grid if r["temperature"] > 0),
                       default=0.0)
    collapsed = latent_frdiv < COLLAPSE_FRACTION * measured["real_frdiv"]
    candidates = [r for r in grid if r["temperature"] == 0] if collapsed else grid
    eligible = [r for r in candidates if r["FRCorr_per_pred"] >= floor]
    reaching = [r for r in eligible if r["FRDiv"] >= target]
    if reaching:
        chosen = max(reaching, key=lambda r: r["FRCorr_per_pred"])
    elif eligible:
        chosen = max(eligible, key=lambda r: r["FRDiv"])
    else:
        chosen = max(candidates or grid, key=lambda r: r["FRCorr_per_pred"])
    return {**measured, "fraction": fraction, "target_frdiv": float(target), "reached": bool(reaching),
            "appropriate": bool(eligible), "latent_frdiv": float(latent_frdiv), "collapsed": bool(collapsed),
            "temperature": 0.0 if collapsed else chosen["temperature"], "style_scale": chosen["style_scale"]}


def calibrate_temperature(graphs, data: str | Path, sampling, fraction: float, split: str = "val",
                          directions: str = "speaker->listener", samples: int = 10, seed: int = 0,
                          perceived: str | None = None, grid=GRID) -> tuple[object, dict]:
    """(the sampling setting at the chosen temperature and style width, a report: the target and every grid
    point's metrics)."""
    if not 0 < fraction:
        raise ValueError(f"calibrate_diversity must be > 0, got {fraction}")
    measured = measure_grid(graphs, data, sampling, split, directions, samples, seed, perceived, grid, fraction)
    report = choose_temperature(measured, fraction)
    return scaled_style(replace(sampling, temperature=report["temperature"]), report["style_scale"]), report


def _reusable(report: dict | None, key: dict, fraction: float) -> bool:
    """A card's earlier calibration measured the same grid on the same data with the same base setting, for the
    same fraction or all of it (a grid stopped early answers only the fraction it was measured for)."""
    if not report or report.get("key") != key:
        return False
    return report.get("complete", True) or report.get("fraction") == fraction


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
    # Amplitude gains belong to one temperature (calibrate_amplitude runs after this): measured without them; the
    # listener style as measured (an earlier calibration may have widened it on the card).
    measured_style = {k: v for k, v in (card.extra.get("style_calibration") or {}).items()
                      if k in ("style_gain_sd", "style_channel_sd", "style_delay_mean", "style_delay_sd")}
    card = card.with_sampling(replace(card.sampling, amplitude=(), amplitude_center=(), **measured_style))
    base = {k: v for k, v in asdict(card.sampling).items() if k not in ("temperature", "amplitude", "amplitude_center")}
    key = {"data": str(data), "split": split, "samples": samples, "seed": seed, "directions": directions,
           "grid": list(GRID), "base_sampling": base,
           "rule": "floor, stretched, mean answer last, style around its centre"}  # grids measured under an earlier rule are measured again
    earlier = card.extra.get("diversity_calibration")
    if _reusable(earlier, key, fraction):
        measured = {k: earlier[k] for k in ("split", "inputs", "samples", "seed", "directions", "real_frdiv",
                                            "appropriateness", "grid") if k in earlier}
        measured["complete"] = earlier.get("complete", True)
    else:
        loaded = load_graphs("torch", model_dir=bundle, threads=None)
        measured = measure_grid(loaded.graphs, data, card.sampling, split, directions, samples, seed,
                                speaker_source(card, data, split, perceived), fraction=fraction)
    report = dict(choose_temperature(measured, fraction), key=key)
    chosen = scaled_style(replace(card.sampling, temperature=report["temperature"]), report["style_scale"])
    card = replace(card.with_sampling(chosen), extra=dict(card.extra, diversity_calibration=report))
    card.write(bundle)
    if progress:
        floor = report.get("appropriateness", {})
        print(f"calibrated temperature {report['temperature']}, listener style x{report['style_scale']} on "
              f"{data}/{split}: FRDiv target "
              f"{report['target_frdiv']:.4f} ({fraction} x the real reactions' {report['real_frdiv']:.4f}), FRCorr/pred "
              f"floor {floor.get('floor', -np.inf):.3f} (delayed mimicry {floor.get('delayed_mimicry', np.nan):.3f}, "
              f"Mime {floor.get('mime', np.nan):.3f})"
              + ("" if report["reached"] else ", target not reached: the most diverse above the floor"
                 if report["appropriate"] else ", no temperature above the floor: the best FRCorr"), flush=True)
    if report["collapsed"]:
        print(f"COLLAPSED LATENT: {bundle}: the model's samples do not differ at any temperature up to {max(GRID)} "
              f"(the latent adds FRDiv {report['latent_frdiv']:.2e} against the real reactions' "
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


def gate_gains(preds: list[np.ndarray], tests, measured: np.ndarray, centres: np.ndarray
               ) -> tuple[np.ndarray, float, float]:
    """(kept gains, FRCorr/pred before, after): each attribute's measured gain, the largest corrections first, kept
    only when it raises the FRCorr/pred of `preds` ((K, L, 25) per input of `tests`)."""
    from react_ros.metrics.ccc import frcorr_scores
    from react_ros.model.generator import match_amplitude

    def per_pred(gains):
        stretched = [match_amplitude(p, gains, centres) for p in preds]
        return float(np.mean([s.mean() for s in frcorr_scores(stretched, [t.gts for t in tests])]))

    gains = np.ones_like(measured)
    before = after = per_pred(gains)
    for attribute in np.argsort(-np.abs(np.log(measured))):
        trial = gains.copy()
        trial[attribute] = measured[attribute]
        score = per_pred(trial)
        if score > after:
            gains, after = trial, score
    return gains, before, after


def calibrate_amplitude(graphs, data: str | Path, sampling, split: str = "val", directions: str = "speaker->listener",
                        samples: int = 10, seed: int = 0, perceived: str | None = None,
                        measure_split: str = "train", measure_perceived: str | None = None,
                        measure_samples: int = 4) -> tuple[object, dict]:
    """(the sampling setting with the amplitude gains, a report). The gains make the model's samples as lively as
    the real listeners, per attribute, measured on `measure_split` (the training split: three times the listeners
    of validation; measured on a validation-sized split, partial's gains cost its mean answer 0.008 FRCorr/pred on
    the test split); each attribute's is kept only when it raises `split`'s (validation's) FRCorr/pred (the stretch
    also stretches whatever the model gets wrong there: one gate for all 25 kept gains that cost 0.007 on mirror's
    test split), tried one attribute at a time. `perceived` / `measure_perceived`: each split's speaker source."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions

    def inputs(name: str, speakers: str | None):
        tests = test_ground_truths(data, name, directions=directions)
        if not tests:
            raise ValueError(f"{data}: no {name} inputs to calibrate the amplitude on")
        return tests, load_features(data, name, directions, perceived=speakers)

    tests, features = inputs(split, perceived)  # loaded once: the style's centre and the gate both read them
    # the style acts around the centre the card will hold (mean_answer_centres)
    styled_centres = mean_answer_centres(graphs, features, tests, seed, sampling) if has_style(sampling) else None
    plain = centred(sampling, styled_centres)

    def made_for(tests, features, count: int):
        made = offline_predictions(graphs, features, count, seed, plain)
        return [np.asarray(made[t.id], np.float32)[:, : len(t.speaker)] for t in tests]

    preds = made_for(tests, features, samples)
    if measure_split == split:
        measured_tests, measured_preds = tests, preds
    else:
        measured_tests, measured_features = inputs(measure_split, measure_perceived)
        measured_preds = made_for(measured_tests, measured_features, min(samples, measure_samples))
    measured = amplitude_gains([t.listener for t in measured_tests], measured_preds)[0]
    # the stretch's centre, where it is judged: the model's own mean there, or the styled samples' centre
    centres = amplitude_gains([t.listener for t in tests], preds)[1] if styled_centres is None else styled_centres

    gains, before, after = gate_gains(preds, tests, measured, centres)
    report = {"split": split, "inputs": len(tests), "measure_split": measure_split,
              "measure_inputs": len(measured_tests), "samples": samples, "seed": seed,
              "temperature": sampling.temperature,
              "gains": gains.round(4).tolist(), "measured_gains": measured.round(4).tolist(),
              "centres": centres.round(5).tolist(),
              "FRCorr_per_pred_before": before, "FRCorr_per_pred_after": after, "applied": after > before}
    if not report["applied"]:
        return plain, report
    return replace(sampling, amplitude=tuple(report["gains"]), amplitude_center=tuple(report["centres"])), report


def calibrate_bundle_amplitude(bundle: str | Path, data: str | Path, directions: str, progress: bool = True,
                               perceived: str | None = None) -> dict:
    """Measure a bundle's amplitude gains at its card's sampling setting (after the temperature calibration) and
    write them, with the report, to its card; and its mean reaction's own (temperature 0, no listener style: the
    noise and the style add spread that the mean answer lacks, so its gains differ), kept on the card as
    `mean_reaction` (ModelCard.mean_sampling)."""
    from dataclasses import asdict

    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    loaded = load_graphs("torch", model_dir=bundle, threads=None)
    speakers = {"perceived": speaker_source(card, data, "val", perceived),
                "measure_perceived": speaker_source(card, data, "train", perceived)}
    sampling, report = calibrate_amplitude(loaded.graphs, data, card.sampling, directions=directions, **speakers)
    if card.sampling.deterministic:  # the operating point is the mean reaction: the same gains
        mean, mean_report = sampling, report
    else:
        mean, mean_report = calibrate_amplitude(loaded.graphs, data, mean_setting(card.sampling),
                                                directions=directions, **speakers)
    card = replace(card.with_sampling(sampling), extra=dict(
        card.extra, amplitude_calibration=report,
        mean_reaction={"sampling": asdict(mean), "amplitude_calibration": mean_report}))
    card.write(bundle)
    if progress:
        print(f"amplitude gains {np.round(report['gains'], 2).tolist()} on {data}/val: FRCorr/pred "
              f"{report['FRCorr_per_pred_before']:.3f} -> {report['FRCorr_per_pred_after']:.3f}"
              + ("" if report["applied"] else ", no gain: not applied"), flush=True)
    return report


# Style calibration: how much real listeners' expressiveness and timing vary around the model's mean answer.
STYLE_LIMITS = (0.0, 0.6)
DELAY_SD_LIMIT = 6.0  # frames: a held delay spread beyond 0.2 s is not what these lags can tell apart


def style_spread(real: list[np.ndarray], mean: list[np.ndarray]) -> float:
    """The sd over inputs of log(real listener's spread over time / the mean answer's), averaged over the
    attributes that move: how much more or less expressive than the model's mean one listener is, from person to
    person. real: (L, 25) paired reactions; mean: (L, 25) the model's answers at temperature 0 to the same inputs."""
    logs = _log_gains(real, mean)
    shared = np.nanmean(logs, axis=1)
    shared = shared[np.isfinite(shared)]
    return float(np.clip(np.std(shared), *STYLE_LIMITS)) if len(shared) > 1 else 0.0


def channel_spread(real: list[np.ndarray], mean: list[np.ndarray]) -> float:
    """What is left of the log gains per attribute once each listener's overall expressiveness is taken out: how
    differently listeners copy one channel and not another (the median over attributes of its sd over inputs;
    the median, because a rarely moving attribute's log gain is mostly noise)."""
    logs = _log_gains(real, mean)
    own = logs - np.nanmean(logs, axis=1, keepdims=True)
    counted = np.isfinite(own).sum(axis=0) > 1
    if not counted.any():
        return 0.0
    with np.errstate(invalid="ignore"):
        spreads = np.nanstd(own[:, counted], axis=0)
    return float(np.clip(np.median(spreads), *STYLE_LIMITS))


def _log_gains(real: list[np.ndarray], mean: list[np.ndarray]) -> np.ndarray:
    """(inputs, 25) log(real spread over time / mean answer's) where both move, else NaN."""
    out = np.full((len(real), schema.REACTION_DIM), np.nan)
    for i, (r, m) in enumerate(zip(real, mean, strict=True)):
        r_std, m_std = r.std(axis=0), m.std(axis=0)
        moving = (r_std > 1e-3) & (m_std > 1e-3)
        out[i, moving] = np.log(r_std[moving] / m_std[moving])
    return out


def style_delay(real: list[np.ndarray], mean: list[np.ndarray], speakers: list[np.ndarray]) -> tuple[float, float]:
    """(mean, sd) in frames of the listener delay to hold on the model's answers: how much later than the mean
    answer the real listeners' best lag against their speaker is (median over inputs; never < 0: a robot cannot
    answer earlier than its model), and how much that lag varies from listener to listener beyond the mean
    answer's own variation (robust sds, interquartile range / 1.349)."""
    from react_ros.metrics.synchrony import best_lag, max_lag_frames

    if len(real) < 2:
        return 0.0, 0.0
    longest = max_lag_frames()
    real_lags = np.array([best_lag(r, s, longest) for r, s in zip(real, speakers, strict=True)], np.float64)
    mean_lags = np.array([best_lag(m, s, longest) for m, s in zip(mean, speakers, strict=True)], np.float64)

    def robust_sd(values):
        q1, q3 = np.percentile(values, [25, 75])
        return (q3 - q1) / 1.349

    delay = float(np.clip(np.median(real_lags) - np.median(mean_lags), 0.0, MAX_STYLE_DELAY))
    spread = float(np.sqrt(max(robust_sd(real_lags) ** 2 - robust_sd(mean_lags) ** 2, 0.0)))
    return round(delay, 2), round(float(min(spread, DELAY_SD_LIMIT)), 2)


def calibrate_bundle_style(bundle: str | Path, data: str | Path, directions: str, progress: bool = True,
                           perceived: str | None = None, split: str = "val", delay_split: str = "train") -> dict:
    """Measure the listener style of a bundle, expressiveness (SamplingConfig.style_gain_sd) and per-attribute
    copying (style_channel_sd) on `data`'s validation split, timing (style_delay_mean, style_delay_sd) on its
    training split, and write it to its card, before the diversity is calibrated (which widens or narrows it).

    Timing from the training split because a split's median best lag is a small sample: a validation-sized split's
    moves by an sd of 2-3 frames on the copying families and of 20 on backchannel, where listeners answer pauses
    (benchmarks/real_lags.py). Measured on validation, backchannel's 60-session model was told to hold every
    answer 30 frames late (validation's real median lag 29, training's -18.5): FRCorr/pred 0.22 -> 0.03."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard
    from react_ros.runtime import load_graphs

    card = ModelCard.read(bundle)
    loaded = load_graphs("torch", model_dir=bundle, threads=None)

    def real_and_mean(name: str):
        """The split's real reactions, the model's mean answers to the same inputs, and their speakers."""
        tests = test_ground_truths(data, name, directions=directions)
        if not tests:
            raise ValueError(f"{data}: no {name} inputs to calibrate the listener style on")
        features = load_features(data, name, directions, perceived=speaker_source(card, data, name, perceived))
        made = offline_predictions(loaded.graphs, features, 1, 0, mean_setting(card.sampling))
        return tests, [np.asarray(made[t.id][0, : len(t.speaker)]) for t in tests]

    tests, mean = real_and_mean(split)
    real = [t.listener for t in tests]
    sd, channel_sd = style_spread(real, mean), channel_spread(real, mean)
    delay_tests, delay_mean = real_and_mean(delay_split) if delay_split != split else (tests, mean)
    delay, delay_sd = style_delay([t.listener for t in delay_tests], delay_mean, [t.speaker for t in delay_tests])
    measured_delay = delay
    delay, without, held = gate_delay(delay, mean, tests)
    report = {"split": split, "inputs": len(real), "delay_split": delay_split, "delay_inputs": len(delay_tests),
              "measured_delay": measured_delay, "FRCorr_per_pred_without_delay": round(without, 4),
              "FRCorr_per_pred_with_delay": round(held, 4), "style_gain_sd": round(sd, 4),
              "style_channel_sd": round(channel_sd, 4), "style_delay_mean": delay, "style_delay_sd": delay_sd}
    styled = replace(card.sampling, **{k: report[k] for k in ("style_gain_sd", "style_channel_sd", "style_delay_mean",
                                                               "style_delay_sd")})
    card = replace(card.with_sampling(styled), extra=dict(card.extra, style_calibration=report))
    card.write(bundle)
    if progress:
        print(f"listener style on {data}/{split}: expressiveness sd {report['style_gain_sd']:.3f} (log gain), "
              f"per attribute {report['style_channel_sd']:.3f}; on {data}/{delay_split}: delay {measured_delay:.1f} "
              f"frames, sd {delay_sd:.1f}" + ("" if delay == measured_delay else
                                             f" (not held: validation FRCorr/pred {without:.3f} -> {held:.3f})"),
              flush=True)
    return report


def gate_delay(delay: float, mean: list[np.ndarray], tests) -> tuple[float, float, float]:
    """(the delay to hold, FRCorr/pred of the mean answers without it, with it): a held delay only where it makes
    the mean answers (`mean`, one (T, 25) per test) more appropriate on `tests` (real listeners later than the model);
    where the best lag says little (listeners answering pauses) it would only move every answer late."""
    without = _frcorr_per_pred([m[None] for m in mean], tests)
    if delay <= 0:
        return 0.0, without, without
    held = _frcorr_per_pred([held_late(m, delay)[None] for m in mean], tests)
    return (delay if held >= without else 0.0), without, held


def held_late(frames: np.ndarray, delay: float) -> np.ndarray:
    """(T, 25) frames shown `delay` frames (rounded) after they were made, the neutral face before the first: what
    OnlineGenerator's held delay does to one sample."""
    d = int(round(delay))
    if d <= 0:
        return frames
    neutral = np.repeat(schema.neutral_frame()[None], min(d, len(frames)), axis=0)
    return np.concatenate([neutral, frames[: max(len(frames) - d, 0)]]).astype(frames.dtype)


def mean_setting(sampling):
    """The model's mean answer without amplitude gains."""
    return replace(sampling.mean_answer(), amplitude=(), amplitude_center=())


def mean_answer_centres(graphs, features, tests, seed: int, sampling) -> np.ndarray:
    """(25,): per attribute, the model's mean answer's average frame on `tests`. At run time a held style's gain
    acts around the card's amplitude centre (the neutral frame without one); the calibration generates styled
    samples around this centre and keeps it on the card, so what it judges is what runs. (Around the neutral
    frame, affect's x0.5 style moved each sample's whole level: validation FRDiv 0.0055 judged, 0.0014 run.)"""
    from react_ros.evaluation.pipeline import offline_predictions

    made = offline_predictions(graphs, features, 1, seed, mean_setting(sampling))
    return np.concatenate([np.asarray(made[t.id], np.float32)[0, : len(t.speaker)] for t in tests]).mean(axis=0)


def centred(sampling, centres: np.ndarray | None):
    """`sampling` without amplitude gains, its style acting around `centres` (None: around the neutral frame)."""
    if centres is None:
        return replace(sampling, amplitude=(), amplitude_center=())
    return replace(sampling, amplitude=(1.0,) * len(centres), amplitude_center=tuple(float(c) for c in centres))
