"""Kaldi-style log-mel filterbank in plain torch (no torchaudio).

Computes what ``torchaudio.compliance.kaldi.fbank`` computes with the
AST / CAV-MAE settings used for Kinetics-Sounds (``htk_compat=True,
use_energy=False, window_type='hanning', num_mel_bins=128, dither=0,
frame_shift=10``) on a float waveform in [-1, 1] whose mean was removed:
25 ms frames every 10 ms (no edge padding), per-frame DC removal,
pre-emphasis 0.97, symmetric Hann window, zero-padding to a power of two,
power spectrum, triangular mel filters (mel = 1127 ln(1 + f / 700), 20 Hz to
Nyquist), natural log floored at float32 eps. Used by
``tools/dataset_converters/prepare_kinetics_sounds.py``.
"""
import math

import numpy as np
import torch


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    """Kaldi's mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * torch.log1p(freq / 700.0)


def mel_filterbank(num_bins: int,
                   padded_window: int,
                   sample_rate: int,
                   low_freq: float = 20.0,
                   high_freq: float = 0.0) -> torch.Tensor:
    """Triangular filters on the mel scale.

    Args:
        num_bins (int): Mel bins M.
        padded_window (int): FFT size P.
        sample_rate (int): Hz.
        low_freq (float): Lowest edge in Hz. Defaults to 20 (Kaldi).
        high_freq (float): Highest edge; <= 0 means Nyquist + high_freq.
            Defaults to 0.

    Returns:
        Tensor: float64 [M, P // 2 + 1] (the Nyquist bin has weight 0).
    """
    nyquist = 0.5 * sample_rate
    if high_freq <= 0:
        high_freq += nyquist
    if not 0 <= low_freq < high_freq <= nyquist:
        raise ValueError(f'need 0 <= low_freq ({low_freq}) < high_freq '
                         f'({high_freq}) <= Nyquist ({nyquist})')
    edges = torch.linspace(
        mel_scale(torch.tensor(low_freq, dtype=torch.float64)).item(),
        mel_scale(torch.tensor(high_freq, dtype=torch.float64)).item(),
        num_bins + 2,
        dtype=torch.float64)
    left, center, right = (edges[:-2, None], edges[1:-1, None], edges[2:,
                                                                      None])
    bin_freqs = torch.arange(
        padded_window // 2, dtype=torch.float64) * sample_rate / padded_window
    mel = mel_scale(bin_freqs)[None]
    rising = (mel - left) / (center - left)
    falling = (right - mel) / (right - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return torch.nn.functional.pad(weights, (0, 1))


def kaldi_fbank(wave: np.ndarray,
                sample_rate: int = 16000,
                num_mel_bins: int = 128,
                frame_length_ms: float = 25.0,
                frame_shift_ms: float = 10.0,
                preemphasis: float = 0.97) -> np.ndarray:
    """Log-mel filterbank of a mono waveform.

    Args:
        wave (np.ndarray): Samples [N] (float, ideally mean-removed).
        sample_rate (int): Hz. Defaults to 16000.
        num_mel_bins (int): Defaults to 128 (AST / KS).
        frame_length_ms (float): Defaults to 25 (Kaldi).
        frame_shift_ms (float): Defaults to 10 (KS).
        preemphasis (float): Defaults to 0.97 (Kaldi).

    Returns:
        np.ndarray: float32 [T, num_mel_bins], T = 1 + (N - L) // S for
        window L and shift S samples (0 frames if N < L).
    """
    window = int(sample_rate * frame_length_ms * 0.001)
    shift = int(sample_rate * frame_shift_ms * 0.001)
    x = torch.as_tensor(np.asarray(wave), dtype=torch.float64).reshape(-1)
    if x.numel() < window:
        return np.zeros((0, num_mel_bins), np.float32)
    frames = x.unfold(0, window, shift)  # [T, L]
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - preemphasis * previous
    frames = frames * torch.hann_window(
        window, periodic=False, dtype=torch.float64)
    padded = 2**math.ceil(math.log2(window))
    power = torch.fft.rfft(frames, n=padded).abs().pow(2)  # [T, P/2 + 1]
    mel = power @ mel_filterbank(num_mel_bins, padded, sample_rate).T
    eps = torch.finfo(torch.float32).eps
    return torch.clamp(mel, min=eps).log().float().numpy()


def pad_or_crop(features: np.ndarray, num_frames: int) -> np.ndarray:
    """Zero-pad (at the end) or crop the time axis to ``num_frames``.

    Args:
        features (np.ndarray): [T, F].
        num_frames (int): Wanted T (1024 for Kinetics-Sounds).

    Returns:
        np.ndarray: [num_frames, F], same dtype.
    """
    if features.shape[0] >= num_frames:
        return features[:num_frames]
    pad = np.zeros((num_frames - features.shape[0], features.shape[1]),
                   features.dtype)
    return np.concatenate([features, pad])


def wave_to_fbank(wave: np.ndarray,
                  sample_rate: int = 16000,
                  num_mel_bins: int = 128,
                  num_frames: int = 1024) -> np.ndarray:
    """Kinetics-Sounds audio feature: mean-removed wave -> fbank [1024, 128].

    Args:
        wave (np.ndarray): Mono float samples [N] in [-1, 1].
        sample_rate (int): Hz. Defaults to 16000.
        num_mel_bins (int): Defaults to 128.
        num_frames (int): Frames after padding / cropping. Defaults to 1024
            (10.24 s at 10 ms).

    Returns:
        np.ndarray: float32 [num_frames, num_mel_bins].
    """
    wave = np.asarray(wave, np.float64)
    fbank = kaldi_fbank(wave - wave.mean(), sample_rate, num_mel_bins)
    return pad_or_crop(fbank, num_frames)
