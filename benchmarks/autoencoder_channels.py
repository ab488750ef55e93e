"""What does a model's window autoencoder carry, per attribute? CCC of its reconstructions with the real windows.

    python benchmarks/autoencoder_channels.py --model RUN/bundle --data DATA [--split test] [--windows 2000] \
        [--out benchmarks/results/autoencoder_channels.json]

Two rows, over windows of the split (robot's direction, the true past and speaker frames, as in training):
"encoded" decodes the encoder's latent for each window (the best the diffusion stage could sample: what the
autoencoder can represent at all), "latent 0" decodes the latent's mean (what the speaker frames and the past
alone give, with no sampled information). An attribute low in "encoded" is lost by the first stage whatever the
diffusion does; the gap between the rows is what the sampled latent has to carry. Prints a Markdown table and
writes JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model bundle directory")
    parser.add_argument("--data", required=True, help="MARS-layout data set")
    parser.add_argument("--split", default="test")
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "autoencoder_channels.json"))
    args = parser.parse_args()

    import torch

    from react_ros import schema
    from react_ros.data.features import load_features
    from react_ros.metrics.ccc import ccc
    from react_ros.model.bundle import load_bundle
    from react_ros.model.config import speaker_skip_inputs
    from react_ros.training.windows import WindowSampler

    model = load_bundle(args.model).model.float().eval()
    features = load_features(args.data, args.split, "speaker->listener")
    batch = {k: torch.from_numpy(v) for k, v in
             WindowSampler(features, model.config, seed=args.seed).batch(args.windows, None).items()}
    skip = speaker_skip_inputs(model.config, batch)
    with torch.no_grad():
        mean, _ = model.autoencoder.encode(batch["window"], batch["past"], **skip)
        rows = {"encoded": model.autoencoder.decode(mean, batch["past"], **skip),
                "latent 0": model.autoencoder.decode(torch.zeros_like(mean), batch["past"], **skip)}
    target = batch["window"].reshape(-1, schema.REACTION_DIM).numpy()
    scores = {name: ccc(target, out.reshape(-1, schema.REACTION_DIM).numpy()) for name, out in rows.items()}
    print("| attribute | " + " | ".join(scores) + " |\n| --- |" + " ---: |" * len(scores))
    for i, name in enumerate(schema.ATTRIBUTE_NAMES):
        print(f"| {name} | " + " | ".join(f"{s[i]:.2f}" for s in scores.values()) + " |")
    print("| mean | " + " | ".join(f"{s.mean():.3f}" for s in scores.values()) + " |")
    result = {"command": f"python benchmarks/autoencoder_channels.py --model {args.model} --data {args.data} "
                         f"--split {args.split} --windows {args.windows} --seed {args.seed}",
              "ccc": {row: dict(zip(schema.ATTRIBUTE_NAMES, map(float, s), strict=True)) for row, s in scores.items()},
              "mean": {row: float(s.mean()) for row, s in scores.items()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
