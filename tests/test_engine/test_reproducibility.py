"""Reproducible anywhere: end-to-end runs of tools/train.py.

Each case trains the synthetic set for 4 epochs with the paper configs'
loader setting (2 persistent workers), a training augmentation that draws
from NumPy's, Python's and torch's global generators in the workers, and a
hook that draws from all three in the main process after every iteration —
so that every claim below fails when the feature behind it is switched off
(the negative controls here show it):

* interrupted after epoch 2 and resumed equals 4 straight epochs: weights,
  optimiser and scheduler state, RollingQ history, balancer state and the
  saved random states (RollingQ rotates again after the resume);
* without ExactResumeHook the resumed weights differ;
* 0 workers and 2 persistent workers give the same weights; with
  mmengine's DefaultSampler they do not;
* a kill -9 in the middle of a checkpoint write, or at a random moment,
  followed by ``--resume`` ends with the straight run's weights;
* two processes (``dist_train.sh``) resume exactly too.
"""
import os
import os.path as osp
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from tests.helpers import free_port, stand_in_gblending_weights

pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EPOCHS = 4
SMALL = [
    'train_dataloader.dataset.num_samples=192',
    'val_dataloader.dataset.num_samples=64',
    'test_dataloader.dataset.num_samples=64'
]
WORKERS = [
    'train_dataloader.num_workers=2',
    'train_dataloader.persistent_workers=True'
]
NO_WORKERS = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False'
]
CASES = {
    # attention + RollingQ (dropout 0.2), rotating at the ends of epochs
    # 1, 2 and 3: the third after the resume
    'rollingq': ('configs/rollingq/rollingq_synthetic.py',
                 ['custom_hooks.0.max_rotations=3']),
    'ogm-ge-attention': ('configs/balance/ogm-ge-attention_synthetic.py', []),
    'pmr-attention': ('configs/balance/pmr-attention_synthetic.py', []),
    'mmpareto-concat': ('configs/balance/mmpareto-concat_synthetic.py', []),
    # running scores S_m in the state
    'agm-concat': ('configs/balance/agm-concat_synthetic.py', []),
    # a torch draw per step (gate, per-sample masks) on top of RollingQ
    'opm-attention': ('configs/balance/rollingq+opm-attention_synthetic.py',
                      ['model.balancer.start_epoch=0']),
    # the Fisher-trace history that sets the window; epoch-start anchors
    'inforeg-attention':
    ('configs/balance/rollingq+inforeg-attention_synthetic.py', []),
    'gblending-concat': ('configs/balance/gblending-concat_synthetic.py', []),
    # BalancedTrainLoop's two steps per iteration; the projection P and its
    # step count in the state
    'mla-attention': ('configs/balance/mla-attention_synthetic.py',
                      ['model.balancer.projection=True']),
    # the stage from the epoch: a modality's stage (epoch 2) after resuming
    # at a correction's end; boost_rate in the model
    'reconboost-sum': ('configs/balance/reconboost-sum_synthetic.py', []),
    # θ_init in the state; re-initialisations after epochs 2, 3 and 4, the
    # last two after the resume
    'relearning-concat': ('configs/balance/relearning-concat_synthetic.py',
                          ['model.balancer.interval=1']),
    # the re-sampling plan in the state, set on WeightedResampler again
    # after the resume (epochs 2-4 re-sample)
    'sample-valuation-concat':
    ('configs/balance/sample-valuation-concat_synthetic.py',
     ['model.balancer.warmup_epochs=1']),
    # LFM's learned weight (a held-out Hessian step after every epoch; from
    # the middle and a large step, so that it moves, unclipped)
    'lfm-learned-concat': ('configs/balance/lfm-concat_synthetic.py', [
        'model.balancer.schedule=learned', 'model.balancer.align_weight=0.5',
        'model.balancer.lr_alpha=10000000.0'
    ]),
}


def _config(tmp_path, case, *hooks):
    """The case's config with the random-drawing augmentation and hook (and
    ``hooks``), dumped under ``tmp_path``."""
    cfg = stand_in_gblending_weights(
        Config.fromfile(osp.join(ROOT, CASES[case][0])))
    cfg.custom_imports = dict(imports=[
        'rollingq_mm', 'tests.test_tools.interrupt_hook',
        'tests.test_tools.random_draws'
    ])
    dataset = cfg.train_dataloader.dataset
    dataset.pipeline = [dict(type='GlobalRandomJitter', key='audio')] + list(
        dataset.pipeline)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='MainProcessDrawsHook')
    ] + list(hooks)
    name = '_'.join([case] + [h['type'] for h in hooks])
    path = tmp_path / f'{name}.py'
    cfg.dump(str(path))
    return str(path)


