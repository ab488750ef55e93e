"""Parity of exported graphs with the torch reference: per-graph errors on fixed random inputs, and the
REACT metrics of the whole offline pipeline per backend / precision.

Relative error here is max |onnx - torch| / max |torch| over the output (element-wise ratios blow up
on outputs near zero, e.g. expression probabilities)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from react_ros.export.graphs import BASE_GRAPHS, graph_specs, random_inputs
from react_ros.runtime.manifest import load_manifest, verify_files


def torch_reference(model, estimator, name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """What the torch backend computes for a graph (the unrolled sampler: the numpy sampler of diffusion.py
    driven by the torch denoiser, exactly WindowGenerator's per-step path)."""
    from react_ros.model.diffusion import make_sampler, x0_from_v
    from react_ros.runtime.torch_backend import TorchGraphs

    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))  # noqa: E731
    with torch.no_grad():
        if name == "estimator":
            return estimator.eval()(t(feeds["crops"])).numpy()
        graphs = TorchGraphs(model)
        if name == "condition":
            return graphs.condition(**feeds)
        if name == "denoise":
            return graphs.denoise(feeds["latent"], feeds["t"], feeds["cond"])
        if name == "decode":
            return graphs.decode(**feeds)
    sampler_name, steps = _parse_sample_name(name)
    sampler = make_sampler(sampler_name, model.schedule, steps)
    ac = model.schedule.alphas_cumprod()
    cond = feeds["cond"]

    def predict_x0(x, step):
        return x0_from_v(x, graphs.denoise(x, np.full(len(x), step, np.float32), cond), ac[int(step)])

    return sampler.sample(predict_x0, feeds["noise"])


def _parse_sample_name(name: str) -> tuple[str, int]:
    body = name.removeprefix("sample_")
    digits = len(body) - len(body.rstrip("0123456789"))
    return body[:-digits], int(body[-digits:])


def errors(actual: np.ndarray, expected: np.ndarray) -> dict[str, float]:
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected)))
    scale = float(np.max(np.abs(expected)))
    return {"max_abs": diff, "max_rel": diff / max(scale, 1e-12)}


def graph_errors(model, estimator, export_dir: str | Path, precision: str = "fp32", batch: int = 4,
                 seed: int = 0) -> dict[str, dict[str, float]]:
    """{graph: {max_abs, max_rel}} of one exported variant against torch, on fixed random inputs.

    The QDQ file ("int8") runs with ONNX Runtime's graph optimisations off: each QuantizeLinear/DequantizeLinear
    pair then rounds as the file says and the matmuls stay float, which is what TensorRT's int8 computes (int32
    accumulation). Optimised, ONNX Runtime fuses them into u8 x s8 CPU kernels that saturate on x86 CPUs without
    VNNI: a property of that CPU, not of the file (the pipeline metrics and timings run it optimised)."""
    import onnxruntime as ort

    manifest = load_manifest(export_dir)
    paths = verify_files(export_dir, manifest, precision)
    specs = graph_specs(model.config, estimator.config.input_size if estimator is not None else 64,
                        tuple((s["sampler"], s["steps"]) for s in manifest["samplers"]))
    out = {}
    for name, path in paths.items():
        feeds = random_inputs(specs[name], batch, seed, model.config)
        options = ort.SessionOptions()
        if precision == "int8":
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        actual = session.run(None, feeds)[0]
        out[name] = errors(actual, torch_reference(model, estimator, name, feeds))
    return out


def time_graphs(run, specs, batch: int, repeats: int = 20, seed: int = 0) -> dict[str, float]:
    """Median milliseconds per call of run(name, feeds) for each spec."""
    result = {}
    for name, spec in specs.items():
        feeds = random_inputs(spec, batch, seed)
        run(name, feeds)  # warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(name, feeds)
            times.append(time.perf_counter() - start)
        result[name] = 1000 * float(np.median(times))
    return result


def time_windows(graphs: dict, sampling, batch: int = 1, repeats: int = 50, seed: int = 0) -> dict[str, float]:
    """Median milliseconds of one WindowGenerator call (condition + sampler + decode) per entry of `graphs`,
    the entries called in turn (round robin) so that load from other processes hits them alike."""
    from react_ros.export.graphs import graph_specs
    from react_ros.model.generator import WindowGenerator

    first = next(iter(graphs.values()))
    feeds = random_inputs(graph_specs(first.config)["condition"], batch, seed)
    noise = np.random.default_rng(seed).standard_normal((batch, first.config.latent_dim)).astype(np.float32)
    args = (*feeds.values(), noise)
    generators = {name: WindowGenerator(g, sampling) for name, g in graphs.items()}
    times: dict[str, list[float]] = {name: [] for name in graphs}
    for generator in generators.values():
        generator(*args)  # warm up
    for _ in range(repeats):
        for name, generator in generators.items():
            start = time.perf_counter()
            generator(*args)
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * float(np.median(t)) for name, t in times.items()}


