"""`react-ros train` and `react-ros recipe`: parse the command line, call the training library
(training/run.py, training/recipe.py), print. Nothing here is imported by library code."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from react_ros.training.run import ALL_STAGES

DEFAULT_RECIPE = "config/training/recipe.yaml"


def add_commands(commands) -> None:
    from react_ros.evaluation.cli import add_family_options

    train = commands.add_parser("train", help="train the reaction model and the speaker-attribute estimator")
    train.add_argument("--config", help="YAML training config (see config/training/demo_model.yaml)")
    train.add_argument("--data", help="MARS-layout data set root (overrides the config)")
    train.add_argument("--out", help="run directory for checkpoints (overrides the config)")
    train.add_argument("--perceived", help="train on the speaker attributes of this `react-ros perceive` tree of "
                                           "the data (sets speaker_attributes: perceived; overrides the config)")
    train.add_argument("--stages", nargs="+", choices=ALL_STAGES, default=list(ALL_STAGES))
    train.add_argument("--fresh", action="store_true", help="ignore existing checkpoints instead of resuming")
    train.add_argument("--bundle", help="also write the runtime bundle (fp16 model + estimator + card) here")
    train.add_argument("--val-inputs", type=int, default=6, help="validation inputs scored with the REACT metrics")
    train.add_argument("--strict", action="store_true",
                       help="exit non-zero when the trained model's samples do not differ (a collapsed latent)")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(func=run_train)

    recipe = commands.add_parser(
        "recipe", help="train the recipe on every synthetic family and score each family's model on it")
    recipe.add_argument("--config", default=DEFAULT_RECIPE, help="the training recipe (YAML, as `react-ros train`)")
    recipe.add_argument("--runs", default="runs/recipe", help="one run directory per family")
    recipe.add_argument("--jobs", type=int, default=1,
                        help="families trained at once, one process and one torch thread each (2 on a 2-core machine)")
    recipe.add_argument("--strict", action="store_true",
                        help="exit non-zero when a family's model has a collapsed latent (samples that do not differ)")
    add_family_options(recipe, out_default="docs/results/recipe")
    recipe.set_defaults(func=run_recipe)

    coefficients = commands.add_parser(
        "coefficients", help="the 3DMM coefficient head: `coefficients fit` adds one to a bundle trained before")
    actions = coefficients.add_subparsers(dest="action", required=True)
    fit = actions.add_parser("fit", help="fit the head on a data set with coefficients and add it to a bundle")
    fit.add_argument("--data", required=True, help="MARS-layout data set root with coefficients/")
    fit.add_argument("--bundle", required=True, help="model bundle directory")
    fit.set_defaults(func=run_coefficients_fit)


def _command_line(name: str) -> str:
    return f"react-ros {' '.join(sys.argv[1:])}" if sys.argv[1:2] == [name] else ""


def run_train(args: argparse.Namespace) -> int:
    from react_ros.training.run import train_run
    from react_ros.training.trainer import TrainConfig

    config = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    overrides = {k: v for k, v in (("data", args.data), ("out", args.out)) if v}
    if args.perceived:
        overrides.update(speaker_attributes="perceived", perceived=args.perceived)
    config = dataclasses.replace(config, **overrides)
    report = train_run(config, tuple(args.stages), resume=not args.fresh, progress=not args.quiet,
                       val_inputs=args.val_inputs, bundle=Path(args.bundle) if args.bundle else None,
                       command=_command_line("train"))
    print(f"trained {', '.join(args.stages)} in {report['seconds']} s -> {config.out}")
    return _collapse_status([("model", report.get("diversity_calibration"))], args.strict)


def run_coefficients_fit(args: argparse.Namespace) -> int:
    from react_ros.training.coefficients import add_coefficient_head

    if not Path(args.bundle).is_dir():
        raise FileNotFoundError(f"model bundle not found: {args.bundle}")
    report = add_coefficient_head(Path(args.bundle), args.data)
    print(f"coefficient head -> {args.bundle} (validation R^2 by group: {report['val_r2']})")
    return 0


def run_recipe(args: argparse.Namespace) -> int:
    from react_ros.evaluation.cli import family_options
    from react_ros.evaluation.families import run_families
    from react_ros.training.recipe import train_families

    options = family_options(args, command_line=_command_line("recipe"))
    trained = train_families(args.config, options, Path(args.runs), jobs=args.jobs)
    for name, (bundle, seconds) in trained.items():
        print(f"{name}: model {bundle} (trained in {seconds} s)", flush=True)
    models = {name: bundle for name, (bundle, _) in trained.items()}
    run_families(options, models=models,
                 extra_meta={"recipe": str(args.config), "train_seconds": {n: s for n, (_, s) in trained.items()}})
    from react_ros.model.card import ModelCard

    calibrations = [(name, ModelCard.read(bundle).extra.get("diversity_calibration")) for name, bundle in models.items()]
    return _collapse_status(calibrations, args.strict)


def _collapse_status(calibrations, strict: bool) -> int:
    """Say loudly which models have a collapsed latent (training/calibrate.py); with --strict that fails."""
    collapsed = [name for name, report in calibrations if (report or {}).get("collapsed")]
    for name in collapsed:
        print(f"react-ros: COLLAPSED LATENT: {name}: its samples do not differ at any calibrated temperature "
              "(a failed training, not a model; see the card's diversity_calibration)", file=sys.stderr)
    return 3 if strict and collapsed else 0
