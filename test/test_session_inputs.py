"""The session against what real drivers send (no ROS): garbage, out-of-order and duplicate stamps, latency
outliers, bad input that stops, a generator that stalls while the watchdog must keep the face moving to
neutral, and how fast the face is neutral after the last input."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from test_session import FPS, Clock, FixedSource

from react_ros import schema
from react_ros.online import ReactionSession, SessionConfig, SessionDiagnostics
from react_ros.online.health import ERROR, OK, WARN
from react_ros.online.watchdog import WatchdogThread
from react_ros.robot import load_profile

NOW = 1_796_000_000.0
FRAME = np.zeros((8, 8, 3), np.uint8)


def expressive() -> np.ndarray:
    """A clear smile with raised brows: well away from neutral on most of the animatronic's joints."""
    reaction = schema.neutral_frame()
    for name, value in {"AU12": 0.6, "AU6": 0.5, "AU1": 0.5, "AU2": 0.4, "AU25": 0.5, "AU26": 0.4,
                        "Happy": 0.6, "valence": 0.5}.items():
        reaction[schema.ATTRIBUTE_NAMES.index(name)] = value
    return reaction


def make(profile: str = "animatronic", **config) -> tuple[ReactionSession, Clock]:
    clock = Clock(NOW)
    session = ReactionSession(FixedSource(expressive()), load_profile(profile), SessionConfig(**config),
                              {"backend": "test"}, clock=clock, wall_clock=clock)
    session.start(0)
    return session, clock


def play(session, clock, frames: int, start: int = 0) -> list:
    commands = []
    for k in range(start, start + frames):
        clock.t = NOW + k / FPS
        session.on_image(FRAME, clock.t, commands.append)
    return commands


# ------------------------------------------------------------------------------------------------ stamps

@pytest.mark.parametrize("garbage", [1.0, 86_400.0, 2.0**31 - 1, float("nan"), -3.0])
def test_a_garbage_stamp_never_reaches_a_command(garbage):
    session, clock = make()
    play(session, clock, 5)
    clock.t += 1 / FPS
    commands = []
    session.on_image(FRAME, garbage, commands.append)
    assert len(commands) == 1 and commands[0].stamp == clock.t  # answered, stamped with the receive time
    totals = session.totals()
    assert totals["bad_stamps"] == 1 and totals["implausible_stamp"] == 1 and totals["commands"] == 6


def test_out_of_order_and_duplicate_frames_are_dropped_and_counted():
    session, clock = make()
    play(session, clock, 5)
    commands = []
    clock.t += 0.01
    assert session.on_image(FRAME, NOW + 4 / FPS, commands.append) is None  # the same frame again
    assert session.on_image(FRAME, NOW + 1 / FPS, commands.append) is None  # an old one
    assert commands == []
    totals = session.totals()
    assert totals["bad_stamps"] == 2 and totals["duplicate_stamp"] == 1 and totals["out_of_order"] == 1
    assert len(play(session, clock, 3, start=5)) == 3  # the stream goes on


def test_bad_audio_stamps_are_counted_and_a_duplicate_chunk_is_dropped():
    session, clock = make()
    chunk = np.zeros(533, np.int16)
    assert session.on_audio(chunk, 16000, NOW - 0.1) == 1
    assert session.on_audio(chunk, 16000, NOW - 0.1) == 0  # duplicate: dropped before the source
    assert session.on_audio(chunk, 16000, 2.0**31 - 1) == 1  # garbage: used with the receive time
    assert session.source.stats.audio_chunks == 2 and session.totals()["bad_stamps"] == 2


def test_a_driver_restart_after_a_long_gap_is_accepted_with_its_earlier_clock():
    """A fresh context (input gap > reset_after_gap_s) forgets the old stream's last stamp."""
    session, clock = make(reset_after_gap_s=1.0)
    play(session, clock, 10)
    clock.t += 5.0
    commands = []
    session.on_image(FRAME, NOW + 2 / FPS, commands.append)  # the restarted driver's clock is 0.2 s behind
    assert len(commands) == 1 and commands[0].stamp == NOW + 2 / FPS
    assert session.totals()["bad_stamps"] == 0 and session.totals()["context_resets"] == 1


# ------------------------------------------------------------------------------------------------ diagnostics

