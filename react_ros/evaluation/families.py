"""How a model, or each family's own model (`react-ros recipe`), does on the synthetic families of listener
behaviour (`react-ros families`).

For every family (`react_ros.data.families`) it makes a data set (or reuses one made with the same settings;
videos only for the test split, which the online path reads), evaluates the model in the robot's direction
(speaker -> listener) at its operating point and at temperature 0 without a listener style (its mean answer),
offline and online, beside
the best deterministic predictor of the listener from the speaker (evaluation/deterministic.py), delayed mimicry
(delay fitted on the family's training split), Mime, MeanSeq and the real reactions, and writes one Markdown
table and one JSON (plus each family's full report in a sub-directory). With several sampling seeds the model
rows are their mean, with the spread (max - min over seeds) beside each figure.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIRECTION = "speaker->listener"  # the robot's role
# (key, title, better direction) of the table's columns
COLUMNS = [("FRCorr_per_pred", "FRCorr/pred ↑", "high"), ("FRDist", "FRDist ↓", "low"), ("FRDiv", "FRDiv ↑", "high"),
           ("FRSyn", "FRSyn ↓", "low"), ("FRSyn_lag_median", "median lag", "none")]
MODEL, MODEL_T0, ONLINE = "model (offline)", "model (offline, temperature 0)", "model (online, from video+wav)"
# The training split's real listeners (their median lag only): the timing the model learned from. One data set's
# splits differ by more than the lag check's 3 frames (60 sessions: training 20.5, test 16.5; docs/model.md).
TRAINING_LISTENERS = "GT, paired only, training split"
ROWS = [MODEL, MODEL_T0, ONLINE, "Best deterministic", "Delayed mimicry", "Delayed mimicry (online, from video+wav)",
        "Mime", "MeanSeq", "GT", "GT, paired only", TRAINING_LISTENERS]
MODEL_ROWS = (MODEL, MODEL_T0, ONLINE)
# Issue 26's bars: the mean answer within this much of the best deterministic predictor's FRCorr; the diverse one
# within the run-to-run spread of delayed mimicry's, at this fraction of the real reactions' spread.
LEARNING_MARGIN, MIMICRY_MARGIN, DIVERSITY_FRACTION, LAG_FRAMES = 0.02, 0.01, 0.25, 3


@dataclass(frozen=True)
class FamilyOptions:
    """What a families run evaluates and where it writes (`react-ros families` and `react-ros recipe`)."""

    out: str = "docs/results/families"
    data_root: str = "out/families30"
    families: tuple[str, ...] | list[str] | None = None  # None: all
    sessions: int = 30  # 18 test inputs: model rows steady to about 0.01 over sampling seeds (issue 26)
    clips_per_session: int = 3
    min_seconds: float = 20.0
    max_seconds: float = 25.0
    data_seed: int = 0
    samples: int = 10
    seed: int = 0
    seeds: int = 3  # sampling seeds seed, seed+1, ...: the model rows' spread
    temperature: float | None = None  # override the model card's sampling
    noise_correlation: float | None = None
    online: bool = True
    card: str | None = None  # also put the verdict table on this page (docs/model.md)
    command_line: str = ""

    def data_settings(self, family: str) -> dict:
        return {"family": family, "sessions": self.sessions, "clips_per_session": self.clips_per_session,
                "min_seconds": self.min_seconds, "max_seconds": self.max_seconds, "seed": self.data_seed,
                "video": "test" if self.online else None}

    def sampling_overrides(self) -> dict:
        return {"temperature": self.temperature, "noise_correlation": self.noise_correlation}


def family_names(families=None) -> list[str]:
    """The families named (default: all), checked against the known ones."""
    from react_ros.data.families import SUMMARIES

    names = list(families or SUMMARIES)
    unknown = [n for n in names if n not in SUMMARIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {', '.join(SUMMARIES)}")
    return names


def family_data(root: Path, name: str, options: FamilyOptions) -> Path:
    """The family's data set under `root`, made unless one with the same settings is there already."""
    from react_ros.data.synth import SynthConfig, generate

    settings = options.data_settings(name)
    out = root / name
    stamp = out / "synth_settings.json"
    if stamp.is_file():
        made = json.loads(stamp.read_text())
        # a set made with the test videos serves a run without the online path too (never remake it without them)
        if made == settings or (settings["video"] is None and made == {**settings, "video": "test"}):
            return out
    generate(SynthConfig(out=out, sessions=options.sessions, clips_per_session=options.clips_per_session,
                         min_seconds=options.min_seconds, max_seconds=options.max_seconds, video=options.online,
                         video_splits=("test",), seed=options.data_seed, family=name), progress=True)
    stamp.write_text(json.dumps(settings, indent=2))
    return out


