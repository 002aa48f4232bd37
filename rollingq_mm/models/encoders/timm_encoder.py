"""Any timm model as a token encoder; video frames fold into the batch."""
import os.path as osp
from typing import Optional

import torch
from mmengine.logging import MMLogger

from rollingq_mm.registry import MODELS
from .frame_encoder import FrameTokenEncoder


@MODELS.register_module()
class TimmEncoder(FrameTokenEncoder):
    """Wrap ``timm.create_model`` and return tokens [B, N, D].

    Images [B, C, H, W] give the tokens of ``forward_features`` (CLS and
    register tokens included for ViTs; CNN feature maps are flattened to
    H'·W' tokens). Video [B, C, T, H, W] folds T into the batch, adds a learned
    temporal embedding per frame and concatenates the frames' tokens:
    [B, T·N, D].

    ``has_cls_token`` says whether token 0 is a CLS token (for video: frame
    0's), which decides the default pooling of static fusion and probes.

    Weights are never downloaded: ``pretrained=True`` needs a local
    ``checkpoint_path`` (any file timm can read: .pth, .bin, .safetensors,
    .npz), loaded through timm's filters so that ``in_chans``, ``img_size``
    and a reduced ``depth`` are adapted (unmatched blocks are dropped).

    Args:
        model_name (str): A timm model name, e.g. ``'vit_base_patch16_224'``.
        pretrained (bool): Load ``checkpoint_path``. Defaults to False.
        checkpoint_path (str, optional): Local weights file.
        num_frames (int, optional): Frames per video clip; enables the
            temporal embedding. Defaults to None (image input).
        init_cfg (dict, optional): mmengine init config.
        **timm_kwargs: Passed to ``timm.create_model`` (``img_size``,
            ``patch_size``, ``in_chans``, ``depth``, ``embed_dim``, ...).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: bool = False,
                 checkpoint_path: Optional[str] = None,
                 num_frames: Optional[int] = None,
                 init_cfg: Optional[dict] = None,
                 **timm_kwargs):
        super().__init__(init_cfg)
        import timm
        if checkpoint_path is not None and not pretrained:
            pretrained = True
        load_kwargs = {}
        if pretrained:
            if checkpoint_path is None:
                raise ValueError(
                    f'TimmEncoder({model_name!r}): pretrained=True needs a '
                    'local checkpoint_path; weights are never downloaded at '
                    'run time (see docs/datasets.md, "Pretrained weights")')
            if not osp.isfile(checkpoint_path):
                raise FileNotFoundError(
                    f'TimmEncoder({model_name!r}): checkpoint_path '
                    f'{checkpoint_path!r} does not exist; download the '
                    'weights once and point checkpoint_path at the local file')
            # custom_load: timm's own .npz reader (big_vision files) only
            # for .npz, whatever the model's default source was
            load_kwargs = dict(
                pretrained_cfg_overlay=dict(
                    file=checkpoint_path,
                    custom_load=checkpoint_path.endswith('.npz')),
                pretrained_strict=False)
        self.model = timm.create_model(
            model_name,
            pretrained=pretrained,
            num_classes=0,
            **load_kwargs,
            **timm_kwargs)
        if pretrained:
            MMLogger.get_current_instance().info(
                f'TimmEncoder: loaded {model_name} from {checkpoint_path} '
                '(non-strict: layers beyond the configured depth are dropped)')
        self.model_name = model_name
        self.embed_dims = self.model.num_features
        # timm declares a model's feature layout in ``output_fmt`` where it
        # is not its convention NCHW (Swin, MambaOut, Sequencer: NHWC).
        fmt = getattr(self.model, 'output_fmt', 'NCHW')
        self.output_fmt = str(getattr(fmt, 'value', fmt))
        # Token 0 is a CLS token only for models that have one (ViTs with
        # class_token=True); CNN feature maps and pooled-token ViTs do not.
        self.has_cls_token = getattr(self.model, 'cls_token', None) is not None
        self.init_frames(num_frames)

    def init_weights(self):
        """Apply ``init_cfg`` if given; otherwise keep timm's weights.

        timm initialises (or loads) its weights in ``create_model``. mmengine's
        recursive ``init_weights`` would also call timm's own
        ``init_weights`` and redraw them, so ``init_cfg`` is applied directly.
        """
        if self.init_cfg is not None:
            from mmengine.model.weight_init import initialize
            initialize(self, self.init_cfg)
        self._is_init = True

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Tokens [B, N, D] of ``forward_features`` (feature maps
        flattened in the model's declared layout)."""
        return feature_tokens(
            self.model.forward_features(images), self.output_fmt,
            self.embed_dims, f'TimmEncoder({self.model_name!r})')


def feature_tokens(feats, layout: str, width: int, name: str) -> torch.Tensor:
    """A model's features as tokens [B, N, width].

    Args:
        feats (Tensor): Tokens [B, N, C], or a feature map [B, C, H, W]
            (``layout='NCHW'``) or [B, H, W, C] (``'NHWC'``).
        layout (str): The layout of a 4-D map, ``'NCHW'`` or ``'NHWC'``.
        width (int): The expected channel width C.
        name (str): The model, for error messages.

    Returns:
        Tensor: [B, N, width] (N = H·W for a map).

    Raises:
        ValueError: the features are not a tensor of those layouts, or
            their width is not ``width``.
    """
    if not torch.is_tensor(feats) or feats.dim() not in (3, 4):
        shape = tuple(
            feats.shape) if torch.is_tensor(feats) else type(feats).__name__
        raise ValueError(
            f'{name}: forward_features returned {shape}, not tokens '
            '[B, N, C] or a feature map [B, C, H, W] / [B, H, W, C]; use '
            'another model or wrap it in an encoder of your own that '
            'returns tokens')
    read_as = layout if feats.dim() == 4 else '[B, N, C]'
    if feats.dim() == 4:
        if layout not in ('NCHW', 'NHWC'):
            raise ValueError(f'{name}: the model declares output_fmt='
                             f'{layout!r}; only NCHW and NHWC maps are read')
        feats = feats.flatten(2).transpose(1, 2) if layout == 'NCHW' else \
            feats.flatten(1, 2)
    if feats.shape[-1] != width:
        raise ValueError(
            f'{name}: its features read as {read_as} have '
            f'{feats.shape[-1]} channels, but the model says num_features='
            f'{width}; its output layout cannot be read, so wrap it in an '
            'encoder of your own that returns tokens [B, N, C]')
    return feats
