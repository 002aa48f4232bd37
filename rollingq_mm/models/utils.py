"""Small helpers shared by necks, the classifier and the passes over data
that hooks and balancers make."""
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
from torch import nn

from rollingq_mm.registry import MODELS

POOL_MODES = ('cls', 'mean')


def build_module(cfg: dict) -> nn.Module:
    """Build a sub-module from our MODELS registry, whatever the default scope.

    Plain names resolve in ``rollingq_mm`` and then mmpretrain, so a parent
    model built from another project's config (``rollingq_mm.X`` types) still
    builds its encoders, neck and head.
    """
    with MODELS.switch_scope_and_registry('rollingq_mm') as registry:
        return registry.build(cfg)


def pool_tokens(tokens: torch.Tensor, pool: str) -> torch.Tensor:
    """Pool tokens [B, N, D] to [B, D]: the first (CLS) token or the mean."""
    if pool == 'cls':
        return tokens[:, 0]
    if pool == 'mean':
        return tokens.mean(dim=1)
    raise ValueError(f'unknown pool {pool!r}; choose one of {POOL_MODES}')


def check_pool(pool: str) -> str:
    """Validate a pooling mode at construction time."""
    if pool not in POOL_MODES:
        raise ValueError(f'unknown pool {pool!r}; choose one of {POOL_MODES}')
    return pool


def resolve_pools(pool: Optional[str], cls_tokens: Dict[str, bool],
                  sources: Dict[str, str], what: str) -> Dict[str, str]:
    """Each modality's pooling: ``pool`` where given, else CLS where the
    modality's encoder has a CLS token, else the mean.

    Args:
        pool (str, optional): ``'cls'``, ``'mean'`` or None.
        cls_tokens (dict[str, bool]): Whether token 0 of each modality is a
            CLS token, in modality order.
        sources (dict[str, str]): A name for each modality's encoder.
        what (str): The argument that set ``pool`` (e.g. ``'probe_pool'``),
            for messages.

    Returns:
        dict[str, str]: ``'cls'`` or ``'mean'`` per modality.

    Raises:
        ValueError: ``pool='cls'`` for a modality without a CLS token (token
            0 would be an ordinary token, silently).
    """
    if pool is not None:
        check_pool(pool)
    pools = {}
    for name, has_cls in cls_tokens.items():
        if pool == 'cls' and not has_cls:
            raise ValueError(
                f'{what}=\'cls\': modality {name!r} (encoder '
                f'{sources.get(name, "?")}) has no CLS token, so token 0 is '
                f'an ordinary token; use \'mean\' or leave {what} unset '
                '(then mean for it, CLS where there is one)')
        pools[name] = pool or ('cls' if has_cls else 'mean')
    return pools


def concat_modalities(
        tokens: Dict[str, torch.Tensor],
        offset: int = 0) -> Tuple[torch.Tensor, Dict[str, slice]]:
    """Concatenate per-modality tokens along the token axis.

    Args:
        tokens (dict[str, Tensor]): Tokens [B, N_m, D] per modality.
        offset (int): Index of the first modality token in the final sequence
            (1 when a CLS token will be put in front). Defaults to 0.

    Returns:
        tuple: tokens [B, ΣN_m, D] and each modality's slice in the final
        sequence.
    """
    slices, start = {}, offset
    for name, value in tokens.items():
        if value.dim() != 3:
            raise ValueError(f'modality {name!r}: expected tokens [B, N, D], '
                             f'got shape {tuple(value.shape)}')
        slices[name] = slice(start, start + value.shape[1])
        start += value.shape[1]
    return torch.cat(list(tokens.values()), dim=1), slices


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block, its own mode again after
    (also when the block raises)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def preprocessed_batches(model: nn.Module,
                         loader,
                         max_batches: Optional[int] = None) -> Iterator[dict]:
    """The first ``max_batches`` batches of ``loader`` (all if None) through
    the model's data preprocessor, as for evaluation (no augmentation).

    For the extra passes over the training data that RollingQHook
    (``stats='pass'``) and PMR (prototypes) make; run them under
    :func:`eval_mode` and ``torch.no_grad()``.

    Yields:
        dict: ``inputs`` and ``data_samples``, as ``model(**data)`` takes.
    """
    for index, data in enumerate(loader):
        if max_batches is not None and index >= max_batches:
            return
        yield model.data_preprocessor(data, False)
