"""Spectrogram loaders and the torch-only Kaldi fbank."""
import numpy as np
import pytest
import torch
from dataset_fixtures import write_wav

from rollingq_mm.datasets.transforms import (LoadAudioSpectrogram,
                                             LoadSpectrogramNpy)
from rollingq_mm.datasets.transforms.audio import (fit_length, log_spectrogram,
                                                   resample)
from rollingq_mm.datasets.transforms.fbank import (kaldi_fbank, mel_filterbank,
                                                   wave_to_fbank)


def test_paper_spectrogram_shape_and_values(tmp_path):
    path = str(tmp_path / 'clip.wav')
    write_wav(path, seconds=1.2, rate=16000, freq=440.)
    out = LoadAudioSpectrogram()(dict(audio_path=path))
    spec = out['audio']
    assert spec.shape == (1, 257, 188) and spec.dtype == np.float32
    assert np.isfinite(spec).all()
    # a 440 Hz tone peaks at bin 440 / (22050 / 512) ~ 10
    assert abs(int(spec[0].mean(axis=1).argmax()) - 10) <= 1


def test_stft_matches_a_numpy_reference():
    """Centred frames, zero padding, periodic Hann window (librosa 0.10);
    ``test_authors_recipe.py`` compares with librosa.stft itself."""
    rng = np.random.default_rng(0)
    wave = rng.uniform(-1, 1, 3000).astype(np.float32)
    n_fft, hop = 512, 353
    padded = np.pad(wave, n_fft // 2)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = np.stack(
        [padded[i * hop:i * hop + n_fft] for i in range(1 + wave.size // hop)])
    expected = np.log(np.abs(np.fft.rfft(frames * window)).T + 1e-7)
    np.testing.assert_allclose(
        log_spectrogram(wave, n_fft, hop), expected, atol=1e-3)


@pytest.mark.slow  # librosa's first call compiles with numba (~40 s)
def test_resample_is_librosas_default():
    """soxr 'soxr_hq' at librosa's length ceil(N * r); checked against
    librosa.resample (the authors' library) and a band-limited tone."""
    import librosa
    rate_in, rate_out = 16000, 22050
    for num in (rate_in, 19201, 3):  # soxr gives 26461 for 26461.9: padded
        wave = np.random.default_rng(num).uniform(-1, 1,
                                                  num).astype(np.float32)
        ours = resample(wave, rate_in, rate_out)
        assert ours.dtype == np.float32
        assert ours.shape == (int(np.ceil(num * rate_out / rate_in)), )
        np.testing.assert_array_equal(
            ours, librosa.resample(wave, orig_sr=rate_in, target_sr=rate_out))
    t = np.arange(rate_in) / rate_in
    tone = resample(np.sin(2 * np.pi * 100 * t), rate_in, rate_out)
    t_out = np.arange(rate_out) / rate_out
    # away from the ends (the filter's edge transients), a tone stays a tone
    np.testing.assert_allclose(
        tone[500:-500], np.sin(2 * np.pi * 100 * t_out)[500:-500], atol=1e-3)
    same = np.ones(5, np.float32)
    assert resample(same, 8000, 8000) is same


def test_resample_without_soxr_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, 'soxr', None)
    with pytest.raises(ImportError, match=r'16000 Hz to 22050 Hz.*soxr.*'
                       r'rollingq_mm\[audio\]'):
        resample(np.zeros(10, np.float32), 16000, 22050)


def test_tiling_repeats_as_often_as_needed():
    tiled = fit_length(np.arange(5.), 12)
    np.testing.assert_array_equal(tiled, [0, 1, 2, 3, 4] * 2 + [0, 1])


def test_precomputed_npy_equals_on_the_fly(tmp_path):
    wav = str(tmp_path / 'a.wav')
    write_wav(wav)
    loader = LoadAudioSpectrogram()
    spec = loader(dict(audio_path=wav))['audio']
    npy = str(tmp_path / 'a.npy')
    np.save(npy, spec[0])
    np.testing.assert_array_equal(loader(dict(audio_path=npy))['audio'], spec)


def test_bad_audio_files_name_the_file_and_fix(tmp_path):
    loader = LoadAudioSpectrogram()
    missing = str(tmp_path / 'nope.wav')
    with pytest.raises(FileNotFoundError, match='nope.wav.*dataset_conv'):
        loader(dict(audio_path=missing))
    broken = tmp_path / 'broken.wav'
    broken.write_bytes(b'RIFF\x00\x00garbage')
    with pytest.raises(ValueError, match='broken.wav.*valid wav'):
        loader(dict(audio_path=str(broken)))
    wrong = str(tmp_path / 'wrong.npy')
    np.save(wrong, np.zeros((128, 100), np.float32))
    with pytest.raises(ValueError, match=r'wrong.npy.*\(128, 100\).*--overwr'):
        loader(dict(audio_path=wrong))


def test_load_spectrogram_npy(tmp_path):
    path = str(tmp_path / 'k.npy')
    np.save(path, np.arange(12, dtype=np.float32).reshape(4, 3))
    out = LoadSpectrogramNpy(expected_shape=(4, 3))(dict(audio_path=path))
    assert out['audio'].shape == (1, 4, 3)
    out = LoadSpectrogramNpy(transpose=True)(dict(audio_path=path))
    assert out['audio'].shape == (1, 3, 4)
    with pytest.raises(ValueError, match=r'k.npy.*expected \(1024, 128\)'):
        LoadSpectrogramNpy(expected_shape=(1024, 128))(dict(audio_path=path))
    corrupt = tmp_path / 'c.npy'
    corrupt.write_bytes(b'\x93NUMPY garbage')
    with pytest.raises(ValueError, match='c.npy.*corrupt'):
        LoadSpectrogramNpy()(dict(audio_path=str(corrupt)))


def test_kaldi_fbank_shapes_and_filters():
    rate = 16000
    t = np.arange(rate) / rate
    wave = 0.5 * np.sin(2 * np.pi * 1000 * t)
    fbank = kaldi_fbank(wave, rate, 128)
    # 25 ms window, 10 ms shift, no edge padding: 1 + (16000 - 400) // 160
    assert fbank.shape == (98, 128)
    bank = mel_filterbank(128, 512, rate)
    assert bank.shape == (128, 257) and float(bank[:, -1].abs().sum()) == 0
    # the 1 kHz tone lands in the filter whose centre is nearest 1 kHz
    peak = int(fbank.mean(axis=0).argmax())
    centre_freq = int(bank[peak].argmax()) * rate / 512
    assert abs(centre_freq - 1000) < 100
    silent = kaldi_fbank(np.zeros(rate), rate, 128)
    assert np.allclose(silent, np.log(torch.finfo(torch.float32).eps))
    padded = wave_to_fbank(wave, rate)
    assert padded.shape == (1024, 128) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[98:], 0)
    assert wave_to_fbank(np.tile(wave, 12), rate).shape == (1024, 128)


def test_a_truncated_wav_is_an_error_naming_the_file(tmp_path):
    whole = tmp_path / 'whole.wav'
    write_wav(str(whole), seconds=1.0)
    data = whole.read_bytes()
    cut = tmp_path / 'cut.wav'
    cut.write_bytes(data[:len(data) // 2])  # the header still promises 1 s
    loader = LoadAudioSpectrogram()
    assert loader(dict(audio_path=str(whole)))['audio'].shape[-1] == 188
    with pytest.raises(
            ValueError,
            match=r'cut.wav.* is truncated: its '
            r'header promises \d+ bytes .* holds \d+'):
        loader(dict(audio_path=str(cut)))
