"""mmpretrain's own tools (tools/train.py, test.py, dist_train.sh from the
installed mmpretrain package) run our configs with only the plugin's
``custom_imports``, with the results of our tools/."""
import argparse
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests.helpers import free_port
from tests.test_tools.test_train_test import MAIN, ROOT, SMALL, _load

HOST_TOOLS = osp.join(
    importlib.util.find_spec('mmpretrain').submodule_search_locations[0],
    '.mim', 'tools')
CONFIGS = sorted(
    path for path in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)


def _run(args, check=True, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, env=env, **kwargs)
    if check:
        assert result.returncode == 0, (
            result.stdout[-3000:] + result.stderr[-3000:])
    return result


def _train(tool, work_dir, *extra):
    _run([
        *tool, MAIN, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2', *SMALL,
        *extra
    ])
    return work_dir


def _last_val_metrics(work_dir):
    """The last validation's metrics (timings left out) and its epoch."""
    scalars = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    last = [r for r in records if 'accuracy/top1' in r][-1]
    return {k: v for k, v in last.items() if k not in ('time', 'data_time')}


@pytest.fixture(scope='module')
def host_and_ours(tmp_path_factory):
    """The embedded default, 2 epochs, by mmpretrain's train.py and ours."""
    host = _train(
        [sys.executable, osp.join(HOST_TOOLS, 'train.py')],
        tmp_path_factory.mktemp('host'))
    ours = _train([sys.executable, 'tools/train.py'],
                  tmp_path_factory.mktemp('ours'))
    return host, ours


@pytest.mark.slow
def test_host_train_gives_our_final_metrics_and_weights(host_and_ours):
    host, ours = host_and_ours
    metrics = _last_val_metrics(host)
    assert metrics['step'] == 2
    assert metrics == _last_val_metrics(ours)  # every metric, exactly
    host_state = _load(host / 'epoch_2.pth')['state_dict']
    our_state = _load(ours / 'epoch_2.pth')['state_dict']
    assert host_state.keys() == our_state.keys()
    for key, value in our_state.items():
        assert torch.equal(host_state[key], value), key
    # RollingQ rotated under the host tool too (the hook came along)
    assert int(host_state['neck.layers.0.rolling_query.num_rotations']) == 1


@pytest.mark.slow
def test_mim_train_gives_our_final_metrics(host_and_ours, tmp_path):
    """``mim train mmpretrain CONFIG`` runs the same tools/train.py (openmim
    is not in our extras: skipped where it is not installed)."""
    pytest.importorskip('mim')
    _, ours = host_and_ours
    _train([sys.executable, '-m', 'mim', 'train', 'mmpretrain'], tmp_path)
    assert _last_val_metrics(tmp_path) == _last_val_metrics(ours)


@pytest.mark.slow
def test_host_test_gives_our_metrics(host_and_ours, tmp_path):
    host, _ = host_and_ours
    checkpoint = str(host / 'epoch_2.pth')
    _run([
        sys.executable,
        osp.join(HOST_TOOLS, 'test.py'), MAIN, checkpoint, '--work-dir',
        str(tmp_path), '--out',
        str(tmp_path / 'host.json'), '--out-item', 'metrics', '--cfg-options',
        *SMALL
    ])
    _run([
        sys.executable, 'tools/test.py', MAIN, checkpoint, '--work-dir',
        str(tmp_path), '--out',
        str(tmp_path / 'ours.json'), '--cfg-options', *SMALL
    ])
    host_metrics = json.load(open(tmp_path / 'host.json'))
    assert host_metrics == json.load(open(tmp_path / 'ours.json'))
    assert 'accuracy/top1' in host_metrics


@pytest.mark.slow
def test_host_test_loads_checkpoints_safely_and_strictly(
        host_and_ours, tmp_path):
    host, _ = host_and_ours
    checkpoint = _load(host / 'epoch_2.pth')
    checkpoint['state_dict']['neck.extra.weight'] = torch.zeros(1)
    path = tmp_path / 'extra_key.pth'
    torch.save(checkpoint, path)
    result = _run([
        sys.executable,
        osp.join(HOST_TOOLS, 'test.py'), MAIN,
        str(path), '--work-dir',
        str(tmp_path), '--cfg-options', *SMALL
    ],
                  check=False)
    assert result.returncode != 0
    assert 'neck.extra.weight' in result.stderr  # RobustRunner's check


@pytest.mark.slow
def test_host_dist_train_runs_two_cpu_ranks_like_ours(tmp_path):
    runs = {}
    for name, script in (('host', osp.join(HOST_TOOLS, 'dist_train.sh')),
                         ('ours', 'tools/dist_train.sh')):
        work_dir = tmp_path / name
        env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
        subprocess.run([
            'bash', script, MAIN, '2', '--work-dir',
            str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2', *SMALL
        ],
                       cwd=ROOT,
                       env=env,
                       check=True,
                       capture_output=True,
                       timeout=600)
        runs[name] = _last_val_metrics(work_dir)
        # every rank's random states, gathered from two processes
        meta = _load(work_dir / 'epoch_2.pth')['meta']
        assert len(meta['exact_resume']['random_states']) == 2
    assert runs['host'] == runs['ours']


# A user's mmpretrain config: mmpretrain's scope and runtime, our parts by
# their ``rollingq_mm.`` names, mmpretrain's ResNet as the encoders.
_USER_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['rollingq_mm'], allow_failed_imports=False)
resnet = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8)
model = dict(
    type='rollingq_mm.MultimodalClassifier',
    encoders=dict(audio=dict(resnet, in_channels=1), visual=resnet),
    neck=dict(type='AttentionFusion', embed_dims=64),
    head=dict(type='LinearClsHead', num_classes=8))
