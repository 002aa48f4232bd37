"""RollingQuery: the rotation state of one attention's CLS query."""
from typing import List, Tuple

import torch
from mmengine.model import is_model_wrapper
from torch import nn

from rollingq_mm.registry import MODELS


@MODELS.register_module()
class RollingQuery(nn.Module):
    """Rotation state of a CLS query: q ← R·q, with R accumulated by rotations.

    Any attention module can embed one: call it on the CLS query rows after
    the W_Q projection (``q_cls = rolling_query(q_cls)``) and return an
    :class:`~rollingq_mm.models.records.AttentionRecord` of the rotated
    queries and the keys as the last element of the module's output;
    :class:`RollingQHook` finds every RollingQuery in a model and reads those
    records while it collects statistics (see ``records.py``).

    It holds only what inference and the rotation cap need, as persistent
    buffers (so in every checkpoint): ``rotation`` (R [d, d], identity at
    start) and ``num_rotations``. The statistics and the record of each
    check belong to the hook.

    Args:
        dim (int): Query dimension d (all heads together).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer('rotation', torch.eye(dim))
        self.register_buffer('num_rotations', torch.zeros((),
                                                          dtype=torch.long))
        # A host-side mirror of ``num_rotations > 0``, so that forward needs no
        # device sync and an unrotated query is returned bit for bit.
        self._rotated = False
        self.register_load_state_dict_post_hook(_sync_rotated_flag)

    def forward(self, q_cls: torch.Tensor) -> torch.Tensor:
        """Rotate the CLS queries.

        Args:
            q_cls (Tensor): CLS queries [B, d] (or [..., d]).

        Returns:
            Tensor: ``R q`` for every row, same shape and dtype.
        """
        if not self._rotated:
            return q_cls
        # In float32 even under autocast: a bf16 R is no longer orthogonal.
        with torch.autocast(q_cls.device.type, enabled=False):
            rotated = q_cls.float() @ self.rotation.t()
        return rotated.to(q_cls.dtype)

    @torch.no_grad()
    def rotate(self, rotation: torch.Tensor) -> None:
        """Compose a new rotation: R ← R_b · R.

        Args:
            rotation (Tensor): R_b [d, d].
        """
        if rotation.shape != self.rotation.shape:
            raise ValueError(f'rotation has shape {tuple(rotation.shape)}, '
                             f'expected {tuple(self.rotation.shape)}')
        composed = rotation.to(self.rotation.device, torch.float64) @ \
            self.rotation.to(torch.float64)
        self.rotation.copy_(composed.to(self.rotation.dtype))
        self.num_rotations += 1
        self._rotated = True

    def extra_repr(self) -> str:
        return f'dim={self.dim}'


def _sync_rotated_flag(query: RollingQuery, incompatible_keys) -> None:
    """After a state dict is loaded: the host flag follows the count."""
    query._rotated = bool(query.num_rotations.item() > 0)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside any (nested) mmengine / torch model wrapper."""
    while is_model_wrapper(model):
        model = model.module
    return model


def find_rolling_queries(
        model: nn.Module) -> List[Tuple[str, RollingQuery, nn.Module]]:
    """Every RollingQuery in ``model`` (unwrapped), in module order.

    Returns:
        list[tuple]: ``(name, query, owner)``, where ``owner`` is the module
        that holds the query (the attention whose output carries the
        :class:`AttentionRecord`).
    """
    found = []
    for owner_name, owner in unwrap_model(model).named_modules():
        for child_name, child in owner.named_children():
            if isinstance(child, RollingQuery):
                name = f'{owner_name}.{child_name}' if owner_name else \
                    child_name
                found.append((name, child, owner))
    return found
