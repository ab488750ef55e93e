"""First stage: a variational autoencoder over windows of listener reactions.

The decoder also sees the listener's recent past, so a window continues the previous one without a
jump at the border; the latent carries what the past cannot predict (a smile starting, a nod).
With `speaker_skip` > 0 encoder and decoder also see the speaker's last frames (a conditional VAE): the
decoder has a linear path from the speaker's frames, mapped into the decoder's output space (logits), to
the window, so copying the speaker after a delay is one linear map; the latent carries the rest."""
from __future__ import annotations

import torch
from torch import nn

from react_ros.model.config import ModelConfig
from react_ros.model.layers import from_reaction_ranges, to_reaction_ranges


def _mlp(inputs: int, width: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                         nn.Linear(width, outputs))


class ReactionAutoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        frames = config.window * config.reaction_dim
        history = config.past * config.reaction_dim
        speaker = config.speaker_skip * (config.reaction_dim + 1)  # frames and their present flags
        self.encoder = _mlp(frames + history + speaker, config.ae_width, 2 * config.latent_dim)
        self.decoder = _mlp(config.latent_dim + history + speaker, config.ae_width, frames)
        # Zero at the start: training grows the copy path only where the data copies the speaker.
        self.speaker_path = nn.Linear(config.speaker_skip * config.reaction_dim, frames) if config.speaker_skip else None
        if self.speaker_path is not None:
            nn.init.zeros_(self.speaker_path.weight)
            nn.init.zeros_(self.speaker_path.bias)

    def _speaker(self, speaker: torch.Tensor | None, present: torch.Tensor | None) -> list[torch.Tensor]:
        """(B,S,25) frames and (B,S) present flags -> [(B,S*25) logits of present frames, (B,S) flags]; [] without
        speaker_skip."""
        if not self.config.speaker_skip:
            return []
        if speaker is None or present is None:
            raise ValueError(f"this model sees the speaker's last {self.config.speaker_skip} frames: "
                             "pass speaker and speaker_present")
        logits = from_reaction_ranges(speaker) * present[..., None]
        return [logits.flatten(1), present]

    def encode(self, window: torch.Tensor, past: torch.Tensor, speaker: torch.Tensor | None = None,
               speaker_present: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, w, 25), (B, P, 25)[, (B, S, 25), (B, S)] -> mean and log-variance of the latent, each (B, latent_dim)."""
        stats = self.encoder(torch.cat([window.flatten(1), past.flatten(1),
                                        *self._speaker(speaker, speaker_present)], dim=1))
        mean, logvar = stats.chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 6.0)

    def decode(self, latent: torch.Tensor, past: torch.Tensor, speaker: torch.Tensor | None = None,
               speaker_present: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent_dim), (B, P, 25)[, (B, S, 25), (B, S)] -> reactions (B, w, 25) in the schema's ranges."""
        extra = self._speaker(speaker, speaker_present)
        raw = self.decoder(torch.cat([latent, past.flatten(1), *extra], dim=1))
        if self.speaker_path is not None:
            raw = raw + self.speaker_path(extra[0])
        # No residual on the last past frame in logit space: near 0 or 1 that makes absorbing states.
        return to_reaction_ranges(raw.reshape(-1, self.config.window, self.config.reaction_dim))
