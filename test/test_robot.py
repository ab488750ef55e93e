"""Robot face profiles and motion safety: mapping, limits, velocity clamp, watchdog easing to neutral."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema
from react_ros.robot import MotionConfig, MotionController, RobotProfile, load_profile


def extreme_reaction() -> np.ndarray:
    reaction = schema.UPPER.copy()  # every AU full on, valence/arousal 1, all expressions 1
    return reaction


def test_shipped_profiles_load_and_map_neutral_to_rest_pose():
    animatronic = load_profile("animatronic")
    assert 10 <= len(animatronic.names) <= 14
    assert {"jaw", "head_tilt", "eyelid_left", "mouth_corner_right"} <= set(animatronic.names)
    np.testing.assert_allclose(animatronic.map(schema.neutral_frame()), animatronic.neutral + animatronic.offset)
    screen = load_profile("screen_face")
    assert screen.render and screen.kind == "screen"
    assert screen.names == list(schema.ATTRIBUTE_NAMES)


def test_mapping_follows_gains_and_stays_within_limits():
    profile = load_profile("animatronic")
    jaw = profile.names.index("jaw")
    open_mouth = schema.neutral_frame()
    open_mouth[schema.index_of("AU26")] = 1.0
    assert profile.map(open_mouth)[jaw] == pytest.approx(0.35)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.uniform(-3, 3, schema.REACTION_DIM).astype(np.float32)  # far outside the ranges
        q = profile.map(x)
        assert np.all(q >= profile.lower - 1e-12) and np.all(q <= profile.upper + 1e-12)
    nan = np.full(schema.REACTION_DIM, np.nan, np.float32)
    np.testing.assert_allclose(profile.map(nan), profile.neutral)


def test_identity_profile_round_trips_the_reaction():
    screen = load_profile("screen_face")
    x = schema.clip_to_range(np.random.default_rng(1).uniform(-1, 1, schema.REACTION_DIM))
    np.testing.assert_allclose(screen.to_reaction(screen.map(x)), x, atol=1e-6)
    assert load_profile("animatronic").to_reaction(np.zeros(13)) is None


def test_bad_profiles_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="unknown reaction attribute"):
        RobotProfile.from_dict({"joints": [{"name": "j", "inputs": {"AU99": 1.0}}]})
    with pytest.raises(ValueError, match="neutral"):
        RobotProfile.from_dict({"joints": [{"name": "j", "attribute": "AU1", "neutral": 2.0, "min": 0, "max": 1}]})
    with pytest.raises(ValueError, match="max_velocity"):
        RobotProfile.from_dict({"joints": [{"name": "j", "attribute": "AU1", "max_velocity": 0}]})
    with pytest.raises(FileNotFoundError):
        load_profile("no_such_robot")


def test_velocity_clamp_never_jerks():
    profile = load_profile("animatronic")
    motion = MotionController(profile, MotionConfig(smoothing_s=0.0))
    dt = 1 / 30
    previous = motion.positions.copy()
    target = extreme_reaction()
    for k in range(60):
        now = k * dt
        q = motion.update(target if k % 2 == 0 else schema.neutral_frame(), now)  # worst case: flip every frame
        step = np.abs(q - previous)
        assert np.all(step <= profile.max_velocity * dt + 1e-9)
        assert np.all(q >= profile.lower) and np.all(q <= profile.upper)
        previous = q
    # A long pause does not license a jump: dt is capped.
    q = motion.update(target, 60 * dt + 30.0)
    assert np.all(np.abs(q - previous) <= profile.max_velocity * MotionConfig().max_dt_s + 1e-9)


def test_smoothing_reaches_the_target():
    profile = load_profile("animatronic")
    motion = MotionController(profile)
    target = profile.map(extreme_reaction())
    for k in range(90):
        q = motion.update(extreme_reaction(), k / 30)
    np.testing.assert_allclose(q, target, atol=1e-3)


def test_watchdog_eases_to_neutral_when_input_stops():
    profile = load_profile("animatronic")
    motion = MotionController(profile, MotionConfig(stale_after_s=0.5))
    for k in range(60):
        motion.update(extreme_reaction(), k / 30)
    last_input = 59 / 30
    assert not motion.at_neutral()
    distance = np.abs(motion.positions - profile.neutral).max()
    # Still fresh: the watchdog holds the pose.
    held = motion.tick(last_input + 0.2)
    assert np.abs(held - profile.neutral).max() == pytest.approx(distance, abs=0.05)
    previous = held
    for k in range(1, 150):
        now = last_input + 0.2 + k / 50
        q = motion.tick(now)
        assert np.all(np.abs(q - previous) <= profile.max_velocity / 50 + 1e-9)
        previous = q
    assert motion.stale and motion.at_neutral(1e-3)


def test_ease_to_neutral_on_shutdown_is_bounded():
    profile = load_profile("animatronic")
    motion = MotionController(profile)
    for k in range(60):
        motion.update(extreme_reaction(), k / 30)
    steps = list(motion.ease_to_neutral(2.0, rate_hz=50.0, max_s=2.0))
    assert 1 < len(steps) <= 100
    np.testing.assert_allclose(steps[-1], profile.neutral, atol=1e-6)
    diffs = np.abs(np.diff(np.array([motion.profile.map(extreme_reaction())] + steps), axis=0))
    assert np.all(diffs[1:] <= profile.max_velocity / 50 + 1e-9)


@pytest.mark.parametrize("stale_after_s", [0.3, 0.5, 1.0])
def test_watchdog_starts_easing_within_its_delay_and_reaches_neutral_in_time(stale_after_s):
    """On the joint positions over simulated time: the pose is held until `stale_after_s` after the last
    reaction, easing starts by the first watchdog tick after it, and neutral is reached within the time the
    velocity limits and the smoothing allow (distance / max_velocity, plus the smoothing's settling time)."""
    profile = load_profile("animatronic")
    config = MotionConfig(stale_after_s=stale_after_s)
    motion = MotionController(profile, config)
    for k in range(90):  # long enough to settle on the target (test_smoothing_reaches_the_target)
        motion.update(extreme_reaction(), k / 30)
    last_input, held = 89 / 30, motion.positions.copy()
    distance = np.abs(held - profile.neutral)
    assert distance.max() > 0.1
    rate = 50.0
    tolerance = 1e-3
    settle = config.smoothing_s * np.log(distance.max() / tolerance)  # the exponential tail of the smoothing
    reach_by = stale_after_s + (distance / profile.max_velocity).max() + settle + 2 / rate
    started = reached = None
    for k in range(1, int((reach_by + 1.0) * rate)):
        now = last_input + k / rate
        q = motion.tick(now)
        moved = np.abs(q - held).max() > 1e-6
        if now - last_input <= stale_after_s:
            assert not moved, f"eased at {now - last_input:.2f} s, before the {stale_after_s} s delay"
        if moved and started is None:
            started = now - last_input
        if reached is None and np.all(np.abs(q - profile.neutral) <= tolerance):
            reached = now - last_input
    assert started is not None and started <= stale_after_s + 1 / rate + 1e-9, started
    assert reached is not None and reached <= reach_by, (reached, reach_by)


def test_a_new_controller_is_stale_at_neutral_and_still():
    """Before any reaction: the watchdog's state is 'no input' and the face rests (found by mutation testing:
    a controller that started 'fresh' or without velocities survived every other test)."""
    profile = load_profile("animatronic")
    motion = MotionController(profile)
    assert motion.stale and motion.is_stale(0.0) and motion.at_neutral() and motion.names == profile.names
    np.testing.assert_array_equal(motion.velocities, np.zeros(len(profile.names)))
    np.testing.assert_array_equal(motion.tick(0.0), profile.neutral)


def test_motion_config_is_immutable():
    """The node hands one MotionConfig to two controllers (joints and the face image): neither may change the
    other's limits (found by mutation testing: an unfrozen config survived)."""
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        MotionConfig().stale_after_s = 3.0


def test_a_long_pause_never_licenses_a_jump():
    """After a pause of seconds, one step still moves a joint by at most max_velocity * max_dt_s (not by
    max_velocity * the pause): found by mutation testing (max_dt_s 0.1 -> 1.1 survived)."""
    profile = load_profile("animatronic")
    config = MotionConfig(smoothing_s=0.0)
    motion = MotionController(profile, config)
    motion.update(schema.neutral_frame(), 0.0)
    q = motion.update(extreme_reaction(), 5.0)
    step = np.abs(q - profile.neutral)
    assert np.all(step <= profile.max_velocity * config.max_dt_s + 1e-9)
    assert np.any(step >= profile.max_velocity * config.max_dt_s - 1e-9)  # and it does move, at full speed
