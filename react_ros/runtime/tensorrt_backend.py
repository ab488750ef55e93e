"""The TensorRT backend: engines built by `react-ros export engines` (engines/README.md), on Jetson or
any NVIDIA GPU. `tensorrt` is imported lazily; device buffers go through pycuda, or cuda-python when
pycuda is absent. Every engine's manifest is checked against this machine (GPU name, compute capability,
TensorRT version) and against the model bundle (sha256) before it is deserialized: a mismatch raises
EngineMismatchError naming what differs, and load_graphs falls back or fails as configured.

Engines use TensorRT's name-based I/O API (set_input_shape / set_tensor_address / execute_async_v3),
available from TensorRT 8.5 (JetPack 5.1) to 10.x. Inputs and outputs are float32 in every precision.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros.runtime.engine_manifest import (
    EngineMismatchError,  # noqa: F401 (re-exported for callers)
    check_manifest,
    device_info,
    engine_paths,
    load_engine_manifest,
)
from react_ros.runtime.manifest import bundle_ids, matches_bundle

GRAPHS = ("condition", "denoise", "decode")


def require_tensorrt():
    try:
        import tensorrt
    except ImportError as error:
        raise ImportError("the tensorrt backend needs the `tensorrt` Python module, which is not installed here "
                          "(JetPack provides it as python3-libnvinfer; elsewhere `pip install react_ros[tensorrt]`)"
                          ) from error
    return tensorrt


def built_precisions(engine_dir: str | Path) -> list[str]:
    """Precisions with a condition engine in engine_dir, fastest first."""
    return [p for p in ("fp16", "int8", "fp32") if engine_paths(engine_dir, "condition", p)[1].is_file()]


class _PyCuda:
    def __init__(self):
        import pycuda.autoinit  # noqa: F401 (creates the context)
        import pycuda.driver as cuda

        self.cuda = cuda
        self.stream = cuda.Stream()
        self.handle = self.stream.handle

    def alloc(self, nbytes: int):
        memory = self.cuda.mem_alloc(max(1, nbytes))
        return memory, int(memory)

    def htod(self, pointer, array: np.ndarray) -> None:
        self.cuda.memcpy_htod_async(pointer, array, self.stream)

    def dtoh(self, array: np.ndarray, pointer) -> None:
        self.cuda.memcpy_dtoh_async(array, pointer, self.stream)

    def synchronize(self) -> None:
        self.stream.synchronize()


class _CudaPython:
    def __init__(self):
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart
        self.cudart = cudart
        self.stream = self._check(cudart.cudaStreamCreate())
        self.handle = int(self.stream)

    def _check(self, result):
        error, *values = result if isinstance(result, tuple) else (result,)
        if int(error) != 0:
            raise RuntimeError(f"CUDA error {error}")
        return values[0] if len(values) == 1 else values

    def alloc(self, nbytes: int):
        pointer = self._check(self.cudart.cudaMalloc(max(1, nbytes)))
        return pointer, int(pointer)

    def htod(self, pointer, array: np.ndarray) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self.cudart.cudaMemcpyAsync(int(pointer), array.ctypes.data, array.nbytes, kind, self.stream))

    def dtoh(self, array: np.ndarray, pointer) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(self.cudart.cudaMemcpyAsync(array.ctypes.data, int(pointer), array.nbytes, kind, self.stream))

    def synchronize(self) -> None:
        self._check(self.cudart.cudaStreamSynchronize(self.stream))


def cuda_api():
    """pycuda when installed, else cuda-python."""
    try:
        return _PyCuda()
    except ImportError:
        return _CudaPython()


class _Engine:
    """One deserialized engine and its context; device buffers grow with the largest batch seen."""

    def __init__(self, trt, runtime, path: Path, cuda):
        self.trt = trt
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"{path}: TensorRT could not deserialize the engine")
        self.context = self.engine.create_execution_context()
        self.cuda = cuda
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.buffers: dict[str, tuple[object, int, int]] = {}  # name -> (allocation, pointer, nbytes)

    def _buffer(self, name: str, nbytes: int) -> int:
        held = self.buffers.get(name)
        if held is None or held[2] < nbytes:
            allocation, pointer = self.cuda.alloc(nbytes)
            self.buffers[name] = (allocation, pointer, nbytes)
        return self.buffers[name][1]

    def __call__(self, **feeds: np.ndarray) -> list[np.ndarray]:
        arrays = {n: np.ascontiguousarray(feeds[n], dtype=np.float32) for n in self.inputs}
        for name, array in arrays.items():
            self.context.set_input_shape(name, array.shape)
            pointer = self._buffer(name, array.nbytes)
            self.cuda.htod(pointer, array)
            self.context.set_tensor_address(name, pointer)
        results = []
        for name in self.outputs:
            out = np.empty(tuple(self.context.get_tensor_shape(name)), np.float32)
            pointer = self._buffer(name, out.nbytes)
            self.context.set_tensor_address(name, pointer)
            results.append((name, out, pointer))
        if not self.context.execute_async_v3(self.cuda.handle):
            raise RuntimeError("TensorRT execution failed")
        for _, out, pointer in results:
            self.cuda.dtoh(out, pointer)
        self.cuda.synchronize()
        return [out for _, out, _ in results]


class TensorRTGraphs:
    """ReactionGraphs over TensorRT engines in `engine_dir` (<graph>.<precision>.plan + .json)."""

    name = "tensorrt"

    def __init__(self, engine_dir: str | Path, precision: str = "fp16", model_dir: str | Path | None = None):
        require_tensorrt()
        engine_dir = Path(engine_dir)
        manifests = {}
        for graph in (*GRAPHS, "estimator"):
            plan, meta = engine_paths(engine_dir, graph, precision)
            if meta.is_file():
                manifests[graph] = load_engine_manifest(meta)
            elif graph in GRAPHS:
                raise FileNotFoundError(f"{meta}: no {precision} engine for graph {graph!r} "
                                        f"(build with `react-ros export engines --precision {precision}`)")
        for meta in sorted(engine_dir.glob(f"sample_*.{precision}.json")):
            manifests[meta.name.split(".")[0]] = load_engine_manifest(meta)
        self.manifests = manifests
        first = manifests["condition"]
        self.model_ids = {k: v for k, v in first["model"].items() if k.endswith("sha256")}
        if model_dir is not None:
            ids = bundle_ids(model_dir)
            if not matches_bundle(first, ids):
                raise EngineMismatchError(f"{engine_dir}: engines built from model "
                                          f"{first['model'].get('reaction_model_sha256', '?')[:16]}, the bundle "
                                          f"{model_dir} is {ids['reaction_model_sha256'][:16]}")
        self.device_info = device_info()
        for manifest in manifests.values():  # before touching the GPU: a clear message, not a deserialize error
            check_manifest(manifest, self.device_info)
        import tensorrt as trt

        from react_ros.model.config import ModelConfig

        self.config = ModelConfig.from_dict(first["config"])
        self.latent_scale = float(first["latent_scale"])
        self.precision = precision
        self.cuda = cuda_api()
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engines = {graph: _Engine(trt, self.runtime, engine_paths(engine_dir, graph, precision)[0], self.cuda)
                        for graph in manifests}
        self.samplers = {(s["sampler"], int(s["steps"])): s["graph"] for s in first.get("samplers", [])
                         if s["graph"] in self.engines}

    @property
    def engine_ids(self) -> dict[str, str]:
        return {graph: m.get("engine_sha256", "") for graph, m in self.manifests.items()}

    def condition(self, visual, visual_present, audio, audio_present, past, role=None) -> np.ndarray:
        given = {"visual": visual, "visual_present": visual_present, "audio": audio, "audio_present": audio_present,
                 "past": past, "role": role}
        return self.engines["condition"](**{k: v for k, v in given.items() if v is not None})[0]

    def denoise(self, latent, t, cond) -> np.ndarray:
        return self.engines["denoise"](latent=latent, t=t, cond=cond)[0]

    def decode(self, latent, past=None, speaker=None, speaker_present=None, role=None) -> np.ndarray:
        given = {"latent": latent, "past": past, "speaker": speaker, "speaker_present": speaker_present, "role": role}
        return self.engines["decode"](**{k: v for k, v in given.items() if v is not None})[0]  # the engine's own

    def sample(self, noise, cond, sampler: str, steps: int) -> np.ndarray | None:
        graph = self.samplers.get((sampler, int(steps)))
        return None if graph is None else self.engines[graph](noise=noise, cond=cond)[0]

    def estimator_fn(self):
        engine = self.engines.get("estimator")
        if engine is None:
            return None
        return lambda crops: engine(crops=crops)[0]
