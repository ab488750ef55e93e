"""Reaction generation, online (streaming, strictly causal) and offline (a whole clip), on any backend.

`WindowGenerator` makes one window of `w` frames for a batch from fixed-size inputs:
    speaker visual (B,C,25) + present mask, speaker audio (B,C,A) + present mask, listener past (B,P,25).
`OnlineGenerator` keeps those fixed-size buffers (so the cost per window never grows) and emits the
window [t, t+w) as soon as speaker frame t-1 has arrived: it never reads speaker input at or after t.
Offline generation is the same loop over a whole clip with several samples in one batch.
The graphs (condition, denoise, decode) come from a backend: torch, onnxruntime or tensorrt.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from react_ros import schema
from react_ros.model.config import ROLE_LISTENER, ModelConfig, role_inputs, speaker_skip_inputs
from react_ros.model.diffusion import NoiseSchedule, make_sampler, x0_from_v

LATENT_LIMIT = 5.0
MAX_STYLE_GAIN_SD = 2.0  # log gain: beyond it a "listener style" is a different face, not a livelier one
MAX_STYLE_DELAY = 30  # frames (1 s at 30 fps): a held listener delay beyond it is not a listener's timing


class ReactionGraphs(Protocol):
    """What a backend provides: three numpy-in, numpy-out functions (float32)."""

    config: ModelConfig
    latent_scale: float

    def condition(self, visual, visual_present, audio, audio_present, past, role=None) -> np.ndarray:
        """role (B,): which role each row answers, only for role-conditioned models (config.roles = 2)."""
        ...

    def denoise(self, latent, t, cond) -> np.ndarray: ...

    def decode(self, latent, past, speaker=None, speaker_present=None, role=None) -> np.ndarray:
        """speaker (B,S,25) and speaker_present (B,S): the last S = config.speaker_skip speaker frames, only for
        models with speaker_skip > 0; role as for condition."""
        ...

    def sample(self, noise, cond, sampler: str, steps: int) -> np.ndarray | None:
        """The whole few-step sampler as one graph (guidance 1): the final latent, or None when this backend has
        no graph for this sampler and step count (the generator then steps the sampler itself)."""
        ...


@dataclass(frozen=True)
class SamplingConfig:
    sampler: str = "dpm"
    steps: int = 4
    guidance: float = 1.0  # classifier-free guidance scale; 1 = conditional only
    # Scales the initial noise: lower = closer to the mode, less diverse. 0 on a mean_latent model (the recipe's)
    # is its mean reaction, the mean path, without the diffusion stage (ModelConfig.mean_latent).
    temperature: float = 1.0
    blend_borders: bool = True  # each window starts where the past ended (see continue_from_past)
    # Frames over which the border gap is closed (0: the whole window). Every blended frame is pulled toward the
    # past, i.e. late: closing the gap over the whole window cost FRCorr 0.02 and FRDist 10-15 % on the copying
    # families, two frames keep the border step the size of the steps inside a window (docs/model.md).
    blend_frames: int = 0
    # Correlation of each sample's noise from one window to the next (AR(1), marginally still N(0, I)):
    # > 0 keeps a sample's "style" over windows, so samples differ as people do rather than window by window.
    noise_correlation: float = 0.0
    # Per-attribute gains on the frames the robot shows, around a per-attribute centre ((): none). A model
    # trained on squared errors answers an uncertain listener with the average of the likely reactions, flatter
    # than any of them, and CCC (FRCorr) counts flatness against it; the recipe measures the flattening on the
    # validation split (training/calibrate.py). The model's own past keeps the frames it generated.
    amplitude: tuple[float, ...] = ()
    amplitude_center: tuple[float, ...] = ()
    # Listener style (issue 26): each sample's expressiveness, drawn once per conversation (at reset) as a gain
    # exp(N(0, style_gain_sd)) on its deviations from the amplitude centre (the neutral frame without one), and
    # held: samples then differ as more and less expressive people do, the diversity that costs appropriateness
    # least (docs/model.md "What diversity costs"). The recipe measures the sd on the validation split: how much
    # real listeners' liveliness varies around the model's mean answer (training/calibrate.py).
    style_gain_sd: float = 0.0
    # ... and which channels it copies more or less: a gain exp(N(0, style_channel_sd)) per attribute, drawn and held
    # the same way, on top of the overall one (the spread of real listeners' per-attribute log gains once their
    # overall expressiveness is taken out).
    style_channel_sd: float = 0.0
    # ... and each sample's timing: a delay in frames, drawn once per conversation from N(style_delay_mean,
    # style_delay_sd) (rounded, within [0, MAX_STYLE_DELAY]) and held: the robot shows each frame that many frames
    # after the model made it. A mean path fitted by least squares over listeners who answer at different delays
    # answers earlier than the typical one (median lag 17-18 frames against the real 21-24 on the copying
    # families); the recipe measures both on the validation split (training/calibrate.py). The model's own past
    # keeps the frames as made.
    style_delay_mean: float = 0.0
    style_delay_sd: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.noise_correlation < 1.0:
            raise ValueError(f"noise_correlation must be in [0, 1), got {self.noise_correlation}")
        if int(self.blend_frames) != self.blend_frames or self.blend_frames < 0:
            raise ValueError(f"blend_frames must be a whole number >= 0, got {self.blend_frames}")
        for name in ("amplitude", "amplitude_center"):  # a card read from JSON gives lists
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name) or ()))
        if len(self.amplitude) != len(self.amplitude_center) or len(self.amplitude) not in (0, schema.REACTION_DIM):
            raise ValueError(f"amplitude and amplitude_center must both be empty or both have {schema.REACTION_DIM} "
                             f"values, got {len(self.amplitude)} and {len(self.amplitude_center)}")
        for name, value in (("style_gain_sd", self.style_gain_sd), ("style_channel_sd", self.style_channel_sd)):
            if not (np.isfinite(value) and 0.0 <= value <= MAX_STYLE_GAIN_SD):
                raise ValueError(f"{name} must be in [0, {MAX_STYLE_GAIN_SD}], got {value}")
        for name, value in (("style_delay_mean", self.style_delay_mean), ("style_delay_sd", self.style_delay_sd)):
            if not (np.isfinite(value) and 0.0 <= value <= MAX_STYLE_DELAY):
                raise ValueError(f"{name} must be in [0, {MAX_STYLE_DELAY}] frames, got {value}")
        if any(not np.isfinite(g) or g <= 0 for g in self.amplitude):
            raise ValueError(f"amplitude gains must be finite and > 0, got {self.amplitude}")

    @property
    def deterministic(self) -> bool:
        """Every sample is the same answer: no noise, no held listener style."""
        return self.temperature == 0 and not (self.style_gain_sd or self.style_channel_sd or self.style_delay_sd)

    def mean_answer(self) -> SamplingConfig:
        """This setting at temperature 0 without a listener style: the model's mean reaction (amplitude kept)."""
        return replace(self, temperature=0.0, style_gain_sd=0.0, style_channel_sd=0.0, style_delay_mean=0.0,
                       style_delay_sd=0.0)


