"""FLOPs and bytes per graph from the exported ONNX files, and an on-paper latency estimate for Jetson Orin.

Counting (batch 1 unless told, after onnx shape inference with the batch axis fixed):
- MatMul: 2 * prod(batch dims) * M * K * N; Gemm: 2 * M * K * N; Conv: 2 * output elements * C_in/groups * kernel
  area. Everything else (Add, Mul, Softmax, Sigmoid, reductions ...) counts one op per output element ("other").
- Parameter bytes: the initializers of the graph file as stored (fp32 4 B, fp16 2 B, int8 1 B per value).
- Activation bytes: every intermediate tensor written once (fp32 4 B; fp16/int8 engines halve/quarter it).
- Layers: nodes of the graph; "matrix layers" = MatMul/Gemm/Conv. TensorRT fuses element-wise chains into
  their producers, so kernels per inference are estimated as matrix layers + reductions/softmax/normalisation.

The Jetson estimate (per graph call, batch 1):  t = n_kernels * launch + max(flops / (peak * eff), bytes / bw)
plus a fixed per-inference cost (enqueue + synchronise). Graphs this small are launch-bound: the arithmetic
is microseconds at any precision. All assumptions are listed in JETSON below and printed with the results.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DTYPE_BYTES = {1: 4, 10: 2, 3: 1, 2: 1, 7: 8, 6: 4, 11: 8, 9: 1, 16: 2}
MATRIX_OPS = ("MatMul", "Gemm", "Conv", "MatMulInteger", "QLinearMatMul", "ConvInteger")
KERNEL_OPS = MATRIX_OPS + ("Softmax", "ReduceMean", "ReduceSum", "LayerNormalization", "Concat", "Transpose")

# Published peak numbers (dense, i.e. without 2:4 sparsity, GPU only, no DLA) and memory bandwidth.
# Sources: NVIDIA Jetson Orin module data sheets and the "Jetson AGX Orin Series Technical Brief" (v1.2),
# and the Jetson Orin Nano Super developer kit announcement (Dec 2024) for the Nano's 1020 MHz GPU clock.
# NVIDIA quotes INT8 TOPS *with* sparsity (Nano 8GB 40/67 Super, NX 16GB 100, AGX 64GB 275 incl. DLAs);
# the dense GPU figures below are half the sparse GPU figure; FP16 dense tensor = half of dense INT8.
JETSON = {
    "Orin Nano 8GB (Super, 1020 MHz)": {"int8_tops": 33.0, "fp16_tflops": 17.0, "bandwidth_gbs": 102.0,
                                        "launch_us": 8.0, "fixed_us": 60.0},
    "Orin NX 16GB": {"int8_tops": 30.0, "fp16_tflops": 15.0, "bandwidth_gbs": 102.4, "launch_us": 6.0,
                     "fixed_us": 50.0},
    "AGX Orin 64GB": {"int8_tops": 85.0, "fp16_tflops": 42.5, "bandwidth_gbs": 204.8, "launch_us": 4.0,
                      "fixed_us": 40.0},
}
# Fraction of peak a batch-1 graph of 64-256 wide matrices reaches (tiles mostly empty, no data reuse).
EFFICIENCY = {"compute": 0.02, "bandwidth": 0.3}
ASSUMPTIONS = {
    "peak": "dense GPU tensor-core peak (half the sparse TOPS NVIDIA quotes); DLAs not used",
    "efficiency": f"{EFFICIENCY['compute']:.0%} of compute peak and {EFFICIENCY['bandwidth']:.0%} of memory bandwidth "
                  "for batch-1 matrices 25-256 wide",
    "launch": "per-kernel launch + scheduling gap on Jetson's GPU with TensorRT (4-8 us; measured Orin "
              "figures in public TensorRT profiles are in this range); no CUDA graphs",
    "fixed": "per inference call: enqueueV3 + stream synchronise + Python binding (40-60 us)",
    "int8": "INT8 engines run the matrices in int8 and keep softmax/normalisation in fp16; the launch count "
            "grows slightly with the reformat layers Q/DQ adds (counted +20 %)",
}


def _shape_map(model) -> dict[str, tuple]:
    shapes = {}
    for value in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = (tuple(d.dim_value if d.dim_value else 1 for d in dims),
                              value.type.tensor_type.elem_type)
    for init in model.graph.initializer:
        shapes[init.name] = (tuple(init.dims), init.data_type)
    return shapes


def graph_cost(path: str | Path, batch: int = 1) -> dict:
    """FLOPs, parameter/activation bytes and layer counts of one ONNX file at `batch`."""
    import onnx

    model = onnx.load(str(path))
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_value = batch
    model = onnx.shape_inference.infer_shapes(model)
    shapes = _shape_map(model)
    initializers = {i.name for i in model.graph.initializer}
    matrix_flops = other = 0
    ops: dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
        out_shape = shapes.get(node.output[0], ((), 1))[0] if node.output else ()
        out_elems = int(np.prod(out_shape)) if out_shape else 1
        if node.op_type in ("MatMul", "MatMulInteger", "QLinearMatMul"):
            a = shapes.get(node.input[0], ((),))[0]
            b = shapes.get(node.input[1 if node.op_type != "QLinearMatMul" else 3], ((),))[0]
            if len(a) >= 2 and len(b) >= 2:
                matrix_flops += 2 * out_elems * a[-1]
            elif len(a) >= 1:
                matrix_flops += 2 * out_elems * a[-1]
        elif node.op_type == "Gemm":
            a = shapes.get(node.input[0], ((),))[0]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            k = a[0] if trans_a else a[-1]
            matrix_flops += 2 * out_elems * k
        elif node.op_type in ("Conv", "ConvInteger"):
            w = shapes.get(node.input[1], ((),))[0]
            groups = next((at.i for at in node.attribute if at.name == "group"), 1)
            if len(w) >= 3:
                matrix_flops += 2 * out_elems * int(np.prod(w[1:])) // max(1, groups) * groups
        else:
            other += out_elems
    parameter_bytes = sum(int(np.prod(i.dims)) * DTYPE_BYTES.get(i.data_type, 4) for i in model.graph.initializer)
    activation_bytes = 0
    for value in model.graph.value_info:
        if value.name in initializers:
            continue
        shape, dtype = shapes[value.name]
        activation_bytes += int(np.prod(shape)) * DTYPE_BYTES.get(dtype, 4)
    matrix_layers = sum(n for op, n in ops.items() if op in MATRIX_OPS)
    kernels = sum(n for op, n in ops.items() if op in KERNEL_OPS)
    return {"flops": int(matrix_flops + other), "matrix_flops": int(matrix_flops), "other_ops": int(other),
            "parameters": int(sum(int(np.prod(i.dims)) for i in model.graph.initializer)),
            "parameter_bytes": int(parameter_bytes), "activation_bytes": int(activation_bytes),
            "nodes": len(model.graph.node), "matrix_layers": matrix_layers, "kernels_estimate": kernels}


def jetson_estimate(cost: dict, precision: str, device: dict) -> float:
    """On-paper latency (ms) of one graph call with TensorRT on `device` (see the module docstring)."""
    kernels = cost["kernels_estimate"] * (1.2 if precision == "int8" else 1.0)
    peak = device["int8_tops"] if precision == "int8" else device["fp16_tflops"]
    value_bytes = 1 if precision == "int8" else 2
    moved = cost["parameters"] * value_bytes + cost["activation_bytes"] / 4 * 2
    compute_s = cost["flops"] / (peak * 1e12 * EFFICIENCY["compute"])
    memory_s = moved / (device["bandwidth_gbs"] * 1e9 * EFFICIENCY["bandwidth"])
    return 1e3 * (kernels * device["launch_us"] * 1e-6 + max(compute_s, memory_s) + device["fixed_us"] * 1e-6)


def export_costs(export_dir: str | Path, graphs=("estimator", "condition", "denoise", "decode"), batch: int = 1) -> dict:
    directory = Path(export_dir)
    out = {}
    for name in graphs:
        path = directory / "fp32" / f"{name}.onnx"
        if path.is_file():
            out[name] = graph_cost(path, batch)
    return out


def window_estimates(costs: dict, steps: int, window: int, fps: float = 30.0) -> dict:
    """Per device and precision: estimated ms per window (condition + steps x denoise + decode, per-step calls)
    and per frame for the estimator, and the real-time factor."""
    out = {}
    for device_name, device in JETSON.items():
        row = {}
        for precision in ("fp16", "int8"):
            per = {g: jetson_estimate(c, precision, device) for g, c in costs.items()}
            window_ms = per.get("condition", 0) + steps * per.get("denoise", 0) + per.get("decode", 0)
            frame_ms = per.get("estimator", 0.0)
            row[precision] = {"graphs_ms": {g: round(v, 4) for g, v in per.items()},
                              "window_ms": round(window_ms, 3), "estimator_per_frame_ms": round(frame_ms, 3),
                              "rtf": round((window_ms + window * frame_ms) / (window * 1000.0 / fps), 4)}
        out[device_name] = row
    return out
