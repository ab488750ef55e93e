"""`react-ros generate` (K reactions per test input into an .npz) and `react-ros eval` (the REACT metrics
of a predictions file or of a model, beside the trivial references, with plots and a side-by-side video)."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

PERCEIVED_HELP = ("the speaker attributes of this `react-ros perceive` tree of --data, for a model trained on "
                  "perceived speakers (default for such a model: the split perceived once into the cache)")


def add_commands(commands) -> None:
    generate = commands.add_parser("generate", help="generate reactions for every input of a split (offline)")
    generate.add_argument("--data", required=True, help="MARS-layout data set root")
    generate.add_argument("--split", default="test")
    generate.add_argument("--out", required=True, help="predictions file (.npz)")
    generate.add_argument("--perceived", default=None, help=PERCEIVED_HELP)
    _model_options(generate)
    generate.set_defaults(func=run_generate)

    evaluate = commands.add_parser("eval", help="REACT metrics of predictions or a model, with references")
    evaluate.add_argument("--data", required=True, help="MARS-layout data set root")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--predictions", default="demo",
                          help="a predictions .npz from `react-ros generate`, a model directory, or 'demo'")
    evaluate.add_argument("--out", required=True, help="report directory")
    evaluate.add_argument("--online", action="store_true",
                          help="also run the robot's online path (video+wav -> front end -> streaming generator)")
    evaluate.add_argument("--face-frontend", default="auto", choices=("auto", "haar", "mesh"),
                          help="the online path's speaker front end (docs/perception.md; auto: the one the model "
                               "card says the model was trained on)")
    evaluate.add_argument("--perceived", default=None, help=PERCEIVED_HELP)
    evaluate.add_argument("--no-references", action="store_true")
    evaluate.add_argument("--coefficients", action="store_true",
                          help="also score the reactions as 3DMM coefficients through the model's coefficient head "
                               "(the data set needs coefficients) and write them in MARS's layout under "
                               "OUT/coefficients/predicted")
    evaluate.add_argument("--videos", type=int, default=1, help="side-by-side videos of the first inputs")
    _model_options(evaluate)
    evaluate.set_defaults(func=run_eval)

    families = commands.add_parser(
        "families", help="per synthetic family: model vs delayed mimicry, Mime, MeanSeq, GT (robot's direction)")
    families.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    add_family_options(families)
    families.set_defaults(func=run_families_command)


def add_family_options(parser, out_default: str = "docs/results/families") -> None:
    """The data, sampling and report options `react-ros families` and `react-ros recipe` share."""
    parser.add_argument("--out", default=out_default, help="report directory (families.md, .json)")
    parser.add_argument("--data-root", default="out/families30", help="where the families' data sets live")
    parser.add_argument("--families", nargs="+", default=None, help="default: all")
    parser.add_argument("--sessions", type=int, default=30,
                        help="sessions per family (60/20/20 %% train/val/test; 30: 18 test inputs, issue 26)")
    parser.add_argument("--clips-per-session", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=25.0)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3,
                        help="sampling seeds (seed, seed+1, ...): each figure is reported with its spread over them")
    parser.add_argument("--temperature", type=float, default=None, help="override the model card's sampling")
    parser.add_argument("--noise-correlation", type=float, default=None, help="override the model card's sampling")
    parser.add_argument("--no-online", action="store_true", help="skip the online path (no video rendering)")
    parser.add_argument("--card", default=None,
                        help="also put the verdict table between the families markers of this page (docs/model.md)")


def family_options(args: argparse.Namespace, command_line: str = ""):
    """The typed options of the families library from the parsed command line."""
    from react_ros.evaluation.families import FamilyOptions

    return FamilyOptions(
        out=args.out, data_root=args.data_root, families=args.families, sessions=args.sessions,
        clips_per_session=args.clips_per_session, min_seconds=args.min_seconds, max_seconds=args.max_seconds,
        data_seed=args.data_seed, samples=args.samples, seed=args.seed, seeds=args.seeds,
        temperature=args.temperature, noise_correlation=args.noise_correlation, online=not args.no_online,
        card=args.card, command_line=command_line)


def run_families_command(args: argparse.Namespace) -> int:
    import sys

    from react_ros.evaluation.families import run_families

    command = f"react-ros {' '.join(sys.argv[1:])}" if sys.argv[1:2] == ["families"] else ""
    run_families(family_options(args, command_line=command), model=args.model)
    return 0


def _model_options(parser) -> None:
    parser.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    parser.add_argument("--backend", default="torch", help="torch | onnxruntime | tensorrt")
    parser.add_argument("--engine-dir", default=None)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", default=None, help="dpm | ddim (default: the model's tuned setting)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--noise-correlation", type=float, default=None,
                        help="0..1, correlation of each sample's noise across windows (more diverse, less appropriate)")
    parser.add_argument("--directions", default="both", help="both | speaker->listener | listener->speaker")


def _load(args):
    """The graphs on the chosen backend and the sampling setting: the card's, overridden by the options given."""
    from react_ros.evaluation.loading import load_model
    from react_ros.model.card import given_settings

    return load_model(args.model, args.backend, args.engine_dir, given_settings(args))


