"""Training of the two stages: the reaction autoencoder, then the condition encoder + latent denoiser.

Checkpoints carry their model config, training config, data hash and validation losses, and training
resumes from them. With `torchrun --nproc_per_node N react-ros train ...` each process trains on its
own window stream and gradients are averaged across processes (gloo on CPU, nccl on GPUs); on one process (this
machine, CI) the same code runs without DDP.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from react_ros import schema
from react_ros.model.checkpoint import load_checkpoint, save_checkpoint
from react_ros.model.config import ModelConfig, speaker_skip_inputs
from react_ros.model.reaction_model import ReactionModel
from react_ros.training.windows import Augmentation, ClipFeatures, WindowSampler

STAGES = ("ae", "diffusion")


@dataclass
class StageConfig:
    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 100


@dataclass
class EstimatorStage:
    """The speaker-attribute estimator (face crop -> 25-d), trained on the split's videos and attributes."""

    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3
    frame_stride: int = 4  # every n-th video frame: neighbours are nearly identical
    max_frames: int = 40000


@dataclass
class TrainConfig:
    data: str = ""
    out: str = "runs/model"
    seed: int = 0
    directions: str = "both"  # both | speaker->listener (the robot's role) | listener->speaker
    # Where the speaker condition comes from: "labels" (the data set's facial-attributes; the haar front end
    # estimates those) | "perceived" (a `react-ros perceive` tree of the data set at `perceived`: what the mesh
    # front end computes from the videos, with its mask; run the robot with face_frontend: mesh)
    speaker_attributes: str = "labels"
    perceived: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    ae: StageConfig = field(default_factory=lambda: StageConfig(steps=3000, lr=1e-3))
    diffusion: StageConfig = field(default_factory=lambda: StageConfig(steps=6000, lr=5e-4))
    estimator: EstimatorStage = field(default_factory=EstimatorStage)
    augmentation: Augmentation = field(default_factory=Augmentation)
    kl_weight: float = 1e-4
    # Reconstruction loss per attribute: "uniform" (plain MSE) or "standardised" (each attribute's squared
    # error divided by its variance in the training targets, floored at recon_std_floor). FRCorr averages a
    # scale-free CCC over the 25 attributes, so a rare AU that moves by 0.05 counts as much as a smile; under
    # plain MSE the model learns to ignore it.
    recon_weighting: str = "uniform"
    recon_std_floor: float = 0.02
    # The sampling setting the bundle's card gets (SamplingConfig fields; empty: the defaults, or tune it later
    # with `react-ros tune-sampling`). A recipe states how its models are sampled, since diversity depends on it.
    sampling: dict = field(default_factory=dict)
    # > 0: after training, the sampling temperature is chosen on the validation split (training/calibrate.py):
    # the lowest that keeps the model's FRDiv at this fraction of the real reactions' spread (the GT set's FRDiv).
    # Diversity costs appropriateness; this runs the model as diverse as asked and no more. 0: keep `sampling`.
    calibrate_diversity: float = 0.0
    # After that, measure how much flatter than the real listeners the model's samples are, per attribute, on the
    # validation split, and stretch what the robot shows by that much when it raises the split's FRCorr
    # (training/calibrate.py, calibrate_amplitude).
    calibrate_amplitude: bool = False
    # Before both: measure how much real listeners' expressiveness varies around the model's mean answer on the
    # validation split, and sample each conversation's listener with a gain of that spread (SamplingConfig.
    # style_gain_sd, training/calibrate.py calibrate_bundle_style).
    calibrate_style: bool = False
    # With speaker_path: mean, the listener attributes (names, e.g. [valence, arousal]) whose expected answer reads
    # only the same attribute's past in the speaker (the channel filter; no cross-attribute ridge, no MLP). On
    # synthetic speakers the expressions, AUs and valence move together, so a cross-attribute fit spreads the
    # valence answer over collinear inputs with weights a real face contradicts (Fear -2.3, Sad +0.6): a crying
    # woman then made the robot's valence positive (docs/model.md, check 5). The speaker's own affect is what the
    # front end measures for exactly that answer.
    mean_own_only: list = field(default_factory=list)
    # With speaker_path: mean, the probability that the cross-attribute fits (ridge and MLP) see a speaker attribute
    # as unknown (all its frames at once): each attribute's weights must then also answer alone, so least squares
    # cannot answer with a balance of collinear inputs that a real face contradicts (training/mean_path.py).
    mean_attribute_dropout: float = 0.0
    # With speaker_path: mean and mean_hidden, the listener attributes (names, e.g. [valence]) that the mean path's
    # MLP does not answer: both linear answers (own past, every attribute with the dropout above), no nonlinear
    # part. The MLP, fitted on synthetic speakers, pushed the demo model's valence up whatever a real face did
    # (+0.08 while a woman cries, +0.13 while she laughs): a linear answer runs with the face (docs/model.md).
    mean_linear_only: list = field(default_factory=list)
    val_every: int = 500
    checkpoint_every: int = 1000
    threads: int = 0  # 0: torch's default

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        values = dict(values)
        model = ModelConfig.from_dict(values.pop("model", {}))
        nested = {s: StageConfig(**values.pop(s)) for s in STAGES if s in values}
        for key, kind in (("estimator", EstimatorStage), ("augmentation", Augmentation)):
            if key in values:
                nested[key] = kind(**values.pop(key))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training config keys: {sorted(unknown)}")
        config = cls(model=model, **nested, **values)
        if model.roles > 1 and config.directions != "both":
            raise ValueError(f"a role-conditioned model (model.roles: {model.roles}) learns both directions: set "
                             f"directions: both, not {config.directions!r}")
        config.own_only_indices(), config.linear_only_indices()  # an unknown name fails here, before any training
        if not 0.0 <= config.mean_attribute_dropout < 1.0:
            raise ValueError(f"mean_attribute_dropout {config.mean_attribute_dropout!r}: expected a probability in [0, 1)")
        config.sampling_setting()  # unknown sampling settings fail here too
        config.perceived_root()  # a bad speaker_attributes setting fails here, before any training
        return config

    def own_only_indices(self) -> tuple[int, ...]:
        """mean_own_only as attribute indices (a clear error for an unknown name)."""
        return tuple(schema.index_of(name) for name in self.mean_own_only)

    def linear_only_indices(self) -> tuple[int, ...]:
        """mean_linear_only as attribute indices (a clear error for an unknown name)."""
        return tuple(schema.index_of(name) for name in self.mean_linear_only)

    def sampling_setting(self):
        from react_ros.model.card import ModelCard, sampling_setting

        return sampling_setting(ModelCard(), self.sampling)

    def perceived_root(self) -> str | None:
        """The perceive tree the speaker condition is read from, or None for the data set's labels."""
        if self.speaker_attributes == "labels":
            return None
        if self.speaker_attributes != "perceived":
            raise ValueError(f"speaker_attributes must be labels or perceived, got {self.speaker_attributes!r}")
        if not self.perceived:
            raise ValueError("speaker_attributes: perceived needs `perceived: DIR` (a react-ros perceive tree)")
        return self.perceived

    @property
    def face_frontend(self) -> str:
        """The robot's front end whose output this speaker condition is: run the trained model with it."""
        return "haar" if self.speaker_attributes == "labels" else "mesh"

    @classmethod
    def from_yaml(cls, path: Path | str) -> TrainConfig:
        """A YAML config; `base: OTHER.yaml` (relative to this file) starts from that config and changes only what
        this one states (the nested sections key by key), so a variant of a recipe cannot drift from it."""
        return cls.from_dict(_read_yaml(Path(path)))


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The config at `path` with its `base:` chain applied (see TrainConfig.from_yaml)."""
    if path.resolve() in seen:
        raise ValueError(f"training config {path}: its base chain comes back to itself")
    with open(path) as f:
        values = yaml.safe_load(f) or {}
    base = values.pop("base", None)
    if base is None:
        return values
    merged = _read_yaml(path.parent / base, (*seen, path.resolve()))
    for key, value in values.items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


def _lr_lambda(stage: StageConfig):
    def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 10%
        if step < stage.warmup:
            return (step + 1) / stage.warmup
        progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
        return 0.1 + 0.45 * (1 + np.cos(np.pi * min(progress, 1.0)))
    return schedule


def _tensors(batch: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def _window_inputs(model: ReactionModel, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the window autoencoder reads besides the window and the past: the speaker's last frames (speaker_skip)
    and a role-conditioned model's role."""
    role = {"role": batch["role"]} if model.config.roles > 1 else {}
    return {**speaker_skip_inputs(model.config, batch), **role}


