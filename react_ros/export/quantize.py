"""FP16 and INT8 (explicit Q/DQ) variants of the exported FP32 graphs, and their calibration data.

FP16: onnxruntime.transformers.float16 with float32 inputs/outputs kept (the runtime feeds float32
everywhere). The sinusoidal timestep embedding and everything that computes its argument stay float32:
t * freq reaches ~1000 rad, where float16's spacing (0.5) would make sin/cos meaningless.

INT8: onnxruntime.quantization.quantize_static in QDQ format: int8 weights, symmetric and per channel,
int8 activations, symmetric (zero point 0, as TensorRT requires), biases left in float, only the
matrix products (Conv, MatMul, Gemm) quantised. ONNX Runtime runs the file on any CPU (so its
accuracy is measured here) and TensorRT builds an INT8 engine from the same file without a calibrator.
Calibration feeds are real training windows (react_ros.training): speaker context, listener past and
the target window; the denoiser sees the windows' latents noised at the sampler's own timesteps.

CPU INT8 (`add_cpu_int8_variant`, variant "int8_cpu"): ONNX Runtime dynamic quantisation of the FP32 graphs'
MatMul/Gemm (MatMulInteger). On x86 CPUs the QDQ file above runs slower than FP32, this one faster
(docs/performance.md); TensorRT cannot build it, so it is an extra variant for CPUs, never the engine source."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import torch

from react_ros.export.graphs import BASE_GRAPHS, GraphSpec, random_inputs
from react_ros.export.trt_ops import check_graph_ops, check_qdq, fp32_nodes
from react_ros.model.card import ModelCard
from react_ros.model.config import role_inputs, speaker_skip_inputs

log = logging.getLogger(__name__)

INT8_OPS = ["Conv", "MatMul", "Gemm"]
# Kept float in the INT8 file: the mean path (model/autoencoder.MeanPath) reads the raw speaker attributes, whose
# spreads differ 30-fold (the demo speakers' Fear: sd 0.015; AU25: 0.43), and one int8 activation scale per tensor
# cannot resolve the narrow ones that its least-squares weights read (quantised, the demo model lost 5.6 % FRCorr).
# A few small products; TensorRT runs them in fp16/fp32 beside the int8 layers. The CPU variant keeps them float too
# (its per-call activation scale has the same one-scale-per-tensor problem: -0.3 % FRCorr quantised).
FLOAT_SCOPES = ("/speaker_path/",)


def _float_nodes(source: str | Path) -> list[str]:
    """The names of `source`'s nodes kept float in every INT8 file (FLOAT_SCOPES). A Gemm is named twice: the
    dynamic quantiser first rewrites it as MatMul + Add, the MatMul named `<Gemm's name>_MatMul`."""
    kept = [node for node in onnx.load(str(source)).graph.node if any(scope in node.name for scope in FLOAT_SCOPES)]
    return [node.name for node in kept] + [f"{node.name}_MatMul" for node in kept if node.op_type == "Gemm"]


def _named(model: onnx.ModelProto) -> onnx.ModelProto:
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    return model


def toposort(model: onnx.ModelProto) -> onnx.ModelProto:
    """Reorder the main graph's nodes topologically (the fp16 converter appends its Cast nodes at the end)."""
    graph = model.graph
    ready = {v.name for v in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        progress = [n for n in pending if all(i in ready for i in n.input)]
        if not progress:
            raise ValueError(f"graph has a cycle or dangling input near node {pending[0].name!r}")
        for node in progress:
            ordered.append(node)
            ready.update(node.output)
        chosen = {id(n) for n in progress}
        pending = [n for n in pending if id(n) not in chosen]
    del graph.node[:]
    graph.node.extend(ordered)
    return model


def to_fp16(source: str | Path, target: str | Path, graph_name: str) -> set[str]:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = _named(onnx.load(source))
    keep = fp32_nodes(model)
    half = toposort(convert_float_to_float16(model, keep_io_types=True, node_block_list=keep or None))
    onnx.checker.check_model(half)
    ops = check_graph_ops(half, f"{graph_name} (fp16)")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(half, target)
    return ops


class FeedReader:
    """onnxruntime CalibrationDataReader over a list of feed dicts."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self.feeds = list(feeds)
        self.index = 0

    def get_next(self):
        if self.index >= len(self.feeds):
            return None
        self.index += 1
        return self.feeds[self.index - 1]

    def rewind(self) -> None:
        self.index = 0


def to_int8(source: str | Path, target: str | Path, graph_name: str,
            feeds: list[dict[str, np.ndarray]]) -> tuple[set[str], int]:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(FeedReader, CalibrationDataReader):
        pass

    Path(target).parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static logs "consider pre-processing" on the root logger per call
    try:
        quantize_static(str(source), str(target), Reader(feeds), quant_format=QuantFormat.QDQ,
                        nodes_to_exclude=_float_nodes(source),
                        op_types_to_quantize=INT8_OPS, per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False})
    finally:
        root.setLevel(level)
    model = onnx.load(target)
    onnx.checker.check_model(model)
    ops = check_graph_ops(model, f"{graph_name} (int8)")
    return ops, check_qdq(model, f"{graph_name} (int8)")


# ------------------------------------------------------------------------------------------ calibration

def _data_windows(model, data_dir: str | Path, count: int, seed: int, card: ModelCard | None = None,
                  perceived: str | Path | None = None) -> tuple[dict[str, np.ndarray], str]:
    """Training windows as the model sees them: its directions, and for a model trained on perceived speakers
    the speaker attributes the mesh front end reads from the videos (perceived once into the cache), not the
    labels, whose ranges INT8 would otherwise be calibrated to (`perceived`: a perceive tree of `data_dir` to read
    instead of the cache). Returns the windows and where they came from."""
    from react_ros.data.features import load_features
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.training.windows import WindowSampler

    directions = card.directions if card is not None else "both"
    perceived = speaker_source(card, data_dir, "train", given=perceived) if card is not None else None
    clips = load_features(data_dir, "train", directions, perceived=perceived)
    if not clips:
        raise ValueError(f"{data_dir}: no clips in the train split for calibration")
    audio_dim = clips[0].audio.shape[1]
    if audio_dim != model.config.audio_dim:
        raise ValueError(f"{data_dir}: audio features have {audio_dim} bins, the model expects "
                         f"{model.config.audio_dim}")
    speakers = f"perceived speakers ({perceived})" if perceived else "labelled speakers"
    source = f"training windows from {data_dir} ({directions}, {speakers})"
    return WindowSampler(clips, model.config, seed).batch(count, augment=None), source


def _random_windows(model, count: int, seed: int) -> dict[str, np.ndarray]:
    from react_ros.export.graphs import graph_specs

    spec = graph_specs(model.config)["condition"]
    feeds = random_inputs(spec, count, seed)
    c = model.config
    rng = np.random.default_rng(seed + 1)
    from react_ros import schema

    feeds["window"] = schema.clip_to_range(rng.random((count, c.window, c.reaction_dim)).astype(np.float32))
    return feeds


def _face_crops(data_dir: str | Path, count: int, size: int) -> np.ndarray:
    """Face crops from the training split's speaker videos, through the robot's cropper."""
    import cv2

    from react_ros.data.mars import MarsDataset
    from react_ros.perception.face_crop import FaceCropper

    dataset = MarsDataset(data_dir, "train", window=1, modalities=("attributes", "audio", "video"))
    cropper = FaceCropper("full_frame", crop_size=size)
    crops: list[np.ndarray] = []
    entries = dataset.entries[: max(1, min(len(dataset.entries), 4))]
    per_clip = int(np.ceil(count / len(entries)))
    for entry in entries:
        clip = dataset.load_clip(entry.sample.input, video=True)
        frames = clip.speaker_video
        for index in np.linspace(0, len(frames) - 1, per_clip).astype(int):
            crop = cropper.crop(cv2.cvtColor(frames[index], cv2.COLOR_RGB2BGR))
            if crop.present and crop.image is not None:
                crops.append(crop.image.astype(np.float32) / 255.0)
    if not crops:
        raise ValueError(f"{data_dir}: no face crops found in the train split's videos")
    return np.stack(crops[:count])[:, None].astype(np.float32)


@torch.no_grad()
def calibration_feeds(model, estimator, specs: dict[str, GraphSpec], samplers, data_dir=None, batches: int = 8,
                      batch_size: int = 16, seed: int = 0, card: ModelCard | None = None,
                      perceived: str | Path | None = None) -> tuple[dict[str, list[dict]], dict]:
    """Per graph, `batches` feed dicts of `batch_size`; plus a description of where they came from."""
    from react_ros.model.diffusion import make_sampler

    count = batches * batch_size
    source = "random inputs (tests only)"
    windows = None
    if data_dir is not None:
        windows, source = _data_windows(model, data_dir, count, seed, card, perceived)
    else:
        windows = _random_windows(model, count, seed)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))  # noqa: E731
    # a role-conditioned model: the windows' own roles (random windows: both roles, alternating)
    role = role_inputs(model.config, windows.get("role", np.arange(count) % 2), count)
    cond = model.condition(t(windows["visual"]), t(windows["visual_present"]), t(windows["audio"]),
                           t(windows["audio_present"]), t(windows["past"]), t(role["role"]) if role else None).numpy()
    skip = {**speaker_skip_inputs(model.config, windows), **role}
    mean, _ = model.autoencoder.encode(t(windows["window"]), t(windows["past"]),
                                       **{k: t(v) for k, v in skip.items()})
    mean = mean.numpy()
    x0 = mean / float(model.latent_scale)
    rng = np.random.default_rng(seed + 2)
    timesteps = sorted({step for sampler, steps in samplers
                        for step in make_sampler(sampler, model.schedule, steps).timesteps}) or [0]
    ac = model.schedule.alphas_cumprod()
    t_batch = np.array(timesteps)[np.arange(count) % len(timesteps)]
    a = ac[t_batch][:, None]
    noised = (np.sqrt(a) * x0 + np.sqrt(1 - a) * rng.standard_normal(x0.shape)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    full = {
        "condition": {**{k: windows[k] for k in ("visual", "visual_present", "audio", "audio_present", "past")},
                      **role},
        "denoise": {"latent": noised, "t": t_batch.astype(np.float32), "cond": cond},
        "decode": {"latent": mean.astype(np.float32), **({"past": windows["past"]} if model.config.decoder_reads_past
                                                          else {}), **skip},
    }
    for name in specs:
        if name not in BASE_GRAPHS:
            full[name] = {"noise": noise, "cond": cond}
    estimator_source = None
    if "estimator" in specs:
        size = specs["estimator"].inputs[0].shape[-1]
        crops = None
        if data_dir is not None:
            try:
                crops = _face_crops(data_dir, count, size)
                estimator_source = f"face crops from {data_dir} train videos"
            except (ValueError, FileNotFoundError, OSError) as error:
                log.warning("estimator calibration: no video crops (%s); using random crops", error)
        if crops is None:
            crops = random_inputs(specs["estimator"], count, seed)["crops"]
            estimator_source = "random crops"
        full["estimator"] = {"crops": crops}
    feeds: dict[str, list[dict]] = {}
    for name, arrays in full.items():
        n = len(next(iter(arrays.values())))
        feeds[name] = [{k: np.ascontiguousarray(v[i:i + batch_size], np.float32) for k, v in arrays.items()}
                       for i in range(0, n, batch_size)]
    info = {"calibration": source, "calibration_windows": count, "denoiser_timesteps": timesteps}
    if estimator_source:
        info["estimator_calibration"] = estimator_source
    return feeds, info


# ------------------------------------------------------------------------------- CPU int8 (dynamic)

CPU_INT8_VARIANT = "int8_cpu"


def to_int8_dynamic(source: str | Path, target: str | Path, graph_name: str) -> set[str]:
    """The CPU INT8 variant: ONNX Runtime dynamic quantisation (QOperator: DynamicQuantizeLinear + MatMulInteger).

    int8 weights (7-bit range), symmetric per output channel, activations quantised per call from their own range (no calibration);
    MatMul/Gemm only (ConvInteger is slow on ONNX Runtime's CPU provider, the estimator's convolutions stay
    float). On x86 this runs faster than FP32, where the static QDQ file (to_int8) runs slower: ONNX Runtime
    leaves much of it as float matmuls between QuantizeLinear/DequantizeLinear pairs. TensorRT cannot build it
    (MatMulInteger, DynamicQuantizeLinear): the QDQ file stays the one for engines; this one is for CPUs."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    Path(target).parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        # 7-bit weights (reduce_range): x86 CPUs without VNNI (AVX2 only: many CI and robot machines) multiply
        # u8 x s8 with VPMADDUBSW, whose 16-bit pair sums saturate with full-range weights (test_bench's small
        # denoiser erred by 0.46 on outputs of size 1 with 8 bits, 0.017 with 7). Scaled per output channel, which
        # wins back more than the lost bit: the shipped graphs' max relative error on random inputs, 8-bit per tensor /
        # 7-bit per tensor / 7-bit per channel, condition 0.040 / 0.045 / 0.014, decode 0.057 / 0.123 / 0.019.
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=True, op_types_to_quantize=["MatMul", "Gemm"],
                         nodes_to_exclude=_float_nodes(source))
    finally:
        root.setLevel(level)
    model = onnx.load(target)
    onnx.checker.check_model(model)
    return {node.op_type for node in model.graph.node}


