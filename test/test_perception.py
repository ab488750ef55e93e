"""Speaker front end: audio features, face crops, the attribute estimator and the front end (~15 s)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from react_ros import schema
from react_ros.perception.audio_features import (
    LOG_MEL_MEAN,
    LOG_MEL_STD,
    N_AUDIO_FEATURES,
    SILENCE_FEATURE,
    AudioFeatureConfig,
    StreamingAudioFeatures,
    StreamingResampler,
    audio_features,
    frame_end_sample,
    frame_energy_db,
    mel_filterbank,
    num_frames,
    samples_needed,
    speech_like_signal,
    voice_activity,
)
from react_ros.perception.estimator import (
    AttributeEstimator,
    estimate,
    load_estimator,
    save_estimator,
    train_estimator,
)
from react_ros.perception.face_crop import FaceCropper
from react_ros.perception.frontend import SpeakerFrontEnd, onnx_estimator_fn, torch_estimator_fn

SR = 16000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speech_like_signal(4.0, seed=3)


def _push_chunked(stream: StreamingAudioFeatures, samples: np.ndarray, sizes: list[int],
                  sample_rate: int | None = None) -> np.ndarray:
    out, position, i = [], 0, 0
    while position < samples.size:
        size = sizes[i % len(sizes)]
        out.append(stream.push(samples[position:position + size], sample_rate))
        position, i = position + size, i + 1
    return np.concatenate(out) if out else np.zeros((0, stream.config.n_mels), np.float32)


# ------------------------------------------------------------------------------------------ audio

def test_frame_count_and_alignment() -> None:
    config = AudioFeatureConfig()
    assert N_AUDIO_FEATURES == config.n_mels == 32
    assert frame_end_sample(np.arange(4)).tolist() == [533, 1067, 1600, 2133]  # round((i + 1) * 1600 / 3)
    for n in (0, 1, 532, 533, 534, 1066, 1067, 16000, 16001, 25 * SR):
        assert audio_features(np.zeros(n, np.float32)).shape == (n * 30 // SR, 32) == (num_frames(n), 32)
    for frames in (1, 2, 3, 750):
        assert num_frames(samples_needed(frames)) == frames
        assert num_frames(samples_needed(frames) - 1) == frames - 1
    ntsc = AudioFeatureConfig(fps=29.97)
    assert num_frames(SR * 100, ntsc) == 2997


def test_features_are_causal(speech: np.ndarray) -> None:
    base = audio_features(speech)
    rng = np.random.default_rng(0)
    for frame in (0, 5, 40, base.shape[0] - 2):
        changed = speech.copy()
        end = int(frame_end_sample(frame))
        changed[end:] = rng.uniform(-1, 1, changed.size - end).astype(np.float32)
        out = audio_features(changed)
        np.testing.assert_array_equal(out[:frame + 1], base[:frame + 1])
        assert not np.array_equal(out[frame + 1:], base[frame + 1:])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 3000) | st.sampled_from([0, 1, 2, 533, 534, 1067]), min_size=1, max_size=12),
       offset=st.integers(0, 20000))
def test_streaming_equals_offline(speech: np.ndarray, sizes: list[int], offset: int) -> None:
    if not any(sizes):
        sizes = sizes + [1]
    clip = speech[offset:offset + 12000]
    stream = StreamingAudioFeatures()
    np.testing.assert_array_equal(_push_chunked(stream, clip, sizes), audio_features(clip))
    stream.reset()  # a reset stream starts over exactly
    np.testing.assert_array_equal(_push_chunked(stream, clip, sizes[::-1]), audio_features(clip))


def test_streaming_input_types(speech: np.ndarray) -> None:
    stream = StreamingAudioFeatures()
    assert stream.push(None).shape == (0, 32)
    assert stream.push(np.zeros(0, np.float32)).shape == (0, 32)
    pcm = (speech[:8000] * 32767).astype(np.int16)
    out = stream.push(pcm)
    np.testing.assert_allclose(out, audio_features(pcm.astype(np.float32) / 32768.0), atol=1e-6)
    stereo = np.stack([speech[:8000], speech[:8000]], axis=1)
    np.testing.assert_allclose(audio_features(stereo), audio_features(speech[:8000]), atol=1e-6)


def test_resampled_streaming_equals_offline_and_resample_poly() -> None:
    from scipy.signal import resample_poly

    clip = speech_like_signal(1.5, sample_rate=48000, seed=5)
    stream = StreamingAudioFeatures()
    chunked = _push_chunked(stream, clip, [1, 4800, 777, 0, 1601], sample_rate=48000)
    np.testing.assert_array_equal(chunked, audio_features(clip, sample_rate=48000))
    # Same anti-aliasing filter as scipy's resample_poly, applied causally: a pure delay of half the filter.
    resampler = StreamingResampler(48000, SR)
    causal = resampler.push(clip)
    reference = resample_poly(clip.astype(np.float64), SR, 48000)
    delay = int(resampler.delay_samples * SR / 48000)
    np.testing.assert_allclose(causal[delay + 50:-50], reference[50:-50 - delay], atol=1e-6)


def test_buffer_is_bounded_on_a_long_stream() -> None:
    rng = np.random.default_rng(1)
    stream = StreamingAudioFeatures()
    sizes = rng.integers(1, 4000, size=400)
    frames = 0
    buffered = None
    for size in sizes:
        frames += stream.push(rng.normal(0, 0.1, size).astype(np.float32), 48000).shape[0]
        buffered = stream.buffered_samples if buffered is None else buffered
        assert stream.buffered_samples == buffered
    assert buffered < 2 * stream.config.n_fft
    assert frames == stream.frames_emitted == num_frames(stream.samples_received)
    assert stream.samples_received == pytest.approx(sizes.sum() / 3, abs=2)


def test_voice_activity_tone_vs_silence() -> None:
    t = np.arange(SR) / SR
    tone = (0.1 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    clip = np.concatenate([tone, np.zeros(SR, np.float32)])
    features = audio_features(clip)
    active = voice_activity(features)
    assert active.shape == (60,) and active.dtype == bool
    assert active[2:30].all() and not active[32:].any()  # one 64 ms window of slack around the switch
    np.testing.assert_allclose(frame_energy_db(features)[5:28], 20 * np.log10(0.1) - 3.01, atol=0.3)
    np.testing.assert_allclose(features[40:], SILENCE_FEATURE, atol=1e-6)  # digital silence


def test_normalisation_constants_fit_speech() -> None:
    features = audio_features(speech_like_signal(60.0, seed=0))
    assert abs(float(features.mean())) < 0.05 and abs(float(features.std()) - 1.0) < 0.05
    assert LOG_MEL_STD > 0 and np.isfinite(LOG_MEL_MEAN)


def test_mel_filterbank_covers_the_range() -> None:
    config = AudioFeatureConfig()
    bank = mel_filterbank(config)
    freqs = np.fft.rfftfreq(config.n_fft, 1 / config.sample_rate)
    assert bank.shape == (32, 513) and (bank >= 0).all()
    assert (bank.max(axis=1) > 0.5).all() and (bank.max(axis=1) <= 1.0).all()  # no empty or overgrown filter
    centres = freqs[bank.argmax(axis=1)]
    assert (np.diff(centres) > 0).all()
    assert centres[0] < 150 and centres[-1] > 6500
    assert bank[:, (freqs < config.fmin) | (freqs > config.fmax)].sum() == 0
    inside = (freqs > centres[0]) & (freqs < centres[-1])
    np.testing.assert_allclose(bank[:, inside].sum(axis=0), 1.0, atol=1e-9)  # partition of unity
    with pytest.raises(ValueError, match="cover no FFT bin"):
        mel_filterbank(AudioFeatureConfig(n_fft=64, n_mels=32))


# -------------------------------------------------------------------------------------- face crop

@pytest.fixture(scope="module")
def cartoon() -> np.ndarray:
    try:
        from react_ros.face.renderer import FaceRenderer

        return FaceRenderer(size=256).render(schema.neutral_frame())
    except ImportError:  # pragma: no cover - a plain drawn face if the renderer is unavailable
        import cv2

        img = np.full((256, 256, 3), 40, np.uint8)
        cv2.ellipse(img, (128, 120), (75, 95), 0, 0, 360, (170, 205, 245), -1)
        for x in (98, 158):
            cv2.circle(img, (x, 100), 10, (40, 40, 40), -1)
        cv2.ellipse(img, (128, 165), (28, 10), 0, 0, 180, (60, 60, 160), 3)
        return img


@pytest.mark.parametrize("mode", ["haar", "full_frame"])
def test_cropper_no_face_inputs(mode: str) -> None:
    cropper = FaceCropper(mode)
    unusable = (None, np.zeros((0, 0), np.uint8), np.zeros((0, 10, 3), np.uint8), np.zeros((4, 4, 4, 4), np.uint8),
                np.zeros((8, 8, 2), np.uint8), "not an image", np.full((1, 1), 9))
    uniform = (np.full((120, 160, 3), 77, np.uint8), np.full((64, 64), 0.5, np.float32))
    for image in unusable + uniform:
        crop = cropper.crop(image)
        assert not crop.present and crop.image is None and crop.box is None


def test_full_frame_accepts_any_layout(cartoon: np.ndarray) -> None:
    import cv2

    gray = cv2.cvtColor(cartoon, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(cartoon, cv2.COLOR_BGR2BGRA)
    cropper = FaceCropper("full_frame", crop_size=64)
    reference = cropper.crop(cartoon)
    assert reference.present and reference.image.shape == (64, 64) and reference.image.dtype == np.uint8
    for image in (gray, gray[:, :, None], bgra, cartoon.astype(np.float32) / 255.0):
        crop = cropper.crop(image)
        assert crop.present and crop.image.shape == (64, 64) and crop.image.dtype == np.uint8
        assert np.abs(crop.image.astype(int) - reference.image).max() <= 2
    wide = cropper.crop(np.pad(cartoon, ((0, 0), (50, 50), (0, 0))))  # non-square: the centre square is kept
    assert wide.box == (50, 0, 256, 256) and wide.image.shape == (64, 64)
    assert FaceCropper("full_frame", crop_size=32).crop(cartoon).image.shape == (32, 32)


def test_haar_blank_and_cartoon(cartoon: np.ndarray) -> None:
    cropper = FaceCropper("haar", crop_size=64, hold_frames=3)
    assert not cropper.crop(np.zeros((240, 320, 3), np.uint8)).present
    # The rendered cartoon face is found by the frontal-face cascade, also inside a larger frame.
    scene = np.full((480, 640, 3), 90, np.uint8)
    scene[150:406, 300:556] = cartoon
    first = cropper.crop(scene)
    assert first.present and first.image.shape == (64, 64)
    x, y, w, h = first.box
    assert 300 - 40 < x + w / 2 - 128 < 300 + 40 and 150 - 40 < y + h / 2 - 128 < 150 + 40 and 150 < w < 320
    # Missed detections: the last box is held for hold_frames frames, then "no face" and a fresh track.
    empty = np.random.default_rng(0).integers(60, 120, (480, 640, 3), dtype=np.uint8)  # a scene without a face
    held = [cropper.crop(empty) for _ in range(3)]
    assert all(c.present and c.box == first.box for c in held)
    assert not cropper.crop(empty).present
    assert cropper.crop(scene).box == first.box  # restarted without smoothing from the old track
    assert cropper.crop(scene).present and not cropper.crop(np.full((480, 640, 3), 90, np.uint8)).present


def test_haar_box_is_smoothed(cartoon: np.ndarray) -> None:
    cropper = FaceCropper("haar", smoothing=0.5)
    scene = np.full((480, 640, 3), 90, np.uint8)
    scene[100:356, 100:356] = cartoon
    a = cropper.crop(scene).box
    moved = np.full((480, 640, 3), 90, np.uint8)
    moved[100:356, 260:516] = cartoon
    b = cropper.crop(moved).box
    jump = FaceCropper("haar", smoothing=0.0).crop(moved).box
    assert a[0] < b[0] < jump[0] and abs((b[0] - a[0]) - (jump[0] - a[0]) / 2) <= 2


# -------------------------------------------------------------------------------------- estimator

def _check_ranges(out: np.ndarray) -> None:
    assert out.shape[1] == 25 and np.isfinite(out).all()
    assert (out[:, schema.AU] >= 0).all() and (out[:, schema.AU] <= 1).all()
    assert (np.abs(out[:, schema.AFFECT]) <= 1).all()
    np.testing.assert_allclose(out[:, schema.EXPRESSION].sum(1), 1.0, atol=1e-5)


def test_estimator_shape_ranges_and_size() -> None:
    torch.manual_seed(0)
    model = AttributeEstimator().eval()
    assert 50_000 <= model.num_parameters() <= 150_000
    x = torch.cat([torch.rand(3, 1, 64, 64), torch.zeros(1, 1, 64, 64), torch.ones(1, 1, 64, 64)])
    with torch.no_grad():
        out = model(x).numpy()
    assert out.shape == (5, 25)
    _check_ranges(out)
    _check_ranges(estimate(model, np.random.default_rng(0).integers(0, 256, (7, 64, 64), dtype=np.uint8)))
    assert estimate(model, np.zeros((0, 64, 64), np.uint8)).shape == (0, 25)


def _brightness_problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gray textured faces whose 'mouth' box brightness encodes AU12 (the smile)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(60, 120, size=(n, 64, 64)).astype(np.float32)
    au12 = rng.uniform(0, 1, n).astype(np.float32)
    frames[:, 40:52, 18:46] = 60 + 180 * au12[:, None, None]
    targets = np.tile(schema.neutral_frame(), (n, 1))
    targets[:, schema.index_of("AU12")] = au12
    return frames.astype(np.uint8), targets


def test_estimator_learns_a_tiny_problem(tmp_path) -> None:
    torch.set_num_threads(2)
    frames, targets = _brightness_problem(384, seed=0)
    model, metrics = train_estimator(frames, targets, epochs=6, batch_size=32, lr=3e-3, seed=0, progress=False)
    assert metrics["final_loss"] < 0.5 * metrics["first_loss"]
    assert len(metrics["epoch_loss"]) == 6 and metrics["val_frames"] > 0
    test_frames, test_targets = _brightness_problem(64, seed=1)
    pred = estimate(model, test_frames)
    _check_ranges(pred)
    au12 = schema.index_of("AU12")
    assert np.corrcoef(pred[:, au12], test_targets[:, au12])[0, 1] > 0.8
    # Save / load round trip: identical outputs and meta.
    path = save_estimator(tmp_path / "estimator.pt", model, {"trained_on": "brightness", "epochs": 6})
    loaded, meta = load_estimator(path)
    assert meta == {"trained_on": "brightness", "epochs": 6}
    np.testing.assert_array_equal(estimate(loaded, test_frames), pred)
    # Seeded: the same run gives the same model.
    again, _ = train_estimator(frames[:64], targets[:64], epochs=1, batch_size=32, seed=3, progress=False)
    again2, _ = train_estimator(frames[:64], targets[:64], epochs=1, batch_size=32, seed=3, progress=False)
    np.testing.assert_array_equal(estimate(again, test_frames), estimate(again2, test_frames))


def test_load_estimator_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_estimator(tmp_path / "missing.pt")
    bogus = tmp_path / "bogus.pt"
    torch.save({"hello": 1}, bogus)
    with pytest.raises(ValueError, match="bogus.pt"):
        load_estimator(bogus)
    with pytest.raises(ValueError, match="frames must be"):
        train_estimator(np.zeros((4, 32, 32), np.uint8), np.zeros((4, 25), np.float32), epochs=1, progress=False)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # dynamo=False is the legacy exporter, on purpose
def test_onnx_export_matches_torch(tmp_path) -> None:
    import onnx
    import onnxruntime as ort

    torch.manual_seed(1)
    model = AttributeEstimator()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding them is actually tested
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    model.eval()
    path = tmp_path / "estimator.onnx"
    example = torch.rand(2, 1, 64, 64)
    torch.onnx.export(model, (example,), str(path), opset_version=17, dynamo=False, input_names=["crops"],
                      output_names=["attributes"], dynamic_axes={"crops": {0: "batch"}, "attributes": {0: "batch"}})
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert ops <= {"Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm", "MatMul", "Add", "Sub",
                   "Sigmoid", "Tanh", "Softmax", "Slice", "Concat", "Constant", "Identity", "Reshape"}, ops
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(2).uniform(0, 1, (5, 1, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"crops": x})[0], model(torch.from_numpy(x)).detach().numpy(),
                               atol=1e-4)
    # Both backends plug into the front end and agree.
    np.testing.assert_allclose(onnx_estimator_fn(path)(x), torch_estimator_fn(model)(x), atol=1e-4)


# -------------------------------------------------------------------------------------- front end

def test_front_end_offline_equals_streaming(cartoon: np.ndarray) -> None:
    torch.manual_seed(0)
    estimator_fn = torch_estimator_fn(AttributeEstimator())
    frames = [cartoon, cartoon[:, ::-1], None, np.zeros((64, 64), np.uint8), cartoon]
    audio = speech_like_signal(0.5, seed=2)[:samples_needed(len(frames)) + 100]
    front = SpeakerFrontEnd(FaceCropper("full_frame"), estimator_fn, StreamingAudioFeatures())
    attributes, present, audio_feats = front.offline_features(frames, audio)
    assert attributes.shape == (5, 25) and present.tolist() == [True, True, False, False, True]
    assert audio_feats.shape == (5, N_AUDIO_FEATURES)
    np.testing.assert_array_equal(audio_feats, audio_features(audio)[:5])
    np.testing.assert_array_equal(attributes[2], schema.neutral_frame())
    _check_ranges(attributes)
    # Robot path: frames and odd-sized audio chunks one by one give the same numbers.
    front.reset()
    visual = [front.process_image(frame) for frame in frames]
    streamed = _push_chunked(front.audio, audio, [333, 1, 0, 2000])
    np.testing.assert_array_equal(np.stack([v.attributes for v in visual]), attributes)
    np.testing.assert_array_equal(streamed[:5], audio_feats)
    # 48 kHz audio and audio shorter than the video (padded with silence).
    audio48 = speech_like_signal(0.2, sample_rate=48000, seed=2)
    _, _, short = front.offline_features(frames * 2, audio48, sample_rate=48000)
    assert short.shape == (10, N_AUDIO_FEATURES)
    np.testing.assert_array_equal(short[:6], audio_features(audio48, sample_rate=48000))
    np.testing.assert_array_equal(short[6:], np.float32(SILENCE_FEATURE))