def match_amplitude(frames: np.ndarray, gain, center) -> np.ndarray:
    """(..., 25) frames stretched by `gain` around `center`, per attribute, back in the schema's ranges
    (expression probabilities renormalised to sum to 1)."""
    out = schema.clip_to_range(np.asarray(center, np.float32) + np.asarray(gain, np.float32) * (frames - center))
    expressions = np.maximum(out[..., schema.EXPRESSION], 1e-6)
    out[..., schema.EXPRESSION] = expressions / expressions.sum(axis=-1, keepdims=True)
    return out


def continue_from_past(window: np.ndarray, past: np.ndarray, frames: int = 0) -> np.ndarray:
    """Close the gap between the past's last frame and a new window's first frame.

    A sampled window starts wherever its latent put it: a frame-to-frame change at the border several
    times the changes inside a window (a 30/w Hz twitch on the robot's face). The gap, measured against
    the window's own first velocity, is added back with a weight falling linearly from 1 to 1/n over the first
    n = `frames` frames (0: the whole window), so the window starts as a continuation of the past and then
    goes on as sampled.
    (B, w, 25), (B, P, 25) -> (B, w, 25)"""
    w = window.shape[1]
    velocity = window[:, 1:2] - window[:, :1] if w > 1 else 0.0
    gap = past[:, -1:] + velocity - window[:, :1]
    n = frames if 0 < frames < w else w
    fade = np.clip(1.0 - np.arange(w, dtype=np.float32) / n, 0.0, 1.0)[None, :, None]
    out = schema.clip_to_range(window + fade * gap)
    # The blend keeps expression probabilities summing to 1 unless clipping cut a negative one: renormalise.
    expression = out[..., schema.EXPRESSION]
    out[..., schema.EXPRESSION] = expression / np.maximum(expression.sum(-1, keepdims=True), 1e-6)
    return out