def cpu_int8_variant(directory: str | Path, fp32_graphs: dict[str, dict]) -> dict:
    """The `int8_cpu` variant's files (to_int8_dynamic of every fp32 graph, written under `directory`) and its
    manifest entry; ONNX Runtime loads it as precision "int8_cpu" (OnnxGraphs)."""
    from react_ros.runtime.manifest import sha256_of

    directory = Path(directory)
    graphs = {}
    for name, entry in fp32_graphs.items():
        path = directory / CPU_INT8_VARIANT / f"{name}.onnx"
        ops = to_int8_dynamic(directory / entry["file"], path, name)
        graphs[name] = dict(entry, file=f"{CPU_INT8_VARIANT}/{name}.onnx", sha256=sha256_of(path), ops=sorted(ops))
    return {"precision": "int8", "io": "float32", "target": "onnxruntime CPU only (not TensorRT)",
            "quantisation": {"format": "QOperator (dynamic)", "weights": "int8 symmetric per-channel, 7-bit range",
                             "activations": "uint8 per call (DynamicQuantizeLinear)", "ops": ["MatMul", "Gemm"],
                             "method": "onnxruntime.quantization.quantize_dynamic", "kept_float": list(FLOAT_SCOPES)},
            "graphs": graphs}


def add_cpu_int8_variant(export_dir: str | Path) -> dict:
    """Add the `int8_cpu` variant to an export made without it (and to its manifest). Returns the variant entry."""
    import json

    from react_ros.runtime.manifest import MANIFEST, load_manifest

    directory = Path(export_dir)
    manifest = load_manifest(directory)
    variant = cpu_int8_variant(directory, manifest["variants"]["fp32"]["graphs"])
    manifest["variants"][CPU_INT8_VARIANT] = variant
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return variant
