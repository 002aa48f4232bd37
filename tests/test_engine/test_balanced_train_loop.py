"""BalancedTrainLoop: an iteration is the balancer's phases, each a step of
the model's own train_step; the checks before the first iteration; DDP's
find_unused_parameters set for methods with partial graphs."""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from rollingq_mm.engine.runner import PartialGraphsMixin
from tests.helpers import tiny_classifier

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class RecordIterations(Hook):
    """Records what the hooks see of each iteration."""

    def __init__(self):
        self.outputs, self.before, self.steps = [], 0, 0

    def before_train(self, runner):
        optimizer = runner.optim_wrapper.optimizer
        step = optimizer.step

        def counted(*args, **kwargs):
            self.steps += 1
            return step(*args, **kwargs)

        optimizer.step = counted

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before += 1

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.outputs.append(dict(outputs))


def _runner(tmp_path, config, **changes):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/balance', config))
    cfg.work_dir = str(tmp_path)
    # one visualizer / scope instance per runner of this process
    cfg.experiment_name = f'{osp.splitext(config)[0]}_{tmp_path.name}'
    cfg.train_dataloader.dataset.num_samples = 64
    cfg.train_dataloader.batch_size = 16
    cfg.val_dataloader.dataset.num_samples = 32
    cfg.test_dataloader.dataset.num_samples = 32
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.merge_from_dict(changes)
    return Runner.from_cfg(cfg)


def test_an_iteration_is_one_step_per_phase(tmp_path):
    runner = _runner(tmp_path, 'mla-sum_synthetic.py')
    record = RecordIterations()
    runner.register_hook(record)
    runner.train()
    assert runner.iter == record.before == len(record.outputs) == 4
    assert record.steps == 2 * 4  # audio, then visual, every iteration
    for outputs in record.outputs:
        assert torch.allclose(
            outputs['loss'],
            outputs['loss_audio'] + outputs['loss_probe_audio'] +
            outputs['loss_visual'] + outputs['loss_probe_visual'])


def test_a_phased_method_refuses_the_plain_loop(tmp_path):
    runner = _runner(
        tmp_path,
        'mla-sum_synthetic.py',
        train_cfg=dict(
            _delete_=True, by_epoch=True, max_epochs=1, val_interval=1))
    record = RecordIterations()
    runner.register_hook(record)
    with pytest.raises(RuntimeError, match="'BalancedTrainLoop'"):
        runner.train()
    assert record.before == 0  # before the first iteration


def test_without_phases_it_is_the_epoch_loop(tmp_path):
    """A balancer without phases (OGM-GE) trains the same in both loops."""
    results = []
    for loop in ('EpochBasedTrainLoop', 'BalancedTrainLoop'):
        torch.manual_seed(0)
        runner = _runner(
            tmp_path / loop,
            'ogm-ge-concat_synthetic.py',
            train_cfg=dict(
                _delete_=True, type=loop, max_epochs=1, val_interval=1))
        runner.train()
        results.append(copy.deepcopy(runner.model.state_dict()))
    for key, value in results[0].items():
        assert torch.equal(value, results[1][key]), key


class _Wrapping:
    """Stands in for mmengine's Runner.wrap_model: returns its config."""

    def wrap_model(self, model_wrapper_cfg, model):
        return model_wrapper_cfg


class _Runner(PartialGraphsMixin, _Wrapping):

    def __init__(self, distributed):
        self.distributed = distributed
        self.logger = SimpleNamespace(info=lambda message: None)


def test_partial_graphs_get_find_unused_parameters():
    mla = tiny_classifier(
        neck=dict(type='SumFusion', embed_dims=16), balancer=dict(type='MLA'))
    cfg = _Runner(True).wrap_model(None, mla)
    assert cfg['find_unused_parameters'] is True
    assert cfg['type'] == 'MMDistributedDataParallel'
    assert _Runner(True).wrap_model(
        dict(type='MMDistributedDataParallel', broadcast_buffers=True),
        mla) == dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=True,
            find_unused_parameters=True)
    with pytest.raises(ValueError, match='find_unused_parameters'):
        _Runner(True).wrap_model(dict(find_unused_parameters=False), mla)
    # not distributed, or a method whose graph is whole: mmengine's own
    assert _Runner(False).wrap_model(None, mla) is None
    assert _Runner(True).wrap_model(
        None, tiny_classifier(balancer=dict(type='OGMGE'))) is None
