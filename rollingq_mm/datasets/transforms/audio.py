"""Decode a wav file into the paper's log-magnitude spectrogram [1, F, T].

Every step reproduces the authors' CREMA-D loader (``CramedDataset`` of the
RollingQ / OGM-GE code: ``librosa.load(path, sr=22050)``, ``np.tile`` 3
times, cut to 3 s, clip to [-1, 1], ``librosa.stft(n_fft=512,
hop_length=353)``, ``np.log(np.abs(S) + 1e-7)``) without importing librosa:
soundfile decoding to float32 and a mean over channels, soxr resampling at
librosa's output length (``resample``), and the STFT computed in librosa's
precision (``log_spectrogram``). With these settings F = 512 / 2 + 1 = 257
and T = 1 + 66150 // 353 = 188. One departure, a fix: clips shorter than
1 s are tiled as often as needed (``fit_length``); the authors' three tiles
give them fewer than 188 columns.
"""
import math
import os.path as osp
import struct
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS
from .spectrogram_npy import CONVERTER_HINT, load_npy


def check_wav_complete(path: str) -> None:
    """Refuse a RIFF/WAVE file whose data chunk is shorter than its header
    says (a truncated copy or download).

    libsndfile and librosa decode such a file without a word, returning
    only the samples present; the clip would then be tiled from a fragment.
    Other formats are left to their decoders.

    Raises:
        ValueError: naming the file, the promised and the present bytes.
    """
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        header = f.read(12)
        if len(header) < 12 or header[:4] != b'RIFF' or \
                header[8:12] != b'WAVE':
            return
        position = 12
        while position + 8 <= size:
            f.seek(position)
            chunk_id, chunk_size = struct.unpack('<4sI', f.read(8))
            if chunk_id == b'data':
                present = size - position - 8
                if present < chunk_size:
                    raise ValueError(
                        f'audio file {path!r} is truncated: its header '
                        f'promises {chunk_size} bytes of samples but the '
                        f'file holds {present}; copy it again or re-extract '
                        'it from the raw release')
                return
            position += 8 + chunk_size + (chunk_size & 1)  # chunks pad to 2


def _decode(path: str) -> Tuple[np.ndarray, int]:
    """Decode with soundfile, or librosa when soundfile is absent/fails."""
    check_wav_complete(path)
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
    """Resample as ``librosa.resample`` does by default (librosa >= 0.10).

    soxr at its high-quality setting (``quality='soxr_hq'``, librosa's
    default ``res_type``), then cut or zero-padded to librosa's output length
    ``ceil(N * target_rate / orig_rate)`` (soxr's own length is mostly the
    floor or the nearest integer).

    Args:
        wave (np.ndarray): Mono samples [N], float32 (as librosa loads them).
        orig_rate (int): Sample rate of ``wave``.
        target_rate (int): Wanted sample rate.

    Returns:
        np.ndarray: float32 [ceil(N * target_rate / orig_rate)]; ``wave``
        itself when the rates are equal.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if orig_rate == target_rate or wave.size == 0:
        return wave
    try:
        import soxr
    except ImportError:
        raise ImportError(
            f'resampling audio from {orig_rate} Hz to {target_rate} Hz needs '
            'the soxr package (the resampler librosa uses by default, and '
            'so the paper\'s recipe): pip install soxr, or pip install '
            '"rollingq_mm[audio]"') from None
    out = soxr.resample(wave, orig_rate, target_rate, quality='soxr_hq')
    # librosa's formula, float rounding included: N * (target / orig)
    num_out = int(math.ceil(wave.size * (float(target_rate) / orig_rate)))
    if out.size >= num_out:
        return np.ascontiguousarray(out[:num_out], dtype=np.float32)
    return np.pad(out, (0, num_out - out.size)).astype(np.float32, copy=False)


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


def hann_window(n_fft: int) -> np.ndarray:
    """The periodic Hann window librosa uses (``get_window('hann', n,
    fftbins=True)``), float64 [n_fft]."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)


def log_spectrogram(wave: np.ndarray,
                    n_fft: int,
                    hop_length: int,
                    eps: float = 1e-7) -> np.ndarray:
    """log(|STFT| + eps), computed as ``librosa.stft`` (>= 0.10) does.

    Centred frames with zero padding (``pad_mode='constant'``), the float32
    frames times the float64 periodic Hann window, numpy's real FFT, the
    result cast to complex64 (librosa's output dtype for float32 input),
    then the magnitude, ``+ eps`` and the log in float32. Matching librosa's
    precision matters where the spectrum is near zero: there ``log`` turns
    float32 rounding of |X| into visible differences.

    Args:
        wave (np.ndarray): Mono samples [N].
        n_fft (int): FFT size (and Hann window length, periodic).
        hop_length (int): Hop between frames.
        eps (float): Floor inside the log. Defaults to 1e-7.

    Returns:
        np.ndarray: float32 [n_fft // 2 + 1, 1 + N // hop_length].
    """
    wave = np.asarray(wave, dtype=np.float32)
    padded = np.pad(wave, n_fft // 2)  # zeros, as pad_mode='constant'
    # [T, n_fft]: frame t starts at t * hop in the padded signal
    frames = np.lib.stride_tricks.sliding_window_view(padded,
                                                      n_fft)[::hop_length]
    stft = np.fft.rfft(frames * hann_window(n_fft), axis=-1)
    magnitude = np.abs(stft.astype(np.complex64))  # [T, F] float32
    return np.ascontiguousarray(np.log(magnitude + np.float32(eps)).T)


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

    draws_random = False  # no reseeding per sample (SeededSamplesMixin)

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
