"""Measure the int8_cpu error the parity test's tolerance is derived from (test_export.py,
test_cpu_int8_variant_is_made_on_demand_and_stays_close): the max |int8_cpu - torch| of one window of the
test's tiny model over several input seeds, next to the max |torch(other noise) - torch|, the difference a
test must still detect. Run: PYTHONPATH=. python3 scripts/measure_int8_tolerance.py"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
import test_export  # noqa: E402  (the test's own model and inputs)

from react_ros.model.bundle import load_bundle, save_bundle  # noqa: E402
from react_ros.model.generator import SamplingConfig, WindowGenerator  # noqa: E402
from react_ros.model.reaction_model import ReactionModel  # noqa: E402
from react_ros.perception.estimator import AttributeEstimator, EstimatorConfig  # noqa: E402
from react_ros.runtime import load_graphs  # noqa: E402
from react_ros.runtime.torch_backend import TorchGraphs  # noqa: E402


def main() -> None:
    torch.manual_seed(0)  # as the test's bundle_dir fixture
    model = ReactionModel(test_export.TINY).eval()
    with torch.no_grad():
        model.latent_scale.fill_(1.5)
    estimator = AttributeEstimator(EstimatorConfig(channels=(4, 8, 8, 8), hidden=16)).eval()
    root = Path(tempfile.mkdtemp())
    bundle = save_bundle(root / "bundle", model, estimator, card={"sampling": {"sampler": "dpm", "steps": 2}})
    int8 = load_graphs("onnxruntime", bundle, precision="int8_cpu", cache_dir=root / "cache").graphs
    reference = TorchGraphs(load_bundle(bundle).model)
    sampling = SamplingConfig("dpm", 2)
    print("seed  max|int8_cpu - torch|  max|torch(other noise) - torch|")
    for seed in range(1, 6):
        inputs = test_export._window_inputs(4, seed)
        theirs = WindowGenerator(reference, sampling)(*inputs)
        ours = WindowGenerator(int8, sampling)(*inputs)
        other = np.random.default_rng(98 + seed).standard_normal(inputs[-1].shape).astype(np.float32)
        noise_difference = WindowGenerator(reference, sampling)(*inputs[:-1], other)
        print(f"{seed:4d}  {np.abs(ours - theirs).max():21.4f}  {np.abs(noise_difference - theirs).max():31.4f}")


if __name__ == "__main__":
    main()