def _encode(model: ReactionModel, batch: dict[str, torch.Tensor]):
    return model.autoencoder.encode(batch["window"], batch["past"], **_window_inputs(model, batch))


def reconstruction_space(frames):
    """What the reconstruction loss compares: the attributes, with the expression probabilities as their logs
    (rare expressions live at probabilities of 0.001-0.05, where squared probability errors vanish; a CCC does
    not care about their scale)."""
    log_expressions = torch.log(frames[..., schema.EXPRESSION].clamp_min(1e-3))
    return torch.cat([frames[..., : schema.EXPRESSION.start], log_expressions], dim=-1)


def reconstruction_weights(targets: np.ndarray, weighting: str, std_floor: float) -> torch.Tensor:
    """(25,) weights of the attributes' squared errors, mean 1 (see TrainConfig.recon_weighting)."""
    if weighting == "uniform":
        return torch.ones(targets.shape[-1])
    if weighting != "standardised":
        raise ValueError(f"unknown recon_weighting {weighting!r}: use 'uniform' or 'standardised'")
    values = reconstruction_space(torch.as_tensor(targets.reshape(-1, targets.shape[-1]))).numpy()
    weights = 1.0 / np.maximum(values.std(axis=0), std_floor) ** 2
    return torch.as_tensor(weights / weights.mean(), dtype=torch.float32)


