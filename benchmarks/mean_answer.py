"""Issue 26's learning check in minutes, without training the latent stages: the recipe model's mean reaction.

    python benchmarks/mean_answer.py --data-root out/families30 [--families default mirror ...] \
        [--config config/training/recipe.yaml] [--out benchmarks/results/mean_answer.json]

With `mean_latent` (the recipe's), a model's answer at temperature 0 is its mean path exactly, whatever its
decoder and diffusion stage learned (model/autoencoder.py: the decoder's residual is centred). So the learning
check (temperature 0 against the best deterministic predictor, delayed mimicry and Mime) can be measured by
fitting the mean path the way `react-ros train` does (training/mean_path.py, on the family's training and
validation splits), calibrating its amplitude the way the recipe does (training/calibrate.py, validation split,
at temperature 0 without the listener style), and generating through the robot's own generator
(model/generator.py: windows, border blend, decode graph) on the test split. A trained model's card keeps the
same gains for its temperature-0 row (`mean_reaction`, measured at temperature 0 by the same calibration).
Prints a Markdown table (one row per family) and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from react_ros.evaluation.families import LEARNING_MARGIN, MODEL, MODEL_T0
from react_ros.evaluation.families import verdict as family_verdict


def mean_answer(data: Path, config_path: str, samples: int = 10) -> dict:
    """The recipe's mean reaction on `data`'s test split, with and without its amplitude gains, and the references."""
    import torch

    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.deterministic import BEST, deterministic_scores
    from react_ros.evaluation.pipeline import offline_predictions, reference_scores, score
    from react_ros.model.reaction_model import ReactionModel
    from react_ros.runtime.torch_backend import TorchGraphs
    from react_ros.training.calibrate import calibrate_amplitude
    from react_ros.training.trainer import TrainConfig, fit_mean_path

    config = TrainConfig.from_yaml(config_path)
    if not (config.model.mean_latent and config.model.speaker_path == "mean"):
        raise SystemExit(f"{config_path}: its temperature 0 is not its mean path (needs speaker_path: mean and "
                         "mean_latent: true)")
    direction = config.directions
    torch.manual_seed(config.seed)
    model = ReactionModel(config.model).eval()
    started = time.perf_counter()
    train, val = (load_features(data, split, direction) for split in ("train", "val"))
    # the trainer's own samplers and seeds (training/trainer.py), so the fit is the one `train` makes
    fit = fit_mean_path(model, config, train, val)
    graphs = TorchGraphs(model)
    mean = config.sampling_setting().mean_answer()
    gained, amplitude = calibrate_amplitude(graphs, data, mean, directions=direction, samples=1)
    tests = test_ground_truths(data, "test", directions=direction)
    features = load_features(data, "test", direction)
    rows = {name: score(offline_predictions(graphs, features, samples, 0, setting), tests)
            for name, setting in (("mean reaction, no gains", mean), ("mean reaction", gained))}
    rows.update(reference_scores(data, tests, samples, 0))
    rows.update(deterministic_scores(data, tests, samples, direction))
    keep = ("FRCorr_per_pred", "FRDist", "FRDiv", "FRSyn_lag_median", "predictor")
    return {"rows": {name: {k: row[k] for k in keep if k in row} for name, row in rows.items()},
            "mean_path_fit": fit, "amplitude": {k: amplitude[k] for k in ("gains", "applied")},
            "inputs": len(tests), "seconds": round(time.perf_counter() - started, 1), "best": BEST}


def verdict(rows: dict) -> dict:
    """Issue 26's check 1 on one family's rows: the families table's own verdict, the mean reaction as the
    model's temperature-0 row."""
    return {"learning": family_verdict({MODEL: rows["mean reaction"], MODEL_T0: rows["mean reaction"], **rows})["learning"]}


def markdown(results: dict) -> str:
    lines = ["| family | mean reaction (no gains) | best deterministic | bar (best - 0.02) | delayed mimicry | Mime | "
             "FRDist: mean / DM / Mime | learning (check 1) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for family, result in results.items():
        rows, check = result["rows"], verdict(result["rows"])
        mean, best = rows["mean reaction"], rows["Best deterministic"]
        lines.append(
            f"| {family} | {mean['FRCorr_per_pred']:.3f} ({rows['mean reaction, no gains']['FRCorr_per_pred']:.3f}) | "
            f"{best['FRCorr_per_pred']:.3f} ({best['predictor']}) | {best['FRCorr_per_pred'] - LEARNING_MARGIN:.3f} | "
            f"{rows['Delayed mimicry']['FRCorr_per_pred']:.3f} | {rows['Mime']['FRCorr_per_pred']:.3f} | "
            f"{mean['FRDist']:.1f} / {rows['Delayed mimicry']['FRDist']:.1f} / {rows['Mime']['FRDist']:.1f} | "
            f"{'yes' if check['learning'] else '**no**'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default="out/families30")
    parser.add_argument("--families", nargs="+", default=None, help="default: all seven")
    parser.add_argument("--config", default="config/training/recipe.yaml")
    parser.add_argument("--out", default="benchmarks/results/mean_answer.json")
    args = parser.parse_args()
    from react_ros.evaluation.families import family_names

    command = "python benchmarks/mean_answer.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()
        if v is not None)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for family in family_names(args.families):
        results[family] = mean_answer(Path(args.data_root) / family, args.config)
        results[family]["verdict"] = verdict(results[family]["rows"])
        print(f"{family}: {results[family]['seconds']} s", flush=True)
        # after every family: a long run stopped early keeps what it measured
        Path(args.out).write_text(json.dumps({"command": command, "results": results}, indent=1, default=float))
    print(markdown(results))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