def write_report(out: Path, report: dict) -> tuple[Path, Path]:
    """parity.json and parity.md."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "parity.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    lines = ["# Export parity: ONNX Runtime variants vs the torch reference", "",
             f"Generated by `{report['command']}`.", "",
             f"Model: `{report['model'].get('reaction_model_sha256', '?')[:16]}` ({_short(report['model'].get('model_dir', ''))}); "
             f"export opset {report['opset']}; graph errors on batch {report['batch']} of fixed random inputs "
             f"(seed {report['seed']}); relative error = max |ONNX - torch| / max |torch|.", "",
             "## Per-graph error", "", "| graph | " + " | ".join(
                 f"{p} max abs | {p} max rel" for p in report["graph_errors"]) + " |",
             "|---|" + "---|---|" * len(report["graph_errors"])]
    graphs = list(next(iter(report["graph_errors"].values())))
    for name in graphs:
        cells = []
        for precision in report["graph_errors"]:
            e = report["graph_errors"][precision].get(name, {})
            cells += [f"{e.get('max_abs', float('nan')):.2e}", f"{e.get('max_rel', float('nan')):.2e}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if report.get("timings_ms"):
        lines += ["", f"## Time per call (ms, median, batch {report['timing_batch']}, "
                  f"{report.get('threads', 1)} thread(s), {report.get('host', '')})", "",
                  "| graph | " + " | ".join(report["timings_ms"]) + " |", "|---|" + "---|" * len(report["timings_ms"])]
        rows = list(dict.fromkeys(name for column in report["timings_ms"].values() for name in column))
        for name in rows:
            cells = [report["timings_ms"][k].get(name) for k in report["timings_ms"]]
            lines.append(f"| {name} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in cells) + " |")
    if report.get("metrics"):
        metrics = report["metrics"]
        keys = list(next(iter(metrics.values())))
        lines += ["", f"## REACT metrics, offline pipeline ({report['data']}, split {report['split']}, "
                  f"{report['samples']} samples, seed {report['seed']}, sampling {report['sampling']})", "",
                  "| metric | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
        for key in keys:
            lines.append(f"| {key} | " + " | ".join(_fmt(metrics[m].get(key)) for m in metrics) + " |")
        if report.get("frcorr_change_percent"):
            lines += ["", "FRCorr change vs torch: " + ", ".join(
                f"{k} {v:+.2f} %" for k, v in report["frcorr_change_percent"].items())]
    lines += ["", "## Notes", "",
              "- Graph errors use random inputs (random timesteps and latents for the denoiser), partly outside the "
              "range INT8 was calibrated on; the pipeline metrics are the figure that matters for INT8. The int8 "
              "(QDQ) graph errors are of the file as TensorRT computes it (ONNX Runtime's optimisations off: "
              "float matmuls between the Q/DQ pairs); its metrics and timings are ONNX Runtime's CPU kernels.",
              "- ONNX Runtime on CPU has float16 kernels for few operators and inserts casts to run the rest in "
              "float32, so the fp16 rows here mostly measure the rounding of weights to float16 (and fp16 is "
              "slower than fp32 on CPU). TensorRT's fp16/int8 engines compute in reduced precision: measure them on "
              "the device (engines/README.md).",
              "- The metrics are only meaningful with a trained model; regenerate this page with the command above "
              "after training.",
              "- Timings are one run on the machine named above; load from other processes moves them by tens of "
              "per cent between runs (the window rows are measured round robin to share that noise). Errors and "
              "metrics are deterministic."]
    if report.get("vnni") is not None:
        lines.append("- This CPU " + ("has" if report["vnni"] else "has no") + " VNNI. Without it ONNX Runtime "
                     "multiplies u8 x s8 with instructions whose pair sums saturate on full-range int8 weights: the "
                     "int8 (QDQ, made for TensorRT) rows lose more there than on a VNNI CPU, and say little about a "
                     "TensorRT engine; int8_cpu has 7-bit weights for that reason.")
    if report.get("quantisation"):
        q = report["quantisation"]
        lines.append(f"- INT8: {q.get('format')}, weights {q.get('weights')}, activations {q.get('activations')}, "
                     f"{q.get('method')} calibration on {q.get('calibration')} ({q.get('calibration_windows')} "
                     f"windows; denoiser at timesteps {q.get('denoiser_timesteps')}); estimator: "
                     f"{q.get('estimator_calibration')}.")
    md_path = out / "parity.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def _short(path: str) -> str:
    """A path relative to the working directory or the package when it is inside them (stable across machines)."""
    import react_ros

    for base in (Path.cwd(), Path(react_ros.__file__).resolve().parent.parent):
        try:
            return str(Path(path).resolve().relative_to(base))
        except ValueError:
            continue
    return path


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def frcorr_change(metrics: dict[str, dict[str, float]], reference: str = "torch") -> dict[str, float]:
    key = next((k for k in metrics.get(reference, {}) if k.lower() == "frcorr"), None)
    if key is None:
        return {}
    base = metrics[reference][key]
    return {name: 100.0 * (m[key] - base) / abs(base) if base else float("nan")
            for name, m in metrics.items() if name != reference}


def cpu_has_vnni(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether this x86 CPU has VNNI (u8 x s8 dot products without saturation); None where /proc/cpuinfo is not
    readable or the CPU is not x86 (ARM's int8 dot products do not saturate)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return None
    return any(f in flags.split() for f in ("avx512_vnni", "avx_vnni"))


__all__ = ["BASE_GRAPHS", "graph_errors", "torch_reference", "errors", "time_graphs", "write_report", "frcorr_change",
           "cpu_has_vnni"]
