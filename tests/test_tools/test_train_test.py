"""tools/train.py, test.py and dist_train.sh on the embedded default."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from tests.helpers import free_port

# every test here launches the tools in subprocesses
pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAIN = osp.join(ROOT, 'configs', 'rollingq', 'rollingq_synthetic.py')
# a smaller embedded default keeps these end-to-end runs to seconds
SMALL = [
    'train_dataloader.dataset.num_samples=256',
    'val_dataloader.dataset.num_samples=128',
    'test_dataloader.dataset.num_samples=128'
]


def _run(args, **kwargs):
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    return result.stdout + result.stderr


def _train(work_dir, epochs=2, extra=()):
    return _run([
        sys.executable, 'tools/train.py', MAIN, '--work-dir',
        str(work_dir), '--cfg-options', f'train_cfg.max_epochs={epochs}',
        *SMALL, *extra
    ])


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


ROTATION = 'neck.layers.0.rolling_query.rotation'
COUNT = 'neck.layers.0.rolling_query.num_rotations'
QUERY = 'neck.layers.0.rolling_query'


def _history(checkpoint):
    """(epoch, rotated) of every RollingQ check kept in the checkpoint."""
    checks = checkpoint['meta']['rollingq_hook']['checks'][QUERY]
    return [(check['epoch'], check['rotated']) for check in checks]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('main_job')
    log = _train(work_dir)
    return work_dir, log


@pytest.fixture(scope='module')
def trained_capped(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('capped')
    _train(work_dir, extra=['custom_hooks.0.max_rotations=1'])
    return work_dir


def test_train_writes_a_rotated_checkpoint_and_logs_air(trained):
    work_dir, log = trained
    checkpoint = _load(work_dir / 'epoch_2.pth')
    state = checkpoint['state_dict']
    assert int(state[COUNT]) == 1  # the main job rotates once (the paper)
    assert not torch.allclose(state[ROTATION], torch.eye(64))
    assert _history(checkpoint) == [(1, True), (2, False)]
    assert 'RollingQ' in log and 'air:' in log and 'ROTATED' in log
    assert 'not rotated: cap reached (1 of max_rotations=1)' in log
    assert 'Summary of rollingq_synthetic' in log
    scalars = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    assert [r['step'] for r in records if 'rollingq/air' in r] == [1, 2]


def test_test_tool_prints_accuracy(trained):
    work_dir, _ = trained
    out = work_dir / 'metrics.json'
    log = _run([
        sys.executable, 'tools/test.py', MAIN,
        str(work_dir / 'epoch_2.pth'), '--work-dir',
        str(work_dir), '--out',
        str(out), '--cfg-options', *SMALL
    ])
    assert 'accuracy/top1' in log
    assert 0 <= json.load(open(out))['accuracy/top1'] <= 100


def test_resume_restores_rotation_and_respects_the_cap(trained_capped,
                                                       tmp_path):
    work_dir = trained_capped
    before = _load(work_dir / 'epoch_1.pth')['state_dict']
    resumed = tmp_path / 'resumed'
    _run([
        sys.executable, 'tools/train.py', MAIN, '--work-dir',
        str(resumed), '--resume',
        str(work_dir / 'epoch_1.pth'), '--cfg-options',
        'train_cfg.max_epochs=3', 'custom_hooks.0.max_rotations=1', *SMALL
    ])
    checkpoint = _load(resumed / 'epoch_3.pth')
    after = checkpoint['state_dict']
    assert int(after[COUNT]) == 1  # max_rotations=1: no second rotation
    assert torch.equal(after[ROTATION], before[ROTATION])
    # rotated only at epoch 1
    assert _history(checkpoint) == [(1, True), (2, False), (3, False)]


def test_dist_train_two_cpu_ranks_agree_on_the_rotation(tmp_path):
    config = tmp_path / 'ddp.py'
    config.write_text(
        f"_base_ = ['{MAIN}']\n"
        "custom_imports = dict(imports=['rollingq_mm', "
        "'tests.test_tools.rank_dump_hook'])\n"
        "custom_hooks = [dict(type='RollingQHook', max_rotations=2),\n"
        "                dict(type='DumpRotationHook', "
        f"out_dir='{tmp_path}')]\n")
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    _run([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=2',
        *SMALL
    ],
         env=env,
         timeout=600)
    rank0, rank1 = _load(tmp_path / 'rank0.pt'), _load(tmp_path / 'rank1.pt')
    rotation0 = rank0['neck.layers.0.rolling_query']
    assert not torch.allclose(rotation0, torch.eye(64))
    assert torch.equal(rotation0, rank1['neck.layers.0.rolling_query'])
    state = _load(tmp_path / 'work' / 'epoch_2.pth')['state_dict']
    assert int(state[COUNT]) == 2


def test_compile_trains_and_compiles_only_the_encoders(tmp_path):
    log = _run([
        sys.executable, 'tools/train.py', MAIN, '--compile', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=2', *SMALL
    ],
               env=dict(os.environ, TORCH_LOGS='recompiles'))
    assert "torch.compile({'dynamic': True}): ['encoders.audio', " \
        "'encoders.visual']" in log
    assert (tmp_path / 'epoch_2.pth').exists()
    # Graphs: audio and visual encoder (other channel count) x grad on/off
    # (training vs the statistics pass and validation), compiled once each:
    # nothing per batch size (dynamic batch), per epoch or per switch.
    graphs = {int(k) for k in re.findall(r'\[0/(\d+)\] \[__recompiles\]', log)}
    assert max(graphs, default=0) <= 3
    reasons = re.findall(r'- 0/\d+: (.*)', log)
    assert all('size mismatch at index 1' in r or 'grad_mode' in r
               for r in reasons), reasons
    state = _load(tmp_path / 'epoch_2.pth')['state_dict']
    assert not any('_orig_mod' in key for key in state)  # keys unchanged
