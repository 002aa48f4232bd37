"""Write tiny datasets in the exact on-disk formats of the paper's benchmarks.

Every builder writes into a given folder (pytest's ``tmp_path``) and returns
what the tests need to know about it. Nothing is downloaded.
"""
import csv
import importlib.util
import os
import os.path as osp
import pickle
from typing import Dict, List, Sequence, Tuple

import numpy as np

CREMAD_CLIPS = [
    ('1001_DFA_ANG_XX', 'ANG'),
    ('1001_IEO_HAP_HI', 'HAP'),
    ('1002_TIE_NEU_XX', 'NEU'),
    ('1003_WSI_SAD_LO', 'SAD'),
    ('1004_ITH_FEA_XX', 'FEA'),
    ('1005_IOM_DIS_MD', 'DIS'),
]
KS_CLIPS = [('-0DdlOuIFUI_000030_000040', 3), ('abc_000001_000011', 0),
            ('xyz_000100_000110', 30), ('k9_000005_000015', 12)]
MOSEI_DIMS = {'text': 300, 'audio': 74, 'vision': 35}
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_converter(name: str):
    """``tools/dataset_converters/<name>.py`` as a module."""
    path = osp.join(ROOT, 'tools', 'dataset_converters', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_wav(path: str,
              seconds: float = 1.2,
              rate: int = 16000,
              freq: float = 440.0) -> np.ndarray:
    """A sine tone plus a little noise, 16-bit PCM; returns the samples."""
    import soundfile
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(int(freq))
    wave = 0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(
        t.size)
    os.makedirs(osp.dirname(path), exist_ok=True)
    soundfile.write(path, wave.astype(np.float32), rate, subtype='PCM_16')
    return wave


def write_jpg(path: str,
              size: Tuple[int, int] = (36, 48),
              seed: int = 0) -> None:
    """A random RGB image of ``size`` (H, W) as JPEG."""
    import cv2
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, image)


def write_frames(frame_dir: str,
                 count: int,
                 size: Tuple[int, int],
                 seed: int = 0) -> List[str]:
    """``frame_00001.jpg`` ... (ffmpeg numbering) in ``frame_dir``."""
    paths = [
        osp.join(frame_dir, f'frame_{i:05d}.jpg') for i in range(1, count + 1)
    ]
    for index, path in enumerate(paths):
        write_jpg(path, size, seed + index)
    return paths


def write_video(path: str,
                seconds: float = 2.5,
                fps: float = 10.,
                size: Tuple[int, int] = (36, 48)) -> int:
    """An MJPG .avi whose frame i is filled with gray level i; returns N."""
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), fps,
                             (size[1], size[0]))
    count = int(round(seconds * fps))
    for index in range(count):
        writer.write(np.full((*size, 3), (index * 7) % 256, np.uint8))
    writer.release()
    return count


def make_cremad(root: str,
                clips: Sequence[Tuple[str, str]] = tuple(CREMAD_CLIPS),
                test_clips: int = 2,
                num_frames: int = 3,
                frame_size: Tuple[int, int] = (36, 48),
                seconds: float = 1.2,
                spec: bool = False,
                bom: bool = False) -> Dict[str, str]:
    """A CREMA-D folder: train.csv / test.csv, AudioWAV, Image-01-FPS, spec.

    The first ``test_clips`` clips form test.csv; all clips form train.csv.
    """
    for index, (clip, _) in enumerate(clips):
        wav = osp.join(root, 'AudioWAV', clip + '.wav')
        write_wav(wav, seconds, freq=300. + 50 * index)
        write_frames(
            osp.join(root, 'Image-01-FPS', clip),
            num_frames,
            frame_size,
            seed=10 * index)
        if spec:
            from rollingq_mm.datasets.transforms.audio import \
                wav_to_spectrogram
            os.makedirs(osp.join(root, 'spec'), exist_ok=True)
            np.save(
                osp.join(root, 'spec', clip + '.npy'), wav_to_spectrogram(wav))
    encoding = 'utf-8-sig' if bom else 'utf-8'
    for name, rows in (('train.csv', clips), ('test.csv', clips[:test_clips])):
        with open(
                osp.join(root, name), 'w', encoding=encoding, newline='') as f:
            csv.writer(f).writerows(rows)
    return dict(root=root, train='train.csv', test='test.csv')


def make_kinetics_sounds(
    root: str,
    clips: Sequence[Tuple[str, int]] = tuple(KS_CLIPS),
    split: str = 'train',
    sep: str = ' ',
    num_frames: int = 10,
    frame_size: Tuple[int, int] = (36, 48),
    spec_shape: Tuple[int, int] = (1024, 128)
) -> str:
    """A Kinetics-Sounds split: ks_<split>.txt, <split>_spec, <split>_frames.

    List lines are ``id<sep>label``; with ``sep=' '`` an extra middle field
    is written too (``id class_name label``), as some shared lists have.
    """
    rng = np.random.default_rng(0)
    lines = []
    for index, (clip, label) in enumerate(clips):
        spec_dir = osp.join(root, f'{split}_spec')
        os.makedirs(spec_dir, exist_ok=True)
        np.save(
            osp.join(spec_dir, clip + '.npy'),
            rng.standard_normal(spec_shape).astype(np.float32))
        write_frames(
            osp.join(root, f'{split}_frames', clip),
            num_frames,
            frame_size,
            seed=index)
        middle = [f'name_{label}'] if sep == ' ' else []
        lines.append(sep.join([clip, *middle, str(label)]))
    ann_file = f'ks_{split}.txt'
    with open(osp.join(root, ann_file), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann_file


def make_mosei(path: str,
               sizes: Dict[str, int] = None,
               lengths: Dict[str, int] = None,
               nonfinite: bool = True) -> Dict[str, np.ndarray]:
    """A MulT / MultiBench style pickle; returns the raw labels per split.

    Labels cycle through -3, -1.5, 0, 0.5, 3 so that both label rules and
    ``exclude_zero`` make a difference. With ``nonfinite`` the audio
    features of each split hold one -inf and one NaN.
    """
    sizes = sizes or dict(train=6, valid=5, test=5)
    lengths = lengths or dict(text=8, audio=8, vision=8)
    rng = np.random.default_rng(0)
    data, labels = {}, {}
    for split, count in sizes.items():
        entry = {
            key: rng.standard_normal(
                (count, lengths[key], dim)).astype(np.float32)
            for key, dim in MOSEI_DIMS.items()
        }
        scores = np.resize(np.array([-3., -1.5, 0., 0.5, 3.]), count)
        entry['labels'] = scores.reshape(count, 1, 1).astype(np.float32)
        entry['id'] = np.array([[f'vid{i}'.encode(), b'0', b'1']
                                for i in range(count)])
        if nonfinite:
            entry['audio'][0, 0, 0] = -np.inf
            entry['audio'][-1, -1, -1] = np.nan
        data[split], labels[split] = entry, scores
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return labels
