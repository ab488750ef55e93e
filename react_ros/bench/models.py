"""The models and backends the benchmark runs.

Speed does not depend on the weights, only on the shapes, so a window size other than the shipped demo
model's gets a *random-init* bundle with the demo model's config and that window (saved with save_bundle in
the benchmark's work directory, never shipped). Every bundle is exported once to ONNX (fp32, fp16, int8 QDQ
with random calibration inputs: calibration changes scales, not speed) plus the CPU int8 variant
(dynamic quantisation, see export/quantize.py)."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# backend name -> (runtime, precision / ONNX variant)
BACKENDS: dict[str, tuple[str, str]] = {
    "torch": ("torch", "fp32"),
    "ort-fp32": ("onnxruntime", "fp32"),
    "ort-fp16": ("onnxruntime", "fp16"),
    "ort-int8": ("onnxruntime", "int8"),  # static QDQ: the file TensorRT builds INT8 engines from
    "ort-int8cpu": ("onnxruntime", "int8_cpu"),  # dynamic (MatMulInteger): the CPU int8 variant
}
DEFAULT_BACKENDS = tuple(BACKENDS)


@dataclass
class BenchModel:
    window: int
    model_dir: Path
    export_dir: Path | None
    random_init: bool  # True: made here for speed only (the demo model has another window)


def demo_config():
    from react_ros.model.bundle import default_model_dir
    from react_ros.model.checkpoint import load_checkpoint

    model, _ = load_checkpoint(default_model_dir() / "reaction.pt")
    return model.config


def prepare_models(work_dir: str | Path, windows, onnx: bool = True, samplers=(), progress: bool = False
                   ) -> dict[int, BenchModel]:
    """Bundle (and ONNX export) per window size, inside `work_dir` (reused when already there)."""
    import torch

    from react_ros.export.onnx_export import export_bundle
    from react_ros.export.quantize import CPU_INT8_VARIANT, add_cpu_int8_variant
    from react_ros.model.bundle import default_model_dir, save_bundle
    from react_ros.model.reaction_model import ReactionModel

    work = Path(work_dir)
    base = demo_config()
    models = {}
    for window in windows:
        window = int(window)
        if window == base.window:
            model_dir, random_init = default_model_dir(), False
        else:
            model_dir, random_init = work / f"bundle_w{window}", True
            if not (model_dir / "reaction.pt").is_file():
                torch.manual_seed(window)
                model = ReactionModel(dataclasses.replace(base, window=window)).eval()
                save_bundle(model_dir, model, card={"note": "random init, for the speed benchmark only"}, half=False)
        export_dir = None
        if onnx:
            export_dir = work / f"onnx_w{window}"
            # the default window also gets the unrolled sampler graphs (unrolled vs per-step comparison)
            chosen = tuple(samplers) if window == base.window else ()
            manifest_path = export_dir / "manifest.json"
            if not manifest_path.is_file():
                if progress:
                    print(f"  exporting w={window} to ONNX (fp32, fp16, int8 QDQ, int8 CPU) ...", flush=True)
                export_bundle(model_dir, export_dir, precisions=("fp32", "fp16", "int8", CPU_INT8_VARIANT),
                              samplers=chosen, allow_random_calibration=True, calib_batches=2, calib_batch_size=8)
            else:
                import json

                if CPU_INT8_VARIANT not in json.loads(manifest_path.read_text())["variants"]:
                    add_cpu_int8_variant(export_dir)
        models[window] = BenchModel(window, model_dir, export_dir, random_init)
    return models


def load_backend(name: str, model: BenchModel, threads: int = 1, sample_graphs: bool = False, **options):
    """(graphs, estimator_fn or None) of `name` (see BACKENDS) for one model; options go to OnnxGraphs."""
    runtime, precision = BACKENDS[name]
    if runtime == "torch":
        from react_ros.model.bundle import load_bundle
        from react_ros.perception.frontend import torch_estimator_fn
        from react_ros.runtime.torch_backend import TorchGraphs

        bundle = load_bundle(model.model_dir)
        estimator = torch_estimator_fn(bundle.estimator) if bundle.estimator is not None else None
        return TorchGraphs(bundle.model, threads), estimator
    from react_ros.runtime.onnxruntime_backend import OnnxGraphs

    graphs = OnnxGraphs(model.export_dir, precision, threads, use_sample_graphs=sample_graphs, **options)
    return graphs, graphs.estimator_fn()
