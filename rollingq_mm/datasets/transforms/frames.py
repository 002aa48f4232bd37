"""Load K frames of a clip from a folder of images."""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS
from .frame_sampling import (FRAME_SAMPLERS, kinetics_sounds_indices,
                             random_sorted_indices, sample_rng,
                             segment_indices)

DECODE_BACKENDS = ('pillow', 'cv2')

FRAME_HINT = ('re-extract the frames with the converter in '
              'tools/dataset_converters/ (see docs/datasets.md)')


def _natural_key(name: str) -> list:
    """Digit runs compare as numbers: frame_9 < frame_10, 00009 < 000010."""
    # re.split with a group alternates text (even places) and digits (odd)
    parts = re.split(r'(\d+)', name)
    return [int(part) if i % 2 else part
            for i, part in enumerate(parts)] + [name]


def scan_frames(frame_dir: str, suffix: str = '.jpg') -> Tuple[List[str], int]:
    """The frames of one clip folder, and how many entries the folder has.

    Frames are the files ending in ``suffix`` (case-insensitive), in natural
    name order: numbers inside names compare as numbers, so frames numbered
    with or without zero padding (``frame_00009.jpg``, ``frame_000010.jpg``)
    come out in time order; for names of one width this is plain name order.

    Args:
        frame_dir (str): Folder of one clip's frames.
        suffix (str): File ending. Defaults to '.jpg'.

    Returns:
        tuple: The sorted paths (empty when the folder does not exist) and
        the number of entries in the folder, whatever they are (the count
        the authors' Kinetics-Sounds filter uses).
    """
    if not osp.isdir(frame_dir):
        return [], 0
    names = os.listdir(frame_dir)
    suffix = suffix.lower()
    frames = sorted((n for n in names if n.lower().endswith(suffix)),
                    key=_natural_key)
    return [osp.join(frame_dir, name) for name in frames], len(names)


def list_frames(frame_dir: str, suffix: str = '.jpg') -> List[str]:
    """Paths of the frames in ``frame_dir`` ending in ``suffix``, in order.

    Args:
        frame_dir (str): Folder of one clip's frames.
        suffix (str): File ending, case-insensitive. Defaults to '.jpg'.

    Returns:
        list[str]: Paths in natural name order (see :func:`scan_frames`);
        empty when the folder does not exist.
    """
    return scan_frames(frame_dir, suffix)[0]


def _decode_error(path: str, err: Optional[Exception] = None) -> ValueError:
    detail = f' ({err})' if err else ''
    return ValueError(f'cannot decode frame {path!r}{detail}: empty, '
                      f'truncated or not an image; {FRAME_HINT} with '
                      '--overwrite')


