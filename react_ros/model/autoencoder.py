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


class LagCopy(nn.Module):
    """The speaker's recent face, copied at a lag the latent chooses (speaker_path: lag).

    A listener who reacts to the speaker after their own delay is sharp at that delay; a linear map from the
    speaker's frames learns the average over every listener's delay, a blur that matches none of them. Here
    the latent and the past choose a distribution over lags 1..S (softmax; the lag is one of the things that
    differ between people, so samples differ as listeners do) and a gain per attribute (0: that attribute does
    not follow the speaker). The copy is in logit space, so gain 1 reproduces the speaker's values exactly."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        s, w, d = config.speaker_skip, config.window, config.reaction_dim
        frame = torch.arange(w)[:, None]
        lag = torch.arange(1, s + 1)[None, :]
        # Window frame k (time t+k) at lag l copies speaker time t+k-l: slice index s+k-l, held at the newest
        # frame seen (t-1, index s-1) when l <= k: the robot never reads a frame it has not seen.
        self.register_buffer("source", (s + frame - lag).clamp(0, s - 1).flatten(), persistent=False)
        chooser = config.latent_dim + config.past * d
        self.lag_logits = nn.Linear(chooser, s)
        self.gain = nn.Linear(chooser, d)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.gain.bias)
        self.shape = (w, s, d)

    def forward(self, speaker_logits: torch.Tensor, latent: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """(B,S,d) speaker logits (0 where absent), (B,latent), (B,P,d) -> (B, w*d) logits to add to the window."""
        w, s, d = self.shape
        chooser = torch.cat([latent, past.flatten(1)], dim=1)
        weights = torch.softmax(self.lag_logits(chooser), dim=-1)  # (B, S) over lags 1..S
        candidates = speaker_logits[:, self.source].reshape(-1, w, s, d)  # (B, w, lag, d)
        copy = (weights[:, None, :, None] * candidates).sum(dim=2)
        return (copy * self.gain(chooser)[:, None, :]).flatten(1)


class ChannelFilter(nn.Module):
    """The speaker's recent face, each attribute filtered on its own (speaker_path: channel).

    Window frame k of attribute a is a learned weighted sum of the last S speaker values of attribute a (in logit
    space, plus a bias): a delayed copy, a smoothed one or a spread of delays, but never one attribute read into
    another. A full linear map from S x 25 speaker values to w x 25 window values has 25 times the weights
    (300k at S = 48) for a few thousand training windows and fits cross-attribute noise; this one does not.
    With speaker_path: filter the weights are fitted by least squares before the autoencoder trains and then
    frozen (training/trainer.py, fit_speaker_filter), so the latent carries only what the filter cannot predict;
    that filter reads and writes the schema's ranges (the decoder adds its logits)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        w, s, d = config.window, config.speaker_skip, config.reaction_dim
        # Zero at the start: training grows the copy only where the data copies the speaker.
        self.weight = nn.Parameter(torch.zeros(1, w, s, d))
        self.bias = nn.Parameter(torch.zeros(1, w, d))

    def forward(self, speaker_logits: torch.Tensor) -> torch.Tensor:
        """(B, S, d) speaker logits (0 where absent) -> (B, w*d) logits to add to the window."""
        # Mul + ReduceSum rather than einsum: plain operators for every ONNX and TensorRT version.
        return ((speaker_logits[:, None] * self.weight).sum(dim=2) + self.bias).flatten(1)


