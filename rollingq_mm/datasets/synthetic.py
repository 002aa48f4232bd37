"""SyntheticMultimodal: the embedded default dataset, generated from a seed."""
from typing import Optional, Sequence, Tuple

import numpy as np

from rollingq_mm.registry import DATASETS
from .array_dataset import InMemoryMultimodalDataset

_SPLIT_OFFSETS = {'train': 0, 'val': 1, 'test': 2}


@DATASETS.register_module()
class SyntheticMultimodal(InMemoryMultimodalDataset):
    """An audio-visual toy task where one modality is learned first.

    Both modalities carry the label, through class prototypes plus Gaussian
    noise of unit std:

    * ``audio`` [1, F, T], spectrogram-like: each class lights up its own
      frequency bands, at amplitude ``audio_snr`` — easy, learned first.
    * ``visual`` [3, H, W]: each class has a smooth random image template,
      at amplitude ``visual_snr`` — harder.

    Each sample's amplitude varies (×U[0.5, 1.5]). With probability
    ``corrupt_prob`` a sample has one modality (chosen at random) replaced by
    noise of the clean data's mean and std; its metainfo ``corrupted`` holds
    that modality's name ('' when clean). An attention fusion trained on this
    leans on ``audio`` and keeps doing so when audio is noise — the paper's
    imbalance, visible in a few CPU minutes.

    The class prototypes depend only on ``seed``; the samples on ``seed`` and
    ``split``, so train / val / test are disjoint draws of one task.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        num_samples (int): Samples in this split. Defaults to 2000.
        num_classes (int): Defaults to 8.
        audio_shape (tuple): (1, F, T). Defaults to (1, 32, 32).
        visual_shape (tuple): (3, H, W). Defaults to (3, 32, 32).
        audio_snr (float): Audio prototype amplitude. Defaults to 1.0.
        visual_snr (float): Visual prototype amplitude. Defaults to 0.25.
        corrupt_prob (float): Probability that one modality is noise.
            Defaults to 0.3.
        seed (int): Defaults to 0.
        modalities (Sequence[str]): Subset to expose. Defaults to both.
        **kwargs: ``pipeline``, ``test_mode``, ... (mmengine BaseDataset).
    """

    def __init__(self,
                 split: str = 'train',
                 num_samples: int = 2000,
                 num_classes: int = 8,
                 audio_shape: Tuple[int, int, int] = (1, 32, 32),
                 visual_shape: Tuple[int, int, int] = (3, 32, 32),
                 audio_snr: float = 1.0,
                 visual_snr: float = 0.25,
                 corrupt_prob: float = 0.3,
                 seed: int = 0,
                 modalities: Sequence[str] = ('audio', 'visual'),
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in _SPLIT_OFFSETS:
            raise ValueError(f'split must be one of {list(_SPLIT_OFFSETS)}, '
                             f'got {split!r}')
        if not 0 <= corrupt_prob <= 1:
            raise ValueError(f'corrupt_prob must be in [0, 1], got '
                             f'{corrupt_prob}')
        if num_classes < 2 or num_samples < 1:
            raise ValueError('need num_classes >= 2 and num_samples >= 1')
        unknown = set(modalities) - {'audio', 'visual'}
        if unknown:
            raise ValueError(f'SyntheticMultimodal has modalities audio and '
                             f'visual, not {sorted(unknown)}')
        self.split = split
        self.num_samples = num_samples
        self.num_classes = num_classes
        self.audio_shape = tuple(audio_shape)
        self.visual_shape = tuple(visual_shape)
        self.audio_snr = audio_snr
        self.visual_snr = visual_snr
        self.corrupt_prob = corrupt_prob
        self.seed = seed
        if metainfo is None:
            metainfo = dict(
                classes=tuple(f'class_{i}' for i in range(num_classes)))
        super().__init__(modalities=modalities, metainfo=metainfo, **kwargs)

    @property
    def source(self) -> str:
        return f'SyntheticMultimodal(split={self.split!r}, seed={self.seed})'

    # ---------------------------------------------------------- prototypes
    def _prototypes(self) -> Tuple[np.ndarray, np.ndarray]:
        """Unit-RMS class prototypes: audio bands and smooth visual images."""
        rng = np.random.default_rng(self.seed)
        _, freqs, frames = self.audio_shape
        audio = np.zeros((self.num_classes, ) + self.audio_shape, np.float32)
        for label in range(self.num_classes):
            bands = rng.choice(freqs, size=max(2, freqs // 8), replace=False)
            audio[label, :, bands, :] = 1.0
            audio[label] *= 1 + 0.5 * np.sin(
                np.linspace(0, 2 * np.pi * rng.uniform(1, 3), frames))
        visual = rng.standard_normal((self.num_classes, ) + self.visual_shape)
        kernel = np.ones(5) / 5  # a separable box blur makes templates smooth
        for axis in (-1, -2):
            visual = np.apply_along_axis(
                lambda row: np.convolve(row, kernel, mode='same'), axis,
                visual)
        return _unit_rms(audio), _unit_rms(visual.astype(np.float32))

    def load_arrays(self) -> tuple:
        audio_protos, visual_protos = self._prototypes()
        rng = np.random.default_rng(
            [self.seed, _SPLIT_OFFSETS[self.split], 12345])
        count = self.num_samples
        labels = rng.integers(0, self.num_classes, size=count)
        gains = rng.uniform(0.5, 1.5, size=(count, 2)).astype(np.float32)
        arrays = {
            'audio':
            self.audio_snr * gains[:, 0, None, None, None] *
            audio_protos[labels],
            'visual':
            self.visual_snr * gains[:, 1, None, None, None] *
            visual_protos[labels],
        }
        for name, array in arrays.items():
            array += rng.standard_normal(array.shape, dtype=np.float32)
        corrupted = np.full(count, '', dtype=object)
        hit = rng.random(count) < self.corrupt_prob
        which = rng.integers(0, 2, size=count)
        for code, name in enumerate(('audio', 'visual')):
            rows = np.flatnonzero(hit & (which == code))
            clean = arrays[name][~hit]
            mean, std = (clean.mean(), clean.std()) if clean.size else (0., 1.)
            arrays[name][rows] = rng.normal(
                mean, std, size=(len(rows), ) + arrays[name].shape[1:])
            corrupted[rows] = name
        return arrays, labels, dict(corrupted=list(corrupted))


def _unit_rms(array: np.ndarray) -> np.ndarray:
    """Scale each prototype (first axis) to root-mean-square 1."""
    axes = tuple(range(1, array.ndim))
    rms = np.sqrt((array**2).mean(axis=axes, keepdims=True))
    return (array / rms).astype(np.float32)
