"""One evaluation pass over a split, per sample, gathered over DDP ranks."""
from typing import Callable, Dict

import torch
from mmengine.dist import all_gather_object, get_world_size

from ..utils import eval_mode, preprocessed_batches

#: ``fn(model, data) -> {name: Tensor [B, ...]}`` on one preprocessed batch.
BatchFn = Callable[[object, dict], Dict[str, torch.Tensor]]


@torch.no_grad()
def per_sample_pass(model, loader, fn: BatchFn) -> Dict[str, torch.Tensor]:
    """``fn`` over every batch of ``loader`` (eval mode, no grad), one row
    per sample of the split.

    The rows of all DDP ranks are gathered and ordered by the samples'
    ``sample_idx`` (metainfo); a sample that DefaultSampler's round-up gave
    to two ranks is kept once. PMR's prototype pass, generalised: the
    balancers that value samples or modalities (Re-learning's purity,
    valuation's contributions) read a split through it.

    Args:
        model (MultimodalClassifier): The unwrapped model.
        loader (DataLoader): The split (not the test split).
        fn (callable): ``fn(model, data)`` with ``data`` the preprocessed
            batch (``inputs``, ``data_samples``), returning tensors [B, ...].

    Returns:
        dict[str, Tensor]: ``sample_idx`` [N] (sorted) and ``fn``'s keys
        [N, ...], on the CPU.

    Raises:
        KeyError: a sample without ``sample_idx``.
    """
    rows: Dict[str, list] = {}
    with eval_mode(model):
        for data in preprocessed_batches(model, loader):
            samples = data['data_samples']
            if any('sample_idx' not in s.metainfo for s in samples):
                raise KeyError(
                    'a per-sample pass needs each DataSample\'s sample_idx '
                    '(PackMultimodalInputs copies it from the dataset)')
            rows.setdefault('sample_idx', []).append(
                torch.tensor([int(s.sample_idx) for s in samples]))
            for name, value in fn(model, data).items():
                rows.setdefault(name, []).append(value.detach().float().cpu())
    local = {name: torch.cat(parts) for name, parts in rows.items()}
    if get_world_size() > 1:
        gathered = all_gather_object(local)
        local = {
            name: torch.cat([part[name] for part in gathered])
            for name in local
        }
    order = torch.argsort(local['sample_idx'], stable=True)
    indices = local['sample_idx'][order]
    first = torch.ones_like(indices, dtype=torch.bool)
    first[1:] = indices[1:] != indices[:-1]
    return {name: value[order][first] for name, value in local.items()}
