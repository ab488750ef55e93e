"""Speaker-attribute estimator: a small CNN from a 64x64 gray face crop to the 25-d attribute vector.

Only Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear (+ Sigmoid/Tanh/Softmax/Slice/Concat in the
output head) so it exports to ONNX opset 17 and builds in TensorRT 8.5 (shared TENSORRT_FACTS.md);
no adaptive pooling, no LayerNorm. About 125k parameters: ~1 ms per frame on one CPU thread.

Outputs are in schema ranges by construction: sigmoid for the 15 AU probabilities, tanh for valence and
arousal, softmax for the 8 expression probabilities. The loss is weighted per schema block: BCE for the
AUs (soft targets are fine), MSE for valence/arousal, cross-entropy against the (soft) expression
distribution.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from react_ros import schema

__all__ = ["EstimatorConfig", "LossWeights", "AttributeEstimator", "estimator_loss", "train_estimator",
           "estimate", "save_estimator", "load_estimator", "to_model_input", "activate"]

FORMAT = "react_ros.attribute_estimator"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class EstimatorConfig:
    input_size: int = 64
    channels: tuple[int, ...] = (16, 32, 64, 64)  # one conv + 2x2 max-pool per stage: 64 -> 4 px
    hidden: int = 64
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.input_size % (2 ** len(self.channels)):
            raise ValueError(f"EstimatorConfig: input_size {self.input_size} must be divisible by "
                             f"2**{len(self.channels)} (one 2x2 pooling per stage)")


@dataclass(frozen=True)
class LossWeights:
    au: float = 1.0
    affect: float = 1.0
    expression: float = 0.5  # cross-entropy is ~2 nats at start, BCE/MSE well below 1: keep blocks comparable


class AttributeEstimator(nn.Module):
    """forward((B, 1, 64, 64) float in 0..1) -> (B, 25) attributes in schema ranges."""

    def __init__(self, config: EstimatorConfig = EstimatorConfig()) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in config.channels:
            # 3x3 conv, no bias (BatchNorm has one), then downsample: cheap and a plain TensorRT graph.
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        side = config.input_size // 2 ** len(config.channels)
        # Flatten keeps where things are (mouth below eyes): a global pool would throw that away.
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(in_channels * side * side,
                                  config.hidden), nn.ReLU(inplace=True), nn.Linear(config.hidden, schema.REACTION_DIM))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw (B, 25) outputs before the per-block activations (what the loss uses)."""
        return self.head(self.features(x - 0.5))  # centre the 0..1 input: BN then sees zero-mean data

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return activate(self.logits(x))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def activate(logits: torch.Tensor) -> torch.Tensor:
    """Per-block output activations: sigmoid (AUs), tanh (valence, arousal), softmax (expressions)."""
    return torch.cat([torch.sigmoid(logits[:, schema.AU]), torch.tanh(logits[:, schema.AFFECT]),
                      torch.softmax(logits[:, schema.EXPRESSION], dim=1)], dim=1)


