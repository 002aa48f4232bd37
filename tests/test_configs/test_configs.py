"""Every config in configs/ builds; the embedded-default ones train one step.

The paper configs (CREMA-D, Kinetics-Sounds, MOSEI) need data files: their
one-iteration runs on fixtures live in tests/test_datasets/.
"""
import glob
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import rollingq_mm  # noqa: F401
from rollingq_mm.registry import MODELS
from tests.helpers import (hook_balancer, stand_in_gblending_weights,
                           stand_in_teachers)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    path for path in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)
SYNTHETIC = [path for path in CONFIGS if path.endswith('_synthetic.py')]
AV_DIGITS = [path for path in CONFIGS if '_av-digits' in path]
# The fast lane (-m "not slow") trains these; the full suite trains them all.
FAST = ('rollingq/rollingq_synthetic.py',
        'balance/ogm-ge-attention_synthetic.py',
        'balance/pmr-concat_synthetic.py',
        'balance/mmpareto-concat_synthetic.py', 'baselines/sum_synthetic.py',
        'av_digits/rollingq_vit-tiny_1xb64_av-digits.py')


def _name(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


def _lanes(paths):
    """Each path as a parameter, marked slow unless it is in FAST."""
    return [
        pytest.param(
            path, marks=[] if _name(path) in FAST else [pytest.mark.slow])
        for path in paths
    ]


def test_configs_are_found():
    assert len(SYNTHETIC) >= 6  # rollingq + 5 baselines


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_loads_with_plugin_scope(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'rollingq_mm'
    assert 'rollingq_mm' in cfg.custom_imports['imports']
    assert {'model', 'train_dataloader', 'optim_wrapper'} <= set(cfg)


def _one_iteration(cfg):
    """Build model, loader and optim wrapper; train one step."""
    import tempfile

    from mmengine.optim import build_optim_wrapper
    stand_in_gblending_weights(cfg)
    stand_in_teachers(cfg, Path(tempfile.mkdtemp()))
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(cfg.model)
        loader = Runner.build_dataloader(cfg.train_dataloader)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    hook_balancer(model, loader)  # what BalanceHook does before epoch 1
    batch = next(iter(loader))
    balancer = model.balancer
    if balancer is not None and balancer.steps_in_phases:
        for phase in balancer.iteration_phases():  # as BalancedTrainLoop
            with balancer.in_phase(phase):
                log = model.train_step(batch, wrapper)
                assert torch.isfinite(log['loss'])
    else:
        log = model.train_step(batch, wrapper)
        assert torch.isfinite(log['loss'])
    assert model.modalities == cfg.train_dataloader.dataset.pipeline[-1][
        'modalities']


@pytest.mark.parametrize('path', _lanes(SYNTHETIC), ids=_name)
def test_synthetic_config_trains_one_iteration(path):
    cfg = Config.fromfile(path)
    cfg.train_dataloader.dataset.num_samples = 16
    cfg.train_dataloader.batch_size = 8
    _one_iteration(cfg)


@pytest.fixture(scope='module')
def av_digits_stand_in(tmp_path_factory):
    """Random arrays in AV-Digits' layout (the real set needs a clone)."""
    root = tmp_path_factory.mktemp('av_digits')
    rng = np.random.default_rng(0)
    np.savez(
        root / 'train.npz',
        audio=rng.standard_normal((16, 1, 32, 64)).astype('f4'),
        visual=rng.standard_normal((16, 1, 8, 8)).astype('f4'),
        label=np.arange(16) % 10,
        corrupted=np.array(['', 'audio', 'visual', ''] * 4))
    return str(root)


@pytest.mark.parametrize('path', _lanes(AV_DIGITS), ids=_name)
def test_av_digits_config_trains_one_iteration(path, av_digits_stand_in):
    cfg = Config.fromfile(path)
    cfg.train_dataloader.dataset.data_root = av_digits_stand_in
    cfg.train_dataloader.batch_size = 8
    _one_iteration(cfg)
