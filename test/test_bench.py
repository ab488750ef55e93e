"""`react-ros bench --quick`: writes the JSON report with the expected keys and sane numbers; the long-stream
helper keeps the generator's context bounded. No timing assertions (machines differ)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("onnxruntime")


def _positive(stat: dict) -> bool:
    return stat["n"] > 0 and stat["median_ms"] > 0 and stat["p99_ms"] >= stat["median_ms"] * 0.999


def test_bench_quick_writes_json_with_sane_numbers(tmp_path):
    out = tmp_path / "bench"
    result = subprocess.run([sys.executable, "-m", "react_ros.cli", "bench", "--quick", "--no-ros", "--quiet",
                             "--out", str(out), "--work-dir", str(tmp_path / "work")],
                            cwd=ROOT, capture_output=True, text=True, timeout=240,
                            env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "online.json").read_text())
    assert (out / "online.md").read_text().count("|") > 20
    assert {"plan", "machine", "backends", "long_stream", "flops", "jetson_estimate", "targets"} <= set(report)
    assert set(report["backends"]) == {"torch", "ort-fp32"}
    for name, backend in report["backends"].items():
        front = backend["front_end"]
        for stage in ("face_crop", "estimator", "audio_features", "total"):
            assert _positive(front[stage]), (name, stage)
        # a camera frame through the robot's ReactionSession: the front end and more
        assert _positive(backend["session_frame"]), name
        stages = backend["graphs"]["w8_k1"]
        for stage in ("condition", "denoise_step", "decode"):
            assert _positive(stages[stage]), (name, stage)
        assert {(r["window"], r["steps"], r["samples"]) for r in backend["settings"]} == {(8, 1, 1), (8, 4, 1)}
        for row in backend["settings"]:
            assert _positive(row["window_ms"])
            assert math.isfinite(row["rtf"]) and row["rtf"] > 0
            assert row["rtf_with_front_end"] > row["rtf"]
        assert backend["peak_rss_mb"] > 0 and backend["cpu"]["cpu_per_wall"] > 0
    stream = report["long_stream"]
    assert stream["frames"] == 360 and stream["windows"] == 360 // 8 + 1
    assert stream["context_bounded"] and stream["window_time_ratio_last_vs_first"] > 0
    costs = report["flops"]["per_window_model"]["8"]
    assert costs["condition"]["flops"] > costs["denoise"]["flops"] > costs["decode"]["flops"] > 0
    assert {t["target"] for t in report["targets"]} and all("met" in t for t in report["targets"])
    assert "ros" not in report


def test_long_stream_keeps_context_bounded():
    import torch

    from react_ros.bench.stream import long_stream, synthetic_speaker
    from react_ros.model.config import ModelConfig
    from react_ros.model.generator import SamplingConfig
    from react_ros.model.reaction_model import ReactionModel
    from react_ros.runtime.torch_backend import TorchGraphs

    config = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                         pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)
    torch.manual_seed(0)
    graphs = TorchGraphs(ReactionModel(config).eval(), threads=1)
    result = long_stream(graphs, SamplingConfig(steps=2), minutes=1.0)  # 1800 frames
    assert result["frames"] == 1800 and result["windows"] == 1800 // 4 + 1
    assert result["context_bounded"] and result["context_frames"] == [16 + 16 + 8]
    assert len(result["window_ms_by_decile"]) == 10 and result["rss_last_10pct_mb"] > 0
    blocks = list(synthetic_speaker(7000, 8, block=3000))
    assert [len(b[0]) for b in blocks] == [3000, 3000, 1000]
    visual = np.concatenate([b[0] for b in blocks])
    assert np.isfinite(visual).all() and visual.shape == (7000, 25)


def test_cpu_int8_variant_runs_and_is_close(tmp_path):
    import torch

    from react_ros.export.onnx_export import export_bundle
    from react_ros.export.quantize import CPU_INT8_VARIANT, add_cpu_int8_variant
    from react_ros.model.bundle import save_bundle
    from react_ros.model.config import ModelConfig
    from react_ros.model.reaction_model import ReactionModel
    from react_ros.runtime.onnxruntime_backend import OnnxGraphs

    config = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                         pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)
    torch.manual_seed(0)
    bundle = save_bundle(tmp_path / "bundle", ReactionModel(config).eval(), half=False)
    export_bundle(bundle, tmp_path / "onnx", precisions=("fp32",), samplers=())
    variant = add_cpu_int8_variant(tmp_path / "onnx")
    assert set(variant["graphs"]) == {"condition", "denoise", "decode"}
    assert "MatMulInteger" in variant["graphs"]["denoise"]["ops"]
    fp32, int8 = OnnxGraphs(tmp_path / "onnx", "fp32", 1), OnnxGraphs(tmp_path / "onnx", CPU_INT8_VARIANT, 1)
    rng = np.random.default_rng(0)
    latent, cond = rng.standard_normal((3, 8)).astype(np.float32), rng.standard_normal((3, 16)).astype(np.float32)
    t = np.full(3, 50.0, np.float32)
    a, b = fp32.denoise(latent, t, cond), int8.denoise(latent, t, cond)
    assert a.shape == b.shape and np.abs(a - b).max() < 0.1 * (np.abs(a).max() + 1e-3) + 0.05
