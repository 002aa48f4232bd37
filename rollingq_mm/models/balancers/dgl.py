"""DGL (ICCV 2025): disentangled gradient learning."""
import torch
import torch.nn.functional as F

from rollingq_mm.registry import MODELS
from .base import BalanceContext, BaseBalancer
from .frozen_fusion import logits_through_frozen_fusion


@MODELS.register_module()
class DGL(BaseBalancer):
    """Train the fusion on detached features, the encoders on their own.

    The fused loss is computed on the encoders' tokens *detached*, so it
    trains neck and head only. Each encoder m is trained by
    ``alpha · CE(z_m, y)``, where z_m is the fusion's prediction with every
    other modality removed (for concat fusion ``W_m h_m + b``, the
    authors' ``fc_out(cat(a, 0))``), computed through the neck's and
    head's weights *detached*: the unimodal losses reach the encoders only.
    Follows shicaiwei123/ICCV2025-GDL, ``main_dgl.py`` (commit b72a55f,
    lines 100-122) and ``models/fusion_modules.py`` (``ConcatFusion_DGL``).

    Deliberate differences from the authors' code: they back-propagate the
    unimodal losses, wipe the fusion module's gradients by parameter name
    (which works only under ``DataParallel``'s ``module.`` prefix), then
    back-propagate the fused loss; here the unimodal logits run through the
    fusion's detached weights, which gives the same gradients in one
    backward pass on any wrapper. "Removing" a modality is the neck's
    (``BaseFusion.fuse``: its feature zeroed for concat / sum fusion, as the
    authors; its tokens masked out of the keys for attention fusion, which
    the authors do not have).

    Args:
        alpha (float): Weight of each unimodal loss. Defaults to 4.0 (the
            authors' default; their CREMA-D scripts use 4 and 5,
            Kinetics-Sounds 2 and 3).
    """

    def __init__(self, alpha: float = 4.0):
        super().__init__()
        if alpha <= 0:
            raise ValueError(f'DGL: alpha must be > 0, got {alpha}')
        self.alpha = alpha

    def modulate_tokens(self, model, tokens, labels):
        return {m: x.detach() for m, x in tokens.items()}, None

    def extra_losses(self, model, context: BalanceContext) -> dict:
        ones = torch.ones(
            context.labels.shape, device=context.labels.device)
        losses = {}
        for name in self.modalities:
            keep = {m: ones * (m == name) for m in self.modalities}
            logits = logits_through_frozen_fusion(model, context.tokens, keep)
            losses[f'loss_dgl_{name}'] = self.alpha * F.cross_entropy(
                logits, context.labels)
            # each encoder alone through the fusion: the method's own probe
            self.track(**{
                f'accuracy_{name}':
                (logits.detach().argmax(-1) == context.labels).float().mean()
            })
        return losses
