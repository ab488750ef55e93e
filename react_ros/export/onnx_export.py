"""ONNX export of every graph the online loop runs (opset 17, dynamic batch axis), with checks.

Per graph: trace the TensorRT-friendly torch module (graphs.py), `onnx.checker`, strict shape
inference, simplification (onnxslim when installed; otherwise ONNX Runtime's offline optimisation at
the *basic* level, i.e. constant folding and redundant-node elimination only, which keeps standard ONNX
operators), a second checker pass, and the TensorRT operator whitelist (trt_ops.py). The FP16 and INT8
variants are made from the checked FP32 file (quantize.py). Everything lands in one directory:

    <out>/manifest.json                 what was exported, from which model, with hashes and shapes
    <out>/fp32/<graph>.onnx             estimator, condition, denoise, decode, sample_<sampler><steps>
    <out>/fp16/<graph>.onnx             float32 inputs/outputs, float16 inside (timestep embedding fp32)
    <out>/int8/<graph>.onnx             explicit QuantizeLinear/DequantizeLinear, symmetric, per-channel
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from react_ros.export.graphs import BATCH, GraphSpec, graph_modules, graph_specs, random_inputs, sample_graph_name
from react_ros.export.trt_ops import TENSORRT_FLOOR, check_graph_ops
from react_ros.model.card import ModelCard
from react_ros.runtime.manifest import FORMAT, MANIFEST, sha256_of

log = logging.getLogger(__name__)

OPSET = 17
PRECISIONS = ("fp32", "fp16", "int8", "int8_cpu")  # int8: static QDQ (TensorRT); int8_cpu: dynamic (CPUs)
DEFAULT_BATCH_PROFILE = {"min": 1, "opt": 2, "max": 32}


def simplifier_name() -> str:
    try:
        import onnxslim

        return f"onnxslim {getattr(onnxslim, '__version__', '?')}"
    except ImportError:
        import onnxruntime

        return f"onnxruntime {onnxruntime.__version__} offline optimisation (basic: constant folding)"


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxslim if installed, else ONNX Runtime's basic-level offline optimisation (constant folding)."""
    try:
        import onnxslim
    except ImportError:
        onnxslim = None
    if onnxslim is not None:
        return onnxslim.slim(model)
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, source)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # standard ops only
        options.optimized_model_filepath = str(target)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        return onnx.load(target)


