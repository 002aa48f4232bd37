"""BackboneEncoder: any mmpretrain backbone as a token encoder."""
from typing import Optional, Sequence, Union

import torch
from torch import nn

from rollingq_mm.registry import MODELS
from ..utils import build_module
from .frame_encoder import FrameTokenEncoder

# VisionTransformer-style ``out_type`` -> whether token 0 is a CLS token.
_CLS_BY_OUT_TYPE = dict(cls_token=True, featmap=False, avg_featmap=False)


@MODELS.register_module()
class BackboneEncoder(FrameTokenEncoder):
    """Adapt an mmpretrain backbone (or any module that returns feature maps
    or tokens) to the encoder contract: tokens [B, N, D], an int
    ``embed_dims`` and ``has_cls_token``.

    mmpretrain backbones return a tuple with one output per ``out_indices``
    entry; ``out_index`` picks one (the last by default) and turns it into
    tokens:

    * a feature map [B, C, H, W] (ResNet, ConvNeXt with
      ``gap_before_final_norm=False``, Swin, VisionTransformer
      ``out_type='featmap'``) -> its H·W positions [B, H·W, C], no CLS
      token; the mean of these tokens is global average pooling;
    * tokens [B, N, C] (VisionTransformer ``out_type='raw'``) -> as they
      are, CLS first where the backbone has one (``with_cls_token``);
    * a vector [B, C] (VisionTransformer ``out_type='cls_token'``, a CLS
      token; ``'avg_featmap'``, ConvNeXt's default pooled output) -> one
      token [B, 1, C];
    * a pair such as ``(patch_map, cls)`` (mmcls 0.x ViTs with
      ``output_cls_token``) or ``(cls, dist)`` (DeiT) -> the vectors first,
      then the map's positions: [B, 1 + H·W, C] with the CLS token first.

    Video [B, C, T, H, W] runs the backbone on every frame and concatenates
    the frames' tokens (see :class:`FrameTokenEncoder`).

    :class:`MultimodalClassifier` wraps every mmpretrain backbone named as an
    encoder in a ``BackboneEncoder`` with the defaults; name it in the
    config to set its arguments. Pretrained weights come through the
    backbone's own ``init_cfg=dict(type='Pretrained', checkpoint=<local
    file>)`` (``prefix='backbone.'`` for an mmpretrain classifier's
    checkpoint).

    Args:
        backbone (dict | nn.Module): The backbone's config (built from our
            registry, so mmpretrain's names resolve) or the module.
        out_index (int): Which of the backbone's outputs to use. Defaults to
            -1 (the last).
        embed_dims (int, optional): Width C of that output. Defaults to None:
            read from the backbone (``embed_dims`` of ViTs, ``num_features``
            of Swin, ``channels`` of ConvNeXt, the last block of a ResNet
            stage); needed for other backbones.
        has_cls_token (bool, optional): Whether token 0 is a CLS token.
            Defaults to None: from the backbone's ``out_type`` /
            ``with_cls_token`` / ``output_cls_token``, else False.
        num_frames (int, optional): Frames per clip; enables a learned
            temporal embedding. Defaults to None (none; any number of
            frames).
        init_cfg (dict, optional): mmengine init config of the adapter (the
            backbone keeps its own).
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 out_index: int = -1,
                 embed_dims: Optional[int] = None,
                 has_cls_token: Optional[bool] = None,
                 num_frames: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.backbone = build_module(backbone) if isinstance(
            backbone, dict) else backbone
        self.out_index = out_index
        stage = _stage(self.backbone, out_index)
        self.embed_dims = embed_dims if embed_dims is not None else \
            _infer_width(self.backbone, stage)
        self.has_cls_token = has_cls_token if has_cls_token is not None \
            else _infer_cls(self.backbone)
        self.init_frames(num_frames)

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Tokens [B, N, D] of the chosen backbone output for images."""
        outputs = self.backbone(images)
        if isinstance(outputs, (tuple, list)) and not _is_pair(outputs):
            outputs = outputs[self.out_index]
        tokens = to_tokens(outputs, self.embed_dims)
        if tokens.shape[-1] != self.embed_dims:
            raise ValueError(
                f'BackboneEncoder: {type(self.backbone).__name__} output '
                f'{self.out_index} has width {tokens.shape[-1]}, but '
                f'embed_dims is {self.embed_dims}; set embed_dims='
                f'{tokens.shape[-1]} in the BackboneEncoder config')
        return tokens


