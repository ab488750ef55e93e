"""`react-ros families`: how a model generalises across the synthetic families of listener behaviour.

For every family (`react_ros.data.families`) it makes a small data set (or reuses one made with the same
settings; videos only for the test split, which the online path reads), evaluates the model in the robot's direction (speaker -> listener), offline and online, beside
delayed mimicry (delay fitted on the family's training split), Mime, MeanSeq and the real reactions, and
writes one Markdown table and one JSON (plus each family's full report in a sub-directory).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DIRECTION = "speaker->listener"  # the robot's role
# (key, title, better direction) of the table's columns
COLUMNS = [("FRCorr_per_pred", "FRCorr/pred ↑", "high"), ("FRDist", "FRDist ↓", "low"), ("FRDiv", "FRDiv ↑", "high"),
           ("FRSyn", "FRSyn ↓", "low"), ("FRSyn_lag_median", "median lag", "none")]
ROWS = ["model (offline)", "model (online, from video+wav)", "Delayed mimicry",
        "Delayed mimicry (online, from video+wav)", "Mime", "MeanSeq", "GT", "GT, paired only"]


def add_commands(commands) -> None:
    parser = commands.add_parser(
        "families", help="per synthetic family: model vs delayed mimicry, Mime, MeanSeq, GT (robot's direction)")
    parser.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    add_family_options(parser)
    parser.set_defaults(func=run_families)


def add_family_options(parser, out_default: str = "docs/results/families") -> None:
    """The data, sampling and report options `react-ros families` and `react-ros recipe` share."""
    parser.add_argument("--out", default=out_default, help="report directory (families.md, .json)")
    parser.add_argument("--data-root", default="out/families_data", help="where the families' data sets live")
    parser.add_argument("--families", nargs="+", default=None, help="default: all")
    parser.add_argument("--sessions", type=int, default=15, help="sessions per family (60/20/20 %% train/val/test)")
    parser.add_argument("--clips-per-session", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=25.0)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=None, help="override the model card's sampling")
    parser.add_argument("--noise-correlation", type=float, default=None, help="override the model card's sampling")
    parser.add_argument("--no-online", action="store_true", help="skip the online path (no video rendering)")
    parser.add_argument("--card", default=None,
                        help="also put the verdict table between the families markers of this page (docs/model.md)")


def family_names(args: argparse.Namespace) -> list[str]:
    """The families the options name (default: all), checked against the known ones."""
    from react_ros.data.families import SUMMARIES

    names = args.families or list(SUMMARIES)
    unknown = [n for n in names if n not in SUMMARIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {', '.join(SUMMARIES)}")
    return names


def family_data(root: Path, name: str, args: argparse.Namespace) -> Path:
    """The family's data set under `root`, made unless one with the same settings is there already."""
    from react_ros.data.synth import SynthConfig, generate

    settings = {"family": name, "sessions": args.sessions, "clips_per_session": args.clips_per_session,
                "min_seconds": args.min_seconds, "max_seconds": args.max_seconds, "seed": args.data_seed,
                "video": "test" if not args.no_online else None}
    out = root / name
    stamp = out / "synth_settings.json"
    if stamp.is_file():
        made = json.loads(stamp.read_text())
        # a set made with the test videos serves a run without the online path too (never remake it without them)
        if made == settings or (settings["video"] is None and made == {**settings, "video": "test"}):
            return out
    generate(SynthConfig(out=out, sessions=args.sessions, clips_per_session=args.clips_per_session,
                         min_seconds=args.min_seconds, max_seconds=args.max_seconds, video=not args.no_online,
                         video_splits=("test",), seed=args.data_seed, family=name), progress=True)
    stamp.write_text(json.dumps(settings, indent=2))
    return out


