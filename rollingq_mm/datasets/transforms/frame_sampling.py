"""Which frames of a clip to load: the authors' rules and the project's.

Three rules, each a pure function of the number of frames in the clip (and a
random generator), returning 0-based indices into the clip's frames sorted
by name:

* ``random``: the authors' CREMA-D loader — K indices drawn uniformly *with
  replacement*, then sorted (``np.random.choice(n, K, replace=True)``), in
  training and at test alike.
* ``kinetics_sounds``: the authors' Kinetics-Sounds loader — one frame per
  third of the clip at fixed positions (test) or at random (training).
* ``segment``: the project's TSN-style rule — one frame per segment, at a
  random position (training) or the segment's centre (test).
"""
import random as _random
from typing import Optional

import numpy as np

FRAME_SAMPLERS = ('random', 'kinetics_sounds', 'segment')

# The random stream of test-time frame draws, beside the streams 0 and 1 of
# CorruptModality (corruption.py): independent of them for the same seed.
_FRAME_STREAM = 2


def sample_rng(seed: int, sample_idx: int, key: str) -> np.random.Generator:
    """A generator fixed by (seed, sample index, modality key).

    Args:
        seed (int): The transform's seed.
        sample_idx (int): The sample's index in its dataset.
        key (str): The modality name, so two modalities draw independently.

    Returns:
        np.random.Generator: The same stream in every run, worker and epoch.
    """
    return np.random.default_rng(
        [seed, sample_idx, _FRAME_STREAM, *key.encode()])


def random_sorted_indices(
        num_available: int,
        num_frames: int,
        rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """K frames uniformly at random with replacement, sorted (CREMA-D).

    Args:
        num_available (int): Frames in the clip n (>= 1).
        num_frames (int): Frames wanted K.
        rng (np.random.Generator, optional): The generator; None uses
            NumPy's global one, as the authors' ``np.random.choice``.
            Defaults to None.

    Returns:
        np.ndarray: int64 [K], non-decreasing, in [0, n).
    """
    if rng is None:
        inds = np.random.choice(num_available, size=num_frames, replace=True)
    else:
        inds = rng.choice(num_available, size=num_frames, replace=True)
    return np.sort(inds).astype(np.int64)


def kinetics_sounds_indices(num_available: int, num_frames: int,
                            random: bool) -> np.ndarray:
    """The authors' Kinetics-Sounds frame positions.

    With ``seg = n // K``, frame i (1-based name number t) is
    ``t = i * seg + max(seg // 2, 1)`` at test and
    ``t = randint(i * seg + 1, i * seg + seg)`` (Python's ``random``, as
    the authors) in training, where a t of 10 or more becomes 9; when the
    clip has ``n <= 2 * K`` frames (6 for K = 3) every t is 1. The authors
    open ``frame_0000{t}.jpg``; here t is taken as the t-th frame in name
    order, which is the same file when the frames are numbered from 1 with
    five digits (``frame_00001.jpg``, ...; what ffmpeg's ``frame_%05d`` and
    our converters write).

    Args:
        num_available (int): Frames in the clip n (>= 1).
        num_frames (int): Frames wanted K (3 in the authors' code).
        random (bool): Training positions instead of the test ones.

    Returns:
        np.ndarray: int64 [K], 0-based (t - 1), in [0, n).
    """
    seg = num_available // num_frames
    names = []
    for i in range(num_frames):
        if num_available <= 2 * num_frames:
            t = 1
        elif random:
            t = min(_random.randint(i * seg + 1, i * seg + seg), 9)
        else:
            t = i * seg + max(seg // 2, 1)
        names.append(t)
    return np.asarray(names, dtype=np.int64) - 1


def segment_indices(num_available: int, num_frames: int,
                    random: bool) -> np.ndarray:
    """Segment-based frame sampling (as TSN; the project's option).

    The clip is cut into ``num_frames`` equal segments; one frame is taken
    from each, at a uniformly random position (training) or at the
    segment's centre (test, deterministic). With fewer frames than
    segments, frames repeat.

    Args:
        num_available (int): Frames in the clip (>= 1).
        num_frames (int): Frames wanted K.
        random (bool): Random position within each segment.

    Returns:
        np.ndarray: int64 [K], non-decreasing, in [0, num_available).
    """
    offsets = np.random.random(num_frames) if random else np.full(
        num_frames, 0.5)
    positions = (np.arange(num_frames) + offsets) * num_available / num_frames
    return np.clip(positions.astype(np.int64), 0, num_available - 1)
