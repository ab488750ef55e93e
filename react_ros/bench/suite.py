"""The benchmark plan and its jobs. Each backend runs in its own spawned process (`isolate=True`), so its
peak RSS and CPU time are its own and thread settings do not leak between backends. The ratios the targets
compare (ORT vs torch, INT8 vs FP32) come from one more job that interleaves the backends round by round
(bench/repeats.py), so that a change of load between two backends' processes does not move them."""
from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from react_ros.bench.models import BACKENDS, BenchModel, load_backend, prepare_models
from react_ros.bench.timing import CpuMeter, peak_rss_mb, rss_mb

DEFAULT_STEPS = (1, 2, 4, 10, 20)
DEFAULT_WINDOWS = (4, 8, 16, 30)
DEFAULT_SAMPLES = (1, 10)


@dataclass
class BenchPlan:
    backends: tuple[str, ...] = tuple(BACKENDS)
    steps: tuple[int, ...] = DEFAULT_STEPS
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    samples: tuple[int, ...] = DEFAULT_SAMPLES
    sampler: str = "dpm"
    threads: int = 1
    budget_s: float = 0.4  # timing budget per measured cell
    repeats: int = 9  # interleaved rounds behind every ratio (bench/repeats.py)
    repeat_budget_s: float = 0.25  # timing budget per backend per round
    long_minutes: float = 30.0
    ros: bool = True
    ros_seconds: float | None = None  # None: the whole demo clip
    ros_camera_seconds: float = 20.0  # per case of bench/ros_camera.py (640x480, 1280x720 x QoS); 0 = skip
    tune: bool = True
    protocol: bool = True
    protocol_lengths: tuple[int, ...] = (64, 256, 1024, 2048, 4096)
    isolate: bool = True
    quick: bool = False
    work_dir: str = ""
    progress: bool = True
    default_window: int = 8
    default_steps: int = 4
    notes: list[str] = field(default_factory=list)


def _spawn(fn, *args):
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(fn, args)


def _call(plan: BenchPlan, fn, *args):
    return _spawn(fn, *args) if plan.isolate else fn(*args)


