"""Make sure a backend has something to load before a node starts: `react-ros run`, the bundle tooling and the
benchmarks call this; the runtime itself never exports (runtime/onnxruntime_backend.find_export).

`ensure_onnx_export(model_dir, engine_dir, precision)`: the directory holding the `precision` ONNX graphs of
this model: engine_dir when it has them, else the cache keyed by the model hash, exported there once.
INT8 is never made silently: it needs calibration data (`react-ros export onnx --precision int8
--calib-data DIR`). `prepare_backends(...)` does it for the backends a run may load (requested + fallback).
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from react_ros.runtime.manifest import bundle_ids, load_manifest, matches_bundle
from react_ros.runtime.onnxruntime_backend import cache_dir_for, has_export

log = logging.getLogger(__name__)


def ensure_onnx_export(model_dir: str | Path | None, engine_dir: str | Path | None = None, precision: str = "fp32",
                       cache_dir: str | Path | None = None) -> tuple[Path, bool]:
    """(directory, exported_now)."""
    from react_ros.model.files import default_model_dir

    model_dir = Path(model_dir) if model_dir else default_model_dir()
    ids = bundle_ids(model_dir)
    if engine_dir is not None and has_export(engine_dir, ids, precision):
        return Path(engine_dir), False
    cache = Path(cache_dir) if cache_dir else cache_dir_for(ids)
    if has_export(cache, ids, precision):
        return cache, False
    if precision == "int8":
        raise FileNotFoundError(f"no int8 ONNX export of model {ids['reaction_model_sha256'][:16]} in "
                                f"{engine_dir or cache}: INT8 needs calibration data, run `react-ros export onnx "
                                f"--model {model_dir} --precision fp32 fp16 int8 --calib-data DIR --out DIR` and "
                                "pass that directory as engine_dir")
    try:
        manifest = load_manifest(cache)
        have = set(manifest["variants"]) if matches_bundle(manifest, ids) else set()
    except (FileNotFoundError, ValueError):
        have = set()
    from react_ros.export.onnx_export import export_bundle

    # int8_cpu (dynamic quantisation) needs no calibration data, so it can be made here too; int8 cannot
    precisions = tuple(p for p in ("fp32", "fp16", "int8_cpu") if p in have | {"fp32", precision})
    log.warning("exporting model %s to ONNX (%s) into %s (once)", ids["reaction_model_sha256"][:16],
                "+".join(precisions), cache)
    tmp = cache.parent / f".{cache.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    export_bundle(model_dir, tmp, precisions=precisions)
    shutil.rmtree(cache, ignore_errors=True)
    try:
        tmp.rename(cache)
    except OSError:  # another process finished the same export first: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return cache, True


def prepare_backends(backends, model_dir: str | Path | None = None, engine_dir: str | Path | None = None,
                     precision: str = "fp32") -> dict[str, Path]:
    """Export what the ONNX Runtime backend will load, if it is among `backends` (TensorRT engines are built on
    the robot with `react-ros export engines`, never here). Returns {backend: directory}."""
    out = {}
    if "onnxruntime" in [b for b in backends if b]:
        out["onnxruntime"], _ = ensure_onnx_export(model_dir, engine_dir, precision)
    return out
