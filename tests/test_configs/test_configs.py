"""Every config in configs/ builds; the embedded-default ones train one step.

The paper configs (CREMA-D, Kinetics-Sounds, MOSEI) need data files: their
one-iteration runs on fixtures live in tests/test_datasets/.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import rollingq_mm  # noqa: F401
from rollingq_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    path for path in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)
SYNTHETIC = [path for path in CONFIGS if path.endswith('_synthetic.py')]


def _name(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


def test_configs_are_found():
    assert len(SYNTHETIC) >= 6  # rollingq + 5 baselines


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_loads_with_plugin_scope(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'rollingq_mm'
    assert 'rollingq_mm' in cfg.custom_imports['imports']
    assert {'model', 'train_dataloader', 'optim_wrapper'} <= set(cfg)


@pytest.mark.parametrize('path', SYNTHETIC, ids=_name)
def test_synthetic_config_trains_one_iteration(path):
    cfg = Config.fromfile(path)
    cfg.train_dataloader.dataset.num_samples = 16
    cfg.train_dataloader.batch_size = 8
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(cfg.model)
        loader = Runner.build_dataloader(cfg.train_dataloader)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log = model.train_step(next(iter(loader)), wrapper)
    assert torch.isfinite(log['loss'])
    assert model.modalities == cfg.train_dataloader.dataset.pipeline[-1][
        'modalities']