def test_latency_percentiles_recover_after_an_outlier():
    session, clock = make(latency_window_s=2.0)
    play(session, clock, 30)
    clock.t = NOW + 30 / FPS + 9.0
    session.on_image(FRAME, NOW + 30 / FPS, lambda c: None)  # the next frame, 9 s late (a stuck driver)
    assert float(session.diagnostics().values["latency_end_to_end_ms_p99"]) > 1000
    play(session, clock, 90, start=310)  # 3 s of timely frames
    values = session.diagnostics().values
    assert float(values["latency_end_to_end_ms_p99"]) < 1.0
    assert session.latency.summary()["end_to_end"]["n"] == 121  # the run's record keeps every sample


def test_diagnostics_back_to_ok_after_bad_input_stops_and_error_with_a_reason():
    session, clock = make()
    play(session, clock, 5)
    assert session.diagnostics().level == OK
    clock.t += 1 / FPS
    session.on_image(None, clock.t, lambda c: None, bad_reason="unknown_encoding")
    warned = session.diagnostics()
    assert warned.level == WARN and "bad_images" in warned.message
    play(session, clock, 30, start=10)
    clean = session.diagnostics()
    assert clean.level == OK and clean.problems  # OK now; the counts keep the history
    snapshot = SessionDiagnostics.error("robot profile 'robbie' not found")
    assert snapshot.level == ERROR and snapshot.message == "robot profile 'robbie' not found"
    assert snapshot.values["error"] == snapshot.message


def test_no_input_is_a_warning_while_active():
    session, clock = make()
    play(session, clock, 5)
    clock.t += 1.0
    stale = session.diagnostics()
    assert stale.stale and stale.level == WARN and stale.message == "no input"


# ------------------------------------------------------------------------------------------------ watchdog

def time_to_neutral(session, clock, rate_hz: float = 50.0) -> float:
    """Seconds from the last reaction until the watchdog's commands reach the neutral pose."""
    last = clock.t
    for k in range(1, 200):
        clock.t = last + k / rate_hz
        command = session.tick()
        if command is not None and np.allclose(command.positions, session.profile.neutral, atol=1e-6):
            return clock.t - last
    raise AssertionError("never neutral")


@pytest.mark.parametrize("profile", ["animatronic", "screen_face"])
def test_face_is_neutral_within_300_ms_of_the_last_input(profile):
    session, clock = make(profile)
    commands = play(session, clock, 30)
    moved = np.abs(commands[-1].positions - session.profile.neutral).max()
    assert moved > 0.15  # the face really showed the reaction
    assert time_to_neutral(session, clock) <= 0.30


def test_watchdog_thread_keeps_the_face_moving_while_the_generator_stalls():
    """The generator blocks inside a camera frame (the input thread is stuck); the watchdog thread, driven by a
    simulated clock, still takes the face to neutral within 300 ms of the last reaction."""
    session, clock = make()
    play(session, clock, 30)
    stall, entered = threading.Event(), threading.Event()
    original = session.source.push_image

    def stalled(image, stamp, emit=None):
        output = original(image, stamp, emit)  # the reaction goes out, then the next window hangs
        entered.set()
        stall.wait(10)
        return output

    session.source.push_image = stalled
    clock.t = NOW + 30 / FPS
    last_input = clock.t
    frame = threading.Thread(target=session.on_image, args=(FRAME, clock.t, lambda c: None))
    frame.start()
    assert entered.wait(10)
    seen, done = [], threading.Event()

    def simulated_wait(stop, seconds) -> bool:  # the watchdog's pause advances the simulated clock
        clock.t += seconds
        if clock.t > last_input + 0.4:
            done.set()
            return True
        return stop.is_set()

    def step() -> None:
        command = session.tick()
        if command is not None:
            seen.append((clock.t - last_input, command.positions))

    watchdog = WatchdogThread(step, 1 / 50.0, wait=simulated_wait).start()
    try:
        assert done.wait(10), "the watchdog thread stopped ticking"
        assert frame.is_alive()  # the generator was stalled the whole time
    finally:
        stall.set()
        watchdog.stop()
        frame.join(10)
    neutral = [t for t, q in seen if np.allclose(q, session.profile.neutral, atol=1e-6)]
    assert seen and seen[0][0] <= 0.15 + 0.02 + 1e-9  # the first watchdog command one tick after the timeout
    assert neutral and neutral[0] <= 0.30


def test_watchdog_thread_rejects_a_bad_period_and_stops():
    with pytest.raises(ValueError):
        WatchdogThread(lambda: None, 0.0)
    ticks = threading.Semaphore(0)
    watchdog = WatchdogThread(ticks.release, 0.001).start()
    assert ticks.acquire(timeout=10)
    watchdog.stop()
    assert not watchdog.running