class MeanPath(nn.Module):
    """The listener's expected window from the speaker's last S frames (speaker_path: mean), one linear map in the
    schema's ranges, fitted by least squares before the autoencoder trains and then frozen
    (training/mean_path.py). It holds both answers the project measured against the model (issue 26): each
    attribute filtered from its own past (wins where listeners copy a channel) and every attribute read from every
    other (wins where listeners answer one channel with another), blended per attribute on the validation split.
    With config.mean_hidden, a nonlinear part is added: an MLP from every speaker attribute at every
    MEAN_STRIDE-th frame (inputs standardised inside), fitted on what the linear map leaves and scaled per output
    by the fraction of it that helped on validation (`gain`). The decoder adds a residual to it, so at temperature
    0 the model answers at least with what least squares learns from the speaker, and the latent and its
    diffusion model only what that mean leaves: who this listener is and what they do that the speaker does not
    settle."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        w, s, d, hidden = config.window, config.speaker_skip, config.reaction_dim, config.mean_hidden
        self.weight = nn.Parameter(torch.zeros(s * d, w * d), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(w * d), requires_grad=False)
        # what an absent speaker frame reads as: the earliest present frame of the context (at the start of a
        # conversation: the speaker was as they first appear, as the deterministic references hold it; measured
        # +0.011 FRCorr on mirror over an average frame), or, with none present, the training speakers' average
        # frame (set with the fit); never every attribute at its range's floor
        self.register_buffer("fill", torch.zeros(d))
        self.register_buffer("up_to", torch.triu(torch.ones(s, s)))  # present @ up_to: present frames so far
        self.net = None
        if hidden:
            inputs = len(mean_net_frames(s)) * d
            self.register_buffer("net_frames", torch.as_tensor(mean_net_frames(s)))
            self.register_buffer("input_mean", torch.zeros(inputs))
            self.register_buffer("input_std", torch.ones(inputs))
            self.register_buffer("gain", torch.zeros(w * d))  # 0 until fitted: an unfitted net adds nothing
            self.net = nn.Sequential(nn.Linear(inputs, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                     nn.Linear(hidden, w * d))
            self.net.requires_grad_(False)

    def net_inputs(self, speaker: torch.Tensor) -> torch.Tensor:
        """(B, S, d) -> (B, F*d) the MLP's standardised inputs."""
        return (speaker[:, self.net_frames].flatten(1) - self.input_mean) / self.input_std

    def forward(self, speaker: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """(B, S, d) speaker frames in the schema's ranges, (B, S) their present flags (None: all present)
        -> (B, w*d) expected window, in ranges."""
        if present is not None:
            first = present * (present @ self.up_to < 1.5).to(present.dtype)  # one-hot: the first present frame
            held = (first[..., None] * speaker).sum(1)  # (B, d)
            seen = first.sum(1, keepdim=True)  # 1, or 0 when no frame is present
            fill = seen * held + (1.0 - seen) * self.fill
            speaker = speaker * present[..., None] + fill[:, None] * (1.0 - present[..., None])
        linear = speaker.flatten(1) @ self.weight + self.bias
        if self.net is None:
            return linear
        return linear + self.gain * self.net(self.net_inputs(speaker))


MEAN_STRIDE = 2


def mean_net_frames(speaker_skip: int) -> list[int]:
    """The speaker frames the mean path's MLP reads: every MEAN_STRIDE-th, the newest included."""
    return list(range(speaker_skip - 1, -1, -MEAN_STRIDE))[::-1]


class ReactionAutoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        frames = config.window * config.reaction_dim
        history = config.past * config.reaction_dim
        speaker = config.speaker_skip * (config.reaction_dim + 1)  # frames and their present flags
        speaker += 1 if config.roles > 1 else 0  # a role-conditioned model's role, read with the speaker
        self.encoder = _mlp(frames + history + speaker, config.ae_width, 2 * config.latent_dim)
        self.decoder = _mlp(config.latent_dim + (history if config.decoder_past else 0) + speaker, config.ae_width,
                            frames)
        # Zero at the start: training grows the copy path only where the data copies the speaker.
        self.speaker_path = self.lag_copy = None
        if config.speaker_skip and config.speaker_path == "linear":
            self.speaker_path = nn.Linear(config.speaker_skip * config.reaction_dim, frames)
            nn.init.zeros_(self.speaker_path.weight)
            nn.init.zeros_(self.speaker_path.bias)
        elif config.speaker_skip and config.speaker_path in ("channel", "filter"):
            self.speaker_path = ChannelFilter(config)
        elif config.speaker_skip and config.speaker_path == "mean":
            self.speaker_path = MeanPath(config)
        elif config.speaker_skip and config.speaker_path == "lag":
            self.lag_copy = LagCopy(config)
        elif config.speaker_skip:
            raise ValueError(f"speaker_path must be linear, channel, filter, mean or lag, got {config.speaker_path!r}")
        # a role-conditioned model's mean path for ROLE_SPEAKER (speaker_path is ROLE_LISTENER's, the robot's, so
        # a one-role model's weights keep their names)
        self.speaker_role_path = MeanPath(config) if config.roles > 1 and config.speaker_path == "mean" else None
        if config.roles > 1 and config.speaker_skip and config.speaker_path != "mean":
            raise ValueError(f"a role-conditioned model fits a mean path per role: speaker_path must be mean, "
                             f"got {config.speaker_path!r}")
        if config.mean_latent and not (config.speaker_skip and config.speaker_path in ("mean", "filter")):
            raise ValueError("mean_latent needs a fitted mean for the zero latent to decode to: speaker_skip > 0 "
                             f"and speaker_path mean or filter (got {config.speaker_skip}, {config.speaker_path!r})")
        if config.mean_latent:
            # the latent every residual is measured from: a running mean of the encoder's latents while the
            # autoencoder trains, moved to 0 when the latent is whitened for diffusion (training.whiten_latent)
            self.register_buffer("latent_centre", torch.zeros(config.latent_dim))
        if config.mean_hidden and config.speaker_path != "mean":
            raise ValueError(f"mean_hidden is the mean path's nonlinear part: speaker_path must be mean, "
                             f"got {config.speaker_path!r}")

    def _speaker(self, speaker: torch.Tensor | None, present: torch.Tensor | None,
                 role: torch.Tensor | None = None) -> list[torch.Tensor]:
        """(B,S,25) frames and (B,S) present flags[, (B,) role] -> [(B,S*25) logits of present frames, (B,S) flags
        [, (B,1) role]]; without speaker_skip only the role of a role-conditioned model."""
        roles = []
        if self.config.roles > 1:
            if role is None:
                raise ValueError("this model is role-conditioned: pass role (0 a listener's answer, 1 a speaker's)")
            roles = [role[:, None].to(torch.float32)]
        if not self.config.speaker_skip:
            return roles
        if speaker is None or present is None:
            raise ValueError(f"this model sees the speaker's last {self.config.speaker_skip} frames: "
                             "pass speaker and speaker_present")
        logits = from_reaction_ranges(speaker) * present[..., None]
        return [logits.flatten(1), present, *roles]

    def encode(self, window: torch.Tensor, past: torch.Tensor, speaker: torch.Tensor | None = None,
               speaker_present: torch.Tensor | None = None, role: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, w, 25), (B, P, 25)[, (B, S, 25), (B, S)][, (B,) role] -> mean and log-variance of the latent, each
        (B, latent_dim)."""
        stats = self.encoder(torch.cat([window.flatten(1), past.flatten(1),
                                        *self._speaker(speaker, speaker_present, role)], dim=1))
        mean, logvar = stats.chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 6.0)

    def decode(self, latent: torch.Tensor, past: torch.Tensor | None, speaker: torch.Tensor | None = None,
               speaker_present: torch.Tensor | None = None, role: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent_dim), (B, P, 25) (may be None when config.decoder_reads_past is False)[, (B, S, 25), (B, S)]
        [, (B,) role: role-conditioned models] -> reactions (B, w, 25) in the schema's ranges."""
        if past is None and self.config.decoder_reads_past:
            raise ValueError("this model's decoder reads the listener's past: pass past")
        extra = self._speaker(speaker, speaker_present, role)
        seen = [past.flatten(1)] if self.config.decoder_past else []
        inputs = torch.cat([latent, *seen, *extra], dim=1)
        if self.config.mean_latent:
            # centred: the centre latent (0 once whitened) adds nothing, so it decodes to the mean path exactly
            # (the mean reaction)
            at_zero = torch.cat([self.latent_centre.expand_as(latent), *seen, *extra], dim=1)
            raw, zero = self.decoder(torch.cat([inputs, at_zero])).chunk(2)
            raw = raw - zero
        else:
            raw = self.decoder(inputs)
        if self.config.speaker_path in ("filter", "mean") and self.speaker_path is not None:
            # In the schema's ranges, where a listener's copy of the speaker is linear (logits of near-zero
            # AUs are dominated by the clamp: measured FRCorr 0.44 there against 0.63 in ranges on mirror);
            # the filtered window enters as logits, so the decoder adds a residual and the output stays valid.
            if self.config.speaker_path == "mean":
                filtered = self.speaker_path(speaker, speaker_present)
                if self.speaker_role_path is not None:  # each role's own mean, the role picking (0/1) between them
                    answer_speaker = role[:, None].to(filtered.dtype)
                    filtered = (1.0 - answer_speaker) * filtered + answer_speaker * self.speaker_role_path(
                        speaker, speaker_present)
            else:
                filtered = self.speaker_path(speaker * speaker_present[..., None])
            raw = raw + from_reaction_ranges(filtered.reshape(-1, self.config.window, self.config.reaction_dim)).flatten(1)
        elif self.speaker_path is not None:
            speaker = extra[0]
            if self.config.speaker_path == "channel":
                speaker = speaker.reshape(-1, self.config.speaker_skip, self.config.reaction_dim)
            raw = raw + self.speaker_path(speaker)
        if self.lag_copy is not None:
            speaker_logits = extra[0].reshape(-1, self.config.speaker_skip, self.config.reaction_dim)
            raw = raw + self.lag_copy(speaker_logits, latent, past)
        # No residual on the last past frame in logit space: near 0 or 1 that makes absorbing states.
        return to_reaction_ranges(raw.reshape(-1, self.config.window, self.config.reaction_dim))
