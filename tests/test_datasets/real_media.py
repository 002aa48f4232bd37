"""Real photographs and speech-like recordings, laid out as the benchmarks.

Frames are cut from the two photographs scikit-learn ships
(``sklearn.datasets.load_sample_images``: china.jpg and flower.jpg, 427 x 640)
and saved as JPEG; audio is generated: a voiced source with a moving pitch
and harmonics up to the Nyquist frequency, syllable envelopes, noise bursts,
digital silence and a near-full-scale stretch (so that resampling overshoots
1 and the authors' clipping matters), written as 16-bit PCM wav. Nothing is
downloaded.
"""
import csv
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Sequence, Tuple

import numpy as np


@lru_cache(maxsize=1)
def _photos() -> Tuple[np.ndarray, ...]:
    from sklearn.datasets import load_sample_images
    return tuple(load_sample_images().images)  # uint8 [427, 640, 3] each


def photo_frame(index: int, size: Tuple[int, int]) -> np.ndarray:
    """A ``size`` (H, W) cut of a real photo; ``index`` moves the cut.

    Args:
        index (int): Which photo (even / odd) and where to cut.
        size (tuple): (H, W), at most (427, 640).

    Returns:
        np.ndarray: uint8 [H, W, 3], RGB.
    """
    photo = _photos()[index % 2]
    height, width = size
    top = (17 * index) % (photo.shape[0] - height + 1)
    left = (29 * index) % (photo.shape[1] - width + 1)
    return np.ascontiguousarray(photo[top:top + height, left:left + width])


