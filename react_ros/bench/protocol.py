"""The public REACT online protocol, emulated on this model for comparison.

The REACT challenge's online baselines generate w = 30 frames per step with 50 DDIM steps and, for each
window, re-encode the *whole* speaker prefix seen so far: their cost per window grows with the length of the
conversation. Here the same architecture runs that protocol: a condition encoder whose context is the
prefix length P (a ModelConfig with context = P, random init: speed depends on shapes only), 50 denoiser
steps and the decoder of a w = 30 model (both measured on the same backend).

The condition encoder is measured at a few prefix lengths (attention is quadratic in P; at 30 minutes,
P = 54,000 frames, a single attention matrix would need ~12 GB) and the cost is extrapolated with a
least-squares fit cost(P) = a + b P + c P^2 (ms). Rows say which numbers are measured and which come from
the fit."""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from react_ros.bench.stages import FPS, window_inputs
from react_ros.bench.timing import measure
from react_ros.model.config import speaker_skip_inputs
from react_ros.online.latency import summary_ms

REACT_WINDOW = 30
REACT_STEPS = 50
DEFAULT_LENGTHS = (64, 256, 1024, 2048, 4096)
REPORT_MINUTES = (0.0, 1.0, 10.0, 30.0)


def _condition_runner(config, backend: str, work: Path, threads: int):
    """fn(inputs) -> cond for a random-init condition encoder with this config, on torch or onnxruntime fp32."""
    import torch

    from react_ros.model.reaction_model import ReactionModel

    torch.manual_seed(0)
    model = ReactionModel(config).eval()
    if backend == "torch":
        torch.set_num_threads(threads)

        @torch.inference_mode()
        def run(x):
            t = torch.from_numpy
            return model.condition(t(x["visual"]), t(x["visual_present"]), t(x["audio"]), t(x["audio_present"]),
                                   t(x["past"])).numpy()

        return run
    import onnxruntime as ort

    from react_ros.export.graphs import graph_modules, graph_specs
    from react_ros.export.onnx_export import export_graph
    from react_ros.runtime.onnxruntime_backend import session_options

    path = work / f"condition_P{config.context}.onnx"
    if not path.is_file():
        export_graph(graph_modules(model, None)["condition"], graph_specs(config)["condition"], path, do_simplify=False)
    session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
    names = ("visual", "visual_present", "audio", "audio_present", "past")
    return lambda x: session.run(None, {k: x[k] for k in names})[0]


def react_protocol(graphs_w30, backend: str, base_config, threads: int = 1, budget_s: float = 0.5,
                   lengths=DEFAULT_LENGTHS, work_dir: str | Path | None = None, samples: int = 1) -> dict:
    """graphs_w30: the w = 30 model's graphs on `backend` ("torch" or "onnxruntime"): its denoiser and decoder."""
    from react_ros.model.diffusion import NoiseSchedule, make_sampler

    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="react_protocol_"))
    work.mkdir(parents=True, exist_ok=True)
    measured = {}
    for length in lengths:
        length = int(length) - int(length) % base_config.token_stride
        config = dataclasses.replace(base_config, context=length, window=REACT_WINDOW)
        run = _condition_runner(config, backend, work, threads)
        x = window_inputs(config, samples)
        measured[length] = summary_ms(measure(lambda run=run, x=x: run(x), budget_s, min_n=3, max_n=500, warmup=1))
    points = np.array(sorted(measured))
    cost = np.array([measured[p]["median_ms"] for p in points])
    degree = min(2, len(points) - 1)
    fit = np.polyfit(points.astype(np.float64), cost, degree) if degree >= 1 else np.array([cost[0]])
    fit = np.concatenate([np.zeros(3 - len(fit)), fit])  # c, b, a

    def condition_ms(prefix: float) -> float:
        return float(max(fit[0] * prefix ** 2 + fit[1] * prefix + fit[2], cost.min()))

    c = graphs_w30.config
    x = window_inputs(c, samples)
    cond = graphs_w30.condition(x["visual"], x["visual_present"], x["audio"], x["audio_present"], x["past"])
    sampler = make_sampler("ddim", NoiseSchedule(c.train_timesteps, c.schedule), REACT_STEPS)
    alphas = NoiseSchedule(c.train_timesteps, c.schedule).alphas_cumprod()

    def sample_and_decode():
        def predict_x0(latent, t):
            v = graphs_w30.denoise(latent, np.full(len(latent), t, np.float32), cond)
            a = alphas[int(t)]
            return np.float32(np.sqrt(a)) * latent - np.float32(np.sqrt(1 - a)) * v

        latent = sampler.sample(predict_x0, x["noise"])
        return graphs_w30.decode(latent.astype(np.float32), x["past"], **speaker_skip_inputs(c, x))

    tail = summary_ms(measure(sample_and_decode, budget_s, min_n=5, warmup=1))
    period_ms = REACT_WINDOW * 1000.0 / FPS
    rows = []
    for minutes in REPORT_MINUTES:
        prefix = max(float(points[0]), minutes * 60 * FPS)
        cond_ms = condition_ms(prefix)
        total = cond_ms + tail["median_ms"]
        rows.append({"minutes": minutes, "prefix_frames": int(prefix), "condition_ms": round(cond_ms, 3),
                     "sampler_decode_ms": tail["median_ms"], "window_ms": round(total, 3),
                     "rtf": round(total / period_ms, 4),
                     "condition_source": ("measured" if int(prefix) in measured else
                                          "fit, interpolated" if prefix <= points.max() else "fit, extrapolated")})
    # mean over a 30-minute conversation: windows every 30 frames, prefix growing
    prefixes = np.arange(REACT_WINDOW, 30 * 60 * FPS + 1, REACT_WINDOW)
    mean_ms = float(np.mean([condition_ms(p) for p in prefixes])) + tail["median_ms"]
    return {
        "window": REACT_WINDOW, "sampler": "ddim", "steps": REACT_STEPS, "backend": backend, "samples": samples,
        "method": ("condition encoder with context = prefix length (random init), measured at the listed prefix "
                   "lengths and extrapolated with a least-squares quadratic fit; 50 DDIM denoiser steps and "
                   "decoder of a w=30 model measured"),
        "condition_measured": {str(k): v for k, v in measured.items()},
        "fit_ms": {"c_per_frame2": float(fit[0]), "b_per_frame": float(fit[1]), "a": float(fit[2])},
        "sampler_decode": tail, "rows": rows,
        "mean_over_30_min": {"window_ms": round(mean_ms, 3), "rtf": round(mean_ms / period_ms, 4)},
    }