def _command(config, work_dir, options, extra, processes=1):
    args = [config, '--work-dir', str(work_dir), *extra]
    if processes > 1:
        command = ['bash', 'tools/dist_train.sh', config, str(processes)]
        command += args[1:]
    else:
        command = [sys.executable, 'tools/train.py', *args]
    return command + [
        '--cfg-options', f'train_cfg.max_epochs={EPOCHS}', *SMALL, *options
    ]


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()))


def _train(config, work_dir, options=(), extra=(), processes=1):
    result = subprocess.run(
        _command(config, work_dir, options, extra, processes),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def _load(work_dir, epoch=EPOCHS):
    return torch.load(
        work_dir / f'epoch_{epoch}.pth',
        map_location='cpu',
        weights_only=False)


def _differences(a, b, where='', tolerance=1e-6):
    """Where two nested checkpoint entries differ (tensors to
    ``tolerance``, everything else exactly)."""
    if torch.is_tensor(a) and torch.is_tensor(b):
        if a.shape != b.shape or a.dtype != b.dtype:
            return [
                f'{where}: {tuple(a.shape)} {a.dtype} vs '
                f'{tuple(b.shape)} {b.dtype}'
            ]
        if a.is_floating_point():
            gap = (a.double() - b.double()).abs().max().item() \
                if a.numel() else 0.0
            return [f'{where}: {gap:.3g}'] if gap > tolerance else []
        return [] if torch.equal(a, b) else [f'{where}: values']
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f'{where}: keys {sorted(set(a) ^ set(b))}']
        return [d for k in a for d in _differences(a[k], b[k], f'{where}.{k}')]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f'{where}: length {len(a)} vs {len(b)}']
        return [
            d for i, (x, y) in enumerate(zip(a, b))
            for d in _differences(x, y, f'{where}[{i}]')
        ]
    return [] if a == b else [f'{where}: {a!r} vs {b!r}'[:200]]


META_KEYS = ('rollingq_hook', 'balance_hook', 'exact_resume')


def _run_differences(straight, other):
    """Every difference between the final checkpoints of two runs: weights,
    optimiser and schedulers, and the hooks' state in the meta."""
    a, b = _load(straight), _load(other)
    found = []
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        found += _differences(a[key], b[key], key)
    for key in META_KEYS:
        found += _differences(a['meta'].get(key), b['meta'].get(key), key)
    return found


def _weight_differences(straight, other):
    return _differences(
        _load(straight)['state_dict'],
        _load(other)['state_dict'], 'weights')


@pytest.fixture(scope='module')
def runs_of(tmp_path_factory):
    """``runs_of(case)``: the case straight (4 epochs) and interrupted after
    epoch 2, both with 2 persistent workers, trained once per module."""
    done = {}

    def runs(case):
        if case not in done:
            tmp_path = tmp_path_factory.mktemp(case)
            config = _config(tmp_path, case)
            straight = tmp_path / 'straight'
            interrupted = tmp_path / 'interrupted'
            _train(config, straight, _options(case, WORKERS))
            _train(
                _config(tmp_path, case,
                        dict(type='InterruptAfterEpochHook', epoch=2)),
                interrupted, _options(case, WORKERS))
            done[case] = (case, config, straight, interrupted)
        return done[case]

    return runs


@pytest.fixture(params=list(CASES))
def case_runs(request, runs_of):
    return runs_of(request.param)


@pytest.fixture
def rollingq_runs(runs_of):
    return runs_of('rollingq')


def _options(case, *groups):
    """The case's own cfg-options, then ``groups``'."""
    return [*CASES[case][1], *(o for group in groups for o in group)]


def _resume(case, config, interrupted, work_dir, options=(), processes=1):
    """Resume ``interrupted``'s epoch 2 into ``work_dir`` (a copy, so that
    each resume starts from the same files)."""
    shutil.copytree(interrupted, work_dir)
    return _train(config, work_dir, _options(case, WORKERS, options),
                  ['--resume', str(work_dir / 'epoch_2.pth')], processes)


