"""Inference backends behind one interface: `load_graphs(name, ...)` returns the three graphs the
generator runs (condition, denoise, decode; see model.generator.ReactionGraphs), the speaker-attribute
estimator function and a description of what was loaded (backend, precision, model/ONNX/engine ids) for
diagnostics and recordings.

Backends: "torch" (reference), "onnxruntime" (any CPU; fp32 | fp16 | int8 ONNX files), "tensorrt"
(Jetson / NVIDIA GPUs; engines built by `react-ros export engines`).

When the requested backend cannot load (module not installed, engine built for another GPU or
TensorRT, files missing) `load_graphs` raises BackendUnavailableError saying why; with `fallback=` it
logs a warning and loads the fallback backend (fp32) instead, and `info` records
{"backend": actual, "requested": ..., "fallback_reason": ...}.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8", "int8_cpu")  # int8_cpu: dynamic INT8 for ONNX Runtime on CPUs only


class BackendUnavailableError(RuntimeError, ValueError):
    """The requested backend cannot load here (a ValueError too, so the CLI prints it without a traceback)."""


@dataclass
class LoadedGraphs:
    graphs: object  # ReactionGraphs
    estimator_fn: object | None  # EstimatorFn: (B,1,64,64) float32 0..1 -> (B,25)
    info: dict = field(default_factory=dict)  # backend, model/engine ids, precision: for diagnostics


def _model_dir(model_dir: str | Path | None) -> Path:
    from react_ros.model.bundle import default_model_dir

    return Path(model_dir) if model_dir else default_model_dir()


def _load_torch(model_dir, threads) -> LoadedGraphs:
    from react_ros.model.bundle import load_bundle
    from react_ros.perception.frontend import torch_estimator_fn
    from react_ros.runtime.torch_backend import TorchGraphs

    bundle = load_bundle(model_dir)
    estimator_fn = torch_estimator_fn(bundle.estimator) if bundle.estimator is not None else None
    return LoadedGraphs(TorchGraphs(bundle.model, threads), estimator_fn,
                        {"backend": "torch", "precision": "fp32", "model_dir": str(bundle.directory), **bundle.ids})


def _load_onnxruntime(model_dir, engine_dir, threads, precision, cache_dir, sample_graphs) -> LoadedGraphs:
    from react_ros.runtime.onnxruntime_backend import OnnxGraphs, find_export

    directory = find_export(model_dir, engine_dir, precision, cache_dir)
    graphs = OnnxGraphs(directory, precision, threads, use_sample_graphs=sample_graphs)
    info = {"backend": "onnxruntime", "precision": precision, "model_dir": str(model_dir),
            **{k: v for k, v in graphs.manifest["model"].items() if k.endswith("sha256")},
            "onnx_dir": str(directory), "onnx_ids": graphs.graph_ids,
            "threads": threads, "sample_graphs": sorted(graphs.samplers.values())}
    return LoadedGraphs(graphs, graphs.estimator_fn(), info)


def _load_tensorrt(model_dir, engine_dir, precision) -> LoadedGraphs:
    from react_ros.runtime.tensorrt_backend import TensorRTGraphs, built_precisions, require_tensorrt

    require_tensorrt()
    if engine_dir is None:
        raise FileNotFoundError("the tensorrt backend needs engine_dir (engines built by `react-ros export engines`)")
    if precision is None:  # whatever was built, fastest first
        built = built_precisions(engine_dir)
        if not built:
            raise FileNotFoundError(f"{engine_dir}: no TensorRT engines (build with `react-ros export engines`)")
        precision = built[0]
    graphs = TensorRTGraphs(engine_dir, precision, model_dir=model_dir)
    info = {"backend": "tensorrt", "precision": precision, "model_dir": str(model_dir), **graphs.model_ids,
            "engine_dir": str(engine_dir), "engine_ids": graphs.engine_ids, "device": graphs.device_info}
    return LoadedGraphs(graphs, graphs.estimator_fn(), info)


def _load(backend, model_dir, engine_dir, threads, precision, cache_dir, sample_graphs=False) -> LoadedGraphs:
    if backend == "torch":
        if precision not in (None, "fp32"):
            raise ValueError(f"the torch backend runs fp32 only (asked for {precision})")
        return _load_torch(model_dir, threads)
    if backend == "onnxruntime":
        return _load_onnxruntime(_model_dir(model_dir), engine_dir, threads, precision or "fp32", cache_dir,
                                 sample_graphs)
    return _load_tensorrt(_model_dir(model_dir), engine_dir, precision)


def load_graphs(backend: str = "torch", model_dir: str | Path | None = None, engine_dir: str | Path | None = None,
                threads: int | None = None, fallback: str | None = None, *, precision: str | None = None,
                cache_dir: str | Path | None = None, sample_graphs: bool = False) -> LoadedGraphs:
    """Load the graphs on `backend` in `precision` (default: fp32 on torch / onnxruntime, the engines that were
    built on tensorrt: fp16, int8, fp32 in that order); on failure fall back to `fallback` (fp32) if given.
    sample_graphs: on onnxruntime, run the unrolled sampler graph when it matches the sampling setting
    (TensorRT always does when its engine was built)."""
    for name in (backend, fallback):
        if name is not None and name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; available: {', '.join(PRECISIONS)}")
    try:
        return _load(backend, model_dir, engine_dir, threads, precision, cache_dir, sample_graphs)
    except Exception as error:  # noqa: BLE001 (any load failure is reported or triggers the fallback)
        reason = f"{type(error).__name__}: {error}"
        if fallback is None or (fallback == backend and precision in (None, "fp32")):
            raise BackendUnavailableError(f"backend {backend!r} ({precision or 'default precision'}) cannot load: {reason}") from error
    log.warning("backend %r (%s) cannot load (%s); falling back to %r (fp32)", backend, precision or "default precision",
                reason, fallback)
    loaded = _load(fallback, model_dir, engine_dir, threads, "fp32", cache_dir, sample_graphs)
    loaded.info.update(requested={"backend": backend, "precision": precision or "default"}, fallback_reason=reason)
    return loaded
