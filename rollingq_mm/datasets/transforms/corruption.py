"""Corrupt one modality with Gaussian noise, deterministically per sample."""
from typing import Union

import numpy as np
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS

CORRUPTION_MODES = ('add', 'replace')

# Independent random streams per (seed, sample, modality): one for the level
# of ``level='random'``, one for the noise itself.
_LEVEL_STREAM, _NOISE_STREAM = 0, 1


def _rng(seed: int, sample_idx: int, modality: str,
         stream: int) -> np.random.Generator:
    return np.random.default_rng(
        [seed, sample_idx, stream, *modality.encode()])


def sample_noise_level(seed: int, sample_idx: int, modality: str,
                       max_level: float) -> float:
    """The noise level U[0, max_level] that ``level='random'`` draws.

    Deterministic in (seed, sample index, modality name), so an analysis tool
    can recompute the level of every sample.
    """
    rng = _rng(seed, sample_idx, modality, _LEVEL_STREAM)
    return float(rng.uniform(0.0, max_level))


@TRANSFORMS.register_module()
class CorruptModality(BaseTransform):
    """Add Gaussian noise to one modality, or replace it by noise.

    ``mode='add'``: x + N(0, (level · std(x))²) — noise relative to the
    sample's own spread. ``mode='replace'``: N(mean(x), std(x)²) of x's shape
    (the paper's probe: the modality carries no information). The noise is
    drawn from a stream seeded by (seed, sample_idx, modality name), so a
    sample is corrupted the same way in every epoch, worker and run, and two
    modalities of a sample get independent noise. Put it before
    ``PackMultimodalInputs``.

    Records ``results['noise_level'][modality] = level`` and, for a level
    > 0, the modality in ``results['corrupted']`` (``'audio+visual'`` when
    two transforms corrupt both), so GroupedAccuracy and AttentionShare
    group by it; ``PackMultimodalInputs`` carries both into the metainfo.

    Args:
        modality (str): The key of the modality to corrupt.
        level (float | str): Noise std relative to the data's std (>= 0), or
            ``'random'`` for U[0, max_level] per sample. Defaults to 1.0.
        mode (str): ``'add'`` or ``'replace'``. Defaults to 'add'.
        max_level (float): Upper bound for ``level='random'``. Defaults to 1.
        seed (int): Defaults to 0.
    """

    def __init__(self,
                 modality: str,
                 level: Union[float, str] = 1.0,
                 mode: str = 'add',
                 max_level: float = 1.0,
                 seed: int = 0):
        if mode not in CORRUPTION_MODES:
            raise ValueError(f'CorruptModality: mode={mode!r} is not one of '
                             f'{CORRUPTION_MODES}')
        if level != 'random' and (isinstance(level, str) or level < 0):
            raise ValueError(f'CorruptModality: level must be >= 0 or '
                             f'"random", got {level!r}')
        self.modality = modality
        self.level = level
        self.mode = mode
        self.max_level = max_level
        self.seed = seed

    def transform(self, results: dict) -> dict:
        if self.modality not in results:
            raise KeyError(f'CorruptModality: the sample has no modality '
                           f'{self.modality!r}; put the transform after the '
                           'loading of that modality')
        if 'sample_idx' not in results:
            raise KeyError('CorruptModality needs results["sample_idx"] to '
                           'seed its noise per sample')
        index = int(results['sample_idx'])
        level = self.level
        if level == 'random':
            level = sample_noise_level(self.seed, index, self.modality,
                                       self.max_level)
        x = np.asarray(results[self.modality], dtype=np.float32)
        rng = _rng(self.seed, index, self.modality, _NOISE_STREAM)
        noise = rng.standard_normal(x.shape).astype(np.float32)
        if self.mode == 'add':
            corrupted = x + level * x.std() * noise
        else:
            corrupted = x.mean() + x.std() * noise
        results[self.modality] = corrupted
        results.setdefault('noise_level', {})[self.modality] = float(level)
        if self.mode == 'replace' or level > 0:
            before = results.get('corrupted') or ''
            names = [n for n in before.split('+') if n] + [self.modality]
            results['corrupted'] = '+'.join(dict.fromkeys(names))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(modality={self.modality!r}, '
                f'level={self.level!r}, mode={self.mode!r}, seed={self.seed})')
