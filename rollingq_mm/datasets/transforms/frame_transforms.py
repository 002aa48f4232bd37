"""Apply image transforms to every frame of a clip, and stack the frames."""
from typing import List, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from rollingq_mm.registry import TRANSFORMS
from rollingq_mm.utils.random_streams import (global_generator_states,
                                              set_global_generator_states)


@TRANSFORMS.register_module()
class FrameTransforms(BaseTransform):
    """Run image transforms on each frame of a clip and stack the results.

    Each frame goes through ``transforms`` as ``dict(img=frame)``: any mmcv /
    mmpretrain image transform (``RandomResizedCrop``, ``RandomFlip``,
    ``Resize``, ...) or torchvision's through mmpretrain's wrappers
    (``NumpyToPIL``, ``torchvision/RandomResizedCrop``, ...,
    ``PILToNumpy``).

    Random parameters (crop box, flip, jitter) are drawn independently for
    every frame by default, as the authors' loaders do (they apply their
    torchvision ``Compose`` to each frame). With ``share_params=True`` (the
    project's option) they are drawn once per clip: the state of Python's,
    NumPy's and torch's global random generators is restored before every
    frame after the first, so all frames of a clip get the same crop, flip,
    jitter, and the generators end where one draw leaves them.

    Required keys: ``key`` (list of [H, W, C] frames or an array
    [T, H, W, C]). Modified keys: ``key`` -> uint8 (or the transforms'
    dtype) array [C, T, H, W] (``channel_first``) or [T, H, W, C].

    Args:
        transforms (Sequence[dict | callable]): Per-frame image transforms.
            They must produce NumPy frames of one size (end with a
            fixed-size op, and with ``PILToNumpy`` after PIL transforms).
        key (str): The frames' key, the modality name. Defaults to 'visual'.
        channel_first (bool): Output [C, T, H, W], the layout TimmEncoder
            takes for video. Defaults to True.
        share_params (bool): One draw of the random parameters per clip
            instead of one per frame. Defaults to False (the authors').
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, callable]],
                 key: str = 'visual',
                 channel_first: bool = True,
                 share_params: bool = False):
        # Built through our registry, which falls back to mmpretrain's and
        # mmcv's, so that no default scope is needed.
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.key = key
        self.channel_first = channel_first
        self.share_params = share_params

    def _apply(self, frame: np.ndarray) -> np.ndarray:
        shape = frame.shape[:2]
        out = self.pipeline(dict(img=frame, img_shape=shape, ori_shape=shape))
        if out is None:
            raise RuntimeError(f'FrameTransforms: a transform in '
                               f'{self.pipeline} dropped the frame; use '
                               'transforms that always return the image')
        image = out['img']
        if not isinstance(image, np.ndarray):
            raise TypeError(
                f'FrameTransforms: the transforms returned a '
                f'{type(image).__name__}, not a NumPy frame; end them with '
                "dict(type='PILToNumpy') after PIL / torchvision transforms")
        return image

    def transform(self, results: dict) -> dict:
        """Transform every frame (one draw per frame, or per clip) and stack.

        Args:
            results (dict): Holds ``key``.

        Returns:
            dict: ``results`` with ``key`` = array [C, T, H, W].
        """
        frames: List[np.ndarray] = list(results[self.key])
        if not frames:
            raise ValueError(f'FrameTransforms: {self.key!r} has no frames; '
                             'put LoadFrames before FrameTransforms')
        state = global_generator_states() if self.share_params else None
        outputs = []
        for index, frame in enumerate(frames):
            if index and self.share_params:
                set_global_generator_states(state)
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
                f'share_params={self.share_params}, '
                f'transforms={self.pipeline.transforms})')
