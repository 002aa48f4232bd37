"""FrameTokenEncoder: images give tokens; video frames fold into the batch."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn


class FrameTokenEncoder(BaseModule):
    """Base of the encoders that turn images into tokens [B, N, D].

    Images [B, C, H, W] give the subclass's tokens (:meth:`image_tokens`).
    Video [B, C, T, H, W] folds T into the batch (the same encoder for every
    frame, as the imbalance literature's 2-D ResNet-18 does), adds a learned
    temporal embedding per frame when ``num_frames`` is set, and
    concatenates the frames' tokens: [B, T·N, D]. With a CLS token, token 0
    is frame 0's CLS.

    A subclass sets ``embed_dims`` (int) and ``has_cls_token`` (bool), then
    calls :meth:`init_frames`.

    Args:
        init_cfg (dict, optional): mmengine init config.
    """

    embed_dims: int
    has_cls_token: bool

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.num_frames = None
        self.temporal_embed = None

    def init_frames(self, num_frames: Optional[int]) -> None:
        """Enable the temporal embedding [1, T, 1, D] for ``num_frames``.

        Args:
            num_frames (int, optional): Frames per clip; None for images or
                for video without a temporal embedding (any T).
        """
        self.num_frames = num_frames
        if num_frames is not None:
            self.temporal_embed = nn.Parameter(
                torch.zeros(1, num_frames, 1, self.embed_dims))
            nn.init.trunc_normal_(self.temporal_embed, std=0.02)

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Tokens [B, N, D] of images [B, C, H, W]."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode.

        Args:
            x (Tensor): Images [B, C, H, W] or video [B, C, T, H, W].

        Returns:
            Tensor: Tokens [B, N, D] (video: [B, T·N, D]).
        """
        name = type(self).__name__
        if x.dim() == 4:
            return self.image_tokens(x)
        if x.dim() != 5:
            raise ValueError(f'{name} expects images [B, C, H, W] or video '
                             f'[B, C, T, H, W], got shape {tuple(x.shape)}')
        batch, _, frames = x.shape[:3]
        if self.num_frames is not None and frames != self.num_frames:
            raise ValueError(f'{name} was built with num_frames='
                             f'{self.num_frames} but got {frames} frames; set '
                             'num_frames to the clip length of the pipeline')
        tokens = self.image_tokens(x.transpose(1, 2).flatten(0, 1))
        tokens = tokens.view(batch, frames, *tokens.shape[1:])  # [B,T,N,D]
        if self.temporal_embed is not None:
            tokens = tokens + self.temporal_embed.to(tokens.dtype)
        return tokens.flatten(1, 2)
