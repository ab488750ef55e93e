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

from react_ros.model.bundle import load_bundle

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
    assert min(costs[g]["flops"] for g in ("condition", "denoise", "decode")) > 0
    config = load_bundle().model.config  # the shipped model, as benched: its decode holds the mean path's map
    if config.speaker_path == "mean":
        assert costs["decode"]["flops"] >= 2 * (config.speaker_skip * 25) * (config.window * 25)
    assert {t["target"] for t in report["targets"]} and all("met" in t for t in report["targets"])
    assert "ros" not in report
    # The targets' ratios come from interleaved rounds: every round timed both backends, the ratio is per round.
    ratios = report["ratios"]
    assert ratios["rounds"] == 3 and all(len(v) == 3 for v in ratios["window_ms_by_round"].values())
    speedup = ratios["ratios"]["ort_vs_torch"]
    by_round = ratios["window_ms_by_round"]
    assert speedup["values"] == pytest.approx([t / o for t, o in zip(by_round["torch"], by_round["ort-fp32"],
                                                                     strict=True)], rel=1e-2)
    assert speedup["min"] <= speedup["median"] <= speedup["max"]
    assert stream["late_vs_fresh"]["rounds"] == 3 and stream["late_vs_fresh"]["ratio"]["n"] == 3
    (row,) = [t for t in report["targets"] if t["target"].startswith("ONNX Runtime vs torch")]
    assert row["value"] == speedup["median"] and row["spread"] == [speedup["min"], speedup["max"]]


def test_interleaved_rounds_rotate_the_order_and_time_every_contender_each_round():
    from react_ros.bench.repeats import interleaved

    calls = []
    times = interleaved({name: (lambda n=name: calls.append(n)) for name in "abc"}, rounds=3, budget_s=0.0, min_n=1)
    assert {name: len(v) for name, v in times.items()} == {"a": 3, "b": 3, "c": 3}
    firsts = calls[::2]  # one warm-up call and one timed call per contender and round
    assert firsts == list("abc" "bca" "cab")
    with pytest.raises(ValueError, match="at least one round"):
        interleaved({"a": lambda: None}, rounds=0, budget_s=0.0)


def test_a_target_is_missed_only_when_its_whole_spread_misses_it():
    from react_ros.bench.repeats import per_round_ratios, spread, verdict

    assert verdict(spread([1.2, 1.4, 1.1]), 1.0) is True
    assert verdict(spread([0.86, 1.4, 1.2]), 1.0) == "unclear"  # the two runs of the issue, as one spread
    assert verdict(spread([0.7, 0.95]), 1.0) is False
    assert verdict(spread([0.95, 1.05]), 0.9, 1.1) is True and verdict(spread([1.0, 1.2]), 0.9, 1.1) == "unclear"
    assert verdict(spread([1.15, 1.3]), 0.9, 1.1) is False and verdict(spread([]), 1.0) is None
    # A speed-up is numerator time over denominator time, round by round (slow torch / fast ORT > 1).
    ratio = per_round_ratios({"torch": [4.0, 8.0], "ort": [1.0, 2.0]}, "torch", "ort")
    assert ratio["values"] == [4.0, 4.0] and ratio["median"] == 4.0


def test_the_targets_table_says_unclear_when_the_spread_straddles_the_goal():
    from react_ros.bench.report import markdown, targets

    report = {"plan": {"threads": 1, "default_window": 8, "default_steps": 4, "samples": [1], "windows": [8],
                       "steps": [4], "isolate": True},
              "machine": {"cpu": "x", "cpus": 2, "load_average_at_start": [1.0], "onnxruntime": "1", "torch": "2",
                          "python": "3"}, "backends": {}, "models": {}, "seconds": 1.0,
              "ratios": {"ratios": {"int8cpu_vs_fp32": {"median": 1.2, "min": 0.86, "max": 1.4, "n": 9},
                                    "int8_vs_fp32": {"median": 0.4, "min": 0.3, "max": 0.5, "n": 9}}}}
    rows = {t["target"]: t for t in targets(report)}
    assert rows["INT8 faster than FP32 on ORT (dynamic, CPU variant)"]["met"] == "unclear"
    assert rows["INT8 faster than FP32 on ORT (static QDQ, the TensorRT file)"]["met"] is False
    text = markdown(report, "react-ros bench")
    assert "| 1.2 (0.86–1.4) | *unclear* |" in text and "| 0.4 (0.3–0.5) | **no** |" in text


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


def test_only_a_full_run_into_the_published_results_rewrites_the_performance_page():
    """`react-ros bench --out DIR` is a trial (an A/B, a slower machine): it used to rewrite docs/performance.md, so
    the page quoted numbers that benchmarks/results/online.json did not hold."""
    from react_ros.bench.cli import doc_target
    from react_ros.cli import build_parser

    def target(*argv):
        return doc_target(build_parser().parse_args(["bench", *argv]))

    assert target().endswith("docs/performance.md")
    assert target("--out", "/tmp/trial") is None
    assert target("--quick") is None
    assert target("--out", "/tmp/trial", "--doc", "/tmp/trial/page.md") == "/tmp/trial/page.md"
    assert target("--doc", "none") is None
