"""Decode a wav file into the paper's log-magnitude spectrogram [1, F, T].

The numbers follow the reference CREMA-D loader of the RollingQ / OGM-GE
code: resample to 22,050 Hz, tile to 3 s, clip to [-1, 1], STFT with
n_fft 512 and hop 353 (Hann window, centred frames), log(|X| + 1e-7). With
these settings F = 512 / 2 + 1 = 257 and T = 1 + 66150 // 353 = 188.
"""
import math
import os.path as osp
from typing import Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS
from .spectrogram_npy import CONVERTER_HINT, load_npy


def _decode(path: str) -> Tuple[np.ndarray, int]:
    """Decode with soundfile, or librosa when soundfile is absent/fails."""
    errors = []
    try:
        import soundfile
        wave, rate = soundfile.read(path, dtype='float32', always_2d=True)
        return wave.mean(axis=1), int(rate)
    except ImportError:
        errors.append('soundfile is not installed (pip install soundfile)')
    except Exception as err:  # libsndfile raises its own error types
        errors.append(f'soundfile: {err}')
    try:
        import librosa
        wave, rate = librosa.load(path, sr=None, mono=True)
        return wave.astype(np.float32), int(rate)
    except ImportError:
        pass
    except Exception as err:
        errors.append(f'librosa: {err}')
    raise ValueError(f'cannot decode audio file {path!r} ({"; ".join(errors)})'
                     '; check that it is a valid wav file, or re-extract it '
                     'from the raw release')


def resample(wave: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by zero-padding / truncating the spectrum.

    An ideal low-pass interpolation for a clip taken as one period; it
    differs from librosa's default resampler (soxr) mainly within a few ms
    of the clip's ends. CREMA-D's 16 kHz -> 22,050 Hz is an upsampling, so
    no content is removed.

    Args:
        wave (np.ndarray): Mono samples [N].
        orig_rate (int): Sample rate of ``wave``.
        target_rate (int): Wanted sample rate.

    Returns:
        np.ndarray: float32 [round(N * target_rate / orig_rate)].
    """
    if orig_rate == target_rate or wave.size == 0:
        return wave.astype(np.float32, copy=False)
    num_out = max(1, int(round(wave.size * target_rate / orig_rate)))
    spectrum = np.fft.rfft(wave.astype(np.float64))
    bins_out = num_out // 2 + 1
    if bins_out <= spectrum.size:
        spectrum = spectrum[:bins_out]
    else:
        spectrum = np.pad(spectrum, (0, bins_out - spectrum.size))
    out = np.fft.irfft(spectrum, n=num_out) * (num_out / wave.size)
    return out.astype(np.float32)


def read_wav(path: str, sample_rate: int) -> np.ndarray:
    """Read a sound file as mono float32 at ``sample_rate``.

    Args:
        path (str): The audio file (wav; any format soundfile reads).
        sample_rate (int): Output sample rate; other rates are resampled.

    Returns:
        np.ndarray: float32 [N].
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'audio file {path!r} does not exist; '
                                f'{CONVERTER_HINT}')
    wave, rate = _decode(path)
    if wave.size == 0:
        raise ValueError(f'audio file {path!r} has no samples; re-extract it '
                         'or remove the clip from the split file')
    return resample(wave, rate, sample_rate)


def fit_length(wave: np.ndarray, num_samples: int) -> np.ndarray:
    """Tile ``wave`` until it has ``num_samples`` samples, then crop.

    The reference tiles three times (enough for clips >= 1 s); tiling as
    often as needed gives the same result there and a full-length output
    for shorter clips.
    """
    repeats = math.ceil(num_samples / wave.size)
    return np.tile(wave, repeats)[:num_samples]


def log_spectrogram(wave: np.ndarray,
                    n_fft: int,
                    hop_length: int,
                    eps: float = 1e-7) -> np.ndarray:
    """log(|STFT| + eps), as librosa.stft (>= 0.10) defaults compute it.

    Args:
        wave (np.ndarray): Mono samples [N].
        n_fft (int): FFT size (and Hann window length, periodic).
        hop_length (int): Hop between frames.
        eps (float): Floor inside the log. Defaults to 1e-7.

    Returns:
        np.ndarray: float32 [n_fft // 2 + 1, 1 + N // hop_length].
    """
    stft = torch.stft(
        torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)),
        n_fft=n_fft,
        hop_length=hop_length,
        window=torch.hann_window(n_fft),
        center=True,
        pad_mode='constant',  # librosa >= 0.10 pads centred frames with 0
        return_complex=True)
    return torch.log(stft.abs() + eps).numpy()


def wav_to_spectrogram(path: str,
                       sample_rate: int = 22050,
                       duration: float = 3.0,
                       n_fft: int = 512,
                       hop_length: int = 353) -> np.ndarray:
    """The paper's CREMA-D spectrogram of one file: float32 [257, 188].

    Args:
        path (str): The wav file.
        sample_rate (int): Defaults to 22050.
        duration (float): Seconds after tiling / cropping. Defaults to 3.
        n_fft (int): Defaults to 512.
        hop_length (int): Defaults to 353.

    Returns:
        np.ndarray: float32 [n_fft // 2 + 1, 1 + samples // hop_length].
    """
    wave = fit_length(
        read_wav(path, sample_rate), int(round(sample_rate * duration)))
    return log_spectrogram(np.clip(wave, -1., 1.), n_fft, hop_length)


@TRANSFORMS.register_module()
class LoadAudioSpectrogram(BaseTransform):
    """Wav file -> log-magnitude spectrogram [1, F, T] in ``results[key]``.

    A ``.npy`` path is read as the precomputed spectrogram instead (written
    by ``tools/dataset_converters/prepare_cremad.py`` with the same
    function) and its shape is checked, so switching between wav and npy
    is only the dataset's ``spec_prefix``.

    Required keys: ``path_key``. Added keys: ``key`` (float32 [1, F, T]).

    Args:
        key (str): Output key, the modality name. Defaults to 'audio'.
        path_key (str): Key of the file path. Defaults to 'audio_path'.
        sample_rate (int): Defaults to 22050 (the paper).
        duration (float): Seconds, tiled / cropped. Defaults to 3.
        n_fft (int): Defaults to 512 (the paper).
        hop_length (int): Defaults to 353 (the paper).
    """

    def __init__(self,
                 key: str = 'audio',
                 path_key: str = 'audio_path',
                 sample_rate: int = 22050,
                 duration: float = 3.0,
                 n_fft: int = 512,
                 hop_length: int = 353):
        if sample_rate <= 0 or duration <= 0 or hop_length <= 0:
            raise ValueError(
                'sample_rate, duration and hop_length must be > 0')
        self.key = key
        self.path_key = path_key
        self.sample_rate = sample_rate
        self.duration = duration
        self.n_fft = n_fft
        self.hop_length = hop_length
        num_samples = int(round(sample_rate * duration))
        self.shape = (n_fft // 2 + 1, 1 + num_samples // hop_length)

    def transform(self, results: dict) -> dict:
        """Load or compute the spectrogram.

        Args:
            results (dict): Holds ``path_key`` (a sound file or ``.npy``).

        Returns:
            dict: ``results`` with ``key`` = float32 [1, F, T].
        """
        path = results[self.path_key]
        if path.endswith('.npy'):
            spec = load_npy(path, self.shape)
        else:
            spec = wav_to_spectrogram(path, self.sample_rate, self.duration,
                                      self.n_fft, self.hop_length)
        results[self.key] = spec[None]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, sample_rate='
                f'{self.sample_rate}, duration={self.duration}, n_fft='
                f'{self.n_fft}, hop_length={self.hop_length})')
