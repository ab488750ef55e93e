"""Second stage: the latent diffusion denoiser, an MLP with FiLM conditioning (ReactDiff's matcher).

Predicts v = sqrt(a) eps - sqrt(1-a) x0 for a noisy window latent at diffusion time t, given the condition."""
from __future__ import annotations

import torch
from torch import nn

from react_ros.model.config import ModelConfig
from react_ros.model.layers import timestep_embedding


class ResidualFiLMBlock(nn.Module):
    def __init__(self, width: int, cond_width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(cond_width, 2 * width)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(cond).chunk(2, dim=-1)
        return h + self.mlp(self.norm(h) * (1 + scale) + shift)


class LatentDenoiser(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        width = config.denoiser_width
        self.time_dim = width
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.cond_mlp = nn.Sequential(nn.Linear(config.cond_dim, width), nn.SiLU())
        self.inp = nn.Linear(config.latent_dim, width)
        self.blocks = nn.ModuleList(ResidualFiLMBlock(width, width) for _ in range(config.denoiser_blocks))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, config.latent_dim)

    def forward(self, latent: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """latent (B, latent_dim), t (B,) float timesteps in [0, train_timesteps), cond (B, cond_dim)."""
        c = nn.functional.silu(self.time_mlp(timestep_embedding(t, self.time_dim)) + self.cond_mlp(cond))
        h = self.inp(latent)
        for block in self.blocks:
            h = block(h, c)
        return self.out(self.norm(h))
