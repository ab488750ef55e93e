"""A long simulated conversation through OnlineGenerator, faster than real time: is the cost per window flat?

Synthetic speaker features (smooth random attributes in the schema's ranges, random log-mel frames, a face that
leaves the view now and then) are pushed one frame at a time, as the robot does. Every push that produces a
window is timed; the process's RSS is sampled along the way. Then the generator that streamed the whole
conversation and a fresh one (context just filled) take turns for `rounds` rounds of windows: per round, the late
one's CPU time per window over the fresh one's (bench/repeats.py). Flat = that ratio within 10 % over every round, and RSS not
growing. (The last vs first 10 % of the stream is kept as information: a load that changes during the stream
moves it, which the interleaved rounds do not suffer.)"""
from __future__ import annotations

import time

import numpy as np

from react_ros import schema
from react_ros.bench.repeats import CLOCK, round_time, spread, timed_rounds
from react_ros.bench.timing import CpuMeter, rss_mb
from react_ros.online.latency import summary_ms


def synthetic_speaker(frames: int, audio_dim: int, seed: int = 0, block: int = 3000):
    """Yields (visual (n,25), audio (n,A), visual_present (n,)) blocks of at most `block` frames."""
    rng = np.random.default_rng(seed)
    state = rng.standard_normal(schema.REACTION_DIM)
    done = 0
    while done < frames:
        n = min(block, frames - done)
        steps = rng.standard_normal((n, schema.REACTION_DIM)) * 0.1
        walk = state + np.cumsum(steps, axis=0) * 0.3
        state = walk[-1] * 0.9
        visual = schema.clip_to_range((1.0 / (1.0 + np.exp(-walk))).astype(np.float32))
        audio = rng.standard_normal((n, audio_dim)).astype(np.float32)
        present = (rng.random(n) > 0.05).astype(np.float32)  # 5 % of frames without a face
        yield visual, audio, present
        done += n


def _frames(audio_dim: int, seed: int):
    """Endless single frames of a synthetic speaker."""
    while True:
        for visual, audio, present in synthetic_speaker(30_000, audio_dim, seed):
            for i in range(len(visual)):
                yield visual[i:i + 1], audio[i:i + 1], present[i:i + 1]
        seed += 1


def _round_of_windows(online, frames, windows: int) -> float:
    """CPU seconds of a push that produced a window (round_time), over the next `windows` windows."""
    clock, times = CLOCK, []
    while len(times) < windows:
        t0 = clock()
        out = online.push(*next(frames))
        t1 = clock()
        if len(out):
            times.append(t1 - t0)
    return round_time(times)


def late_vs_fresh(late, graphs, sampling, samples: int, rounds: int, windows_per_round: int = 40,
                  seed: int = 1) -> dict:
    """Per round, the window time of `late` (an OnlineGenerator after a long stream) over a fresh one's."""
    from react_ros.model.generator import OnlineGenerator, WindowGenerator

    fresh = OnlineGenerator(WindowGenerator(graphs, sampling), samples)
    fresh.reset(seed)
    audio_dim = late.config.audio_dim
    late_frames, fresh_frames = _frames(audio_dim, seed + 100), _frames(audio_dim, seed + 200)
    for _ in range(fresh.context_frames + late.config.window):  # a full context, as late has
        fresh.push(*next(fresh_frames))
    times = timed_rounds({"late": lambda: _round_of_windows(late, late_frames, windows_per_round),
                          "fresh": lambda: _round_of_windows(fresh, fresh_frames, windows_per_round)}, rounds)
    return {"rounds": rounds, "windows_per_round": windows_per_round,
            "late_ms": [round(t * 1e3, 4) for t in times["late"]],
            "fresh_ms": [round(t * 1e3, 4) for t in times["fresh"]],
            "ratio": spread([a / b for a, b in zip(times["late"], times["fresh"], strict=True)])}


def long_stream(graphs, sampling, minutes: float = 30.0, samples: int = 1, seed: int = 0, fps: float = schema.FPS,
                progress: bool = False, rounds: int = 9) -> dict:
    from react_ros.model.generator import OnlineGenerator, WindowGenerator

    online = OnlineGenerator(WindowGenerator(graphs, sampling), samples)
    online.reset(seed)
    frames = int(round(minutes * 60 * fps))
    window_times: list[float] = []
    rss: list[tuple[int, float]] = []
    context = {online.context_frames}
    clock = time.perf_counter
    rss_every = max(1, frames // 200)
    meter = CpuMeter().start()
    started = clock()
    last_report = started
    pushed = 0
    for visual, audio, present in synthetic_speaker(frames, online.config.audio_dim, seed):
        for i in range(len(visual)):
            t0 = clock()
            out = online.push(visual[i:i + 1], audio[i:i + 1], present[i:i + 1])
            t1 = clock()
            if len(out):
                window_times.append(t1 - t0)
            pushed += 1
            if pushed % rss_every == 0:
                rss.append((pushed, rss_mb()))
                context.add(online.context_frames)
        if progress and clock() - last_report > 5.0:
            last_report = clock()
            print(f"  long stream: {pushed}/{frames} frames ({pushed / fps / 60:.1f} of {minutes:g} min simulated)",
                  flush=True)
    wall = clock() - started
    cpu = meter.stop()
    interleaved = late_vs_fresh(online, graphs, sampling, samples, rounds) if rounds > 0 else None
    n = len(window_times)
    tenth = max(1, n // 10)
    first, last = np.median(window_times[:tenth]), np.median(window_times[-tenth:])
    rss_values = [r for _, r in rss] or [rss_mb()]
    rss_tenth = max(1, len(rss_values) // 10)
    rss_first, rss_last = float(np.median(rss_values[:rss_tenth])), float(np.median(rss_values[-rss_tenth:]))
    return {
        "minutes_simulated": round(frames / fps / 60, 3), "frames": frames, "windows": n,
        "window": online.config.window, "samples": samples, "sampling": dict(sampling.__dict__),
        "wall_s": round(wall, 2), "speed_vs_real_time": round(frames / fps / wall, 2) if wall else None,
        "window_ms": summary_ms(window_times),
        "first_10pct_window_median_ms": round(float(first) * 1e3, 4),
        "last_10pct_window_median_ms": round(float(last) * 1e3, 4),
        "window_time_ratio_last_vs_first": round(float(last / first), 4),
        "late_vs_fresh": interleaved,
        "rss_first_10pct_mb": round(rss_first, 1), "rss_last_10pct_mb": round(rss_last, 1),
        "rss_ratio_last_vs_first": round(rss_last / rss_first, 4),
        "context_frames": sorted(context), "context_bounded": len(context) == 1,
        "cpu": cpu,
        "window_ms_by_decile": [round(float(np.median(chunk)) * 1e3, 4)
                                for chunk in np.array_split(np.asarray(window_times), 10) if len(chunk)],
    }
