"""The full pipeline on a test split: generate K reactions per input (offline from the data set's features,
or online through the robot's front end from video and wav), score them with the REACT metrics, and
score the trivial references beside them."""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from react_ros import schema
from react_ros.behaviours.mimicry import fit_mimicry_delay
from react_ros.data.features import ClipFeatures, answer_role, load_features
from react_ros.data.layout import ClipId
from react_ros.data.mars import MarsDataset
from react_ros.data.pairs import Direction
from react_ros.data.protocol import TestInput, mean_reaction, test_ground_truths
from react_ros.metrics import (
    delayed_mimicry_reference,
    evaluate_ragged,
    gt_reference,
    meanfr_reference,
    meanseq_reference,
    mime_reference,
    random_reference,
)
from react_ros.model.generator import SamplingConfig, WindowGenerator, generate_offline


def input_seed(seed: int, clip_id: str) -> int:
    """A per-input seed that does not depend on the order or number of inputs evaluated."""
    return (seed * 1_000_003 + zlib.crc32(clip_id.encode())) % (2**32)


def offline_predictions(graphs, features: Sequence[ClipFeatures], samples: int = 10, seed: int = 0,
                        sampling: SamplingConfig = SamplingConfig(), progress: bool = False) -> dict[str, np.ndarray]:
    """{input id: (samples, T, 25)} from the data set's features (attributes + audio of the input person). A
    setting without randomness (temperature 0, no listener style) makes every sample the same answer: it is
    generated once and repeated."""
    # a role-conditioned model is told which role each input's target answers in (a model of one role ignores it)
    generators = {role: WindowGenerator(graphs, sampling, role) for role in {clip.role for clip in features}}
    once = sampling.deterministic
    made = {clip.id: generate_offline(generators[clip.role], clip.visual, clip.audio, 1 if once else samples,
                                      input_seed(seed, clip.id))
            for clip in tqdm(features, desc="generate", disable=not progress)}
    return {k: np.repeat(v, samples, axis=0) for k, v in made.items()} if once else made


def online_predictions(graphs, estimator_fn, root: str | Path, split: str, ids: Sequence[str], samples: int = 10,
                       seed: int = 0, sampling: SamplingConfig = SamplingConfig(),
                       progress: bool = False, face_frontend: str = "haar") -> dict[str, np.ndarray]:
    """{input id: (samples, T, 25)} the way the robot makes them (see `session_predictions`)."""
    from react_ros.online import PipelineConfig, ReactionPipeline

    config = PipelineConfig(samples=samples, face_frontend=face_frontend)
    pipelines = {}  # per role: a role-conditioned model answers each input in its target's role

    def pipeline_for(clip: ClipId):
        role = answer_role(Direction.of_input(clip.role))
        if role not in pipelines:
            pipelines[role] = ReactionPipeline.from_graphs(graphs, estimator_fn, sampling, config, face_frontend, role)
        return pipelines[role]

    return session_predictions(pipeline_for, root, split, ids, seed, progress)


def session_predictions(pipeline_for: Callable, root: str | Path, split: str, ids: Sequence[str], seed: int = 0,
                        progress: bool = False) -> dict[str, np.ndarray]:
    """{input id: (samples, T, 25)}: the input person's video frames and wav chunks go through the robot's
    ReactionSession (front end, audio pairing by stamps, the reaction source of `pipeline_for(input ClipId)`: the
    streaming generator, delayed mimicry, ...), played as a camera and a microphone would deliver them (audio up
    to the end of each frame, then the frame)."""
    import cv2

    from react_ros.online import ReactionSession, SessionConfig
    from react_ros.robot import load_profile

    dataset = MarsDataset(root, split, window=1, modalities=("attributes", "audio", "video"))
    by_id = {str(entry.sample.input): entry.sample.input for entry in dataset.entries}
    clock = [0.0]  # the session's clocks follow the clip's stamps: a simulated real-time playback
    rate = schema.AUDIO_SAMPLE_RATE  # MarsDataset reads audio at this rate
    out = {}
    reactions: list[np.ndarray] = []

    def keep(command) -> None:
        reactions.append(command.output.samples)

    for clip_id in tqdm(ids, desc="generate online", disable=not progress):
        pipeline = pipeline_for(by_id[clip_id])
        # Simulated clocks (each clip starts at 1.0 s): any finite stamp is plausible.
        config = SessionConfig(pipeline.config, face_image="false", max_stamp_skew_s=float("inf"))
        session = ReactionSession(pipeline, load_profile(config.robot_profile), config, clock=lambda: clock[0],
                                  wall_clock=lambda: clock[0])
        clip = dataset.load_clip(by_id[clip_id], video=True)
        audio = np.zeros(0, np.float32) if clip.speaker_audio is None else clip.speaker_audio
        session.start(input_seed(seed, clip_id))
        reactions.clear()
        origin, position = 1.0, 0
        for k, rgb in enumerate(clip.speaker_video):
            end = min(len(audio), int(np.ceil((k + 1) * rate / schema.FPS)))
            if end > position:
                session.on_audio(audio[position:end], rate, origin + position / rate)
                position = end
            clock[0] = origin + k / schema.FPS
            session.on_image(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), clock[0], keep)  # cameras give BGR
        out[clip_id] = np.stack(reactions).transpose(1, 0, 2)
    return out


ONLINE_MIMICRY = "Delayed mimicry (online, from video+wav)"