class WindowGenerator:
    """One window of reactions per call. `role`: which role a role-conditioned model answers in (ROLE_LISTENER,
    the robot's, unless the REACT protocol asks a speaker's answer); a model of one role ignores it."""

    def __init__(self, graphs: ReactionGraphs, sampling: SamplingConfig = SamplingConfig(), role: int = ROLE_LISTENER):
        self.graphs = graphs
        self.config = graphs.config
        self.sampling = sampling
        self.role = role
        schedule = NoiseSchedule(self.config.train_timesteps, self.config.schedule)
        self.sampler = make_sampler(sampling.sampler, schedule, sampling.steps)
        self.alphas_cumprod = schedule.alphas_cumprod()

    def __call__(self, visual, visual_present, audio, audio_present, past, noise) -> np.ndarray:
        g = self.graphs
        if self.sampling.temperature == 0 and self.config.mean_latent:
            # the model's mean reaction: its decoder was trained to answer the zero latent with the expected window
            latent = np.zeros_like(noise, dtype=np.float32)
        else:
            latent = self._sample_latent(visual, visual_present, audio, audio_present, past, noise)
        skip = speaker_skip_inputs(self.config, {"visual": visual, "visual_present": visual_present})
        window = g.decode((latent * g.latent_scale).astype(np.float32), past, **skip,
                          **role_inputs(self.config, self.role, len(latent)))
        return continue_from_past(window, past, self.sampling.blend_frames) if self.sampling.blend_borders else window

    def _sample_latent(self, visual, visual_present, audio, audio_present, past, noise) -> np.ndarray:
        """The diffusion stage: a latent for each row of `noise`, conditioned on the speaker and the past."""
        g = self.graphs
        role = role_inputs(self.config, self.role, len(visual))
        cond = g.condition(visual, visual_present, audio, audio_present, past, **role)
        guidance = self.sampling.guidance
        if guidance != 1.0:
            missing = np.zeros_like(visual_present)
            uncond = g.condition(visual, missing, audio, missing, past, **role)
            cond_pair = np.concatenate([cond, uncond])

        def predict_x0(x, t):
            if guidance == 1.0:
                v = g.denoise(x, np.full(len(x), t, np.float32), cond)
            else:
                v_c, v_u = np.split(g.denoise(np.concatenate([x, x]), np.full(2 * len(x), t, np.float32), cond_pair), 2)
                v = v_u + guidance * (v_c - v_u)
            return x0_from_v(x, v, self.alphas_cumprod[int(t)])

        x_t = (self.sampling.temperature * noise).astype(np.float32)
        # A backend may run the whole few-step sampler as one graph (ONNX Runtime / TensorRT, see export/):
        # same arithmetic, fewer calls. It returns None when it has no graph for this sampler and step count.
        latent = g.sample(x_t, cond, self.sampling.sampler, self.sampling.steps) if guidance == 1.0 else None
        if latent is None:
            latent = self.sampler.sample(predict_x0, x_t)
        # Latents are unit-variance in training; anything far outside is a diverged sample, not a reaction.
        return np.clip(latent, -LATENT_LIMIT, LATENT_LIMIT)