def autoencoder_loss(model: ReactionModel, batch: dict[str, torch.Tensor], kl_weight: float,
                     weights: torch.Tensor | None = None):
    mean, logvar = _encode(model, batch)
    latent = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
    if model.config.mean_latent and model.training:
        with torch.no_grad():  # the centre the decoder's residual is measured from follows the latents' mean
            model.autoencoder.latent_centre.lerp_(mean.mean(0), LATENT_CENTRE_RATE)
    recon = model.autoencoder.decode(latent, batch["past"], **_window_inputs(model, batch))
    if weights is None:
        reconstruction = torch.mean((recon - batch["window"]) ** 2)
    else:
        squared = (reconstruction_space(recon) - reconstruction_space(batch["window"])) ** 2
        reconstruction = torch.mean(squared * weights)
    kl = -0.5 * torch.mean(1 + logvar - mean ** 2 - logvar.exp())
    return reconstruction + kl_weight * kl, {"recon": reconstruction.item(), "kl": kl.item()}


def diffusion_loss(model: ReactionModel, batch: dict[str, torch.Tensor], alphas_cumprod: torch.Tensor):
    with torch.no_grad():
        mean, _ = _encode(model, batch)
        z0 = mean / model.latent_scale
    t = torch.randint(0, len(alphas_cumprod), (len(z0),), device=z0.device)
    a = alphas_cumprod[t][:, None]
    noise = torch.randn_like(z0)
    zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
    cond = model.condition(batch["visual"], batch["visual_present"], batch["audio"], batch["audio_present"],
                           batch["past"], batch["role"] if model.config.roles > 1 else None)
    v_target = a.sqrt() * noise - (1 - a).sqrt() * z0  # v-prediction (see model/diffusion.py)
    loss = torch.mean((model.denoiser(zt, t.float(), cond) - v_target) ** 2)
    return loss, {"v_mse": loss.item()}