def read_rgb(path: str, backend: str = 'pillow') -> np.ndarray:
    """Decode an image file to RGB uint8 [H, W, 3]; errors name the file.

    Args:
        path (str): The image file.
        backend (str): ``'pillow'``: ``PIL.Image.open(path).convert('RGB')``,
            as the authors' loaders (and torchvision's ImageFolder);
            ``'cv2'``: OpenCV's decoder (each wheel bundles its own JPEG
            library: equal output is likely, not guaranteed).
            Defaults to 'pillow'.

    Returns:
        np.ndarray: uint8 [H, W, 3], RGB.
    """
    if backend not in DECODE_BACKENDS:
        raise ValueError(f'read_rgb: backend={backend!r} is not one of '
                         f'{DECODE_BACKENDS}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'frame {path!r} does not exist; '
                                f'{FRAME_HINT}')
    if backend == 'pillow':
        from PIL import Image
        try:
            with Image.open(path) as image:
                return np.array(image.convert('RGB'))
        except (OSError, ValueError, SyntaxError) as err:
            raise _decode_error(path, err) from err
    import cv2
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise _decode_error(path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@TRANSFORMS.register_module()
class LoadFrames(BaseTransform):
    """Load ``num_frames`` frames of a clip into ``results[key]``.

    Which frames (``sampler``, see ``frame_sampling.py``):

    * ``'random'`` (the authors' CREMA-D loader): K draws uniformly with
      replacement, sorted. Training draws from NumPy's global generator (as
      the authors; mmengine seeds it per worker); test draws from a
      generator fixed by (``seed``, ``results['sample_idx']``, ``key``), so
      an evaluation is repeatable while keeping the authors' distribution.
    * ``'kinetics_sounds'`` (the authors' Kinetics-Sounds loader): fixed
      positions at test, random ones in training.
    * ``'segment'`` (the project's option): one frame per segment, random
      position in training, the centre at test.

    Required keys: ``paths_key`` (list of frame paths, in time order) or
    ``dir_key`` (the clip's frame folder); ``sample_idx`` for
    ``sampler='random'`` at test. Added keys: ``key`` (list of RGB uint8
    [H, W, 3], or one array [T, H, W, 3] with ``stack``) and ``frame_inds``.

    Args:
        num_frames (int): Frames per clip K. Defaults to 3 (the paper).
        test_mode (bool): Test-time rule of the sampler. Defaults to False.
        sampler (str): ``'random'``, ``'kinetics_sounds'`` or ``'segment'``.
            Defaults to 'random' (the authors' CREMA-D rule).
        seed (int): Seed of the test-time draws of ``'random'``.
            Defaults to 0.
        backend (str): Image decoder, ``'pillow'`` (the authors') or
            ``'cv2'``. Defaults to 'pillow'.
        key (str): Output key, the modality name. Defaults to 'visual'.
        paths_key (str): Key of the frame paths. Defaults to 'frame_paths'.
        dir_key (str): Key of the frame folder, used when ``paths_key`` is
            absent. Defaults to 'frame_dir'.
        suffix (str): Frame file ending for ``dir_key``. Defaults to '.jpg'.
        stack (bool): Return one array [T, H, W, 3]. Defaults to False.
    """

    def __init__(self,
                 num_frames: int = 3,
                 test_mode: bool = False,
                 sampler: str = 'random',
                 seed: int = 0,
                 backend: str = 'pillow',
                 key: str = 'visual',
                 paths_key: str = 'frame_paths',
                 dir_key: str = 'frame_dir',
                 suffix: str = '.jpg',
                 stack: bool = False):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        if sampler not in FRAME_SAMPLERS:
            raise ValueError(f'LoadFrames: sampler={sampler!r} is not one of '
                             f'{FRAME_SAMPLERS}')
        if backend not in DECODE_BACKENDS:
            raise ValueError(f'LoadFrames: backend={backend!r} is not one of '
                             f'{DECODE_BACKENDS}')
        self.num_frames = num_frames
        self.test_mode = test_mode
        self.sampler = sampler
        self.seed = seed
        self.backend = backend
        self.key = key
        self.paths_key = paths_key
        self.dir_key = dir_key
        self.suffix = suffix
        self.stack = stack

    def _paths(self, results: dict) -> Sequence[str]:
        if self.paths_key in results:
            paths = results[self.paths_key]
            where = f'the {len(paths)} paths in {self.paths_key!r}'
        elif self.dir_key in results:
            paths = list_frames(results[self.dir_key], self.suffix)
            where = f'{results[self.dir_key]!r}'
        else:
            raise KeyError(f'LoadFrames needs {self.paths_key!r} or '
                           f'{self.dir_key!r} in the data info; the dataset '
                           'must provide the frames of each clip')
        if not paths:
            raise FileNotFoundError(f'no {self.suffix} frames in {where}; '
                                    f'{FRAME_HINT}')
        return paths

    def _indices(self, num_available: int, results: dict) -> np.ndarray:
        random = not self.test_mode
        if self.sampler == 'segment':
            return segment_indices(num_available, self.num_frames, random)
        if self.sampler == 'kinetics_sounds':
            return kinetics_sounds_indices(num_available, self.num_frames,
                                           random)
        rng = None
        if self.test_mode:
            if 'sample_idx' not in results:
                raise KeyError(
                    'LoadFrames(sampler="random", test_mode=True) seeds its '
                    'draws with results["sample_idx"], which the dataset '
                    'sets (mmengine\'s BaseDataset does); give it, or use '
                    'sampler="segment" for fixed frames')
            rng = sample_rng(self.seed, int(results['sample_idx']), self.key)
        return random_sorted_indices(num_available, self.num_frames, rng)

    def transform(self, results: dict) -> dict:
        """Pick and decode the frames.

        Args:
            results (dict): Holds ``paths_key`` or ``dir_key``.

        Returns:
            dict: ``results`` with ``key`` and ``frame_inds`` [K].
        """
        paths = self._paths(results)
        inds = self._indices(len(paths), results)
        decoded = {
            index: read_rgb(paths[index], self.backend)
            for index in set(inds.tolist())
        }
        frames = [decoded[index] for index in inds.tolist()]
        if self.stack:
            shapes = {frame.shape for frame in frames}
            if len(shapes) > 1:
                raise ValueError(f'frames {[paths[i] for i in inds]} have '
                                 f'different sizes {sorted(shapes)}; use '
                                 'stack=False and FrameTransforms to resize')
            frames = np.stack(frames)
        results[self.key] = frames
        results['frame_inds'] = inds
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'test_mode={self.test_mode}, sampler={self.sampler!r}, '
                f'seed={self.seed}, backend={self.backend!r}, '
                f'key={self.key!r})')
