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

The ONNX files come from an export directory (`react-ros export onnx`, see docs/export.md). When the
given directory has no export of *this* model (sha256 of reaction.pt / estimator.pt), the fp32/fp16
files are exported once into a cache keyed by the model hash:
    $REACT_ROS_CACHE/onnx/<sha256[:16]>/   (default ~/.cache/react_ros/onnx/<sha256[:16]>/)
INT8 is never made silently: it needs calibration data (`react-ros export onnx --precision int8
--calib-data DIR`).

Besides the three graphs, `sample(noise, cond, sampler, steps)` runs the whole few-step sampler as one
graph when it was exported for that setting (fewer session calls per window); it returns None otherwise
and WindowGenerator then steps the sampler itself. It is off by default (`use_sample_graphs=True` turns it
on): on this project's CPU it gave no consistent gain per window (within +-5 % in fp32, slower in fp16 and
int8; `react-ros export check` reports both timings), and the per-step path is the one shared with torch.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np

from react_ros.export.manifest import bundle_ids, load_manifest, matches_bundle, verify_files

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

    @property
    def graph_ids(self) -> dict[str, str]:
        return {name: entry["sha256"] for name, entry in self.manifest["variants"][self.precision]["graphs"].items()}

    @staticmethod
    def _f(array) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=np.float32)

    def condition(self, visual, visual_present, audio, audio_present, past) -> np.ndarray:
        f = self._f
        return self.sessions["condition"].run(None, {
            "visual": f(visual), "visual_present": f(visual_present), "audio": f(audio),
            "audio_present": f(audio_present), "past": f(past)})[0]

    def denoise(self, latent, t, cond) -> np.ndarray:
        f = self._f
        return self.sessions["denoise"].run(None, {"latent": f(latent), "t": f(t), "cond": f(cond)})[0]

    def decode(self, latent, past) -> np.ndarray:
        return self.sessions["decode"].run(None, {"latent": self._f(latent), "past": self._f(past)})[0]

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


def find_or_export(model_dir: str | Path, engine_dir: str | Path | None, precision: str,
                   cache_dir: str | Path | None = None) -> tuple[Path, bool]:
    """The export directory holding `precision` graphs of this model: engine_dir if it matches the model's
    sha256, else the cache (exported there on first use). Returns (directory, exported_now)."""
    ids = bundle_ids(model_dir)
    if engine_dir is not None:
        try:
            manifest = load_manifest(engine_dir)
        except FileNotFoundError:
            manifest = None
        if manifest is not None and matches_bundle(manifest, ids) and precision in manifest["variants"]:
            return Path(engine_dir), False
        log.warning("%s has no %s ONNX export of model %s; using the cache", engine_dir, precision,
                    ids["reaction_model_sha256"][:16])
    cache = Path(cache_dir) if cache_dir else cache_root() / "onnx" / ids["reaction_model_sha256"][:16]
    try:
        manifest = load_manifest(cache)
        if matches_bundle(manifest, ids) and precision in manifest["variants"]:
            return cache, False
        have = set(manifest["variants"]) if matches_bundle(manifest, ids) else set()
    except (FileNotFoundError, ValueError):
        have = set()
    if precision == "int8":
        raise FileNotFoundError(f"no int8 ONNX export of model {ids['reaction_model_sha256'][:16]} in "
                                f"{engine_dir or cache}: INT8 needs calibration data, run `react-ros export onnx "
                                f"--model {model_dir} --precision fp32 fp16 int8 --calib-data DIR --out DIR` and "
                                "pass that directory as engine_dir")
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