@torch.no_grad()
def fit_speaker_filter(model: ReactionModel, sampler: WindowSampler, windows: int = 16384, ridge: float = 1e-2) -> None:
    """speaker_path: filter. Per attribute and window frame, least squares of the window on that attribute's
    last S speaker values (+ a bias), in the schema's ranges, over training windows; then frozen. A filter
    learned together with the latent leaves the copy to the latent, which the diffusion stage then samples
    only roughly; fitted first, the decoder's speaker-only answer is at least the best linear filter's."""
    batch = _tensors(sampler.batch(windows, None))
    skip = speaker_skip_inputs(model.config, batch)
    # Windows that see all S speaker frames: an absent frame reads 0 (an extreme in ranges), and fitting the
    # few clip starts that have them would shrink every gain toward the bias.
    full = skip["speaker_present"].bool().all(dim=1)
    full = full if int(full.sum()) >= 256 else torch.ones_like(full)
    x = skip["speaker"][full]  # (B, S, d) in ranges, as decode sees them
    y = batch["window"][full]  # (B, w, d)
    path = model.autoencoder.speaker_path
    s = x.shape[1]
    for d in range(x.shape[2]):
        a = torch.cat([x[:, :, d], torch.ones(len(x), 1)], dim=1).double()
        solution = torch.linalg.solve(a.T @ a + ridge * torch.eye(s + 1, dtype=a.dtype), a.T @ y[:, :, d].double())
        path.weight[0, :, :, d] = solution[:s].T.float()
        path.bias[0, :, d] = solution[s].float()
    path.requires_grad_(False)


LATENT_CENTRE_RATE = 0.01  # per autoencoder step: the running mean of a mean_latent model's latent centre


def fit_mean_path(model: ReactionModel, config: TrainConfig, train_clips: list[ClipFeatures],
                  val_clips: list[ClipFeatures]) -> dict:
    """Fit `model`'s mean path (speaker_path: mean) as training does: the config's samplers, seeds, own-only
    attributes and attribute dropout; returns the fit's report. The one place that turns a TrainConfig into a
    mean-path fit, so a benchmark that measures "the recipe's mean answer" (benchmarks/mean_answer.py) fits what
    `react-ros train` fits."""
    from react_ros.training.mean_path import install_mean_path

    return install_mean_path(model, WindowSampler(train_clips, config.model, seed=config.seed + 5),
                             WindowSampler(val_clips, config.model, seed=config.seed + 6),
                             own_only=config.own_only_indices(), attribute_dropout=config.mean_attribute_dropout,
                             linear_only=config.linear_only_indices())


@torch.no_grad()
def whiten_latent(model: ReactionModel, sampler: WindowSampler, batches: int = 8) -> None:
    """Give the diffusion stage a centred, unit-variance latent in every dimension.

    A lightly KL-regularised autoencoder leaves latent dimensions with offsets of the order of their
    spread (e.g. mean 0.5, std 0.1); diffusing that with one global scale makes the denoiser spend its
    capacity on the offsets and the few-step samplers land off the data. The per-dimension mean and std
    are folded into the encoder's last layer and the decoder's first layer (an exact reparametrisation),
    so every graph and backend keeps the same interface and `latent_scale` stays 1."""
    device = model.latent_scale.device
    means = torch.cat([_encode(model, _tensors(sampler.batch(512, None), device))[0] for _ in range(batches)])
    mu, sigma = means.mean(0), means.std(0).clamp_min(1e-4)
    if model.config.mean_latent:
        # centred on the latent the decoder's residual is measured from, exactly: it becomes 0, which the
        # generator decodes at temperature 0 (the mean reaction)
        mu = model.autoencoder.latent_centre.clone()
        model.autoencoder.latent_centre.zero_()
    latent = model.config.latent_dim
    enc_out, dec_in = model.autoencoder.encoder[-1], model.autoencoder.decoder[0]
    enc_out.weight[:latent] /= sigma[:, None]
    enc_out.bias[:latent] = (enc_out.bias[:latent] - mu) / sigma
    enc_out.bias[latent:] -= 2 * torch.log(sigma)  # log-variance in the new units
    dec_in.bias += dec_in.weight[:, :latent] @ mu
    dec_in.weight[:, :latent] *= sigma[None, :]
    model.latent_scale.fill_(1.0)


