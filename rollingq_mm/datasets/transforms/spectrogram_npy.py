"""Load a precomputed spectrogram (``.npy``) as [1, H, W]."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS

CONVERTER_HINT = ('run the converter in tools/dataset_converters/ for this '
                  'dataset (see docs/datasets.md)')


def load_npy(path: str,
             expected_shape: Optional[Sequence[int]] = None,
             hint: str = CONVERTER_HINT) -> np.ndarray:
    """Read a 2-D float array from ``path`` with errors that name the file.

    Args:
        path (str): The ``.npy`` file.
        expected_shape (Sequence[int], optional): Required shape, e.g.
            ``(257, 188)``. A leading axis of size 1 is squeezed first.
            Defaults to None (any 2-D shape).
        hint (str): What to do about a missing or bad file.

    Returns:
        np.ndarray: float32 [H, W].
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'spectrogram file {path!r} does not exist; '
                                f'{hint}')
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(
            f'cannot read {path!r} as a .npy array ({err}); '
            f'the file is corrupt: {hint} with --overwrite') from err
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or (expected_shape is not None
                           and array.shape != tuple(expected_shape)):
        want = tuple(expected_shape) if expected_shape else '2-D'
        raise ValueError(f'{path!r} has shape {array.shape}, expected {want}; '
                         f'it was written with other settings: {hint} with '
                         '--overwrite, or change expected_shape')
    return array.astype(np.float32, copy=False)


@TRANSFORMS.register_module()
class LoadSpectrogramNpy(BaseTransform):
    """Load ``results[path_key]`` (a ``.npy`` file) into ``results[key]``.

    Used for Kinetics-Sounds fbanks ([1024, 128] = [time, mel], fed as is,
    like the reference code) and any other precomputed 2-D spectrogram.

    Required keys: ``path_key``. Added keys: ``key`` (float32 [1, H, W]).

    Args:
        key (str): Output key, the modality name. Defaults to 'audio'.
        path_key (str): Key of the file path. Defaults to 'audio_path'.
        expected_shape (Sequence[int], optional): Required 2-D shape of the
            stored array (before ``transpose``). Defaults to None.
        transpose (bool): Swap the two axes (e.g. [T, F] -> [F, T]).
            Defaults to False.
    """

    draws_random = False  # no reseeding per sample (SeededSamplesMixin)

    def __init__(self,
                 key: str = 'audio',
                 path_key: str = 'audio_path',
                 expected_shape: Optional[Sequence[int]] = None,
                 transpose: bool = False):
        self.key = key
        self.path_key = path_key
        self.expected_shape = tuple(expected_shape) if expected_shape else None
        self.transpose = transpose

    def transform(self, results: dict) -> dict:
        """Load the array.

        Args:
            results (dict): Holds ``path_key``.

        Returns:
            dict: ``results`` with ``key`` = float32 [1, H, W].
        """
        array = load_npy(results[self.path_key], self.expected_shape)
        if self.transpose:
            array = array.T
        results[self.key] = np.ascontiguousarray(array[None])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, path_key='
                f'{self.path_key!r}, expected_shape={self.expected_shape}, '
                f'transpose={self.transpose})')