def write_photo_frames(frame_dir: str,
                       count: int,
                       size: Tuple[int, int],
                       first: int = 0,
                       name: str = 'frame_{:05d}.jpg') -> List[str]:
    """``count`` JPEG frames (quality 90), named ``name.format(1..count)``."""
    from PIL import Image
    os.makedirs(frame_dir, exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = osp.join(frame_dir, name.format(number))
        Image.fromarray(photo_frame(first + number, size)).save(
            path, quality=90)
        paths.append(path)
    return paths


def speech_like(rate: int, seconds: float, seed: int) -> np.ndarray:
    """Speech-like float32 samples in [-1, 1] with content up to rate / 2.

    Args:
        rate (int): Sample rate (Hz).
        seconds (float): Duration.
        seed (int): Varies the pitch contour and the noise.

    Returns:
        np.ndarray: float32 [round(rate * seconds)].
    """
    rng = np.random.default_rng(seed)
    num = int(round(rate * seconds))
    t = np.arange(num) / rate
    pitch = 120 + 60 * np.sin(2 * np.pi * (0.6 + 0.1 * seed) * t + seed)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = np.zeros(num)
    for k in range(1, int(rate / 2 / pitch.min()) + 1):
        below_nyquist = k * pitch < rate / 2
        voiced += below_nyquist * np.sin(k * phase + k * seed) / k**0.7
    syllables = np.clip(np.sin(2 * np.pi * 2.5 * t + seed), 0, None)**0.5
    wave = 0.25 * voiced / np.abs(voiced).max() * syllables
    bursts = (t % 0.7) < 0.06  # fricative-like white noise
    wave += 0.3 * bursts * rng.standard_normal(num)
    wave[int(0.45 * num):int(0.55 * num)] = 0.  # digital silence
    loud = slice(int(0.2 * num), int(0.25 * num))  # near full scale
    wave[loud] = 0.98 * np.sign(np.sin(2 * np.pi * 300 * t[loud]))
    return np.clip(wave, -1, 1).astype(np.float32)


def write_speech_wav(path: str, rate: int, seconds: float, seed: int) -> None:
    import soundfile
    os.makedirs(osp.dirname(path), exist_ok=True)
    soundfile.write(
        path, speech_like(rate, seconds, seed), rate, subtype='PCM_16')


# (clip id, label, sample rate, seconds, frames, frame size (H, W))
CREMAD_REAL = [
    ('1001_DFA_ANG_XX', 'ANG', 16000, 2.3, 3, (360, 480)),
    ('1002_IEO_HAP_HI', 'HAP', 16000, 3.4, 4, (360, 480)),
    ('1003_TIE_NEU_XX', 'NEU', 8000, 1.7, 2, (240, 320)),
    ('1004_WSI_SAD_LO', 'SAD', 16000, 1.05, 5, (427, 640)),
    ('1005_ITH_FEA_XX', 'FEA', 8000, 2.6, 3, (150, 200)),
    ('1006_IOM_DIS_MD', 'DIS', 16000, 2.0, 1, (400, 300)),  # portrait
]


def make_real_cremad(root: str,
                     clips: Sequence[tuple] = tuple(CREMAD_REAL)) -> Dict:
    """CREMA-D layout with real photos and speech-like wav; all in test.csv.

    Returns:
        dict: ``root`` and ``clips`` (the rows above).
    """
    for index, (clip, _, rate, seconds, frames, size) in enumerate(clips):
        write_speech_wav(
            osp.join(root, 'AudioWAV', clip + '.wav'), rate, seconds, index)
        write_photo_frames(
            osp.join(root, 'Image-01-FPS', clip), frames, size, 10 * index)
    for name in ('train.csv', 'test.csv'):
        with open(osp.join(root, name), 'w', newline='') as f:
            csv.writer(f).writerows((row[0], row[1]) for row in clips)
    return dict(root=root, clips=list(clips))


# (clip id, label, frames, frame names, extra non-jpg files, size (H, W))
KS_REAL = [
    ('ks_a_000010_000020', 3, 10, 'frame_{:05d}.jpg', 0, (360, 480)),
    ('ks_b_000000_000010', 17, 11, 'frame_{:05d}.jpg', 0, (240, 320)),
    ('ks_c_000005_000015', 0, 7, 'frame_{:05d}.jpg', 0, (360, 480)),
    ('ks_d_000001_000011', 30, 5, 'frame_{:05d}.jpg', 0, (150, 200)),
    # the authors' own naming 'frame_0000' + str(t): frame_000010.jpg ...
    ('ks_e_000002_000012', 8, 12, 'frame_0000{}.jpg', 0, (360, 480)),
    # <= 3 entries: the authors drop the clip
    ('ks_f_000003_000013', 5, 3, 'frame_{:05d}.jpg', 0, (360, 480)),
    # 3 frames + 1 other file = 4 entries: kept; file_num 3 -> t = 1
    ('ks_g_000004_000014', 6, 3, 'frame_{:05d}.jpg', 1, (240, 320)),
]


def make_real_kinetics_sounds(root: str,
                              split: str = 'test',
                              clips: Sequence[tuple] = tuple(KS_REAL)) -> Dict:
    """Kinetics-Sounds layout: ks_<split>.txt, <split>_spec, <split>_frames.

    Returns:
        dict: ``root``, ``ann_file`` and ``clips`` (the rows above).
    """
    rng = np.random.default_rng(0)
    lines = []
    for index, (clip, label, frames, name, extra, size) in enumerate(clips):
        spec_dir = osp.join(root, f'{split}_spec')
        os.makedirs(spec_dir, exist_ok=True)
        fbank = rng.normal(-6, 3, (1024, 128)).astype(np.float32)
        np.save(osp.join(spec_dir, clip + '.npy'), fbank)
        frame_dir = osp.join(root, f'{split}_frames', clip)
        write_photo_frames(frame_dir, frames, size, 10 * index, name)
        for number in range(extra):
            with open(osp.join(frame_dir, f'notes_{number}.txt'), 'w') as f:
                f.write('not a frame\n')
        lines.append(f'{clip} class_{label} {label}')
    ann_file = f'ks_{split}.txt'
    with open(osp.join(root, ann_file), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(root=root, ann_file=ann_file, clips=list(clips))


def write_av_video(path: str,
                   seconds: float,
                   size: Tuple[int, int],
                   audio: np.ndarray = None,
                   audio_rate: int = 16000,
                   fps: int = 25,
                   codecs: Tuple[str, str] = ('libx264', 'aac')) -> None:
    """A video with an audio track, written with PyAV.

    Second s of the video shows ``photo_frame(s, size)``; ``audio`` ([N] mono
    or [2, N] stereo float32 in [-1, 1]) is the audio track (none if None).

    Args:
        path (str): Output file; the container follows its suffix (.mp4,
            .flv, ...).
        seconds (float): Video duration.
        size (tuple): Frame (H, W), even numbers.
        audio (np.ndarray, optional): The samples. Defaults to None.
        audio_rate (int): Their sample rate. Defaults to 16000.
        fps (int): Video frame rate. Defaults to 25.
        codecs (tuple): Video and audio encoders. Defaults to H.264 + AAC
            (Kinetics' mp4); CREMA-D's flv is ``('flv', 'libmp3lame')``.
    """
    import av
    os.makedirs(osp.dirname(path), exist_ok=True)
    with av.open(path, 'w') as container:
        video = container.add_stream(codecs[0], rate=fps)
        video.height, video.width = size
        video.pix_fmt = 'yuv420p'
        if audio is not None:  # every stream before the first packet
            planes = np.atleast_2d(audio).astype(np.float32)
            layout = 'mono' if planes.shape[0] == 1 else 'stereo'
            sound = container.add_stream(codecs[1], rate=audio_rate)
            sound.layout = layout
        for index in range(int(round(seconds * fps))):
            image = photo_frame(index // fps, size)
            frame = av.VideoFrame.from_ndarray(image, format='rgb24')
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is None:
            return
        chunk = 1152 if codecs[1] == 'libmp3lame' else 1024
        for start in range(0, planes.shape[1], chunk):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planes[:, start:start + chunk]),
                format='fltp',
                layout=layout)
            frame.sample_rate, frame.pts = audio_rate, start
            container.mux(sound.encode(frame))
        container.mux(sound.encode())