def backend_job(name: str, models: dict[int, BenchModel], plan: BenchPlan) -> dict:
    """Everything measured on one backend: front end, per-graph stages, windows per setting, unrolled sampler."""
    from react_ros.bench.stages import (
        front_end_stages,
        graph_stages,
        rtf,
        scene_front_ends,
        session_frames,
        window_latency,
    )
    from react_ros.model.card import ModelCard, run_setting
    from react_ros.model.generator import SamplingConfig

    started = time.perf_counter()
    meter = CpuMeter().start()
    rss_start = rss_mb()
    result: dict = {"backend": name, "runtime": BACKENDS[name][0], "precision": BACKENDS[name][1],
                    "threads": plan.threads, "front_end": None, "graphs": {}, "settings": [], "unrolled": []}
    front_total = None
    for window in dict.fromkeys((plan.default_window, *plan.windows)):  # the default first: its front end
        model = models[window]
        graphs, estimator_fn = load_backend(name, model, plan.threads)
        if window == plan.default_window:
            result["rss_after_load_mb"] = round(rss_mb(), 1)
            trained = ModelCard.read(model.model_dir).face_frontend  # the front end the robot runs (auto)
            result["face_frontend"] = trained
            if estimator_fn is not None:
                result["front_end"] = front_end_stages(estimator_fn, plan.budget_s)
                front_total = result["front_end"]["total"]["median_ms"]
            if estimator_fn is not None or trained == "mesh":
                result["scene_front_end"] = scene_front_ends(estimator_fn, plan.budget_s, threads=plan.threads)
                if trained == "mesh":  # RTF + front end counts what the robot runs: the mesh on a camera frame
                    front_total = result["scene_front_end"]["mesh"]["median_ms"]
                sampling = run_setting(model.model_dir, "auto", {"sampler": plan.sampler,  # the robot's setting
                                                                 "steps": plan.default_steps}).sampling
                result["session_frame"] = session_frames(graphs, estimator_fn, sampling, plan.budget_s, trained)
        for samples in (plan.samples if window in plan.windows else ()):
            result["graphs"][f"w{window}_k{samples}"] = dict(graph_stages(graphs, samples, plan.budget_s),
                                                              window=window, samples=samples)
            for steps in plan.steps:
                sampling = SamplingConfig(sampler=plan.sampler, steps=steps)
                timing = window_latency(graphs, sampling, samples, plan.budget_s)
                result["settings"].append({"window": window, "steps": steps, "samples": samples,
                                           "random_init": model.random_init, "window_ms": timing,
                                           **rtf(timing["median_ms"], window, front_total)})
        if (window == plan.default_window and BACKENDS[name][0] == "onnxruntime" and model.export_dir is not None):
            unrolled, _ = load_backend(name, model, plan.threads, sample_graphs=True)
            for sampler, steps in sorted(unrolled.samplers):
                sampling = SamplingConfig(sampler=sampler, steps=steps)
                result["unrolled"].append({"window": window, "sampler": sampler, "steps": steps, "samples": 1,
                                           "per_step_ms": window_latency(graphs, sampling, 1, plan.budget_s),
                                           "unrolled_ms": window_latency(unrolled, sampling, 1, plan.budget_s)})
        del graphs, estimator_fn
    result["cpu"] = meter.stop()
    result["rss_start_mb"] = round(rss_start, 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["isolated_process"] = plan.isolate
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# The targets' ratios: (name, numerator backend, denominator backend): a speed-up of the denominator.
RATIOS = (("ort_vs_torch", "torch", "ort-fp32"), ("int8cpu_vs_fp32", "ort-fp32", "ort-int8cpu"),
          ("int8_vs_fp32", "ort-fp32", "ort-int8"))


def ratio_job(model: BenchModel, plan: BenchPlan) -> dict:
    """The window at the default setting on every backend a target compares, in interleaved rounds (one
    process, each backend loaded once): per-round speed-ups with their spread."""
    from react_ros.bench.repeats import interleaved, per_round_ratios
    from react_ros.bench.stages import window_inputs
    from react_ros.model.generator import SamplingConfig, WindowGenerator

    sampling = SamplingConfig(sampler=plan.sampler, steps=plan.default_steps)
    names = [n for n in dict.fromkeys(b for _, *pair in RATIOS for b in pair) if n in plan.backends]
    contenders = {}
    for name in names:
        graphs, _ = load_backend(name, model, plan.threads)
        x = window_inputs(graphs.config, 1)
        contenders[name] = functools.partial(WindowGenerator(graphs, sampling), x["visual"], x["visual_present"],
                                             x["audio"], x["audio_present"], x["past"], x["noise"])
    times = interleaved(contenders, plan.repeats, plan.repeat_budget_s)
    return {"rounds": plan.repeats, "budget_s": plan.repeat_budget_s, "window": model.window,
            "steps": plan.default_steps, "samples": 1,
            "window_ms_by_round": {n: [round(t * 1e3, 4) for t in v] for n, v in times.items()},
            "ratios": {key: per_round_ratios(times, a, b) for key, a, b in RATIOS if a in times and b in times}}


def tune_job(model: BenchModel, plan: BenchPlan) -> list[dict]:
    """ONNX Runtime session options for the default setting: threads x spinning x graph optimisation level."""
    from react_ros.bench.stages import window_latency
    from react_ros.model.generator import SamplingConfig

    sampling = SamplingConfig(sampler=plan.sampler, steps=plan.default_steps)
    rows = []
    thread_options = (1, 2) if not plan.quick else (1,)
    for threads in thread_options:
        for spinning in (True, False):
            if threads == 1 and not spinning:
                continue  # one thread: no pool threads to spin
            for optimization in (("basic", "extended", "all") if not plan.quick else ("all",)):
                for samples in plan.samples:
                    graphs, _ = load_backend("ort-fp32", model, threads, spinning=spinning, optimization=optimization)
                    meter = CpuMeter().start()
                    timing = window_latency(graphs, sampling, samples, plan.budget_s)
                    rows.append({"threads": threads, "spinning": spinning, "optimization": optimization,
                                 "samples": samples, "window_ms": timing, "cpu": meter.stop()})
    return rows


def stream_job(backend: str, model: BenchModel, plan: BenchPlan) -> dict:
    from react_ros.bench.stream import long_stream
    from react_ros.model.generator import SamplingConfig

    graphs, _ = load_backend(backend, model, plan.threads)
    result = long_stream(graphs, SamplingConfig(sampler=plan.sampler, steps=plan.default_steps), plan.long_minutes,
                         progress=plan.progress, rounds=plan.repeats)
    result.update(backend=backend, peak_rss_mb=round(peak_rss_mb(), 1))
    return result


def protocol_job(backend: str, model: BenchModel, plan: BenchPlan) -> dict:
    from react_ros.bench.protocol import react_protocol

    graphs, _ = load_backend(backend, model, plan.threads)
    runtime = BACKENDS[backend][0]
    base = dataclasses.replace(graphs.config, window=model.window)
    result = react_protocol(graphs, runtime, base, plan.threads, plan.budget_s, plan.protocol_lengths,
                            Path(plan.work_dir) / "protocol")
    result["backend"] = backend
    return result


def machine() -> dict:
    import os

    import numpy
    import onnxruntime
    import torch

    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu_model, "cpus": os.cpu_count(), "load_average_at_start": load, "python": platform.python_version(),
            "numpy": numpy.__version__, "onnxruntime": onnxruntime.__version__, "torch": torch.__version__,
            "platform": platform.platform()}


