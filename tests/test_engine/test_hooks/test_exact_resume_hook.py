"""ExactResumeHook: interrupted + resumed == uninterrupted, tensor for tensor.

Each case trains the synthetic set for 4 epochs straight, and again with the
same config interrupted after epoch 2 and resumed with ``--resume``, and
compares every tensor of the final checkpoints.
"""
import os
import os.path as osp
import random
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rollingq_mm.engine.hooks.exact_resume_hook import (ExactResumeHook,
                                                        capture_random_state,
                                                        restore_random_state)
from tests.helpers import free_port

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SMALL = [
    'train_dataloader.dataset.num_samples=192',
    'val_dataloader.dataset.num_samples=64',
    'test_dataloader.dataset.num_samples=64'
]
CASES = {
    # attention + RollingQ, rotating at the end of epoch 1 (dropout 0.2)
    'rollingq': ('configs/rollingq/rollingq_synthetic.py', []),
    'ogm-ge-attention': ('configs/balance/ogm-ge-attention_synthetic.py', []),
    'pmr-attention': ('configs/balance/pmr-attention_synthetic.py', []),
    'mmpareto-concat': ('configs/balance/mmpareto-concat_synthetic.py', []),
}


def test_random_states_round_trip():
    saved = capture_random_state()
    drawn = (random.random(), np.random.rand(), torch.rand(3))
    restore_random_state(saved)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert drawn[:2] == again[:2] and torch.equal(drawn[2], again[2])
    values = [saved['python'], saved['numpy']]
    assert not any(isinstance(v, np.ndarray) for v in values)


def _interrupted(config, tmp_path, epoch=2):
    """``config`` with a hook that ends the run after ``epoch`` epochs."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.custom_imports = dict(
        imports=['rollingq_mm', 'tests.test_tools.interrupt_hook'])
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='InterruptAfterEpochHook', epoch=epoch)
    ]
    path = tmp_path / 'interrupted.py'
    cfg.dump(str(path))
    return str(path)


def _fake_runner(epoch, max_epochs=4, val_interval=2):
    loop = SimpleNamespace(
        val_begin=1, val_interval=val_interval, max_epochs=max_epochs)
    return SimpleNamespace(epoch=epoch, train_loop=loop, val_loop=object())


def test_each_checkpoint_gets_the_states_of_its_moment():
    hook = ExactResumeHook()
    checkpoint = dict(meta={})
    hook.before_save_checkpoint(_fake_runner(0), checkpoint)
    assert checkpoint['meta'] == {}  # not in a training run
    # after the 2nd epoch: validation follows its checkpoint
    hook.after_train_epoch(_fake_runner(1))
    hook.before_save_checkpoint(_fake_runner(1), checkpoint)
    saved = checkpoint['meta']['exact_resume']
    assert saved['validated'] and len(saved['random_states']) == 1
    torch.rand(5)  # validation draws
    hook.after_val_epoch(_fake_runner(2))
    hook.before_save_checkpoint(_fake_runner(2), checkpoint)  # a best one
    best = checkpoint['meta']['exact_resume']
    assert not best['validated']
    assert torch.equal(best['random_states'][0]['torch'],
                       torch.get_rng_state())
    # after the 3rd epoch of 4 with val_interval 2: no validation follows
    hook.after_train_epoch(_fake_runner(2))
    hook.before_save_checkpoint(_fake_runner(2), checkpoint)
    assert not checkpoint['meta']['exact_resume']['validated']
    hook.after_train_epoch(_fake_runner(3))  # the last epoch: it validates
    hook.before_save_checkpoint(_fake_runner(3), checkpoint)
    assert checkpoint['meta']['exact_resume']['validated']


def _train(config, work_dir, *extra, launcher=None, epochs=4):
    options = [f'train_cfg.max_epochs={epochs}', *SMALL]
    args = [config, '--work-dir', str(work_dir), *extra]
    if launcher:
        command = ['bash', 'tools/dist_train.sh', config, '2', *args[1:]]
    else:
        command = [sys.executable, 'tools/train.py', *args]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()))
    result = subprocess.run(
        command + ['--cfg-options', *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def _final_state(work_dir, epochs=4):
    checkpoint = torch.load(
        work_dir / f'epoch_{epochs}.pth',
        map_location='cpu',
        weights_only=False)
    return checkpoint['state_dict'], checkpoint['meta']


def _assert_same_run(straight, resumed):
    state, meta = _final_state(straight)
    other, other_meta = _final_state(resumed)
    assert state.keys() == other.keys()
    differ = {
        key: (state[key].double() - other[key].double()).abs().max().item()
        for key in state
        if state[key].is_floating_point() and not torch.allclose(
            state[key].double(), other[key].double(), rtol=0, atol=1e-6)
    }
    assert not differ, f'{len(differ)} of {len(state)} tensors differ: ' + \
        str(sorted(differ.items(), key=lambda item: -item[1])[:5])
    assert all(
        torch.equal(state[k], other[k]) for k in state
        if not state[k].is_floating_point())
    for key in ('rollingq_hook', 'balance_hook'):
        assert (key in meta) == (key in other_meta)
    if 'rollingq_hook' in meta:
        assert meta['rollingq_hook'] == other_meta['rollingq_hook']


@pytest.mark.slow
@pytest.mark.parametrize('case', list(CASES))
def test_a_resumed_run_is_the_run_it_replaces(tmp_path, case):
    config, extra = CASES[case]
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    _train(config, straight, *extra)
    _train(_interrupted(config, tmp_path), resumed, *extra)
    assert not (resumed / 'epoch_3.pth').exists()
    log = _train(config, resumed, '--resume', str(resumed / 'epoch_2.pth'),
                 *extra)
    assert 'random states restored' in log
    _assert_same_run(straight, resumed)


@pytest.mark.slow
def test_a_resumed_two_process_run_is_the_run_it_replaces(tmp_path):
    config, extra = CASES['rollingq']
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    _train(config, straight, *extra, launcher='pytorch')
    _train(_interrupted(config, tmp_path), resumed, *extra, launcher='pytorch')
    _train(
        config,
        resumed,
        '--resume',
        str(resumed / 'epoch_2.pth'),
        *extra,
        launcher='pytorch')
    _assert_same_run(straight, resumed)