def estimator_loss(logits: torch.Tensor, targets: torch.Tensor,
                   weights: LossWeights = LossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the block losses, and each block's value for logging."""
    au = F.binary_cross_entropy_with_logits(logits[:, schema.AU], targets[:, schema.AU].clamp(0, 1))
    affect = F.mse_loss(torch.tanh(logits[:, schema.AFFECT]), targets[:, schema.AFFECT])
    expression_targets = targets[:, schema.EXPRESSION].clamp_min(0)
    expression_targets = expression_targets / expression_targets.sum(1, keepdim=True).clamp_min(1e-6)
    expression = -(expression_targets * F.log_softmax(logits[:, schema.EXPRESSION], dim=1)).sum(1).mean()
    total = weights.au * au + weights.affect * affect + weights.expression * expression
    return total, {"au": float(au.detach()), "affect": float(affect.detach()), "expression": float(expression.detach())}


def to_model_input(crops: np.ndarray) -> np.ndarray:
    """(N, H, W) or (N, 1, H, W) uint8 (0..255) or float (0..1) crops -> (N, 1, H, W) float32 in 0..1."""
    array = np.asarray(crops)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != 1:
        raise ValueError(f"estimator input: expected crops (N, H, W) or (N, 1, H, W), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    return array.astype(np.float32, copy=False)


# -------------------------------------------------------------------------------------------- training

def _augment(x: torch.Tensor, generator: torch.Generator, max_shift: float = 3.0) -> torch.Tensor:
    """Light photometric and geometric jitter: brightness, contrast, a few pixels of shift, +-5 % scale."""
    b = x.shape[0]
    u = lambda low, high: low + (high - low) * torch.rand(b, 1, 1, 1, generator=generator)  # noqa: E731
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * u(0.75, 1.25) + mean + u(-0.12, 0.12)
    side = x.shape[-1]
    scale = u(0.95, 1.05).view(b)
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * (2.0 * max_shift / side)  # normalised coords
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return x.clamp(0.0, 1.0)


@dataclass
class _Split:
    train: np.ndarray
    val: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _split(n: int, val_fraction: float, rng: np.random.Generator) -> _Split:
    order = rng.permutation(n)
    n_val = int(round(n * val_fraction)) if n >= 10 else 0
    return _Split(train=order[n_val:], val=order[:n_val])


@torch.no_grad()
def _evaluate(model: AttributeEstimator, x: torch.Tensor, y: torch.Tensor, weights: LossWeights,
              batch_size: int) -> dict[str, float]:
    model.eval()
    logits = torch.cat([model.logits(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])
    loss, parts = estimator_loss(logits, y, weights)
    out = activate(logits)
    return {
        "loss": float(loss), **{f"loss_{k}": v for k, v in parts.items()},
        "au_mae": float((out[:, schema.AU] - y[:, schema.AU]).abs().mean()),
        "affect_mae": float((out[:, schema.AFFECT] - y[:, schema.AFFECT]).abs().mean()),
        "expression_accuracy": float((out[:, schema.EXPRESSION].argmax(1) == y[:, schema.EXPRESSION].argmax(1))
                                     .float().mean()),
    }


def _fit(model: AttributeEstimator, x_train: torch.Tensor, y_train: torch.Tensor, epochs: int, batch_size: int,
         lr: float, generator: torch.Generator, augment: bool, weights: LossWeights,
         progress: bool) -> tuple[list[float], float]:
    """The optimisation loop: AdamW + one-cycle schedule; returns (mean train loss per epoch, seconds)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = max(1, math.ceil(x_train.shape[0] / batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                    pct_start=0.15) if epochs > 0 else None
    bar = None
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        bar = tqdm(total=epochs, desc="estimator", unit="epoch")
    epoch_loss: list[float] = []
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(x_train.shape[0], generator=generator)
        total, count = 0.0, 0
        for i in range(0, len(order), batch_size):
            index = order[i:i + batch_size]
            if index.numel() < 2:  # BatchNorm needs two samples
                continue
            x = x_train[index]
            if augment:
                x = _augment(x, generator)
            loss, _ = estimator_loss(model.logits(x), y_train[index], weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += float(loss.detach()) * index.numel()
            count += index.numel()
        epoch_loss.append(total / max(count, 1))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{epoch_loss[-1]:.4f}")
    if bar is not None:
        bar.close()
    return epoch_loss, time.perf_counter() - start


def train_estimator(frames: np.ndarray, targets: np.ndarray, epochs: int = 20, batch_size: int = 64,
                    lr: float = 2e-3, seed: int = 0, progress: bool = True, val_fraction: float = 0.1,
                    augment: bool = True, weights: LossWeights = LossWeights(),
                    config: EstimatorConfig = EstimatorConfig()) -> tuple[AttributeEstimator, dict[str, Any]]:
    """Train on (N, 64, 64) uint8 face crops and their (N, 25) attributes; returns (eval-mode model, metrics).

    AdamW with a one-cycle schedule (15 % warm-up, cosine decay). `val_fraction` of the frames (random;
    only when there are at least 10 frames) is held out. The seed fixes initialisation, dropout, split,
    batches and augmentation without touching torch's global RNG. metrics: epoch_loss (train, per epoch),
    first/final train loss, val_* (or train_* when there is no validation split), seconds, parameters.
    """
    frames = np.asarray(frames)
    targets = np.asarray(targets, dtype=np.float32)
    if frames.ndim != 3 or frames.shape[1:] != (config.input_size, config.input_size):
        raise ValueError(f"train_estimator: frames must be (N, {config.input_size}, {config.input_size}) face "
                         f"crops, got shape {frames.shape}")
    if targets.shape != (frames.shape[0], schema.REACTION_DIM):
        raise ValueError(f"train_estimator: targets must be ({frames.shape[0]}, {schema.REACTION_DIM}), "
                         f"got shape {targets.shape}")
    if frames.shape[0] == 0:
        raise ValueError("train_estimator: no frames")
    schema.check_reactions(targets, "train_estimator targets")
    rng = np.random.default_rng(seed)
    split = _split(frames.shape[0], val_fraction, rng)
    x_all = torch.from_numpy(to_model_input(frames))
    y_all = torch.from_numpy(targets)
    x_train, y_train = x_all[split.train], y_all[split.train]
    generator = torch.Generator().manual_seed(seed)
    # Seeded init and dropout (which draws from torch's global RNG) without changing the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AttributeEstimator(config)
        epoch_loss, seconds = _fit(model, x_train, y_train, epochs, batch_size, lr, generator, augment, weights,
                                   progress)
    model.eval()
    metrics: dict[str, Any] = {"epoch_loss": epoch_loss, "first_loss": epoch_loss[0] if epoch_loss else math.nan,
                               "final_loss": epoch_loss[-1] if epoch_loss else math.nan,
                               "seconds": seconds, "parameters": model.num_parameters(),
                               "train_frames": int(len(split.train)), "val_frames": int(len(split.val))}
    if len(split.val):
        evaluation = _evaluate(model, x_all[split.val], y_all[split.val], weights, 256)
        metrics.update({f"val_{k}": v for k, v in evaluation.items()})
    else:
        evaluation = _evaluate(model, x_train, y_train, weights, 256)
        metrics.update({f"train_{k}": v for k, v in evaluation.items()})
    return model, metrics


# ------------------------------------------------------------------------------------------- inference

@torch.no_grad()
def estimate(model: nn.Module, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, 64, 64) uint8 or (N, 1, 64, 64) float 0..1 crops -> (N, 25) float32 attributes."""
    x = to_model_input(crops)
    if x.shape[0] == 0:
        return np.zeros((0, schema.REACTION_DIM), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        out = [model(torch.from_numpy(x[i:i + batch_size])).numpy() for i in range(0, x.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float32, copy=False)


def save_estimator(path: str | Path, model: AttributeEstimator, meta: dict[str, Any] | None = None) -> Path:
    """One .pt file: format tag, config, state_dict and JSON-like meta (loadable with weights_only=True)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = asdict(model.config)
    config["channels"] = list(config["channels"])
    torch.save({"format": FORMAT, "version": FORMAT_VERSION, "config": config,
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "meta": dict(meta or {})}, path)
    return path


def load_estimator(path: str | Path) -> tuple[AttributeEstimator, dict[str, Any]]:
    """(eval-mode model, meta) from save_estimator's file; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: estimator checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (re-raised with the file name)
        raise ValueError(f"{path}: not a readable estimator checkpoint ({error})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not an attribute-estimator checkpoint (format tag {FORMAT!r} missing)")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: estimator checkpoint version {payload.get('version')}, "
                         f"this code reads version {FORMAT_VERSION}")
    config_dict = dict(payload["config"])
    config_dict["channels"] = tuple(config_dict["channels"])
    model = AttributeEstimator(EstimatorConfig(**config_dict))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not match the stored config ({error})") from error
    model.eval()
    return model, dict(payload.get("meta") or {})
