"""The authors' data recipe, written with their libraries: the test oracle.

Restates ``dataset/CramedDataset.py`` and ``dataset/KSDataset.py`` of
GeWu-Lab/RollingQ_ICML2025 with librosa, PIL and torchvision — not with any
code of this package — so that tests compare our pipelines with what the
authors' loaders produce.
"""
import os
import random
from typing import List, Sequence

import numpy as np
import torch

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def cremad_spectrogram(wav_path: str) -> np.ndarray:
    """``CramedDataset.__getitem__``'s audio: float32 [257, T]."""
    import librosa
    samples, _ = librosa.load(wav_path, sr=22050)
    resamples = np.tile(samples, 3)[:22050 * 3]
    resamples[resamples > 1.] = 1.
    resamples[resamples < -1.] = -1.
    spectrogram = librosa.stft(resamples, n_fft=512, hop_length=353)
    return np.log(np.abs(spectrogram) + 1e-7)


def frame_transform(train: bool):
    """The authors' per-frame torchvision Compose (train or test)."""
    from torchvision import transforms
    if train:
        steps = [
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip()
        ]
    else:
        steps = [transforms.Resize(size=(224, 224))]
    return transforms.Compose(steps + [
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    ])


def frames(paths: Sequence[str], train: bool) -> torch.Tensor:
    """The given frames through the authors' transform: [C, T, 224, 224].

    The Compose is applied to each frame in turn, so train-time crops and
    flips are drawn per frame from torch's global generator.
    """
    from PIL import Image
    transform = frame_transform(train)
    images = torch.zeros((len(paths), 3, 224, 224))
    for index, path in enumerate(paths):
        images[index] = transform(Image.open(path).convert('RGB'))
    return images.permute((1, 0, 2, 3))


def cremad_frame_indices(num_files: int, pick_num: int = 3) -> np.ndarray:
    """``np.random.choice(n, size=3, replace=True)``, sorted."""
    select_index = np.random.choice(num_files, size=pick_num, replace=True)
    select_index.sort()
    return select_index


def ks_keeps(spec_path: str, frame_dir: str) -> bool:
    """``KS_dataset.__init__``'s filter for one list line."""
    if os.path.exists(spec_path):
        return len(os.listdir(frame_dir)) > 3
    return False


def ks_frame_names(frame_dir: str, train: bool,
                   pick_num: int = 3) -> List[str]:
    """``KS_dataset.__getitem__``'s frame names (Python's ``random``)."""
    file_num = len([fn for fn in os.listdir(frame_dir) if fn.endswith('jpg')])
    seg = int(file_num / pick_num)
    t = [0] * pick_num
    for i in range(pick_num):
        if train:
            t[i] = random.randint(i * seg + 1, i * seg +
                                  seg) if file_num > 6 else 1
            if t[i] >= 10:
                t[i] = 9
        else:
            t[i] = i * seg + max(int(seg / 2), 1) if file_num > 6 else 1
    return ['frame_0000' + str(t[i]) + '.jpg' for i in range(pick_num)]
