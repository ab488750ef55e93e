"""TensorRT engines from the exported ONNX graphs, built with the Python API (or the printed trtexec line).

One engine per graph and precision, with a manifest JSON beside it:
    <out>/<graph>.<precision>.plan   the serialized engine
    <out>/<graph>.<precision>.json   TensorRT version, GPU name, compute capability, precision, source
                                     ONNX sha256, inputs/outputs, batch profile, build time, model ids
    <out>/timing.cache               TensorRT timing cache (rebuilds are much faster)

Precisions: fp32 and fp16 build from the fp32 ONNX (fp16 with the FP16 flag; the timestep-embedding
layers are pinned to fp32 with precision constraints, as in the fp16 ONNX), int8 builds from the
Q/DQ ONNX (explicit quantisation: no calibrator, no calibration cache).

An engine only runs on the TensorRT version and GPU model it was built with: `check_manifest`
compares a manifest with the device and says exactly what differs. `import tensorrt` is lazy: this
module imports (and prints the trtexec commands) on machines without TensorRT.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import shlex
import time
from pathlib import Path

from react_ros.runtime.engine_manifest import (  # noqa: F401 (the engine manifest's home is the runtime)
    ENGINE_FORMAT,
    EngineMismatchError,
    check_manifest,
    device_info,
    engine_paths,
    load_engine_manifest,
)
from react_ros.runtime.manifest import load_manifest, sha256_of, verify_files

log = logging.getLogger(__name__)

SOURCE_VARIANT = {"fp32": "fp32", "fp16": "fp32", "int8": "int8"}


def _shape(shape: list, batch: int) -> str:
    return "x".join(str(batch if isinstance(d, str) else d) for d in shape)


def trtexec_command(onnx_path: str | Path, engine_path: str | Path, precision: str, inputs: list[dict],
                    batch_profile: dict, workspace_mb: int, timing_cache: str | Path | None,
                    fp32_layers: list[str] = ()) -> str:
    """The trtexec line equivalent to build_engine's Python build."""
    parts = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}"]
    for flag, key in (("--minShapes", "min"), ("--optShapes", "opt"), ("--maxShapes", "max")):
        parts.append(f"{flag}=" + ",".join(f"{t['name']}:{_shape(t['shape'], batch_profile[key])}" for t in inputs))
    parts.append(f"--memPoolSize=workspace:{int(workspace_mb)}M")
    if timing_cache:
        parts.append(f"--timingCacheFile={timing_cache}")
    if precision == "fp16":
        parts.append("--fp16")
        if fp32_layers:
            parts += ["--precisionConstraints=obey", "--layerPrecisions=" + ",".join(f"{n}:fp32" for n in fp32_layers)]
    elif precision == "int8":
        parts.append("--int8")  # explicit quantisation: the Q/DQ nodes carry the scales, no calibration cache
    return " ".join(shlex.quote(p) for p in parts)


def _fp32_layers(onnx_path: Path) -> list[str]:
    import onnx

    from react_ros.export.trt_ops import fp32_nodes

    return [n for n in fp32_nodes(onnx.load(onnx_path)) if n]


def build_engine(onnx_path: str | Path, engine_path: str | Path, precision: str, inputs: list[dict],
                 outputs: list[dict], batch_profile: dict, workspace_mb: int = 1024,
                 timing_cache: str | Path | None = None, extra: dict | None = None) -> dict:
    """Build and serialize one engine with the TensorRT Python API; writes and returns its manifest."""
    import tensorrt as trt

    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    started = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # required in 8.x, the default in 10.x
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "\n  ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path}: the TensorRT ONNX parser failed:\n  {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    fp32_layers: list[str] = []
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        fp32_layers = _fp32_layers(onnx_path)
        pinned = 0
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if any(layer.name == n or layer.name.startswith(n + "_") for n in fp32_layers):
                layer.precision = trt.float32
                for j in range(layer.num_outputs):
                    layer.set_output_type(j, trt.float32)
                pinned += 1
        if pinned:
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    elif precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # explicit quantisation from the Q/DQ nodes
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        spec = next(t for t in inputs if t["name"] == tensor.name)
        shapes = [tuple(batch_profile[k] if isinstance(d, str) else d for d in spec["shape"])
                  for k in ("min", "opt", "max")]
        profile.set_shape(tensor.name, *shapes)
    config.add_optimization_profile(profile)
    cache = None
    if timing_cache is not None:
        timing_cache = Path(timing_cache)
        cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"{onnx_path}: TensorRT could not build a {precision} engine (see the log above)")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    if cache is not None:
        timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
    device = device_info()
    manifest = {
        "format": ENGINE_FORMAT, "engine": engine_path.name, "precision": precision,
        "tensorrt_version": trt.__version__, "gpu_name": device.get("gpu_name"),
        "compute_capability": device.get("compute_capability"), "source_onnx": str(onnx_path),
        "source_onnx_sha256": sha256_of(onnx_path), "engine_sha256": sha256_of(engine_path),
        "inputs": inputs, "outputs": outputs, "batch_profile": batch_profile, "workspace_mb": workspace_mb,
        "fp32_layers": fp32_layers, "build_seconds": round(time.perf_counter() - started, 2),
        "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "trtexec": trtexec_command(onnx_path, engine_path, precision, inputs, batch_profile, workspace_mb,
                                   timing_cache, fp32_layers),
        **(extra or {}),
    }
    engine_path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def build_engines(onnx_dir: str | Path, out_dir: str | Path, precisions: tuple[str, ...] = ("fp16",),
                  graphs: list[str] | None = None, workspace_mb: int = 1024, batch_profile: dict | None = None,
                  dry_run: bool = False) -> list[dict]:
    """Engines for every graph of an ONNX export (or just `graphs`). dry_run: only the trtexec commands
    (returned as [{"graph", "precision", "trtexec"}]), no TensorRT needed."""
    manifest = load_manifest(onnx_dir)
    out = Path(out_dir)
    profile = dict(batch_profile or manifest["batch_profile"])
    timing_cache = out / "timing.cache"
    results = []
    for precision in precisions:
        if precision not in SOURCE_VARIANT:
            raise ValueError(f"unknown precision {precision!r} (fp32, fp16, int8)")
        paths = verify_files(onnx_dir, manifest, SOURCE_VARIANT[precision])
        entries = manifest["variants"][SOURCE_VARIANT[precision]]["graphs"]
        for name in graphs or list(paths):
            if name not in paths:
                raise ValueError(f"{onnx_dir}: no graph {name!r} (have {sorted(paths)})")
            engine_path, _ = engine_paths(out, name, precision)
            entry = entries[name]
            if dry_run:
                fp32_layers = _fp32_layers(paths[name]) if precision == "fp16" else []
                results.append({"graph": name, "precision": precision, "trtexec": trtexec_command(
                    paths[name], engine_path, precision, entry["inputs"], profile, workspace_mb, timing_cache,
                    fp32_layers)})
                continue
            extra = {"graph": name, "model": manifest["model"], "config": manifest["config"],
                     "latent_scale": manifest["latent_scale"], "samplers": manifest.get("samplers", [])}
            log.info("building %s (%s)", engine_path, precision)
            results.append(build_engine(paths[name], engine_path, precision, entry["inputs"], entry["outputs"],
                                        profile, workspace_mb, timing_cache, extra))
    return results