def evaluate_family(data: Path, loaded, sampling, options: FamilyOptions) -> dict[str, dict[str, float]]:
    """Every row of one family's table (see the module's docstring)."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.deterministic import deterministic_scores
    from react_ros.evaluation.pipeline import (
        ONLINE_MIMICRY,
        offline_predictions,
        online_mimicry_predictions,
        online_predictions,
        reference_scores,
        score,
    )
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard

    card = ModelCard.read(loaded.info.get("model_dir"))
    tests = test_ground_truths(data, "test", directions=DIRECTION)
    features = load_features(data, "test", DIRECTION, perceived=speaker_source(card, data, "test"))
    seeds = [options.seed + i for i in range(max(1, options.seeds))]
    per_seed: dict[str, list[dict[str, float]]] = {MODEL: [], MODEL_T0: [], ONLINE: []}
    for seed in seeds:
        per_seed[MODEL].append(score(offline_predictions(loaded.graphs, features, options.samples, seed, sampling,
                                                         progress=True), tests))
        # the mean answer: no noise, no held style, its own amplitude gains (the card's, else the operating point's)
        mean = card.mean_sampling() if "mean_reaction" in card.extra else sampling.mean_answer()
        per_seed[MODEL_T0].append(per_seed[MODEL][-1] if mean == sampling else score(offline_predictions(
            loaded.graphs, features, options.samples, seed, mean), tests))
        if options.online:  # the robot's path, through the front end the model was trained on
            per_seed[ONLINE].append(score(online_predictions(
                loaded.graphs, loaded.estimator_fn, data, "test", [t.id for t in tests], options.samples, seed,
                sampling, progress=True, face_frontend=card.face_frontend), tests))
    results = {name: over_seeds(rows) for name, rows in per_seed.items() if rows}
    if options.online:
        results[ONLINE_MIMICRY] = score(online_mimicry_predictions(
            loaded.estimator_fn, data, "test", tests, options.samples, face_frontend=card.face_frontend), tests)
    results.update(reference_scores(data, tests, options.samples, options.seed))
    results.update(deterministic_scores(data, tests, options.samples, DIRECTION))
    for metrics in results.values():
        metrics["inputs"] = len(tests)
    results[TRAINING_LISTENERS] = training_listeners_lag(data)
    return results


def training_listeners_lag(data: Path) -> dict[str, float]:
    """The median lag of the training split's real listeners against their own speakers (the paired reactions)."""
    from react_ros.data.protocol import test_ground_truths
    from react_ros.metrics.synchrony import frsyn_scores

    train = test_ground_truths(data, "train", count=1, directions=DIRECTION)
    lags = np.concatenate(frsyn_scores([t.listener[None] for t in train], [t.speaker for t in train]))
    return {"FRSyn_lag_median": float(np.median(lags)), "inputs": len(train)}


def over_seeds(rows: list[dict[str, float]]) -> dict[str, float]:
    """One row from the same row under several sampling seeds: each metric's mean, and `<metric> spread` (max - min
    over the seeds) when there is more than one."""
    out = {}
    for key in rows[0]:
        values = [float(r[key]) for r in rows]
        out[key] = float(np.mean(values))
        if len(rows) > 1:
            out[f"{key} spread"] = float(np.max(values) - np.min(values))
    if len(rows) > 1:
        out["seeds"] = len(rows)
    return out


def verdict(rows: dict[str, dict[str, float]]) -> dict[str, bool]:
    """Issue 26's checks for one family's model (robot's direction, offline):
    learning: at temperature 0 FRCorr/pred at least the best deterministic predictor's less 0.02, and above
    delayed mimicry and Mime on FRCorr and below them on FRDist;
    diversity: at the operating point FRDiv at least a quarter of the real reactions', FRCorr/pred at least
    delayed mimicry's less 0.01 and above Mime's, FRDist at most delayed mimicry's, median lag within 3 frames
    of the real listeners'."""
    model, mimicry, mime = rows[MODEL], rows["Delayed mimicry"], rows["Mime"]
    mean = rows.get(MODEL_T0, model)
    best = rows.get("Best deterministic", {}).get("FRCorr_per_pred", -np.inf)
    gt_lag = _real_lag(rows)
    return {"learning": bool(mean["FRCorr_per_pred"] >= best - LEARNING_MARGIN
                             and mean["FRCorr_per_pred"] > max(mimicry["FRCorr_per_pred"], mime["FRCorr_per_pred"])
                             and mean["FRDist"] < min(mimicry["FRDist"], mime["FRDist"])),
            "FRCorr": bool(model["FRCorr_per_pred"] >= mimicry["FRCorr_per_pred"] - MIMICRY_MARGIN
                           and model["FRCorr_per_pred"] > mime["FRCorr_per_pred"]),
            "FRDist": bool(model["FRDist"] <= mimicry["FRDist"]),
            "FRDiv": bool(model["FRDiv"] >= DIVERSITY_FRACTION * rows["GT"]["FRDiv"]),
            "lag": bool(abs(model["FRSyn_lag_median"] - gt_lag) <= LAG_FRAMES)}


