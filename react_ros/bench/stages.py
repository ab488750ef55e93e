"""Per-stage latency (front end, condition encoder, one denoiser step, decoder), latency per window for each
sampling setting, and the real-time factor.

Real-time factor (RTF) = compute per window / (w frame periods at 30 fps). `rtf` counts the generator only
(condition + sampler + decoder, what runs once per window); `rtf_with_front_end` adds w frames of front end
(face crop + estimator + audio features run once per camera frame). Below 1 keeps up; the issue's target for
the default setting is < 0.25, leaving the CPU to the rest of the robot."""
from __future__ import annotations

import numpy as np

from react_ros import schema
from react_ros.bench.timing import measure
from react_ros.model.config import ROLE_LISTENER, role_inputs, speaker_skip_inputs
from react_ros.online.latency import summary_ms

FPS = schema.FPS


def demo_inputs(frames: int = 60):
    """Speaker video frames (BGR uint8) and 16 kHz audio of the bundled demo clip."""
    from react_ros.data.audio_io import read_wav
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video

    video, wav = default_clip()
    images = read_video(video)[:frames]
    samples, rate = read_wav(wav)
    return images, samples.astype(np.float32), int(rate)


def front_end_stages(estimator_fn, budget_s: float = 0.5, frames: int = 60) -> dict:
    """Per video frame: face crop, estimator, audio features (one frame period of 16 kHz audio), and all three."""
    from react_ros.perception.audio_features import StreamingAudioFeatures
    from react_ros.perception.face_crop import FaceCropper
    from react_ros.perception.frontend import SpeakerFrontEnd

    images, samples, rate = demo_inputs(frames)
    cropper = FaceCropper("full_frame")
    crop = cropper.crop(images[0])
    x = (crop.image.astype(np.float32) / 255.0)[None, None]
    chunk = int(round(rate / FPS))
    audio = StreamingAudioFeatures()
    state = {"i": 0, "pos": 0}

    def next_chunk():
        pos = state["pos"]
        if pos + chunk > len(samples):
            pos = 0
        state["pos"] = pos + chunk
        return samples[pos:pos + chunk]

    def crop_one():
        state["i"] = (state["i"] + 1) % len(images)
        cropper.crop(images[state["i"]])

    out = {"face_crop": summary_ms(measure(crop_one, budget_s)),
           "audio_features": summary_ms(measure(lambda: audio.push(next_chunk(), rate), budget_s))}
    if estimator_fn is not None:
        out["estimator"] = summary_ms(measure(lambda: estimator_fn(x), budget_s))
        front = SpeakerFrontEnd(FaceCropper("full_frame"), estimator_fn)

        def whole():
            state["i"] = (state["i"] + 1) % len(images)
            front.process_image(images[state["i"]])
            front.process_audio(next_chunk(), rate)

        out["total"] = summary_ms(measure(whole, budget_s))
    return out


def scene_inputs(frames: int = 60) -> list[np.ndarray]:
    """640x480 camera-like frames: the demo clip's rendered speaker (240x240) in a plain room-coloured scene."""
    import cv2

    images, _, _ = demo_inputs(frames)
    out = []
    for image in images:
        scene = np.full((480, 640, 3), (70, 90, 110), np.uint8)
        scene[120:360, 200:440] = cv2.resize(image, (240, 240))
        out.append(scene)
    return out


