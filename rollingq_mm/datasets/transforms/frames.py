"""Load K frames of a clip from a folder of images."""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from rollingq_mm.registry import TRANSFORMS

FRAME_HINT = ('re-extract the frames with the converter in '
              'tools/dataset_converters/ (see docs/datasets.md)')


def list_frames(frame_dir: str, suffix: str = '.jpg') -> List[str]:
    """Paths of the frames in ``frame_dir`` ending in ``suffix``, by name.

    Args:
        frame_dir (str): Folder of one clip's frames.
        suffix (str): File ending, case-insensitive. Defaults to '.jpg'.

    Returns:
        list[str]: Sorted paths; empty when the folder does not exist.
    """
    if not osp.isdir(frame_dir):
        return []
    suffix = suffix.lower()
    return [
        osp.join(frame_dir, name) for name in sorted(os.listdir(frame_dir))
        if name.lower().endswith(suffix)
    ]


def read_rgb(path: str) -> np.ndarray:
    """Decode an image file to RGB uint8 [H, W, 3]; errors name the file."""
    import cv2
    if not osp.isfile(path):
        raise FileNotFoundError(f'frame {path!r} does not exist; '
                                f'{FRAME_HINT}')
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f'cannot decode frame {path!r} (empty, truncated or '
                         f'not an image); {FRAME_HINT} with --overwrite')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def sample_indices(num_available: int, num_frames: int,
                   random: bool) -> np.ndarray:
    """Segment-based frame sampling (as TSN).

    The clip is cut into ``num_frames`` equal segments; one frame is taken
    from each, at a uniformly random position (training) or at the
    segment's centre (test, deterministic). With fewer frames than
    segments, frames repeat.

    Args:
        num_available (int): Frames in the clip (>= 1).
        num_frames (int): Frames wanted K.
        random (bool): Random position within each segment.

    Returns:
        np.ndarray: int [K], non-decreasing, in [0, num_available).
    """
    offsets = np.random.random(num_frames) if random else np.full(
        num_frames, 0.5)
    positions = (np.arange(num_frames) + offsets) * num_available / num_frames
    return np.clip(positions.astype(np.int64), 0, num_available - 1)


@TRANSFORMS.register_module()
class LoadFrames(BaseTransform):
    """Load ``num_frames`` frames of a clip into ``results[key]``.

    Required keys: ``paths_key`` (list of frame paths, sorted in time) or
    ``dir_key`` (the clip's frame folder). Added keys: ``key`` (list of RGB
    uint8 [H, W, 3], or one array [T, H, W, 3] with ``stack``) and
    ``frame_inds``.

    Args:
        num_frames (int): Frames per clip K. Defaults to 3 (the paper).
        test_mode (bool): Centred (deterministic) instead of random
            positions within the K segments. Defaults to False.
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
                 key: str = 'visual',
                 paths_key: str = 'frame_paths',
                 dir_key: str = 'frame_dir',
                 suffix: str = '.jpg',
                 stack: bool = False):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.num_frames = num_frames
        self.test_mode = test_mode
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

    def transform(self, results: dict) -> dict:
        """Pick and decode the frames.

        Args:
            results (dict): Holds ``paths_key`` or ``dir_key``.

        Returns:
            dict: ``results`` with ``key`` and ``frame_inds`` [K].
        """
        paths = self._paths(results)
        inds = sample_indices(len(paths), self.num_frames, not self.test_mode)
        decoded = {index: read_rgb(paths[index]) for index in set(inds)}
        frames = [decoded[index] for index in inds]
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
                f'test_mode={self.test_mode}, key={self.key!r})')