def evaluate_family(data: Path, loaded, sampling, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    from react_ros.data.features import load_features
    from react_ros.data.mars import test_ground_truths
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
    outputs = {"model (offline)": offline_predictions(loaded.graphs, features, args.samples, args.seed, sampling,
                                                      progress=True)}
    if not args.no_online:  # the robot's path, through the front end the model was trained on
        ids = [t.id for t in tests]
        outputs["model (online, from video+wav)"] = online_predictions(
            loaded.graphs, loaded.estimator_fn, data, "test", ids, args.samples, args.seed, sampling, progress=True,
            face_frontend=card.face_frontend)
        outputs[ONLINE_MIMICRY] = online_mimicry_predictions(loaded.estimator_fn, data, "test", tests, args.samples,
                                                             face_frontend=card.face_frontend)
    results = {name: score(p, tests) for name, p in outputs.items()}
    results.update(reference_scores(data, tests, args.samples, args.seed))
    for metrics in results.values():
        metrics["inputs"] = len(tests)
    return results


def verdict(rows: dict[str, dict[str, float]]) -> dict[str, bool]:
    """Issue 16's checks for one family's model row (robot's direction, offline): beats delayed mimicry and Mime
    on FRCorr and on FRDist, FRDiv at least half the spread among the real reactions, median lag within 3
    frames of the real listeners'."""
    model, mimicry, mime = rows["model (offline)"], rows["Delayed mimicry"], rows["Mime"]
    gt_lag = _real_lag(rows)
    return {"FRCorr": model["FRCorr_per_pred"] > max(mimicry["FRCorr_per_pred"], mime["FRCorr_per_pred"]),
            "FRDist": model["FRDist"] < min(mimicry["FRDist"], mime["FRDist"]),
            "FRDiv": model["FRDiv"] >= 0.5 * rows["GT"]["FRDiv"],
            "lag": bool(abs(model["FRSyn_lag_median"] - gt_lag) <= 3)}


def _real_lag(rows: dict[str, dict[str, float]]) -> float:
    """The real listeners' median lag (one real reaction per input), NaN when the rows lack it."""
    return rows.get("GT, paired only", {}).get("FRSyn_lag_median", float("nan"))


def markdown(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """A verdict per family, then every family's rows."""
    lines = ["| family | model FRCorr/pred (online) | delayed mimicry (delay) | Mime | model FRDist | delayed mimicry "
             "FRDist | Mime FRDist | model FRDiv (GT) | model lag (GT) | beats delayed mimicry and Mime on both | "
             "all checks |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for family, rows in results.items():
        model, mimicry, mime = rows["model (offline)"], rows["Delayed mimicry"], rows["Mime"]
        online = rows.get("model (online, from video+wav)", {}).get("FRCorr_per_pred")
        delay = next((v for k, v in mimicry.items() if k.startswith("delay_frames")), float("nan"))
        checks = verdict(rows)
        wins = checks["FRCorr"] and checks["FRDist"]
        failed = [k for k, ok in checks.items() if not ok]
        gt_lag = _real_lag(rows)
        lines.append(f"| {family} | {model['FRCorr_per_pred']:.3f}" + (f" ({online:.3f})" if online else "")
                     + f" | {mimicry['FRCorr_per_pred']:.3f} ({delay:.0f} fr) | {mime['FRCorr_per_pred']:.3f} | "
                     f"{model['FRDist']:.1f} | {mimicry['FRDist']:.1f} | {mime['FRDist']:.1f} | "
                     f"{model['FRDiv']:.4f} ({rows['GT']['FRDiv']:.4f}) | {model['FRSyn_lag_median']:.0f} ({gt_lag:.0f}) | "
                     f"{'yes' if wins else '**no**'} | {'yes' if not failed else '**no**: ' + ', '.join(failed)} |")
    lines += ["", "| family | method | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
              "| --- | --- |" + " ---: |" * len(COLUMNS)]
    for family, rows in results.items():
        for method in ROWS:
            if method in rows:
                cells = [_cell(rows[method].get(key)) for key, _, _ in COLUMNS]
                lines.append(f"| {family} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None or not np.isfinite(float(value)):
        return "–"
    return f"{float(value):.4f}" if abs(float(value)) < 1 else f"{float(value):.2f}"


def run_families(args: argparse.Namespace, models: dict[str, Path] | None = None, extra_meta: dict | None = None) -> int:
    """models: a model bundle per family (each family's own training, `react-ros recipe`); default: args.model
    for every family."""
    import torch

    from react_ros.data.families import SUMMARIES
    from react_ros.evaluation.cli import _load
    from react_ros.evaluation.report import write_report

    names = family_names(args)
    args.backend, args.engine_dir = "torch", None
    # one model for every family, or each family's own (loaded in the loop)
    loaded, sampling = _load(args) if not models else (None, None)
    info = {"model": loaded.info} if not models else {"models": {f: str(m) for f, m in models.items()}}
    out, root = Path(args.out), Path(args.data_root)
    results, seconds = {}, {}
    threads = torch.get_num_threads()
    for name in names:
        started = time.perf_counter()
        data = family_data(root, name, args)
        # The metrics (numba's parallel code) leave torch with another thread count: from 1 to 2 here, which made
        # the next family's generation 27x slower on a loaded 2-core machine. Each family starts like the first.
        torch.set_num_threads(threads)
        if models:
            loaded, sampling = _load(argparse.Namespace(**{**vars(args), "model": str(models[name])}))
        results[name] = evaluate_family(data, loaded, sampling, args)
        seconds[name] = round(time.perf_counter() - started, 1)
        write_report(out / name, results[name], {"family": name, "data": str(data), "directions": DIRECTION},
                     f"REACT metrics, family {name} ({DIRECTION}, test split)")
        print(f"{name}: {seconds[name]} s", flush=True)
    meta = {"command": getattr(args, "command_line", None) or "react-ros families " + " ".join(_argv(args)), **info,
            **(extra_meta or {}), "sampling": sampling.__dict__, "direction": DIRECTION, "seconds": seconds,
            "summaries": {n: SUMMARIES[n] for n in names}}
    out.mkdir(parents=True, exist_ok=True)
    clean = {f: {m: {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                 for m, r in rows.items()} for f, rows in results.items()}
    (out / "families.json").write_text(json.dumps({"meta": meta, "results": clean}, indent=2, default=str))
    inputs = {f: int(next(iter(rows.values()))["inputs"]) for f, rows in results.items()}
    header = (f"# Families: {DIRECTION}, test split\n\n`{meta['command']}`; test inputs per family: "
              + ", ".join(f"{f} {n}" for f, n in inputs.items()) + f"; {args.samples} samples each.\n\n")
    (out / "families.md").write_text(header + markdown(results))
    if args.card:
        update_card(Path(args.card), header.split("\n", 2)[2] + markdown(results).split("\n\n")[0] + "\n",
                    "recipe" if models else "families")
    print((out / "families.md").read_text())
    return 0


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


def _argv(args: argparse.Namespace) -> list[str]:
    """The options that decide the figures, as they would be typed."""
    keys = ("out", "data_root", "sessions", "clips_per_session", "min_seconds", "max_seconds", "data_seed", "model",
            "samples", "seed", "temperature", "noise_correlation")
    argv = [f"--{k.replace('_', '-')} {getattr(args, k)}" for k in keys if getattr(args, k) is not None]
    if args.families:
        argv.append("--families " + " ".join(args.families))
    if args.no_online:
        argv.append("--no-online")
    if args.card:
        argv.append(f"--card {args.card}")
    return argv
