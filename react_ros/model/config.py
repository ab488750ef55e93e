"""Model configuration: one dataclass, saved inside every checkpoint and exported manifest."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from react_ros import schema


@dataclass(frozen=True)
class ModelConfig:
    # Time: the generator emits `window` frames at a time, conditioned on the last `context` speaker
    # frames and the last `past` frames it generated itself. All three are fixed: cost per window is flat.
    window: int = 8
    context: int = 64
    past: int = 16
    reaction_dim: int = schema.REACTION_DIM
    audio_dim: int = 32
    # First stage: reaction window autoencoder.
    latent_dim: int = 32
    ae_width: int = 256
    # The last `speaker_skip` speaker frames go straight into the window autoencoder (0: none, the original
    # design). A listener who copies the speaker after a delay is then a direct path from those frames to the
    # window instead of something the pooled condition must squeeze through a 32-d latent; the latent carries
    # what the speaker's recent face does not settle (which delay, how strong, a person's own expressions).
    speaker_skip: int = 0
    # How the skipped speaker frames reach the window: "linear" (one learned map from all attributes to all),
    # "channel" (each attribute filtered from its own past values only, autoencoder.ChannelFilter), "filter" (the
    # same in the schema's ranges, fitted by least squares before training and frozen: the latent models what it
    # leaves), "mean" (the listener's expected window from every speaker attribute and each attribute's own past,
    # fitted by least squares and frozen, autoencoder.MeanPath) or "lag" (a copy at a lag and gains the latent chooses, see autoencoder.LagCopy).
    speaker_path: str = "linear"
    # Whether the window decoder sees the listener's past (the encoder always does). Off, the decoder cannot
    # lean on a past that on the robot is its own output (exposure bias): the past reaches the window only
    # through the condition and the sampled latent, and blend_borders joins the windows.
    decoder_past: bool = True
    # The mean path's nonlinear part (speaker_path: mean; 0: linear only): an MLP of this width from every
    # speaker attribute at every 2nd frame, fitted on what the linear maps leave (training/mean_path.py).
    mean_hidden: int = 0
    # Whether the zero latent means "the listener's expected window" (issue 26): the decoder's residual is centred,
    # decode(z) = mean path + f(z) - f(0), so the zero latent decodes to the mean path exactly, and at temperature 0
    # the generator decodes it instead of running the diffusion stage from zero noise (which lands on one
    # listener's latent, whose residual cost 0.14 FRCorr against the mean path alone on default).
    mean_latent: bool = False
    # Roles the network is told it answers in (issue 26's REACT protocol model): 1, the robot's only (it answers a
    # speaker); 2, role-conditioned: one network for both directions of the REACT protocol, told per window which
    # role it answers (ROLE_LISTENER: the listener's reaction to the speaker, the robot's; ROLE_SPEAKER: the
    # speaker's to the listener). The condition and decode graphs then have a `role` input (B,), the condition adds
    # a learned offset, the window autoencoder reads the role, and a mean path is fitted per role.
    roles: int = 1
    # Condition: multi-modality transformer.
    token_stride: int = 2  # speaker frames per transformer token
    # Lag features (0: off): the listener's past correlated, per attribute, with the speaker's context at lags
    # 0, step, 2*step ... up to context - past, added to the condition: which delay this listener copies at,
    # given explicitly rather than left for the transformer to find in raw frames (issue 16 experiment).
    lag_step: int = 0
    d_model: int = 64
    heads: int = 4
    intra_layers: int = 1
    joint_layers: int = 1
    pool_queries: int = 4
    cond_dim: int = 128
    # Second stage: latent diffusion denoiser (MLP with FiLM conditioning, as ReactDiff's matcher).
    denoiser_width: int = 256
    denoiser_blocks: int = 4
    train_timesteps: int = 1000
    schedule: str = "cosine"

    def __post_init__(self):
        if self.roles not in (1, 2):
            raise ValueError(f"roles must be 1 (the robot's direction) or 2 (role-conditioned), got {self.roles}")

    @property
    def decoder_reads_past(self) -> bool:
        """Whether decoding a window needs the listener's past (the exported decode graph has it as an input)."""
        return self.decoder_past or (self.speaker_skip > 0 and self.speaker_path == "lag")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**values)


# The role a window answers in (ModelConfig.roles = 2): the value of the graphs' `role` input.
ROLE_LISTENER, ROLE_SPEAKER = 0, 1


def role_inputs(config: ModelConfig, role, rows: int) -> dict:
    """{"role": (rows,) float32} for a role-conditioned model (role: one int for every row, or one per row), {}
    for a model of one role, which never sees it."""
    if config.roles == 1:
        return {}
    role = np.array(np.broadcast_to(np.asarray(role, np.float32), (rows,)))  # a writable copy for every backend
    if not np.isin(role, (ROLE_LISTENER, ROLE_SPEAKER)).all():
        raise ValueError(f"role must be {ROLE_LISTENER} (a listener's answer) or {ROLE_SPEAKER} (a speaker's)")
    return {"role": role}


def speaker_skip_inputs(config: ModelConfig, batch: dict) -> dict:
    """The speaker frames the autoencoder sees directly (config.speaker_skip; none by default): the last
    frames of the condition's visual context (torch tensors or numpy arrays), so training, calibration and
    generation cut them the same way."""
    s = config.speaker_skip
    if not s:
        return {}
    return {"speaker": batch["visual"][:, -s:], "speaker_present": batch["visual_present"][:, -s:]}