class Trainer:
    def __init__(self, config: TrainConfig, train: list[ClipFeatures], val: list[ClipFeatures],
                 data_hash: str = "", progress: bool = True, metric_fn=None):
        self.config = config
        # metric_fn(model) -> REACT metrics on validation inputs; run at each diffusion validation
        self.metric_fn = metric_fn
        self.rank, self.world = _distributed()
        torch.manual_seed(config.seed)  # identical initial weights on every process
        if config.threads:
            torch.set_num_threads(config.threads)
        self.train_clips, self.val_clips = train, val or train
        self.train_sampler = WindowSampler(train, config.model, seed=config.seed + 1000 * self.rank)
        self.val_sampler = WindowSampler(val or train, config.model, seed=config.seed + 7)
        self.data_hash = data_hash
        self.recon_weights = reconstruction_weights(self.train_sampler.target, config.recon_weighting,
                                                    config.recon_std_floor)
        self.progress = progress and self.rank == 0
        self.out = Path(config.out)
        self.device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available()
                                   else "cpu")
        self.model = ReactionModel(config.model).to(self.device)
        torch.manual_seed(config.seed + 1000 * self.rank)  # then different noise per process
        self.history: dict[str, list] = {s: [] for s in STAGES}

    # ------------------------------------------------------------------ bookkeeping
    def checkpoint_path(self, stage: str) -> Path:
        return self.out / f"{stage}.pt"

    def _meta(self, stage: str, step: int) -> dict:
        return {"stage": stage, "step": step, "train_config": self.config.to_dict(), "data_hash": self.data_hash,
                "history": self.history, "world_size": self.world}

    def _save(self, stage: str, step: int, optimizer) -> None:
        if self.rank == 0:
            save_checkpoint(self.checkpoint_path(stage), self.model, self._meta(stage, step),
                            optimizer_state={"stage": stage, "step": step, "state": optimizer.state_dict()})

    def _resume(self, stage: str, optimizer) -> int:
        """Load this stage's checkpoint if it exists; returns the step to continue from."""
        path = self.checkpoint_path(stage)
        if not path.exists():
            return 0
        model, meta = load_checkpoint(path)
        self.model.load_state_dict(model.state_dict())
        self.history = meta.get("history", self.history)
        opt = meta.get("optimizer") or {}
        if opt.get("stage") == stage and opt.get("state"):
            optimizer.load_state_dict(opt["state"])
        return int(meta.get("step", 0))

    # ------------------------------------------------------------------ stages
    def run(self, stages: tuple[str, ...] = STAGES, resume: bool = True) -> Path:
        for stage in stages:
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}; stages are {STAGES}")
        # Tiny values late in training must not slow the CPU down 10x; the flag is process-wide CPU state,
        # so it is put back afterwards (other code, e.g. hypothesis, relies on IEEE subnormals).
        torch.set_flush_denormal(True)
        try:
            for stage in stages:
                if stage == "diffusion" and not resume and self.checkpoint_path("ae").exists():
                    self.model.load_state_dict(load_checkpoint(self.checkpoint_path("ae"))[0].state_dict())
                self._run_stage(stage, resume)
        finally:
            torch.set_flush_denormal(False)
        return self.checkpoint_path(stages[-1])

    def _run_stage(self, stage: str, resume: bool) -> None:
        cfg: StageConfig = getattr(self.config, stage)
        if stage == "ae":
            if self.config.model.speaker_path == "filter":  # fitted, not learned (also on resume: the same fit)
                fit_speaker_filter(self.model, WindowSampler(self.train_clips, self.config.model,
                                                             seed=self.config.seed + 5))
            elif self.config.model.speaker_path == "mean":  # the same: fitted first, then frozen
                self.history["mean_path"] = [fit_mean_path(self.model, self.config, self.train_clips,
                                                           self.val_clips)]
            params = [p for p in self.model.autoencoder.parameters() if p.requires_grad]
        else:
            if resume and not self.checkpoint_path("diffusion").exists() and self.checkpoint_path("ae").exists():
                self.model.load_state_dict(load_checkpoint(self.checkpoint_path("ae"))[0].state_dict())
            self.model.autoencoder.requires_grad_(False)
            params = list(self.model.condition.parameters()) + list(self.model.denoiser.parameters())
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        start = self._resume(stage, optimizer) if resume else 0
        if stage == "diffusion" and start == 0:
            whiten_latent(self.model, self.train_sampler)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg), last_epoch=start - 1)
        alphas = torch.tensor(self.model.schedule.alphas_cumprod(), dtype=torch.float32, device=self.device)
        bar = tqdm(range(start, cfg.steps), desc=f"train {stage}", disable=not self.progress, initial=start,
                   total=cfg.steps)
        self.model.train()
        for step in bar:
            batch = _tensors(self.train_sampler.batch(cfg.batch_size // self.world, self.config.augmentation),
                             self.device)
            loss, logs = self._loss(stage, self.model, batch, alphas)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._sync_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
            done = step + 1
            if done % self.config.val_every == 0 or done == cfg.steps:
                entry = {"step": done, "train": logs, "val": self.validate(stage, alphas)}
                if stage == "diffusion" and self.metric_fn is not None and self.rank == 0:
                    threads = torch.get_num_threads()
                    entry["val_metrics"] = self.metric_fn(self.model)
                    # The metrics' compiled (numba) code can reset the CPU's flush-to-zero flags, and its parallel
                    # loops leave torch with another thread count (1 -> 2 with OMP_NUM_THREADS=1: two trainings on
                    # a 2-core machine then ran 2.5x slower for the rest of the stage).
                    torch.set_flush_denormal(True)
                    torch.set_num_threads(threads)
                    bar.write(f"step {done}: " + ", ".join(f"{k} {v:.3f}" for k, v in entry["val_metrics"].items()))
                self.history[stage].append(entry)
                self.model.train()
            if done % self.config.checkpoint_every == 0 or done == cfg.steps:
                self._save(stage, done, optimizer)
        self.model.eval()

    def _sync_gradients(self, params) -> None:
        """Data parallelism across torchrun processes: average gradients (what DDP does, without buckets;
        our losses call sub-modules, which DDP's forward hooks would not see)."""
        if self.world == 1:
            return
        for p in params:
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad /= self.world

    def _loss(self, stage, model, batch, alphas):
        if stage == "ae":
            return autoencoder_loss(model, batch, self.config.kl_weight, self.recon_weights.to(batch["window"].device))
        return diffusion_loss(model, batch, alphas)

    @torch.no_grad()
    def validate(self, stage: str, alphas: torch.Tensor, batches: int = 4) -> dict[str, float]:
        self.model.eval()
        torch_state = torch.get_rng_state()
        torch.manual_seed(1234)  # the same noise every validation: comparable numbers
        self.val_sampler.rng = np.random.default_rng(1234)
        logs = [self._loss(stage, self.model, _tensors(self.val_sampler.batch(256, None), self.device), alphas)[1]
                for _ in range(batches)]
        torch.set_rng_state(torch_state)
        return {k: float(np.mean([entry[k] for entry in logs])) for k in logs[0]}
