"""The trainable model: autoencoder + condition encoder + denoiser, with the latent scale and config."""
from __future__ import annotations

import torch
from torch import nn

from react_ros.model.autoencoder import ReactionAutoencoder
from react_ros.model.condition import ConditionEncoder
from react_ros.model.config import ModelConfig
from react_ros.model.denoiser import LatentDenoiser
from react_ros.model.diffusion import NoiseSchedule


class ReactionModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.autoencoder = ReactionAutoencoder(config)
        self.condition = ConditionEncoder(config)
        self.denoiser = LatentDenoiser(config)
        # Diffusion runs on latent / latent_scale (unit variance), set after the first stage is trained.
        self.register_buffer("latent_scale", torch.ones(()))

    @property
    def schedule(self) -> NoiseSchedule:
        return NoiseSchedule(self.config.train_timesteps, self.config.schedule)

    def parameter_count(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in part.parameters())
                for name, part in (("autoencoder", self.autoencoder), ("condition", self.condition),
                                   ("denoiser", self.denoiser))}
