"""One training recipe trained on every synthetic family (issue 16/26: a recipe is general only if it learns
listeners it was not designed on).

For each family: its data set (`evaluation.families.family_data`, shared with `react-ros families`), a run
directory `<runs>/<family>` trained with the recipe's config (resumed when the config and data are the ones it
was trained with, retrained from scratch otherwise), and a bundle with the shipped speaker-attribute estimator
(the renderer, hence the estimator's job, is the same in every family) so the online path runs too; then the
same calibration step as `react-ros train` (training/run.py)."""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

# What decides how a trained model is sampled, not its weights: changing them re-writes the card, never retrains.
SAMPLING_KEYS = ("sampling", "calibrate_diversity", "calibrate_amplitude", "calibrate_style")


def train_family(config_path: str | Path, data: Path, run: Path, progress: bool = True) -> tuple[Path, float]:
    """Train the recipe on one family's data in `run` (or reuse a finished run of the same config and data);
    returns the bundle directory and the seconds its training took."""
    from react_ros.data.features import data_hash
    from react_ros.model.card import ModelCard
    from react_ros.model.files import ESTIMATOR_FILE, default_model_dir
    from react_ros.training.run import calibrate, train_model, write_bundle
    from react_ros.training.trainer import TrainConfig

    config = dataclasses.replace(TrainConfig.from_yaml(config_path), data=str(data), out=str(run))
    stamp = {"config": {k: v for k, v in config.to_dict().items() if k not in SAMPLING_KEYS},
             "data_hash": data_hash(str(data))}
    stamp_file, bundle = run / "recipe_stamp.json", run / "bundle"
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp and (bundle / "reaction.pt").is_file():
        ModelCard.read(bundle).with_sampling(config.sampling_setting()).write(bundle)
        shutil.copy(default_model_dir() / ESTIMATOR_FILE, bundle / ESTIMATOR_FILE)  # today's shipped estimator
        calibrate(config, bundle, progress)
        return bundle, json.loads((run / "train_report.json").read_text())["seconds"]
    if run.exists():
        shutil.rmtree(run)  # another config or data: never resume from it
    run.mkdir(parents=True)
    started = time.perf_counter()
    report = {"command": f"react-ros train --config {config_path} --data {data} --out {run} --stages ae diffusion",
              "config": config.to_dict()}
    report.update(train_model(config, ("ae", "diffusion"), True, progress, val_inputs=0))
    seconds = round(time.perf_counter() - started, 1)
    report["seconds"] = seconds
    shutil.copy(default_model_dir() / ESTIMATOR_FILE, run / "estimator.pt")
    write_bundle(bundle, run, report)
    (run / "train_report.json").write_text(json.dumps(report, indent=2, default=float))
    stamp_file.write_text(json.dumps(stamp, indent=2))
    calibrate(config, bundle, progress)
    return bundle, seconds


def _train_one_thread(config_path: str | Path, data: Path, run: Path) -> tuple[Path, float]:
    """train_family in a pool worker. Parallel families share the cores: one torch thread per process, set for
    every family, not once per worker: a worker's calibration (numba's parallel metrics) leaves torch with two
    threads, and the second family a worker trained ran about 10x slower (four busy threads on two cores)."""
    import torch

    torch.set_num_threads(1)
    return train_family(config_path, data, run, False)


def train_families(config_path: str | Path, options, runs: Path, jobs: int = 1) -> dict[str, tuple[Path, float]]:
    """The recipe trained on every family `options` (evaluation.families.FamilyOptions) names, `jobs` at once:
    {family: (bundle, training seconds)}."""
    from react_ros.evaluation.families import family_data, family_names

    names = family_names(options.families)
    datas = {name: family_data(Path(options.data_root), name, options) for name in names}
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            futures = {name: pool.submit(_train_one_thread, config_path, datas[name], runs / name) for name in names}
            return {name: future.result() for name, future in futures.items()}
    return {name: train_family(config_path, datas[name], runs / name) for name in names}
