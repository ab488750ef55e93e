"""One training run as a library call: the model's stages, the estimator, the bundle the runtime loads and the
calibration of how the bundle is sampled. `react-ros train` and `react-ros recipe` both call these, so a model
trained by either is made, bundled and calibrated the same way."""
from __future__ import annotations

import json
import time
from pathlib import Path

from react_ros.training.trainer import TrainConfig

ALL_STAGES = ("ae", "diffusion", "estimator")


class CollapsedLatent(RuntimeError):
    """A trained model whose samples do not differ: its latent carries nothing (a failed training, not a model)."""


def train_run(config: TrainConfig, stages: tuple[str, ...] = ALL_STAGES, resume: bool = True, progress: bool = True,
              val_inputs: int = 6, bundle: Path | None = None, command: str = "") -> dict:
    """Train `stages` of `config` in `config.out`; with `bundle`, also write the bundle there and calibrate its
    sampling. Returns the training report (also written to `<out>/train_report.json`)."""
    if not config.data:
        raise ValueError("no data set: give --data DIR or `data:` in the config")
    unknown = [s for s in stages if s not in ALL_STAGES]
    if unknown:
        raise ValueError(f"unknown training stages {unknown}; known: {', '.join(ALL_STAGES)}")
    config.perceived_root()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2))
    started = time.perf_counter()
    report: dict = {"command": command, "config": config.to_dict()}
    model_stages = tuple(s for s in stages if s != "estimator")
    if "estimator" in stages and model_stages:
        check_estimator_data(config)
    if model_stages:
        report.update(train_model(config, model_stages, resume, progress, val_inputs))
    if "estimator" in stages:
        report["estimator"] = train_estimator(config, progress)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if bundle is not None:
        write_bundle(Path(bundle), out, report)
        report.update(calibrate(config, Path(bundle), progress))
        from react_ros.training.coefficients import add_coefficient_head, has_coefficients

        if has_coefficients(config.data):  # the 3DMM coefficients beside the attributes (issue 31)
            report["coefficient_head"] = add_coefficient_head(Path(bundle), config.data)
    (out / "train_report.json").write_text(json.dumps(report, indent=2, default=float))
    return report


def check_estimator_data(config: TrainConfig) -> None:
    """Before the model trains, not after: a data set without training videos (react-ros families keeps videos of
    the test split only) would otherwise fail at the estimator stage an hour later."""
    from react_ros.data.pairs import DatasetError, scan

    for split in ("train", "val"):
        try:
            scan(config.data, split, require=("attributes", "video"))
        except DatasetError as error:
            raise DatasetError(f"{error}\nThe estimator stage trains on the {split} split's videos; "
                               "without them, train the model only: --stages ae diffusion") from None


def calibrate(config: TrainConfig, bundle: Path, progress: bool = True) -> dict:
    """How a freshly written bundle is sampled, chosen on the validation split of the data it was trained on: the
    temperature (calibrate_diversity), then the amplitude (calibrate_amplitude). The one calibration step after
    training, for `train` and `recipe` alike (the listener style first, when asked). Returns the reports by name."""
    from react_ros.training.calibrate import calibrate_bundle, calibrate_bundle_amplitude, calibrate_bundle_style

    reports = {}
    perceived = config.perceived_root()
    if config.calibrate_style:  # first: the temperature's diversity target then counts the style's
        reports["style_calibration"] = calibrate_bundle_style(bundle, config.data, config.directions, progress,
                                                              perceived=perceived)
    if config.calibrate_diversity > 0:
        reports["diversity_calibration"] = calibrate_bundle(bundle, config.data, config.calibrate_diversity,
                                                            config.directions, progress, perceived=perceived)
    if config.calibrate_amplitude:
        reports["amplitude_calibration"] = calibrate_bundle_amplitude(bundle, config.data, config.directions,
                                                                      progress, perceived=perceived)
    return reports


def train_model(config: TrainConfig, stages: tuple[str, ...], resume: bool, progress: bool, val_inputs: int) -> dict:
    from react_ros.data.features import data_hash, load_features
    from react_ros.training.trainer import Trainer

    perceived = config.perceived_root()
    train = load_features(config.data, "train", config.directions, progress, perceived=perceived)
    val = load_features(config.data, "val", config.directions, progress, perceived=perceived)
    metric_fn = validation_metrics(config.data, val_inputs, perceived=perceived) if val_inputs > 0 else None
    trainer = Trainer(config, train, val, data_hash(config.data), progress, metric_fn)
    trainer.run(stages, resume=resume)
    return {"data_hash": trainer.data_hash, "history": trainer.history,
            "parameters": trainer.model.parameter_count()}


def validation_metrics(root: str, inputs: int, samples: int = 3, perceived: str | None = None):
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


def train_estimator(config: TrainConfig, progress: bool) -> dict:
    from react_ros.perception.estimator import estimate, save_estimator, train_estimator
    from react_ros.training.estimator_data import estimator_frames

    stage = config.estimator
    frames, targets = estimator_frames(config.data, "train", stage.frame_stride, stage.max_frames, config.seed,
                                       progress)
    model, metrics = train_estimator(frames, targets, epochs=stage.epochs, batch_size=stage.batch_size,
                                     lr=stage.lr, seed=config.seed, progress=progress)
    val_frames, val_targets = estimator_frames(config.data, "val", stage.frame_stride * 4, 4000, config.seed)
    error = estimate(model, val_frames) - val_targets
    metrics["val_split_mae"] = float(abs(error).mean())
    save_estimator(Path(config.out) / "estimator.pt", model, {"data": config.data, "metrics": metrics})
    return {k: v for k, v in metrics.items() if k != "epoch_loss"}


def write_bundle(bundle: Path, run: Path, report: dict) -> None:
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