def to_tokens(output: Union[torch.Tensor, Sequence[torch.Tensor]],
              width: Optional[int] = None) -> torch.Tensor:
    """One backbone output as tokens [B, N, C] (see :class:`BackboneEncoder`).

    Args:
        output (Tensor | tuple[Tensor]): [B, C, H, W], [B, N, C], [B, C], or
            a tuple of these (vectors are put first). A map whose last axis,
            not its second, has the width C is channels-last [B, H, W, C]
            (mmpretrain's backbones return [B, C, H, W]; a wrapped timm
            Swin, for one, does not).
        width (int, optional): The channel width C. Defaults to None
            (maps are [B, C, H, W]).

    Returns:
        Tensor: Tokens [B, N, C].
    """
    if isinstance(output, (tuple, list)):
        parts = sorted(output, key=lambda x: x.dim() != 2)  # vectors first
        return torch.cat([to_tokens(part, width) for part in parts], dim=1)
    if output.dim() == 4:
        if width is not None and output.shape[1] != width and \
                output.shape[-1] == width:
            return output.flatten(1, 2)  # channels-last [B, H, W, C]
        return output.flatten(2).transpose(1, 2)
    if output.dim() == 3:
        return output
    if output.dim() == 2:
        return output.unsqueeze(1)
    raise ValueError('BackboneEncoder: a backbone output must be [B, C, H, '
                     f'W], [B, N, C] or [B, C], got {tuple(output.shape)}')


def _is_pair(outputs) -> bool:
    """A module that returns one ``(patch, cls)`` pair, not one output per
    stage: two tensors, a vector [B, C] and a map or tokens."""
    if len(outputs) != 2 or not all(
            isinstance(x, torch.Tensor) for x in outputs):
        return False
    dims = sorted(x.dim() for x in outputs)
    return dims[0] == 2 and dims[1] > 2


def _stage(backbone: nn.Module, out_index: int) -> Optional[int]:
    """The stage that output ``out_index`` comes from (None if unknown)."""
    indices = getattr(backbone, 'out_indices', None)
    if isinstance(indices, int):
        indices = [indices]
    if not isinstance(indices, Sequence) or not indices:
        return None
    try:
        return int(indices[out_index])
    except IndexError:
        raise IndexError(
            f'BackboneEncoder: out_index={out_index} but '
            f'{type(backbone).__name__} has out_indices={tuple(indices)}; '
            'pick one of them') from None


def _infer_width(backbone: nn.Module, stage: Optional[int]) -> int:
    """The channel width C of ``backbone``'s output at ``stage``."""
    dims = getattr(backbone, 'embed_dims', None)
    if isinstance(dims, int) and hasattr(backbone, 'out_type'):
        return dims  # VisionTransformer family: one width for every layer
    if stage is not None:
        for name in ('num_features', 'channels'):  # Swin, ConvNeXt
            widths = getattr(backbone, name, None)
            if isinstance(widths,
                          Sequence) and -len(widths) <= stage < len(widths):
                return int(widths[stage])
        layers = getattr(backbone, 'res_layers', None)  # ResNet family
        if layers and -len(layers) <= stage < len(layers):
            return int(getattr(backbone, layers[stage])[-1].out_channels)
    if isinstance(dims, int):
        return dims
    raise ValueError(
        f'BackboneEncoder: cannot tell the width of '
        f'{type(backbone).__name__}\'s outputs; give embed_dims=<channels of '
        'the output> in a BackboneEncoder config')


def _infer_cls(backbone: nn.Module) -> bool:
    """Whether token 0 of ``backbone``'s tokens is a CLS token."""
    out_type = getattr(backbone, 'out_type', None)
    if out_type == 'raw':
        return bool(getattr(backbone, 'with_cls_token', False))
    if out_type in _CLS_BY_OUT_TYPE:
        return _CLS_BY_OUT_TYPE[out_type]
    return bool(getattr(backbone, 'output_cls_token', False))


def build_encoder(cfg: Union[dict, nn.Module]) -> nn.Module:
    """Build an encoder; wrap an mmpretrain backbone in a BackboneEncoder.

    Args:
        cfg (dict | nn.Module): An encoder config (or module): one of ours,
            a user's module with the encoder contract, or an mmpretrain
            backbone (``dict(type='ResNet', depth=18)``).

    Returns:
        nn.Module: The encoder.
    """
    from mmpretrain.models.backbones.base_backbone import BaseBackbone
    module = build_module(cfg) if isinstance(cfg, dict) else cfg
    if isinstance(module, BaseBackbone):
        return BackboneEncoder(backbone=module)
    return module
