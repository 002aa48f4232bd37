"""Apply image transforms to every frame of a clip with the same randomness."""
import random
from typing import List, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose

from rollingq_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FrameTransforms(BaseTransform):
    """Run image transforms on each frame; random choices drawn once a clip.

    Each frame goes through ``transforms`` as ``dict(img=frame)`` (any mmcv /
    mmpretrain image transform: ``RandomResizedCrop``, ``RandomFlip``,
    ``Resize``, ``CenterCrop``, ``ColorJitter``, ...). The state of Python's,
    NumPy's and torch's global random generators is restored before every
    frame after the first, so all frames of a clip get the same crop, flip,
    jitter — exactly as if the parameters had been drawn once per clip — and
    the generators end where one draw leaves them.

    Required keys: ``key`` (list of [H, W, C] frames or an array
    [T, H, W, C]). Modified keys: ``key`` -> uint8 (or the transforms'
    dtype) array [C, T, H, W] (``channel_first``) or [T, H, W, C].

    Args:
        transforms (Sequence[dict | callable]): Per-frame image transforms.
            They must produce frames of one size (end with a fixed-size op).
        key (str): The frames' key, the modality name. Defaults to 'visual'.
        channel_first (bool): Output [C, T, H, W], the layout TimmEncoder
            takes for video. Defaults to True.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, callable]],
                 key: str = 'visual',
                 channel_first: bool = True):
        # Built through our registry, which falls back to mmpretrain's and
        # mmcv's, so that no default scope is needed.
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.key = key
        self.channel_first = channel_first

    @staticmethod
    def _get_rng_state() -> tuple:
        return random.getstate(), np.random.get_state(), torch.get_rng_state()

    @staticmethod
    def _set_rng_state(state: tuple) -> None:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.set_rng_state(state[2])

    def _apply(self, frame: np.ndarray) -> np.ndarray:
        shape = frame.shape[:2]
        out = self.pipeline(dict(img=frame, img_shape=shape, ori_shape=shape))
        if out is None:
            raise RuntimeError(f'FrameTransforms: a transform in '
                               f'{self.pipeline} dropped the frame; use '
                               'transforms that always return the image')
        return out['img']

    def transform(self, results: dict) -> dict:
        """Transform all frames alike and stack them.

        Args:
            results (dict): Holds ``key``.

        Returns:
            dict: ``results`` with ``key`` = array [C, T, H, W].
        """
        frames: List[np.ndarray] = list(results[self.key])
        if not frames:
            raise ValueError(f'FrameTransforms: {self.key!r} has no frames; '
                             'put LoadFrames before FrameTransforms')
        state = self._get_rng_state()
        outputs = []
        for index, frame in enumerate(frames):
            if index:
                self._set_rng_state(state)
            outputs.append(self._apply(frame))
        shapes = {out.shape for out in outputs}
        if len(shapes) > 1:
            raise ValueError(
                f'FrameTransforms: the frames of one clip came out in sizes '
                f'{sorted(shapes)}; end the transforms with a fixed-size op '
                '(RandomResizedCrop, Resize with keep_ratio=False, '
                'CenterCrop)')
        clip = np.stack(outputs)  # [T, H, W, C]
        if clip.ndim == 3:  # single-channel frames
            clip = clip[..., None]
        if self.channel_first:
            clip = clip.transpose(3, 0, 1, 2)
        results[self.key] = np.ascontiguousarray(clip)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, '
                f'transforms={self.pipeline.transforms})')
