"""Neck and head as a fixed function of the tokens (their weights detached)."""
from typing import Dict, Optional

import torch
from torch import nn
from torch.func import functional_call


class _NeckAndHead(nn.Module):
    """The classifier's ``fused_logits`` as a module, so that
    ``functional_call`` can run it on detached weights."""

    def __init__(self, neck: nn.Module, head: nn.Module):
        super().__init__()
        self.neck, self.head = neck, head

    def forward(self, tokens: Dict[str, torch.Tensor],
                keep: Optional[Dict[str, torch.Tensor]]) -> torch.Tensor:
        fused, _ = self.neck.fuse(tokens, keep)
        return self.head((fused, ))


def logits_through_frozen_fusion(
        model, tokens: Dict[str, torch.Tensor],
        keep: Optional[Dict[str, torch.Tensor]]) -> torch.Tensor:
    """The head's logits [B, K] on ``tokens`` (modalities removed where
    ``keep`` is 0), with the gradient reaching the tokens but not the neck's
    or the head's weights: they act as a fixed classifier (DGL's unimodal
    losses train the encoders only).
    """
    module = _NeckAndHead(model.neck, model.head)
    detached = {
        name: param.detach()
        for name, param in module.named_parameters()
    }
    return functional_call(module, detached, (tokens, keep))
