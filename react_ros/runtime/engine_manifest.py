"""The TensorRT engine manifest (<graph>.<precision>.json beside each engine) and the check that an engine fits
this machine, readable without TensorRT or torch: the runtime checks engines before loading them, the
exporter (export/engines.py) writes them."""
from __future__ import annotations

from pathlib import Path

from react_ros.runtime.manifest import read_tagged_json

ENGINE_FORMAT = "react_ros.tensorrt_engine/1"


class EngineMismatchError(ValueError):
    """An engine was built for another GPU, TensorRT version or source ONNX."""


def engine_paths(out_dir: str | Path, graph: str, precision: str) -> tuple[Path, Path]:
    out = Path(out_dir)
    return out / f"{graph}.{precision}.plan", out / f"{graph}.{precision}.json"


def device_info(device: int = 0) -> dict:
    """TensorRT version, GPU name and compute capability of this machine (keys absent when unknown)."""
    info: dict = {}
    try:
        import tensorrt as trt

        info["tensorrt_version"] = trt.__version__
    except ImportError:
        pass
    try:  # cuda-python
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart
        error, props = cudart.cudaGetDeviceProperties(device)
        if int(error) == 0:
            name = props.name
            info["gpu_name"] = (name.decode() if isinstance(name, bytes) else str(name)).rstrip("\x00")
            info["compute_capability"] = f"{props.major}.{props.minor}"
            return info
    except ImportError:
        pass
    try:  # pycuda
        import pycuda.driver as cuda

        cuda.init()
        gpu = cuda.Device(device)
        info["gpu_name"] = gpu.name()
        info["compute_capability"] = "{}.{}".format(*gpu.compute_capability())
        return info
    except ImportError:
        pass
    try:  # torch, when it was built with CUDA
        import torch

        if torch.cuda.is_available():
            info["gpu_name"] = torch.cuda.get_device_name(device)
            info["compute_capability"] = "{}.{}".format(*torch.cuda.get_device_capability(device))
    except ImportError:
        pass
    return info


def check_manifest(manifest: dict, device: dict, source_sha256: str | None = None, raise_error: bool = True) -> str:
    """'' when the engine fits this device (and source ONNX); otherwise a message naming every mismatch
    (raised as EngineMismatchError unless raise_error is False)."""
    problems = []
    checks = (("gpu_name", "GPU"), ("compute_capability", "compute capability"),
              ("tensorrt_version", "TensorRT version"))
    for key, label in checks:
        built, here = manifest.get(key), device.get(key)
        if here is None:
            problems.append(f"{label}: engine built for {built!r}, this machine's is unknown "
                            f"({'tensorrt not installed' if key == 'tensorrt_version' else 'no CUDA device found'})")
        elif str(built) != str(here):
            problems.append(f"{label}: engine built for {built!r}, this machine has {here!r}")
    if source_sha256 is not None and manifest.get("source_onnx_sha256") != source_sha256:
        problems.append(f"source ONNX sha256: engine built from {str(manifest.get('source_onnx_sha256'))[:16]}, "
                        f"the ONNX now is {source_sha256[:16]}")
    if not problems:
        return ""
    message = (f"engine {manifest.get('engine', '?')} ({manifest.get('precision', '?')}) does not match this "
               "machine:\n  - " + "\n  - ".join(problems)
               + "\nRebuild it here: react-ros export engines --onnx-dir DIR --out DIR (see engines/README.md)")
    if raise_error:
        raise EngineMismatchError(message)
    return message


def load_engine_manifest(path: str | Path) -> dict:
    return read_tagged_json(path, ENGINE_FORMAT, "engine manifest", "engine manifest not found")