def _card(args):
    from react_ros.model.card import ModelCard

    return ModelCard.read(None if args.model in (None, "demo") else args.model)


def run_generate(args: argparse.Namespace) -> int:
    from react_ros.data.features import load_features
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.evaluation.speakers import speaker_source

    loaded, sampling = _load(args)
    perceived = speaker_source(_card(args), args.data, args.split, getattr(args, "perceived", None))
    features = load_features(args.data, args.split, args.directions, perceived=perceived)
    predictions = offline_predictions(loaded.graphs, features, args.samples, args.seed, sampling, progress=True)
    save_predictions(Path(args.out), predictions, {"model": loaded.info, "sampling": sampling.__dict__,
                                                   "seed": args.seed, "split": args.split})
    print(f"wrote {len(predictions)} inputs x {args.samples} reactions -> {args.out}")
    return 0


def save_predictions(path: Path, predictions: dict[str, np.ndarray], meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = list(predictions)
    np.savez_compressed(path, ids=np.array(ids), meta=np.array(json.dumps(meta, default=str)),
                        **{f"pred_{i}": predictions[clip_id].astype(np.float32) for i, clip_id in enumerate(ids)})


def load_predictions(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        if "ids" not in data:
            raise ValueError(f"{path}: not a react-ros predictions file (no 'ids' array)")
        ids = [str(i) for i in data["ids"]]
        predictions = {clip_id: data[f"pred_{i}"] for i, clip_id in enumerate(ids)}
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
    return predictions, meta


def run_eval(args: argparse.Namespace) -> int:
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import (
        ONLINE_MIMICRY,
        offline_predictions,
        online_mimicry_predictions,
        online_predictions,
        reference_scores,
        score,
    )
    from react_ros.evaluation.report import write_report
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import resolve_face_frontend

    started = time.perf_counter()
    head = _coefficient_head(args) if args.coefficients else None  # before any work: a bundle without one is an error
    tests = test_ground_truths(args.data, args.split, directions=args.directions)
    results: dict[str, dict[str, float]] = {}
    outputs: dict[str, dict[str, np.ndarray]] = {}
    meta: dict = {"data": args.data, "split": args.split, "inputs": len(tests), "samples": args.samples,
                  "seed": args.seed, "directions": args.directions}
    source = Path(args.predictions)
    if source.suffix == ".npz":
        outputs["predictions"], meta["predictions"] = load_predictions(source)
    else:
        if args.predictions != "demo":
            args.model = args.predictions
        loaded, sampling = _load(args)
        meta.update(model=loaded.info, sampling=sampling.__dict__)
        card = _card(args)
        perceived = speaker_source(card, args.data, args.split, args.perceived)
        features = load_features(args.data, args.split, args.directions, perceived=perceived)
        meta["perceived"] = perceived
        args.face_frontend = resolve_face_frontend(args.face_frontend, card.face_frontend)
        outputs["model (offline)"] = offline_predictions(loaded.graphs, features, args.samples, args.seed, sampling,
                                                         progress=True)
        if args.online:
            if loaded.estimator_fn is None and args.face_frontend == "haar":
                raise ValueError("--online needs a model bundle with a speaker-attribute estimator")
            meta["face_frontend"] = args.face_frontend
            outputs["model (online, from video+wav)"] = online_predictions(
                loaded.graphs, loaded.estimator_fn, args.data, args.split, [t.id for t in tests], args.samples,
                args.seed, sampling, progress=True, face_frontend=args.face_frontend)
            if not args.no_references:  # the robot's simplest behaviour, through the same front end
                outputs[ONLINE_MIMICRY] = online_mimicry_predictions(loaded.estimator_fn, args.data, args.split,
                                                                     tests, args.samples, progress=True,
                                                                     face_frontend=args.face_frontend)
    for name, predictions in outputs.items():
        results[name] = score(predictions, tests, progress=True)
    if not args.no_references:
        results.update(reference_scores(args.data, tests, args.samples, args.seed))
        meta.update({k: v for k, v in results["Delayed mimicry"].items() if k.startswith("delay_frames")})
    out = Path(args.out)
    if head is not None:
        _coefficient_report(args, tests, outputs, out, head)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    json_path, md_path = write_report(out, results, meta, f"REACT metrics: {args.data} ({args.split})")
    _figures(out, tests, outputs, args.videos)
    print(md_path.read_text())
    print(f"report -> {json_path}, {md_path}")
    return 0


def _coefficient_head(args: argparse.Namespace):
    """The coefficient head of the model whose reactions are scored (the bundle given as --predictions, else
    --model, else the shipped demo model)."""
    from react_ros.model.coefficient_head import CoefficientHead
    from react_ros.model.files import default_model_dir

    source = Path(args.predictions)
    given = args.predictions if source.suffix != ".npz" and args.predictions != "demo" else args.model
    bundle = Path(given) if given not in (None, "demo") else default_model_dir()
    head = CoefficientHead.load(bundle)
    if head is None:
        raise ValueError(f"--coefficients: {bundle} has no coefficient head (a model trained on a data set with "
                         "coefficients has one; `react-ros coefficients fit --data DIR --bundle DIR` adds one)")
    return head


def _coefficient_report(args: argparse.Namespace, tests, outputs: dict[str, dict[str, np.ndarray]], out: Path,
                        head) -> None:
    """The reactions as 3DMM coefficients (evaluation/coefficients.py): OUT/coefficients/metrics.{json,md} and the
    first output's samples in MARS's layout under OUT/coefficients/predicted."""
    from react_ros.evaluation.coefficients import coefficient_results, write_coefficients
    from react_ros.evaluation.pipeline import fit_mimicry_delays
    from react_ros.evaluation.report import write_report

    if not outputs:
        raise ValueError("--coefficients: no reactions to score")
    delays = fit_mimicry_delays(args.data, [t.direction for t in tests])
    results = coefficient_results(outputs, tests, head, args.data, delays, args.samples)
    meta = {"data": args.data, "split": args.split, "inputs": len(tests), "samples": args.samples,
            "head": head.report, **{f"delay_frames {d}": v for d, v in delays.items()}}
    _, md_path = write_report(out / "coefficients", results, meta, f"REACT metrics on 3DMM coefficients: {args.data} "
                              f"({args.split})")
    name, predictions = next(iter(outputs.items()))
    written = write_coefficients(out / "coefficients" / "predicted", predictions, tests, head)
    print(md_path.read_text())
    print(f"{len(written)} coefficient files of {name!r} -> {out / 'coefficients' / 'predicted'}")


def _figures(out: Path, tests, outputs: dict[str, dict[str, np.ndarray]], videos: int) -> None:
    from react_ros.evaluation.report import plot_attributes_over_time, plot_lag_histograms
    from react_ros.face.video import render_reactions_video
    from react_ros.metrics.synchrony import frsyn_scores

    if not outputs:
        return
    speakers = [t.speaker for t in tests]
    lags = {name: np.concatenate(frsyn_scores([p[t.id][:, : len(t.speaker)] for t in tests], speakers))
            for name, p in outputs.items()}
    lags["GT"] = np.concatenate(frsyn_scores([t.gts for t in tests], speakers))
    lags["GT, paired only"] = np.concatenate(frsyn_scores([t.gts[:1] for t in tests], speakers))
    plot_lag_histograms(out / "synchrony_lags.png", lags)
    name, predictions = next(iter(outputs.items()))
    for i, test in enumerate(tests[:3]):
        plot_attributes_over_time(out / f"attributes_over_time_{i}.png", test.speaker, test.listener,
                                  predictions[test.id][:, : len(test.speaker)], f"{name}: {test.id}")
    for i, test in enumerate(tests[:videos]):
        panels = {"speaker": test.speaker, "real listener": test.listener}
        for k, reaction in enumerate(predictions[test.id][:3]):
            panels[f"generated {k + 1}"] = reaction[: len(test.speaker)]
        render_reactions_video(out / f"side_by_side_{i}.mp4", panels)