def _torch_export(module: torch.nn.Module, args: tuple, path: Path, spec: GraphSpec, opset: int) -> None:
    names = [t.name for t in spec.inputs] + [t.name for t in spec.outputs]
    dynamic = {name: {0: BATCH} for name in names}
    kwargs = dict(opset_version=opset, input_names=[t.name for t in spec.inputs],
                  output_names=[t.name for t in spec.outputs], dynamic_axes=dynamic, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: no onnxscript needed, dynamic_axes honoured
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation of the TorchScript exporter, tracer warnings on shapes
        with torch.no_grad():
            torch.onnx.export(module, args, str(path), **kwargs)


def export_graph(module: torch.nn.Module, spec: GraphSpec, path: str | Path, opset: int = OPSET,
                 trace_batch: int = 2, do_simplify: bool = True) -> dict:
    """Trace one module to `path` and check it; returns the manifest entry (file, sha256, io, ops)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    feeds = random_inputs(spec, trace_batch)
    args = tuple(torch.from_numpy(feeds[t.name]) for t in spec.inputs)
    _torch_export(module, args, path, spec, opset)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    if do_simplify:
        model = simplify(model)
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    ops = check_graph_ops(model, spec.name)  # raises naming op, node and graph
    _check_io(model, spec)
    onnx.save(model, path)
    return graph_entry(path, spec, ops)


def _check_io(model: onnx.ModelProto, spec: GraphSpec) -> None:
    """Inputs/outputs keep their names, a symbolic batch axis and the static sizes of the spec."""
    for kind, actual, expected in (("input", model.graph.input, spec.inputs), ("output", model.graph.output,
                                                                               spec.outputs)):
        actual = [v for v in actual if v.name not in {i.name for i in model.graph.initializer}]
        if [v.name for v in actual] != [t.name for t in expected]:
            raise ValueError(f"graph {spec.name!r}: {kind}s {[v.name for v in actual]}, expected "
                             f"{[t.name for t in expected]}")
        for value, tensor in zip(actual, expected, strict=True):
            dims = value.type.tensor_type.shape.dim
            shape = tuple(BATCH if i == 0 and d.dim_param else (d.dim_value if d.dim_value else d.dim_param)
                          for i, d in enumerate(dims))
            if shape != tuple(tensor.shape):
                raise ValueError(f"graph {spec.name!r}: {kind} {tensor.name!r} has shape {shape}, expected "
                                 f"{tensor.shape} (batch dynamic, the rest static)")


def graph_entry(path: Path, spec: GraphSpec, ops: set[str] | None = None) -> dict:
    entry = {"file": None, "sha256": sha256_of(path), "inputs": [t.to_dict() for t in spec.inputs],
             "outputs": [t.to_dict() for t in spec.outputs]}
    if ops is not None:
        entry["ops"] = sorted(ops)
    return entry


def samplers_for(card: ModelCard | None, extra: list[tuple[str, int]] | None = None) -> tuple[tuple[str, int], ...]:
    """The unrolled sampler graphs to export: the model card's tuned setting, the default, and any extra."""
    from react_ros.model.generator import SamplingConfig

    default = SamplingConfig()
    chosen = [(default.sampler, default.steps)]
    if card is not None and card.tuned:
        chosen.insert(0, (card.sampling.sampler, int(card.sampling.steps)))
    chosen += list(extra or [])
    return tuple(dict.fromkeys((s, int(n)) for s, n in chosen))


def export_model(model, estimator, out_dir: str | Path, *, ids: dict, card: ModelCard | None = None,
                 samplers: tuple[tuple[str, int], ...] | None = None, precisions: tuple[str, ...] = ("fp32",),
                 calib_data: str | Path | None = None, calib_perceived: str | Path | None = None,
                 calib_batches: int = 8, calib_batch_size: int = 16,
                 allow_random_calibration: bool = False, batch_profile: dict | None = None,
                 opset: int = OPSET, seed: int = 0, progress: bool = False) -> dict:
    """Export the graphs of a ReactionModel (+ estimator) in the requested precisions; writes manifest.json."""
    from tqdm import tqdm

    from react_ros.export.quantize import CPU_INT8_VARIANT, calibration_feeds, cpu_int8_variant, to_fp16, to_int8

    unknown = set(precisions) - set(PRECISIONS)
    if unknown:
        raise ValueError(f"unknown precision(s) {sorted(unknown)}; choose from {PRECISIONS}")
    if "int8" in precisions and calib_data is None and not allow_random_calibration:
        raise ValueError("INT8 needs calibration data: give --calib-data DIR (a MARS-layout data set with a train "
                         "split); random calibration inputs are for tests only")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    samplers = samplers if samplers is not None else samplers_for(card)
    estimator_size = estimator.config.input_size if estimator is not None else 64
    specs = graph_specs(model.config, estimator_size, samplers)
    modules = graph_modules(model, estimator, samplers)
    specs = {name: spec for name, spec in specs.items() if name in modules}
    manifest = {
        "format": FORMAT, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": dict(ids), "config": model.config.to_dict(), "latent_scale": float(model.latent_scale),
        "opset": opset, "tensorrt_floor": TENSORRT_FLOOR, "batch_axis": BATCH,
        "batch_profile": dict(batch_profile or DEFAULT_BATCH_PROFILE), "exporter": f"torch {torch.__version__}",
        "simplifier": simplifier_name(), "graphs": list(specs),
        "samplers": [{"sampler": s, "steps": n, "graph": sample_graph_name(s, n)} for s, n in samplers],
        "variants": {},
    }
    bar = tqdm(total=len(specs) * len(precisions), desc="export", unit="graph", disable=not progress)
    fp32: dict[str, dict] = {}
    for name, spec in specs.items():
        entry = export_graph(modules[name], spec, out / "fp32" / f"{name}.onnx", opset)
        entry["file"] = f"fp32/{name}.onnx"
        fp32[name] = entry
        bar.update()
    manifest["variants"]["fp32"] = {"precision": "fp32", "graphs": fp32}
    if "fp16" in precisions:
        graphs = {}
        for name, spec in specs.items():
            path = out / "fp16" / f"{name}.onnx"
            ops = to_fp16(out / "fp32" / f"{name}.onnx", path, name)
            graphs[name] = dict(graph_entry(path, spec, ops), file=f"fp16/{name}.onnx")
            bar.update()
        manifest["variants"]["fp16"] = {"precision": "fp16", "io": "float32", "graphs": graphs}
    if "int8" in precisions:
        feeds, calibration = calibration_feeds(model, estimator, specs, samplers, calib_data, calib_batches,
                                               calib_batch_size, seed, card, calib_perceived)
        graphs = {}
        for name, spec in specs.items():
            path = out / "int8" / f"{name}.onnx"
            ops, qdq = to_int8(out / "fp32" / f"{name}.onnx", path, name, feeds[name])
            graphs[name] = dict(graph_entry(path, spec, ops), file=f"int8/{name}.onnx", qdq_nodes=qdq)
            bar.update()
        manifest["variants"]["int8"] = {"precision": "int8", "io": "float32", "quantisation": {
            "format": "QDQ", "weights": "int8 symmetric per-channel", "activations": "int8 symmetric per-tensor",
            "ops": ["Conv", "MatMul", "Gemm"], "method": "MinMax", **calibration}, "graphs": graphs}
    if CPU_INT8_VARIANT in precisions:
        manifest["variants"][CPU_INT8_VARIANT] = cpu_int8_variant(out, fp32)
        bar.update(len(specs))
    bar.close()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def export_bundle(model_dir: str | Path | None, out_dir: str | Path, **kwargs) -> dict:
    """Export a model bundle directory (reaction.pt + estimator.pt); see export_model for the options."""
    from react_ros.model.bundle import load_bundle

    bundle = load_bundle(model_dir)
    ids = dict(bundle.ids, model_dir=str(bundle.directory))
    return export_model(bundle.model, bundle.estimator, out_dir, ids=ids, card=bundle.card, **kwargs)


def run_onnx(path: str | Path, feeds: dict[str, np.ndarray], threads: int = 1) -> list[np.ndarray]:
    """One-off ONNX Runtime run of a file (tests, parity)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
