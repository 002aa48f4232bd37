"""A test-only hook: each rank saves its rotations after the run."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from rollingq_mm.models.rollingq import find_rolling_queries, unwrap_model
from rollingq_mm.registry import HOOKS


@HOOKS.register_module()
class DumpRotationHook(Hook):

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def after_run(self, runner) -> None:
        rotations = {
            name: query.rotation.clone()
            for name, query, _ in find_rolling_queries(runner.model)
        }
        torch.save(rotations, osp.join(self.out_dir, f'rank{get_rank()}.pt'))


@HOOKS.register_module()
class DumpParametersHook(Hook):
    """Each rank saves its model's parameters after the run."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def after_run(self, runner) -> None:
        model = unwrap_model(runner.model)
        torch.save({
            k: v.detach().clone()
            for k, v in model.named_parameters()
        }, osp.join(self.out_dir, f'params{get_rank()}.pt'))