data = dict(type='rollingq_mm.SyntheticMultimodal', num_samples=64,
            modalities=['audio', 'visual'],
            pipeline=[dict(type='rollingq_mm.PackMultimodalInputs',
                           modalities=['audio', 'visual'])])
train_dataloader = dict(batch_size=16, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(data, split='train'))
val_dataloader = dict(batch_size=32, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(data, split='val', test_mode=True))
val_evaluator = dict(type='Accuracy', topk=(1, ))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
val_cfg = dict()
custom_hooks = [dict(type='rollingq_mm.RollingQHook')]
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1))
"""


@pytest.mark.slow
def test_a_users_mmpretrain_config_trains_with_the_host_tool(tmp_path):
    config = tmp_path / 'user_config.py'
    config.write_text(_USER_CONFIG)
    _run([
        sys.executable,
        osp.join(HOST_TOOLS, 'train.py'),
        str(config), '--work-dir',
        str(tmp_path), '--no-persistent-workers'
    ])
    state = _load(tmp_path / 'epoch_1.pth')['state_dict']
    assert 'encoders.audio.backbone.layer4.1.conv2.weight' in state
    assert int(state['neck.layers.0.rolling_query.num_rotations']) == 1
    assert 'accuracy/top1' in _last_val_metrics(tmp_path)


def _host_merge_args():
    """mmpretrain's tools/train.py ``merge_args`` (its dataloader defaults)."""
    spec = importlib.util.spec_from_file_location(
        'host_train', osp.join(HOST_TOOLS, 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.merge_args


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_every_config_survives_the_host_dataloader_defaults(path):
    args = argparse.Namespace(
        config=path,
        work_dir=None,
        resume=None,
        amp=False,
        no_validate=False,
        auto_scale_lr=False,
        no_pin_memory=False,
        no_persistent_workers=False,
        cfg_options=None,
        launcher='none')
    cfg = _host_merge_args()(Config.fromfile(path), args)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field)
        if loader is not None and loader.get('persistent_workers'):
            # torch's DataLoader refuses persistent workers without workers
            assert loader.get('num_workers', 0) > 0, field
    # mmpretrain's tool builds runner_type from mmengine's root registry
    from mmengine.registry import RUNNERS
    assert RUNNERS.get(cfg.runner_type).__name__ == 'RobustRunner'


_REGISTRATION = '''
import sys
import rollingq_mm  # what custom_imports does
assert 'torch' not in sys.modules  # the import itself stays cheap
import mmengine.registry as root
from mmengine.registry import DefaultScope
import mmpretrain.registry as mmpretrain
names = {names!r}
for registry, entries in names.items():
    for name, qualname in entries.items():
        for where in (getattr(mmpretrain, registry), getattr(root, registry)):
            found = where.get('rollingq_mm.' + name)
            assert found is not None, (registry, name, where.scope)
            assert found.__module__ + '.' + found.__qualname__ == qualname
        with DefaultScope.overwrite_default_scope('rollingq_mm'):
            with getattr(root, registry).switch_scope_and_registry(
                    None) as scoped:
                assert scoped.get(name) is not None, (registry, name)
print('checked', sum(map(len, names.values())))
'''


@pytest.mark.slow
def test_custom_imports_registers_everything_for_every_scope():
    """After only ``import rollingq_mm`` (what ``custom_imports`` does), every
    component resolves as ``rollingq_mm.X`` from mmpretrain's registries
    (``default_scope='mmpretrain'``) and mmengine's root ones (no default
    scope), and by its plain name under ``default_scope='rollingq_mm'``."""
    import rollingq_mm
    from rollingq_mm import registry
    for package in ('datasets', 'engine', 'evaluation', 'models'):
        getattr(rollingq_mm, package)  # import everything: the full list
    names = {}
    for key in (k for k in registry.__all__ if k.isupper()):  # registries
        module_dict = getattr(registry, key).module_dict
        if module_dict:
            names[key] = {
                name: f'{obj.__module__}.{obj.__qualname__}'
                for name, obj in module_dict.items()
            }
    assert {
        'RUNNERS', 'HOOKS', 'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS',
        'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS'
    } <= set(names)
    out = _run([sys.executable, '-c',
                _REGISTRATION.format(names=names)]).stdout
    assert out.strip() == f'checked {sum(map(len, names.values()))}'


@pytest.mark.slow
@pytest.mark.parametrize('config, options', [
    ('agm-concat_synthetic.py', []),
    ('rollingq+opm-attention_synthetic.py', ['model.balancer.start_epoch=0']),
    ('rollingq+inforeg-attention_synthetic.py', []),
    ('mla-sum_synthetic.py', []),
    ('sample-valuation-concat_synthetic.py',
     ['model.balancer.warmup_epochs=1']),
    ('relearning-concat_synthetic.py', ['model.balancer.interval=1']),
])
def test_host_train_runs_a_balance_method_as_ours(tmp_path, config, options):
    """A gradient method (AGM), a token method (OPM), an epoch-state
    method (InfoReg), and part 2's extension points — BalancedTrainLoop
    (MLA), WeightedResampler (valuation), the held-out pass (Re-learning) —
    through mmpretrain's train.py: the same final metrics as through
    ours."""
    path = osp.join(ROOT, 'configs', 'balance', config)
    results = []
    for tool in ([sys.executable, osp.join(HOST_TOOLS, 'train.py')],
                 [sys.executable, 'tools/train.py']):
        work_dir = tmp_path / str(len(results))
        _run([
            *tool, path, '--work-dir',
            str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2', *SMALL,
            *options
        ])
        results.append(_last_val_metrics(work_dir))
    assert results[0] == results[1]
    assert 'accuracy/top1' in results[0]