def _real_lag(rows: dict[str, dict[str, float]], row: str = "GT, paired only") -> float:
    """The real listeners' median lag (one real reaction per input; the test split's unless `row` names
    another), NaN when the rows lack it."""
    return rows.get(row, {}).get("FRSyn_lag_median", float("nan"))


def _failed_lag_note(rows: dict[str, dict[str, float]]) -> str:
    """What the lag check's miss is, where the model is within its bar of the training split's real listeners."""
    trained = _real_lag(rows, TRAINING_LISTENERS)
    if np.isfinite(trained) and abs(rows[MODEL]["FRSyn_lag_median"] - trained) <= LAG_FRAMES:
        return f"lag (within {LAG_FRAMES} of the training listeners' {trained:g})"
    return "lag"


def _with_spread(row: dict, key: str, digits: int) -> str:
    value = f"{row[key]:.{digits}f}"
    spread = row.get(f"{key} spread")
    return value if spread is None else f"{value} ±{spread / 2:.{digits}f}"


def markdown(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """A verdict per family, then every family's rows."""
    lines = ["| family | model FRCorr/pred (online) | at temperature 0 | best deterministic | delayed mimicry (delay) "
             "| Mime | model FRDist | delayed mimicry FRDist | model FRDiv (GT) | model lag (GT; GT training split) | "
             "learning | "
             "all checks |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for family, rows in results.items():
        model, mimicry, mime = rows[MODEL], rows["Delayed mimicry"], rows["Mime"]
        online = rows.get(ONLINE)
        mean = rows.get(MODEL_T0)
        best = rows.get("Best deterministic")
        delay = next((v for k, v in mimicry.items() if k.startswith("delay_frames")), float("nan"))
        checks = verdict(rows)
        failed = [_failed_lag_note(rows) if k == "lag" else k for k, ok in checks.items() if not ok]
        gt_lag, trained_lag = _real_lag(rows), _real_lag(rows, TRAINING_LISTENERS)
        lines.append(
            f"| {family} | {_with_spread(model, 'FRCorr_per_pred', 3)}"
            + (f" ({_with_spread(online, 'FRCorr_per_pred', 3)})" if online else "")
            + f" | {_with_spread(mean, 'FRCorr_per_pred', 3) if mean else '–'}"
            + (f" | {best['FRCorr_per_pred']:.3f} ({best['predictor']})" if best else " | –"))
        lines[-1] += (f" | {mimicry['FRCorr_per_pred']:.3f} ({delay:.0f} fr) | {mime['FRCorr_per_pred']:.3f} | "
                      f"{_with_spread(model, 'FRDist', 1)} | {mimicry['FRDist']:.1f} | "
                      f"{model['FRDiv']:.4f} ({rows['GT']['FRDiv']:.4f}) | {model['FRSyn_lag_median']:.0f} ({gt_lag:.0f}; {f'{trained_lag:.1f}' if np.isfinite(trained_lag) else '–'}) | "
                      f"{'yes' if checks['learning'] else '**no**'} | "
                      f"{'yes' if not failed else '**no**: ' + ', '.join(failed)} |")
    lines += ["", "| family | method | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
              "| --- | --- |" + " ---: |" * len(COLUMNS)]
    for family, rows in results.items():
        for method in ROWS + sorted(k for k in rows if k.endswith("amplitude matched")):
            if method in rows:
                cells = [_cell(rows[method].get(key), rows[method].get(f"{key} spread")) for key, _, _ in COLUMNS]
                name = method + (f" ({rows[method]['predictor']})" if "predictor" in rows[method] else "")
                lines.append(f"| {family} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value, spread=None) -> str:
    if not isinstance(value, (int, float)) or not np.isfinite(float(value)):
        return "–"
    text = f"{float(value):.4f}" if abs(float(value)) < 1 else f"{float(value):.2f}"
    return text if spread is None else f"{text} ±{spread / 2:.4f}"


def run_families(options: FamilyOptions, models: dict[str, Path] | None = None, model: str | None = None,
                 extra_meta: dict | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """models: a model bundle per family (each family's own training, `react-ros recipe`); default: `model` (a
    bundle directory, None for the shipped one) for every family. Writes the report; returns the results."""
    import torch

    from react_ros.data.families import SUMMARIES
    from react_ros.evaluation.loading import load_model
    from react_ros.evaluation.report import write_report

    names = family_names(options.families)
    overrides = options.sampling_overrides()
    # one model for every family, or each family's own (loaded in the loop)
    loaded, sampling = load_model(model, sampling_overrides=overrides) if not models else (None, None)
    info = {"model": loaded.info} if not models else {"models": {f: str(m) for f, m in models.items()}}
    out, root = Path(options.out), Path(options.data_root)
    results, seconds, samplings = {}, {}, {}
    threads = torch.get_num_threads()
    for name in names:
        started = time.perf_counter()
        data = family_data(root, name, options)
        # The metrics (numba's parallel code) leave torch with another thread count: from 1 to 2 here, which made
        # the next family's generation 27x slower on a loaded 2-core machine. Each family starts like the first.
        torch.set_num_threads(threads)
        if models:
            loaded, sampling = load_model(str(models[name]), sampling_overrides=overrides)
        samplings[name] = sampling.__dict__
        results[name] = evaluate_family(data, loaded, sampling, options)
        seconds[name] = round(time.perf_counter() - started, 1)
        write_report(out / name, results[name], {"family": name, "data": str(data), "directions": DIRECTION},
                     f"REACT metrics, family {name} ({DIRECTION}, test split)")
        print(f"{name}: {seconds[name]} s", flush=True)
    meta = {"command": options.command_line or "react-ros families " + " ".join(_argv(options, model)), **info,
            **(extra_meta or {}), "sampling": samplings, "direction": DIRECTION, "seconds": seconds,
            "seeds": [options.seed + i for i in range(max(1, options.seeds))],
            "summaries": {n: SUMMARIES[n] for n in names}}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "families.json", meta, results)
    inputs = {f: int(next(iter(rows.values()))["inputs"]) for f, rows in results.items()}
    header = (f"# Families: {DIRECTION}, test split\n\n`{meta['command']}`; test inputs per family: "
              + ", ".join(f"{f} {n}" for f, n in inputs.items())
              + f"; {options.samples} samples each, sampling seeds {meta['seeds']} (± half their spread).\n\n")
    (out / "families.md").write_text(header + markdown(results))
    if options.card:
        update_card(Path(options.card), header.split("\n", 2)[2] + markdown(results).split("\n\n")[0] + "\n",
                    "recipe" if models else "families")
    print((out / "families.md").read_text())
    return results


BEGIN, END = "<!-- families table: begin (react-ros families --card) -->", "<!-- families table: end -->"
RECIPE_BEGIN, RECIPE_END = "<!-- recipe table: begin (react-ros recipe --card) -->", "<!-- recipe table: end -->"


def update_card(page: Path, table: str, kind: str = "families") -> None:
    """Replace what lies between the page's two markers of `kind` (families: the shipped model on every family;
    recipe: each family's own model) with `table`."""
    begin, end = (BEGIN, END) if kind == "families" else (RECIPE_BEGIN, RECIPE_END)
    text = page.read_text()
    if begin not in text or end not in text:
        raise ValueError(f"{page}: no {kind} markers ({begin} ... {end}) to put the table between")
    head, rest = text.split(begin, 1)
    page.write_text(head + begin + "\n" + table + rest[rest.index(end):])


def write_json(path: Path, meta: dict, results: dict[str, dict[str, dict[str, float]]]) -> None:
    """A families report as strict JSON (undefined values, NaN, as null); `read_json` reads it back."""
    clean = {f: {m: {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                 for m, r in rows.items()} for f, rows in results.items()}
    path.write_text(json.dumps({"meta": meta, "results": clean}, indent=2, default=str))


def read_json(path: Path) -> tuple[dict, dict[str, dict[str, dict[str, float]]]]:
    """(meta, results) of a report `write_json` wrote, nulls back to NaN (what `verdict` and `markdown` compare)."""
    doc = json.loads(Path(path).read_text())
    return doc["meta"], {f: {m: {k: (float("nan") if v is None else v) for k, v in r.items()} for m, r in rows.items()}
                         for f, rows in doc["results"].items()}


def _argv(options: FamilyOptions, model: str | None) -> list[str]:
    """The options that decide the figures, as they would be typed."""
    values = {"out": options.out, "data-root": options.data_root, "sessions": options.sessions,
              "clips-per-session": options.clips_per_session, "min-seconds": options.min_seconds,
              "max-seconds": options.max_seconds, "data-seed": options.data_seed, "model": model,
              "samples": options.samples, "seed": options.seed, "seeds": options.seeds,
              "temperature": options.temperature, "noise-correlation": options.noise_correlation}
    argv = [f"--{k} {v}" for k, v in values.items() if v is not None]
    if options.families:
        argv.append("--families " + " ".join(options.families))
    if not options.online:
        argv.append("--no-online")
    if options.card:
        argv.append(f"--card {options.card}")
    return argv
