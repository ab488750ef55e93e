"""Small building blocks written with plain matmuls, so that every exported graph contains only
operators TensorRT 8.5 builds (no fused attention kernels, LayerNorm decomposed at opset 16)."""
from __future__ import annotations

import math

import torch
from torch import nn

from react_ros import schema


class Attention(nn.Module):
    """Multi-head attention; queries from `x`, keys/values from `context` (self-attention if None)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        b, n, d = x.shape
        m = context.shape[1]
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(context).reshape(b, m, 2, h, d // h).permute(2, 0, 3, 1, 4)
        weights = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: (cross-)attention then an MLP."""

    def __init__(self, dim: int, heads: int, cross: bool = False):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim) if cross else None
        self.attention = Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        kv = None if self.norm_kv is None else self.norm_kv(context)
        x = x + self.attention(self.norm_q(x), kv)
        return x + self.mlp(self.norm_mlp(x))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (B,) float diffusion timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def to_reaction_ranges(raw: torch.Tensor) -> torch.Tensor:
    """Map unconstrained (..., 25) outputs into the schema's ranges: AUs 0..1, affect -1..1,
    expression probabilities that sum to 1."""
    aus = torch.sigmoid(raw[..., schema.AU])
    affect = torch.tanh(raw[..., schema.AFFECT])
    expressions = torch.softmax(raw[..., schema.EXPRESSION], dim=-1)
    return torch.cat([aus, affect, expressions], dim=-1)


def from_reaction_ranges(frames: torch.Tensor) -> torch.Tensor:
    """The inverse of `to_reaction_ranges`, clamped away from the saturated ends: AU logits, atanh of affect,
    log expression probabilities (softmax ignores the constant a log leaves)."""
    # Written with Log and Div only: every operator is in TensorRT 8.5's ONNX parser.
    p = frames[..., schema.AU].clamp(0.01, 0.99)
    aus = torch.log(p / (1.0 - p))
    a = frames[..., schema.AFFECT].clamp(-0.99, 0.99)
    affect = 0.5 * torch.log((1.0 + a) / (1.0 - a))
    expressions = torch.log(frames[..., schema.EXPRESSION].clamp_min(1e-3))
    return torch.cat([aus, affect, expressions], dim=-1)
