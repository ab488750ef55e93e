"""First stage: a variational autoencoder over windows of listener reactions.

The decoder also sees the listener's recent past, so a window continues the previous one without a
jump at the border; the latent carries what the past cannot predict (a smile starting, a nod)."""
from __future__ import annotations

import torch
from torch import nn

from react_ros.model.config import ModelConfig
from react_ros.model.layers import to_reaction_ranges


def _mlp(inputs: int, width: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                         nn.Linear(width, outputs))


class ReactionAutoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        frames = config.window * config.reaction_dim
        history = config.past * config.reaction_dim
        self.encoder = _mlp(frames + history, config.ae_width, 2 * config.latent_dim)
        self.decoder = _mlp(config.latent_dim + history, config.ae_width, frames)

    def encode(self, window: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, w, 25), (B, P, 25) -> mean and log-variance of the latent, each (B, latent_dim)."""
        stats = self.encoder(torch.cat([window.flatten(1), past.flatten(1)], dim=1))
        mean, logvar = stats.chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 6.0)

    def decode(self, latent: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim), (B, P, 25) -> reactions (B, w, 25) in the schema's ranges."""
        raw = self.decoder(torch.cat([latent, past.flatten(1)], dim=1))
        # No residual on the last past frame in logit space: near 0 or 1 that makes absorbing states.
        return to_reaction_ranges(raw.reshape(-1, self.config.window, self.config.reaction_dim))