def test_a_resumed_run_is_the_run_it_replaces(case_runs, tmp_path):
    case, config, straight, interrupted = case_runs
    assert (interrupted / 'epoch_2.pth').exists()
    assert not (interrupted / 'epoch_3.pth').exists()
    log = _resume(case, config, interrupted, tmp_path / 'resumed')
    assert 'random states restored' in log
    assert _run_differences(straight, tmp_path / 'resumed') == []
    if case == 'rollingq':
        checks = _load(straight)['meta']['rollingq_hook']['checks']
        history = [(c['epoch'], c['rotated'])
                   for c in checks['neck.layers.0.rolling_query']]
        assert history == [(1, True), (2, True), (3, True), (4, False)]


def test_without_the_hook_the_resumed_run_differs(rollingq_runs, tmp_path):
    case, config, straight, interrupted = rollingq_runs
    log = _resume(case, config, interrupted, tmp_path / 'resumed',
                  ['default_hooks.exact_resume=None'])
    assert 'random states restored' not in log
    assert _weight_differences(straight, tmp_path / 'resumed')


def test_the_number_of_workers_does_not_change_the_run(rollingq_runs,
                                                       tmp_path):
    case, config, straight, _ = rollingq_runs
    _train(config, tmp_path / 'no_workers', _options(case, NO_WORKERS))
    assert _run_differences(straight, tmp_path / 'no_workers') == []
    # negative control: mmengine's sampler, the pipeline drawing from each
    # worker's generators
    default = ['train_dataloader.sampler.type=DefaultSampler']
    _train(config, tmp_path / 'default_0', _options(case, NO_WORKERS, default))
    _train(config, tmp_path / 'default_2', _options(case, WORKERS, default))
    assert _weight_differences(tmp_path / 'default_0', tmp_path / 'default_2')


def test_a_kill_during_a_checkpoint_write_then_resume(rollingq_runs, tmp_path):
    case, config, straight, _ = rollingq_runs
    killed = tmp_path / 'killed'
    result = subprocess.run(
        _command(
            _config(tmp_path, case,
                    dict(type='KillDuringCheckpointWriteHook', epoch=3)),
            killed, _options(case, WORKERS), []),
        cwd=ROOT,
        capture_output=True,
        env=_env(),
        timeout=900)
    assert result.returncode == -signal.SIGKILL
    half_written = killed / 'epoch_3.pth'
    assert half_written.exists()
    assert (killed / 'last_checkpoint').read_text().endswith('epoch_2.pth')
    # --resume without a path: the last checkpoint that was written whole
    _train(config, killed, _options(case, WORKERS), ['--resume'])
    assert _run_differences(straight, killed) == []


def test_a_kill_at_a_random_moment_then_resume(rollingq_runs, tmp_path):
    case, config, straight, _ = rollingq_runs
    delay = random.uniform(4.0, 14.0)  # import, start-up, epochs, writes
    killed = tmp_path / 'killed'
    process = subprocess.Popen(
        _command(config, killed, _options(case, WORKERS), []),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        start_new_session=True)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)  # the run and its workers
    process.wait()
    _train(config, killed, _options(case, WORKERS), ['--resume'])
    assert _run_differences(straight, killed) == [], f'killed after {delay}s'


def test_two_processes_resume_exactly(rollingq_runs, tmp_path):
    case, config, _, _ = rollingq_runs
    straight, interrupted = tmp_path / 'straight', tmp_path / 'interrupted'
    _train(config, straight, _options(case, WORKERS), processes=2)
    _train(
        _config(tmp_path, case, dict(type='InterruptAfterEpochHook', epoch=2)),
        interrupted,
        _options(case, WORKERS),
        processes=2)
    assert not (interrupted / 'epoch_3.pth').exists()
    log = _resume(case, config, interrupted, tmp_path / 'resumed', processes=2)
    assert 'random states restored (torch, CUDA, NumPy, python) for rank 0' \
        in log
    # rank 1's saved states are compared too: it restored its own
    assert len(_load(straight)['meta']['exact_resume']['random_states']) == 2
    assert _run_differences(straight, tmp_path / 'resumed') == []