def scene_front_ends(estimator_fn, budget_s: float = 0.5, frames: int = 60, threads: int = 1) -> dict:
    """Per 640x480 camera frame, the face part of each speaker front end (process_image: face found, 25 values
    out): haar (Haar cascade + the estimator, `crop_mode` haar) and mesh (BlazeFace + FaceMesh + geometry,
    detection every 3rd frame). The issue-14 target is mesh <= 8 ms median on one core."""
    from react_ros.media_perception.frontends import build_frontend

    images = scene_inputs(frames)
    fronts = {"mesh": build_frontend("mesh", threads=threads)}
    if estimator_fn is not None:
        fronts = {"haar": build_frontend("haar", crop_mode="haar", estimator_fn=estimator_fn), **fronts}
    out = {}
    for name, front in fronts.items():
        state = {"i": 0, "present": 0, "n": 0}

        def one(front=front, state=state):
            state["i"] = (state["i"] + 1) % len(images)
            state["present"] += bool(front.process_image(images[state["i"]]).present)
            state["n"] += 1

        for _ in range(5):  # warm-up (first detection, model load)
            one()
        state["present"] = state["n"] = 0
        out[name] = dict(summary_ms(measure(one, budget_s, min_n=3 * len(images) // 4)),
                         face_present=round(state["present"] / max(1, state["n"]), 3))
    return out


def session_frames(graphs, estimator_fn, sampling, budget_s: float = 0.5, trained_frontend: str | None = None,
                   frames: int = 60) -> dict:
    """Per camera frame through the robot's ReactionSession (what the reaction node runs): one frame period of
    audio, then the frame: front end, audio pairing, the generator's window every w frames, motion limits.
    Median/p99 over frames, so the p99 is the frames that computed a window."""
    from react_ros.online import PipelineConfig, ReactionPipeline, ReactionSession, SessionConfig
    from react_ros.robot import load_profile

    images, samples, rate = demo_inputs(frames)
    config = SessionConfig(PipelineConfig(), robot_profile="animatronic", max_stamp_skew_s=float("inf"))  # clip time
    session = ReactionSession(ReactionPipeline.from_graphs(graphs, estimator_fn, sampling, config.pipeline,
                                                           trained_frontend),
                              load_profile(config.robot_profile), config)
    session.start(0)
    chunk = int(round(rate / FPS))
    state = {"k": 0}

    def frame():
        k = state["k"]
        state["k"] += 1
        position = (k * chunk) % max(1, len(samples) - chunk)
        stamp = 1.0 + k / FPS
        session.on_audio(samples[position:position + chunk], rate, stamp - 1.0 / FPS)
        session.on_image(images[k % len(images)], stamp, lambda command: None)

    return summary_ms(measure(frame, budget_s, min_n=4 * graphs.config.window))


def window_inputs(config, samples: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    c, k = config, samples
    return {
        "visual": schema.clip_to_range(rng.random((k, c.context, c.reaction_dim)).astype(np.float32)),
        "visual_present": np.ones((k, c.context), np.float32),
        "audio": rng.standard_normal((k, c.context, c.audio_dim)).astype(np.float32),
        "audio_present": np.ones((k, c.context), np.float32),
        "past": schema.clip_to_range(rng.random((k, c.past, c.reaction_dim)).astype(np.float32)),
        "noise": rng.standard_normal((k, c.latent_dim)).astype(np.float32),
    }


def graph_stages(graphs, samples: int, budget_s: float = 0.5) -> dict:
    """Median/p99 of one call of each graph at batch `samples`: condition, one denoiser step, decode."""
    c = graphs.config
    x = window_inputs(c, samples)
    role = role_inputs(c, ROLE_LISTENER, samples)  # a role-conditioned model timed in the robot's role
    cond = np.asarray(graphs.condition(x["visual"], x["visual_present"], x["audio"], x["audio_present"], x["past"],
                                       **role))
    t = np.full(samples, 500.0, np.float32)
    latent = x["noise"]
    return {
        "condition": summary_ms(measure(lambda: graphs.condition(x["visual"], x["visual_present"], x["audio"],
                                                                 x["audio_present"], x["past"], **role), budget_s)),
        "denoise_step": summary_ms(measure(lambda: graphs.denoise(latent, t, cond), budget_s)),
        "decode": summary_ms(measure(lambda: graphs.decode(latent, x["past"], **speaker_skip_inputs(c, x), **role),
                                     budget_s)),
    }


def window_latency(graphs, sampling, samples: int, budget_s: float = 0.5) -> dict:
    """One whole window (condition + sampler + decode) through WindowGenerator, as the online loop runs it."""
    from react_ros.model.generator import WindowGenerator

    generate = WindowGenerator(graphs, sampling)
    x = window_inputs(graphs.config, samples)
    args = (x["visual"], x["visual_present"], x["audio"], x["audio_present"], x["past"], x["noise"])
    return summary_ms(measure(lambda: generate(*args), budget_s, min_n=8))


def rtf(window_ms: float | None, window: int, front_end_ms: float | None = None) -> dict:
    period_ms = window * 1000.0 / FPS
    if window_ms is None:
        return {"rtf": None, "rtf_with_front_end": None}
    out = {"rtf": round(window_ms / period_ms, 5)}
    out["rtf_with_front_end"] = (round((window_ms + window * front_end_ms) / period_ms, 5)
                                 if front_end_ms is not None else None)
    return out