def run_plan(plan: BenchPlan) -> dict:
    import tempfile

    from react_ros.bench.flops import ASSUMPTIONS, EFFICIENCY, JETSON, export_costs, window_estimates

    say = print if plan.progress else (lambda *a, **k: None)
    if not plan.work_dir:
        with tempfile.TemporaryDirectory(prefix="react_ros_bench_") as work:  # bundles, exports, ROS outputs
            plan.work_dir = work
            try:
                return run_plan(plan)
            finally:
                plan.work_dir = ""
    started = time.perf_counter()
    uses_onnx = any(BACKENDS[b][0] == "onnxruntime" for b in plan.backends)
    windows = tuple(dict.fromkeys((plan.default_window, *plan.windows)))
    if plan.protocol:
        windows = tuple(dict.fromkeys((*windows, 30)))
    unrolled = tuple(("dpm", s) for s in plan.steps)
    say(f"preparing models for windows {windows} in {plan.work_dir}", flush=True)
    models = prepare_models(plan.work_dir, windows, onnx=uses_onnx or plan.tune, samplers=unrolled,
                            progress=plan.progress)
    report: dict = {"plan": {k: v for k, v in dataclasses.asdict(plan).items() if k not in ("notes", "progress")},
                    "machine": machine(), "backends": {},
                    "models": {str(w): {"model_dir": str(m.model_dir), "random_init": m.random_init} for w, m in
                               models.items()}}
    for name in plan.backends:
        say(f"backend {name} ...", flush=True)
        report["backends"][name] = _call(plan, backend_job, name, models, plan)
    default_model = models[plan.default_window]
    if sum(name in plan.backends for name in ("torch", "ort-fp32", "ort-int8cpu", "ort-int8")) >= 2:
        say(f"ratios: {plan.repeats} interleaved rounds ...", flush=True)
        report["ratios"] = _call(plan, ratio_job, default_model, plan)
    if plan.tune and default_model.export_dir is not None:
        say("ONNX Runtime session options ...", flush=True)
        report["ort_tuning"] = _call(plan, tune_job, default_model, plan)
    stream_backend = "ort-fp32" if "ort-fp32" in plan.backends else plan.backends[0]
    if plan.long_minutes > 0:
        say(f"long stream: {plan.long_minutes:g} simulated minutes on {stream_backend} ...", flush=True)
        report["long_stream"] = _call(plan, stream_job, stream_backend, default_model, plan)
    if plan.protocol:
        say("REACT online protocol emulation ...", flush=True)
        report["react_protocol"] = _call(plan, protocol_job, stream_backend, models[30], plan)
    if default_model.export_dir is not None:
        costs = {str(w): export_costs(models[w].export_dir) for w in windows if models[w].export_dir is not None}
        report["flops"] = {"batch": 1, "per_window_model": costs}
        default_costs = costs[str(plan.default_window)]
        report["jetson_estimate"] = {"assumptions": ASSUMPTIONS, "devices": JETSON, "efficiency": EFFICIENCY,
                                     "window": plan.default_window, "steps": plan.default_steps,
                                     "estimates": window_estimates(default_costs, plan.default_steps,
                                                                   plan.default_window)}
    if plan.ros:
        from react_ros.bench.ros_e2e import run_in_subprocess

        report["ros"] = {}
        for name in ("ort-fp32", "torch"):
            if name not in plan.backends:
                continue
            say(f"ROS end to end ({name}, real time) ...", flush=True)
            engine = str(default_model.export_dir) if BACKENDS[name][0] == "onnxruntime" else ""
            report["ros"][name] = run_in_subprocess(Path(plan.work_dir) / f"ros_{name}.json",
                                                    seconds=plan.ros_seconds, backend=BACKENDS[name][0],
                                                    steps=plan.default_steps, engine_dir=engine,
                                                    threads=plan.threads, out_dir=Path(plan.work_dir) / f"ros_{name}")
    if plan.ros_camera_seconds > 0:
        from react_ros.bench.ros_camera import run_in_subprocess as camera_run

        name = "ort-fp32" if "ort-fp32" in plan.backends else plan.backends[0]
        say(f"camera-sized frames through ROS ({name}, {plan.ros_camera_seconds:g} s per case) ...", flush=True)
        engine = str(default_model.export_dir) if BACKENDS[name][0] == "onnxruntime" else ""
        report["ros_camera"] = camera_run(Path(plan.work_dir) / "ros_camera.json", seconds=plan.ros_camera_seconds,
                                          backend=BACKENDS[name][0], engine_dir=engine)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report