def online_mimicry_predictions(estimator_fn, root: str | Path, split: str, tests: Sequence[TestInput],
                               samples: int = 10, progress: bool = False,
                               face_frontend: str = "haar") -> dict[str, np.ndarray]:
    """Delayed mimicry the way the robot would show it: the front end's estimated attributes, copied after the
    delay fitted on the training split (`fit_mimicry_delays`), `samples` identical copies per input."""
    from react_ros.behaviours.mimicry import DelayedMimicry
    from react_ros.media_perception.frontends import build_frontend
    from react_ros.online import PipelineConfig, ReactionPipeline

    delays = fit_mimicry_delays(root, [t.direction for t in tests])
    config = PipelineConfig(samples=samples)

    def pipeline_for(clip: ClipId) -> ReactionPipeline:
        front_end = build_frontend(face_frontend, crop_mode=config.crop_mode, estimator_fn=estimator_fn)
        return ReactionPipeline(front_end, DelayedMimicry(delays[Direction.of_input(clip.role).value], samples), config)

    return session_predictions(pipeline_for, root, split, [t.id for t in tests], progress=progress)


def score(predictions: dict[str, np.ndarray], tests: Sequence[TestInput], progress: bool = False) -> dict[str, float]:
    missing = [t.id for t in tests if t.id not in predictions]
    if missing:
        raise ValueError(f"predictions lack {len(missing)} test inputs, e.g. {missing[:3]}")
    preds = []
    for test in tests:
        p = np.asarray(predictions[test.id], np.float32)
        if p.ndim != 3 or p.shape[2] != schema.REACTION_DIM or p.shape[1] < len(test.speaker):
            raise ValueError(f"{test.id}: prediction shape {p.shape}, expected (K, >={len(test.speaker)}, 25)")
        preds.append(p[:, : len(test.speaker)])
    return score_ragged(preds, [t.gts for t in tests], [t.speaker for t in tests], progress=progress)


def score_ragged(preds, gts, speakers, progress: bool = False) -> dict[str, float]:
    """The REACT metrics (metrics.evaluate_ragged) and, beside FD_frame, the realism of what the human-style face
    shows (FD_seen, FD_seen_delta: evaluation/seen_realism.py)."""
    from react_ros.evaluation.seen_realism import seen_scores

    scores = evaluate_ragged(preds, gts, speakers, progress=progress)
    scores.update(seen_scores(preds, gts))
    return scores


PAIRED_GT = "GT, paired only"
DELAYED_MIMICRY = "Delayed mimicry"


def fit_mimicry_delays(root: str | Path, directions: Sequence[Direction | str],
                       max_delay: int = 60) -> dict[str, int]:
    """{direction: delay in frames}: the delayed copy of the input that best matches its paired real reaction
    (FRCorr per prediction) on the TRAINING split, one delay per direction (see `fit_mimicry_delay`)."""
    delays = {}
    for direction in dict.fromkeys(Direction(d) for d in directions):
        train = test_ground_truths(root, "train", count=1, directions=direction.value)
        if not train:
            raise ValueError(f"{root}: no training pairs to fit the delayed-mimicry delay on")
        delays[direction.value], _ = fit_mimicry_delay([t.speaker for t in train], [t.listener for t in train],
                                                       max_delay)
    return delays


def reference_scores(root: str | Path, tests: Sequence[TestInput], k: int = 10, seed: int = 0,
                     progress: bool = False) -> dict[str, dict[str, float]]:
    """GT, Random, Mime, delayed mimicry, MeanSeq and MeanFr scored on the same inputs (means and the mimicry
    delay from the training split), and "GT, paired only": the one real reaction to this recording, the
    yardstick for synchrony. GT's other appropriate reactions answered other recordings (other clips of the
    session), so their lag against this input's speaker is arbitrary and GT's FRSyn over all of them scatters
    like Random's. The delayed-mimicry row carries its fitted delays as `delay_frames <direction>`."""
    gts = [t.gts for t in tests]
    speakers = [t.speaker for t in tests]
    lengths = [len(s) for s in speakers]
    mean_frame, mean_sequence = mean_reaction(root, "train")
    delays = fit_mimicry_delays(root, [t.direction for t in tests])
    rng = np.random.default_rng(seed)
    references = {
        "GT": gt_reference(gts, k),
        PAIRED_GT: gt_reference(gts, 1),
        "Random": random_reference([(k, n, schema.REACTION_DIM) for n in lengths], rng),
        "Mime": mime_reference(speakers, k),
        DELAYED_MIMICRY: delayed_mimicry_reference(speakers, k, [delays[t.direction.value] for t in tests]),
        "MeanSeq": meanseq_reference(mean_sequence, len(tests), k, length=lengths),
        "MeanFr": meanfr_reference(mean_frame, len(tests), k, length=lengths),
    }
    scores = {name: score_ragged([np.asarray(p, np.float32) for p in preds], gts, speakers, progress=progress)
              for name, preds in references.items()}
    scores[DELAYED_MIMICRY].update({f"delay_frames {d}": float(v) for d, v in delays.items()})
    return scores


def evaluate_graphs(graphs, data_dir: str | Path, split: str = "test", samples: int = 10, seed: int = 0,
                    sampling: SamplingConfig = SamplingConfig(), directions: str = "both",
                    progress: bool = False, perceived: str | None = None) -> dict[str, float]:
    """The REACT metrics of offline generation with these graphs (any backend) on a split (`perceived`: the
    speaker attributes of a perceive tree, for a model trained on them)."""
    tests = test_ground_truths(data_dir, split, directions=directions)
    features = load_features(data_dir, split, directions, perceived=perceived)
    predictions = offline_predictions(graphs, features, samples, seed, sampling, progress)
    return score(predictions, tests, progress)