class OnlineGenerator:
    """Streaming generation with a fixed context: `reset(seed)`, then `push(...)` speaker frames."""

    def __init__(self, window_generator: WindowGenerator, samples: int = 1):
        self.generate_window = window_generator
        self.config = window_generator.config
        self.samples = samples
        self.reset(0)

    def reset(self, seed: int = 0) -> None:
        c = self.config
        self.rng = np.random.default_rng(seed)
        self.visual = np.zeros((c.context, c.reaction_dim), np.float32)
        self.visual_present = np.zeros(c.context, np.float32)
        self.audio = np.zeros((c.context, c.audio_dim), np.float32)
        self.audio_present = np.zeros(c.context, np.float32)
        self.past = np.repeat(schema.neutral_frame()[None, None], self.samples, axis=0).repeat(c.past, axis=1)
        self.frames_seen = 0
        self.next_start = 0
        self.noise = None  # the last window's noise, for noise_correlation
        # each sample's expressiveness for this conversation (SamplingConfig.style_gain_sd); its own stream, so a
        # setting without style draws exactly the noise it always drew
        sampling = self.generate_window.sampling
        sd = sampling.style_gain_sd
        self.style = (np.exp(np.random.default_rng([seed, 26]).normal(0.0, sd, self.samples)).astype(np.float32)
                      if sd > 0 else None)
        self.channel_style = (np.exp(np.random.default_rng([seed, 28]).normal(
            0.0, sampling.style_channel_sd, (self.samples, self.config.reaction_dim))).astype(np.float32)
            if sampling.style_channel_sd > 0 else None)
        self.delay = held_delays(sampling, self.samples, seed)
        # the frames made but not shown yet, per sample (the neutral face before the first): see _hold
        self.shown_from = np.repeat(schema.neutral_frame()[None, None], self.samples, axis=0).repeat(
            int(self.delay.max()), axis=1)

    @property
    def window(self) -> int:
        """Frames generated at a time."""
        return self.config.window

    @property
    def audio_dim(self) -> int:
        """Audio features per frame the model expects (ReactionPipeline checks its front end against it)."""
        return self.config.audio_dim

    @property
    def context_frames(self) -> int:
        """Frames held in memory: constant, whatever the length of the conversation."""
        return len(self.visual) + len(self.audio) + self.past.shape[1]

    def push(self, visual, audio, visual_present=None, audio_present=None) -> np.ndarray:
        """Feed n speaker frames: visual (n,25), audio (n,A), present flags (n,) (default: present).
        Returns the newly generated reaction frames, (m, samples, 25), m a multiple of the window."""
        visual = np.asarray(visual, np.float32).reshape(-1, self.config.reaction_dim)
        audio = np.asarray(audio, np.float32).reshape(-1, self.config.audio_dim)
        n = len(visual)
        if len(audio) != n:
            raise ValueError(f"push: {n} visual frames but {len(audio)} audio frames")
        v_present = np.ones(n, np.float32) if visual_present is None else np.asarray(visual_present, np.float32)
        a_present = np.ones(n, np.float32) if audio_present is None else np.asarray(audio_present, np.float32)
        # A frame with NaN or inf is treated as missing, never fed to the network.
        v_present = v_present * np.isfinite(visual).all(axis=1)
        a_present = a_present * np.isfinite(audio).all(axis=1)
        visual = np.nan_to_num(visual, nan=0.0, posinf=0.0, neginf=0.0)
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
        out = []
        for i in range(n):
            if self.frames_seen == self.next_start:
                out.append(self._generate())
            self._append(visual[i], v_present[i], audio[i], a_present[i])
        if self.frames_seen == self.next_start:
            out.append(self._generate())
        if not out:
            return np.zeros((0, self.samples, self.config.reaction_dim), np.float32)
        return np.concatenate(out, axis=0)

    def _append(self, visual, v_present, audio, a_present) -> None:
        for buffer, value in ((self.visual, visual), (self.visual_present, v_present), (self.audio, audio),
                              (self.audio_present, a_present)):
            buffer[:-1] = buffer[1:]
            buffer[-1] = value
        self.frames_seen += 1

    def _generate(self) -> np.ndarray:
        k = self.samples
        noise = self.rng.standard_normal((k, self.config.latent_dim)).astype(np.float32)
        rho = self.generate_window.sampling.noise_correlation
        if rho and self.noise is not None:
            noise = (rho * self.noise + np.sqrt(1.0 - rho * rho) * noise).astype(np.float32)
        self.noise = noise
        window = self.generate_window(
            np.repeat(self.visual[None], k, 0), np.repeat(self.visual_present[None], k, 0),
            np.repeat(self.audio[None], k, 0), np.repeat(self.audio_present[None], k, 0), self.past, noise)
        window = np.asarray(window, np.float32)
        self.past = np.concatenate([self.past, window], axis=1)[:, -self.config.past:]
        self.next_start += self.config.window
        sampling = self.generate_window.sampling
        if sampling.amplitude or self.style is not None or self.channel_style is not None:
            gain = np.asarray(sampling.amplitude or np.ones(self.config.reaction_dim), np.float32)[None, None]
            center = sampling.amplitude_center or schema.neutral_frame()
            if self.style is not None:
                gain = self.style[:, None, None] * gain
            if self.channel_style is not None:
                gain = self.channel_style[:, None, :] * gain
            window = match_amplitude(window, gain, center)
        return self._hold(window).transpose(1, 0, 2)  # (w, samples, 25)

    def _hold(self, window: np.ndarray) -> np.ndarray:
        """(samples, w, 25) frames as made -> as shown: sample k's frame t is the one made at t - delay[k]."""
        longest = self.shown_from.shape[1]
        if longest == 0:
            return window
        frames = np.concatenate([self.shown_from, window], axis=1)  # made frames from t - longest to t + w
        self.shown_from = frames[:, -longest:]
        w = window.shape[1]
        index = longest - self.delay[:, None] + np.arange(w)[None]
        return np.take_along_axis(frames, index[..., None], axis=1)


def held_delays(sampling: SamplingConfig, samples: int, seed: int) -> np.ndarray:
    """(samples,) whole frames: each sample's listener delay for a conversation (SamplingConfig.style_delay_*), from
    its own random stream so that a setting without it draws exactly the noise it always drew."""
    if sampling.style_delay_mean == 0 and sampling.style_delay_sd == 0:
        return np.zeros(samples, np.int64)
    drawn = np.random.default_rng([seed, 27]).normal(sampling.style_delay_mean, sampling.style_delay_sd, samples)
    return np.clip(np.rint(drawn), 0, MAX_STYLE_DELAY).astype(np.int64)


def generate_offline(window_generator: WindowGenerator, visual: np.ndarray, audio: np.ndarray,
                     samples: int = 10, seed: int = 0, visual_present=None, audio_present=None) -> np.ndarray:
    """`samples` reactions to a whole clip: (samples, T, 25). Same model and loop as online."""
    online = OnlineGenerator(window_generator, samples)
    online.reset(seed)
    frames = online.push(visual, audio, visual_present, audio_present)
    return frames[: len(visual)].transpose(1, 0, 2)
