"""The ONNX Runtime backend: the exported graphs on any CPU (fp32, fp16 or int8 files).

Session options are tuned for the small CPUs of robots: `threads` intra-op threads (default: ONNX
Runtime's choice, the physical cores), one inter-op thread and sequential execution (the graphs are
chains, parallel branches would only add scheduling), all graph optimisations on, and thread spinning off
whenever more than one intra-op thread may run. `react-ros bench` sweeps these (docs/performance.md): for
graphs this small (0.03-0.6 ms per call) one thread is fastest per window, a second thread adds pool
synchronisation per op, and spinning makes the idle pool thread burn a whole core (CPU/wall ~1.9 instead of
~1.2 with two threads) for no gain, worse on a robot whose cores are shared.

Precision is a variant of the export: "fp32", "fp16", "int8" (static QDQ, the file TensorRT builds INT8
engines from) or "int8_cpu" (dynamic quantisation, MatMulInteger; added by
export.quantize.add_cpu_int8_variant), the one that is faster than fp32 on x86 CPUs.

The ONNX files come from an export directory (`react-ros export onnx`, see docs/export.md): the given
directory when it holds an export of *this* model (sha256 of reaction.pt / estimator.pt), else the cache
keyed by the model hash, $REACT_ROS_CACHE/onnx/<sha256[:16]>/ (default ~/.cache/react_ros/onnx/...), which
`react-ros run` and export.prepare.ensure_onnx_export fill. This module only loads: a missing export is an
error that says how to make it.

Besides the three graphs, `sample(noise, cond, sampler, steps)` runs the whole few-step sampler as one
graph when it was exported for that setting (fewer session calls per window); it returns None otherwise
and WindowGenerator then steps the sampler itself. It is off by default (`use_sample_graphs=True` turns it
on): on this project's CPU it gave no consistent gain per window (within +-5 % in fp32, slower in fp16 and
int8; `react-ros export check` reports both timings), and the per-step path is the one shared with torch.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from react_ros.runtime.manifest import bundle_ids, load_manifest, matches_bundle, verify_files

log = logging.getLogger(__name__)

GRAPHS = ("condition", "denoise", "decode")


def cache_root() -> Path:
    base = os.environ.get("REACT_ROS_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "react_ros"


OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")


def session_options(threads: int | None = None, spinning: bool | None = None, optimization: str = "all"):
    """threads: intra-op threads (None/0: ONNX Runtime picks, the physical cores). spinning: let idle intra-op
    threads busy-wait for the next op (None: off whenever more than one thread may run; with one thread there
    is nothing to spin). Spinning buys microseconds per op on an idle machine and costs whole cores of CPU on
    a robot whose cores are shared (`react-ros bench` measures both, docs/performance.md)."""
    import onnxruntime as ort

    if optimization not in OPTIMIZATION_LEVELS:
        raise ValueError(f"unknown graph optimisation level {optimization!r}; choose one of {OPTIMIZATION_LEVELS}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or 0)  # 0: ONNX Runtime picks (physical cores)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
    if spinning is None:
        spinning = threads == 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxGraphs:
    """ReactionGraphs over ONNX Runtime sessions, from an export directory with manifest.json."""

    name = "onnxruntime"

    def __init__(self, export_dir: str | Path, precision: str = "fp32", threads: int | None = None,
                 use_sample_graphs: bool = False, spinning: bool | None = None, optimization: str = "all"):
        import onnxruntime as ort

        from react_ros.model.config import ModelConfig

        self.export_dir = Path(export_dir)
        self.precision = precision
        self.manifest = load_manifest(self.export_dir)
        self.paths = verify_files(self.export_dir, self.manifest, precision)
        self.config = ModelConfig.from_dict(self.manifest["config"])
        self.latent_scale = float(self.manifest["latent_scale"])
        options = session_options(threads, spinning, optimization)
        providers = ["CPUExecutionProvider"]
        missing = [g for g in GRAPHS if g not in self.paths]
        if missing:
            raise FileNotFoundError(f"{self.export_dir}: the {precision} export lacks {missing}")
        self.sessions = {name: ort.InferenceSession(str(path), options, providers=providers)
                         for name, path in self.paths.items()}
        self.samplers = {(s["sampler"], int(s["steps"])): s["graph"] for s in self.manifest.get("samplers", [])
                         if use_sample_graphs and s["graph"] in self.sessions}
        # The decode graph has the inputs its config gives it (no past without decoder_past, the speaker's frames
        # only with speaker_skip): looked up once, fed every window.
        self.decode_inputs = [i.name for i in self.sessions["decode"].get_inputs()]
        self.condition_inputs = [i.name for i in self.sessions["condition"].get_inputs()]  # + role: role models

    @property
    def graph_ids(self) -> dict[str, str]:
        return {name: entry["sha256"] for name, entry in self.manifest["variants"][self.precision]["graphs"].items()}

    @staticmethod
    def _f(array) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=np.float32)

    def condition(self, visual, visual_present, audio, audio_present, past, role=None) -> np.ndarray:
        given = {"visual": visual, "visual_present": visual_present, "audio": audio, "audio_present": audio_present,
                 "past": past, "role": role}
        return self.sessions["condition"].run(None, {name: self._f(given[name]) for name in self.condition_inputs})[0]

    def denoise(self, latent, t, cond) -> np.ndarray:
        f = self._f
        return self.sessions["denoise"].run(None, {"latent": f(latent), "t": f(t), "cond": f(cond)})[0]

    def decode(self, latent, past=None, speaker=None, speaker_present=None, role=None) -> np.ndarray:
        given = {"latent": latent, "past": past, "speaker": speaker, "speaker_present": speaker_present, "role": role}
        return self.sessions["decode"].run(None, {name: self._f(given[name]) for name in self.decode_inputs})[0]

    def sample(self, noise, cond, sampler: str, steps: int) -> np.ndarray | None:
        """The unrolled sampler (guidance 1): noise (B,L), cond -> final latent, or None if not exported."""
        graph = self.samplers.get((sampler, int(steps)))
        if graph is None:
            return None
        return self.sessions[graph].run(None, {"noise": self._f(noise), "cond": self._f(cond)})[0]

    def estimator_fn(self):
        from react_ros.perception.frontend import onnx_estimator_fn

        session = self.sessions.get("estimator")
        return None if session is None else onnx_estimator_fn(session)


def cache_dir_for(ids: dict[str, str]) -> Path:
    """Where `react-ros export` / `react-ros run` keep the export of a model when no directory is given."""
    return cache_root() / "onnx" / ids["reaction_model_sha256"][:16]


def has_export(directory: str | Path, ids: dict[str, str], precision: str) -> bool:
    try:
        manifest = load_manifest(directory)
    except (FileNotFoundError, ValueError):
        return False
    return matches_bundle(manifest, ids) and precision in manifest["variants"]


def find_export(model_dir: str | Path, engine_dir: str | Path | None, precision: str,
                cache_dir: str | Path | None = None) -> Path:
    """The export directory holding `precision` graphs of this model: engine_dir if it matches the model's
    sha256, else the cache. Nothing is exported here (the runtime only loads): when there is no export this
    raises FileNotFoundError saying where it looked and how to make one."""
    ids = bundle_ids(model_dir)
    places = [Path(p) for p in (engine_dir, cache_dir or cache_dir_for(ids)) if p is not None]
    for place in places:
        if has_export(place, ids, precision):
            return place
    raise FileNotFoundError(
        f"no {precision} ONNX export of model {ids['reaction_model_sha256'][:16]} in {' or '.join(map(str, places))}; "
        f"make one with `react-ros export onnx --model {model_dir} --precision {precision} --out DIR` and pass DIR as "
        "engine_dir (`react-ros run` makes the fp32 one itself)")
