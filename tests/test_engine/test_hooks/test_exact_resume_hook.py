"""ExactResumeHook's logic, step by step on a stand-in runner; the
end-to-end runs (interrupted + resumed == straight, with negative controls)
are in tests/test_engine/test_reproducibility.py."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rollingq_mm.engine.hooks.exact_resume_hook import ExactResumeHook
from rollingq_mm.utils.random_streams import (capture_random_state,
                                              restore_random_state)


def test_random_states_round_trip():
    saved = capture_random_state()
    drawn = (random.random(), np.random.rand(), torch.rand(3))
    restore_random_state(saved)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert drawn[:2] == again[:2] and torch.equal(drawn[2], again[2])
    values = [saved['python'], saved['numpy']]
    assert not any(isinstance(v, np.ndarray) for v in values)


def _fake_runner(epoch=0, num_workers=0, sampler=None, loop=None):
    from mmengine.runner import EpochBasedTrainLoop

    from rollingq_mm.datasets import SeededSampler
    loader = SimpleNamespace(
        num_workers=num_workers,
        sampler=sampler or object.__new__(SeededSampler))
    messages = []
    logger = SimpleNamespace(
        info=messages.append,
        warning=lambda text: messages.append('WARNING ' + text))
    return SimpleNamespace(
        epoch=epoch,
        train_loop=loop or object.__new__(EpochBasedTrainLoop),
        train_dataloader=loader,
        logger=logger,
        messages=messages)


def test_one_snapshot_per_epoch_serves_the_epoch_and_best_checkpoints():
    hook, runner = ExactResumeHook(), _fake_runner()
    checkpoint = dict(meta={})
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta'] == {}  # not in a training run
    hook.before_train(runner)
    torch.rand(3)  # the epoch's training draws
    hook.after_train_epoch(runner)
    at_epoch_end = torch.get_rng_state()
    hook.before_save_checkpoint(runner, checkpoint)  # the epoch's
    saved = checkpoint['meta']['exact_resume']['random_states']
    assert len(saved) == 1 and torch.equal(saved[0]['torch'], at_epoch_end)
    hook.before_val(runner)
    torch.rand(5), np.random.rand(), random.random()  # validation draws
    best = dict(meta={})
    hook.before_save_checkpoint(runner, best)  # written after validation
    assert torch.equal(
        best['meta']['exact_resume']['random_states'][0]['torch'],
        at_epoch_end)
    hook.after_val(runner)
    # training continues from the epoch's end, as a resumed run does
    assert torch.equal(torch.get_rng_state(), at_epoch_end)


def test_validation_outside_training_is_left_alone():
    hook, runner = ExactResumeHook(), _fake_runner()
    hook.before_val(runner)
    torch.rand(2)
    after_draws = torch.get_rng_state()
    hook.after_val(runner)
    assert torch.equal(torch.get_rng_state(), after_draws)


def test_a_resume_restores_this_ranks_states_before_training():
    hook, runner = ExactResumeHook(), _fake_runner()
    saved = capture_random_state()
    expected = torch.rand(4)
    hook.load_state_dict(runner, dict(random_states=[saved]))
    torch.manual_seed(123)  # mmengine seeds again on resume
    hook.before_train(runner)
    assert torch.equal(torch.rand(4), expected)
    assert any('random states restored' in m for m in runner.messages)


def test_another_process_count_starts_from_the_seed_with_a_warning():
    hook, runner = ExactResumeHook(), _fake_runner()
    saved = capture_random_state()
    hook.load_state_dict(runner, dict(random_states=[saved, saved]))
    torch.manual_seed(123)
    expected = torch.get_rng_state()
    hook.before_train(runner)
    assert torch.equal(torch.get_rng_state(), expected)
    assert any('2 process(es) but this run has 1' in m
               for m in runner.messages)


def test_a_release_3_state_restores_its_first_gpu_entry():
    saved = capture_random_state()
    expected = torch.rand(2)
    restore_random_state(dict(saved, cuda=[]))  # no GPU was visible
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize('setting, warned', [
    (dict(), None),
    (dict(num_workers=2, sampler=object()), 'use sampler=dict'),
    (dict(loop=object()), 'is not epoch-based'),
])
def test_settings_where_resume_cannot_be_exact_warn_at_start(setting, warned):
    hook, runner = ExactResumeHook(), _fake_runner(**setting)
    hook.before_train(runner)
    warnings = [m for m in runner.messages if m.startswith('WARNING')]
    if warned is None:
        assert not warnings
    else:
        assert len(warnings) == 1 and warned in warnings[0]
