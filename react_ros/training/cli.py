"""`react-ros train`: the model's stages (reaction autoencoder, latent diffusion, attribute estimator) from
a YAML config, with checkpoints that resume, and a bundle (the files the runtime loads) at the end."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ALL_STAGES = ("ae", "diffusion", "estimator")


def add_commands(commands) -> None:
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
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from react_ros.training.trainer import TrainConfig

    config = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    overrides = {k: v for k, v in (("data", args.data), ("out", args.out)) if v}
    if args.perceived:
        overrides.update(speaker_attributes="perceived", perceived=args.perceived)
    config = dataclasses.replace(config, **overrides)
    config.perceived_root()
    if not config.data:
        raise ValueError("no data set: give --data DIR or `data:` in the config")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2))
    progress = not args.quiet
    started = time.perf_counter()
    report: dict = {"command": "react-ros " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("react-ros") else "",
                    "config": config.to_dict()}
    model_stages = tuple(s for s in args.stages if s != "estimator")
    if "estimator" in args.stages and model_stages:
        # Before the model trains, not after: a data set without training videos (react-ros families keeps
        # videos of the test split only) would otherwise fail at the estimator stage an hour later.
        from react_ros.data.pairs import DatasetError, scan

        for split in ("train", "val"):
            try:
                scan(config.data, split, require=("attributes", "video"))
            except DatasetError as error:
                raise DatasetError(f"{error}\nThe estimator stage trains on the {split} split's videos; "
                                   "without them, train the model only: --stages ae diffusion") from None
    if model_stages:
        report.update(_train_model(config, model_stages, not args.fresh, progress, args.val_inputs))
    if "estimator" in args.stages:
        report["estimator"] = _train_estimator(config, progress)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.bundle:
        _write_bundle(Path(args.bundle), out, report)
        if config.calibrate_diversity > 0:  # the recipe's sampling temperature, chosen on the validation split
            from react_ros.training.calibrate import calibrate_bundle

            report["diversity_calibration"] = calibrate_bundle(Path(args.bundle), config.data,
                                                               config.calibrate_diversity, config.directions,
                                                               progress, perceived=config.perceived_root())
        if config.calibrate_amplitude:  # then how much livelier the shown reactions must be, on the same split
            from react_ros.training.calibrate import calibrate_bundle_amplitude

            report["amplitude_calibration"] = calibrate_bundle_amplitude(Path(args.bundle), config.data,
                                                                         config.directions, progress,
                                                                         perceived=config.perceived_root())
    (out / "train_report.json").write_text(json.dumps(report, indent=2, default=float))
    print(f"trained {', '.join(args.stages)} in {report['seconds']} s -> {out}")
    return 0


def _train_model(config, stages, resume: bool, progress: bool, val_inputs: int) -> dict:
    from react_ros.data.features import data_hash, load_features
    from react_ros.training.trainer import Trainer

    perceived = config.perceived_root()
    train = load_features(config.data, "train", config.directions, progress, perceived=perceived)
    val = load_features(config.data, "val", config.directions, progress, perceived=perceived)
    metric_fn = _validation_metrics(config.data, val_inputs, perceived=perceived) if val_inputs > 0 else None
    trainer = Trainer(config, train, val, data_hash(config.data), progress, metric_fn)
    trainer.run(stages, resume=resume)
    return {"data_hash": trainer.data_hash, "history": trainer.history,
            "parameters": trainer.model.parameter_count()}


def _validation_metrics(root: str, inputs: int, samples: int = 3, perceived: str | None = None):
    """REACT metrics of offline generation on the first validation inputs (speaker->listener, the robot's
    role), with the model being trained; a handful of inputs keeps a validation to seconds."""
    from react_ros.data.features import load_features
    from react_ros.data.protocol import test_ground_truths
    from react_ros.evaluation.pipeline import offline_predictions, score
    from react_ros.runtime.torch_backend import TorchGraphs

    tests = test_ground_truths(root, "val", directions="speaker->listener")[:inputs]
    wanted = {t.id for t in tests}
    features = [f for f in load_features(root, "val", "speaker->listener", perceived=perceived) if f.id in wanted]

    def metric_fn(model) -> dict[str, float]:
        predictions = offline_predictions(TorchGraphs(model), features, samples=samples, seed=0)
        scores = score(predictions, tests)
        return {k: scores[k] for k in ("FRCorr_per_pred", "FRDist_per_pred", "FRDiv", "FRSyn", "FD_frame")}

    return metric_fn


def _train_estimator(config, progress: bool) -> dict:
    from react_ros.perception.estimator import save_estimator, train_estimator
    from react_ros.training.estimator_data import estimator_frames

    stage = config.estimator
    frames, targets = estimator_frames(config.data, "train", stage.frame_stride, stage.max_frames, config.seed,
                                       progress)
    model, metrics = train_estimator(frames, targets, epochs=stage.epochs, batch_size=stage.batch_size,
                                     lr=stage.lr, seed=config.seed, progress=progress)
    val_frames, val_targets = estimator_frames(config.data, "val", stage.frame_stride * 4, 4000, config.seed)
    from react_ros.perception.estimator import estimate

    error = estimate(model, val_frames) - val_targets
    metrics["val_split_mae"] = float(abs(error).mean())
    save_estimator(Path(config.out) / "estimator.pt", model, {"data": config.data, "metrics": metrics})
    return {k: v for k, v in metrics.items() if k != "epoch_loss"}


def _write_bundle(bundle: Path, run: Path, report: dict) -> None:
    from react_ros.model.bundle import save_bundle
    from react_ros.model.checkpoint import load_checkpoint
    from react_ros.perception.estimator import load_estimator

    model, meta = load_checkpoint(run / "diffusion.pt")
    estimator, estimator_meta = (load_estimator(run / "estimator.pt") if (run / "estimator.pt").exists()
                                 else (None, {}))
    trained_on = (meta.get("train_config") or {}).get("speaker_attributes", "labels")
    card = {"trained_with": report.get("command"), "data_hash": meta.get("data_hash"),
            # the robot must run the front end whose output the speaker condition was (docs/perception.md)
            "speaker_attributes": trained_on, "face_frontend": "mesh" if trained_on == "perceived" else "haar",
            "parameters": model.parameter_count(), "train_config": meta.get("train_config"),
            # every validation of the diffusion stage, not only the last: the card shows how training went
            "validation": (meta.get("history") or {}).get("diffusion", []),
            # an estimator trained by an earlier run of the same directory keeps its metrics on the card
            "estimator": report.get("estimator") or {k: v for k, v in estimator_meta.get("metrics", {}).items()
                                                     if k != "epoch_loss"}}
    # The recipe's own sampling setting: today's config's (sampling is not in the weights, so a finished run
    # re-bundled after the recipe's sampling changed gets the new setting), else the one it was trained with.
    sampling = (report.get("config") or {}).get("sampling") or (meta.get("train_config") or {}).get("sampling")
    if sampling:
        card["sampling"] = dict(sampling)
    keep = {k: meta[k] for k in ("stage", "step", "train_config", "data_hash") if k in meta}
    save_bundle(bundle, model, estimator, card, model_meta=keep, estimator_meta=estimator_meta)
    print(f"bundle -> {bundle}")
