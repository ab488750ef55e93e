"""`react-ros recipe`: train one training recipe on every synthetic family, then score each family's model on
that family (issue 16: a recipe is general only if it learns listeners it was not designed on).

For each family: its data set (`evaluation.families.family_data`, shared with `react-ros families`), a run
directory `<runs>/<family>` trained with the recipe's config (resumed when the config and data are the ones it
was trained with, retrained from scratch otherwise), and a bundle with the shipped speaker-attribute estimator
(the renderer, hence the estimator's job, is the same in every family) so the online path runs too. Then the
families table, every model row against delayed mimicry, Mime, MeanSeq and the real reactions.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

DEFAULT_RECIPE = "config/training/recipe.yaml"


def add_commands(commands) -> None:
    from react_ros.evaluation.families import add_family_options

    parser = commands.add_parser(
        "recipe", help="train the recipe on every synthetic family and score each family's model on it")
    parser.add_argument("--config", default=DEFAULT_RECIPE, help="the training recipe (YAML, as `react-ros train`)")
    parser.add_argument("--runs", default="runs/recipe", help="one run directory per family")
    parser.add_argument("--jobs", type=int, default=1,
                        help="families trained at once, one process and one torch thread each (2 on a 2-core machine)")
    add_family_options(parser, out_default="docs/results/recipe")
    parser.set_defaults(func=run_recipe)


def train_family(config_path: str | Path, data: Path, run: Path, progress: bool = True) -> tuple[Path, float]:
    """Train the recipe on one family's data in `run` (or reuse a finished run of the same config and data);
    returns the bundle directory and the seconds its training took."""
    from react_ros.data.features import data_hash
    from react_ros.model.card import ModelCard
    from react_ros.model.files import ESTIMATOR_FILE, default_model_dir
    from react_ros.training.cli import _train_model, _write_bundle
    from react_ros.training.trainer import TrainConfig

    config = dataclasses.replace(TrainConfig.from_yaml(config_path), data=str(data), out=str(run))
    stamp = {"config": {k: v for k, v in config.to_dict().items() if k not in SAMPLING_KEYS},
             "data_hash": data_hash(str(data))}
    stamp_file, bundle = run / "recipe_stamp.json", run / "bundle"
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp and (bundle / "reaction.pt").is_file():
        ModelCard.read(bundle).with_sampling(config.sampling_setting()).write(bundle)
        shutil.copy(default_model_dir() / ESTIMATOR_FILE, bundle / ESTIMATOR_FILE)  # today's shipped estimator
        _calibrate(config, bundle, data, progress)
        return bundle, json.loads((run / "train_report.json").read_text())["seconds"]
    if run.exists():
        shutil.rmtree(run)  # another config or data: never resume from it
    run.mkdir(parents=True)
    started = time.perf_counter()
    report = {"command": f"react-ros train --config {config_path} --data {data} --out {run} --stages ae diffusion",
              "config": config.to_dict()}
    report.update(_train_model(config, ("ae", "diffusion"), True, progress, val_inputs=0))
    seconds = round(time.perf_counter() - started, 1)
    report["seconds"] = seconds
    shutil.copy(default_model_dir() / ESTIMATOR_FILE, run / "estimator.pt")
    _write_bundle(bundle, run, report)
    (run / "train_report.json").write_text(json.dumps(report, indent=2, default=float))
    stamp_file.write_text(json.dumps(stamp, indent=2))
    _calibrate(config, bundle, data, progress)
    return bundle, seconds


# What decides how a trained model is sampled, not its weights: changing them re-writes the card, never retrains.
SAMPLING_KEYS = ("sampling", "calibrate_diversity", "calibrate_amplitude")


def _calibrate(config, bundle: Path, data: Path, progress: bool) -> None:
    if config.calibrate_diversity > 0:
        from react_ros.training.calibrate import calibrate_bundle

        calibrate_bundle(bundle, data, config.calibrate_diversity, config.directions, progress)
    if config.calibrate_amplitude:
        from react_ros.training.calibrate import calibrate_bundle_amplitude

        calibrate_bundle_amplitude(bundle, data, config.directions, progress)


def _one_thread() -> None:
    """Parallel families share the cores: one torch thread per process (more would oversubscribe them)."""
    import torch

    torch.set_num_threads(1)


def run_recipe(args: argparse.Namespace) -> int:
    from react_ros.evaluation.families import family_data, family_names, run_families

    names = family_names(args)
    args.model = None  # each family's own model (run_families' per-family bundles)
    datas = {name: family_data(Path(args.data_root), name, args) for name in names}
    models, train_seconds = {}, {}
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, initializer=_one_thread) as pool:
            futures = {name: pool.submit(train_family, args.config, datas[name], Path(args.runs) / name, False)
                       for name in names}
            done = {name: future.result() for name, future in futures.items()}
    else:
        done = {name: train_family(args.config, datas[name], Path(args.runs) / name) for name in names}
    for name, (models[name], train_seconds[name]) in done.items():
        print(f"{name}: model {models[name]} (trained in {train_seconds[name]} s)", flush=True)
    args.command_line = "react-ros recipe " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["recipe"] else None
    return run_families(args, models, {"recipe": str(args.config), "train_seconds": train_seconds})
