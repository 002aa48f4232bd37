"""Every balancer trains under bf16 autocast through the AMP optim wrapper.

mmengine's AmpOptimWrapper refuses to be built without a GPU (an assertion
on ``is_cuda_available``); everything else it does runs on the CPU:
``autocast(dtype=torch.bfloat16)`` becomes CPU autocast, and a GradScaler
on a machine without CUDA disables itself (with bf16 we build none that
acts, as ``tools/train.py --amp`` does). So these tests build the wrapper
with that one check patched, and run one real training step of each
balancer with concat fusion of ResNet-18-style encoders and attention +
RollingQ of ViTs, in CPU bf16 autocast. What stays untested without a GPU:
CUDA kernels, fp16 (CPU autocast is bf16 here) and the GradScaler's
overflow skips.
"""

import pytest
import torch
from mmpretrain.structures import DataSample

from rollingq_mm.engine import BalancedAmpOptimWrapper
from tests.helpers import (TINY_RESNET, TINY_VIT, hook_balancer,
                           set_runtime_info, tiny_classifier)

# balancer config, and whether the model has unimodal (aux) heads
BALANCERS = {
    'none': (None, False),
    'aux': (None, True),  # the unimodal auxiliary losses alone
    'ogm-ge': (dict(type='OGMGE'), False),
    'pmr': (dict(type='PMR'), False),
    'mmpareto': (dict(type='MMPareto'), True),  # needs unimodal losses
    'agm': (dict(type='AGM'), False),
    'agm-tokens': (dict(type='AGM', mask='tokens'), False),
    'inforeg': (dict(type='InfoReg'), True),  # aux heads for attention
    'opm': (dict(type='OPM', start_epoch=0, p_exe=1.), False),
    'ogm+': (dict(type='OGMGE', boost=4.0), False),
    'mbsd': (dict(type='MBSD'), True),
    'gblending': (dict(
        type='GBlending', weights=dict(fused=0.4, audio=0.3,
                                       visual=0.3)), True),
    'dgl': (dict(type='DGL'), False),
    'cml': (dict(type='CML'), False),
    'mmcosine': (dict(type='MMCosine'), False),
    'mla': (dict(type='MLA', projection=True), False),
    'reconboost': (dict(type='ReconBoost', stage_epochs=1,
                        correction_epochs=1), False),
    'lfm': (dict(type='LFM'), False),
    'amco': (dict(type='AMCo'), False),
}
#: Methods defined for fusions linear in each modality only.
LINEAR_FUSION_ONLY = {'mmcosine', 'lfm', 'amco'}
#: Methods that train each modality through a shared head: on the ResNets
#: a sum of the two 64-d features (the authors' shared Linear) for concat.
SHARED_HEAD = {'mla', 'reconboost'}
MODELS = {
    # the imbalance literature's concat of two ResNet-18s (tiny widths)
    'concat-resnet18': (dict(
        audio=dict(TINY_RESNET, in_channels=1),
        visual=dict(TINY_RESNET,
                    in_channels=3)), dict(type='ConcatFusion'), 32),
    # the paper's attention fusion with RollingQ over ViTs
    'attention-vit':
    (dict(audio=dict(TINY_VIT, in_chans=1), visual=dict(TINY_VIT, in_chans=3)),
     dict(type='AttentionFusion', embed_dims=16, rolling=True), 16),
}


def _batch(size, batch=4):
    return dict(
        inputs=dict(
            audio=torch.randn(batch, 1, size, size),
            visual=torch.randn(batch, 3, size, size)),
        data_samples=[DataSample().set_gt_label(i % 4) for i in range(batch)])


def amp_wrapper(model, monkeypatch, **kwargs):
    """BalancedAmpOptimWrapper in bf16 on this CPU (see the module doc)."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    kwargs.setdefault('loss_scale', dict(enabled=False))
    return BalancedAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        dtype='bfloat16',
        **kwargs)


def _hooked(model, batch):
    """What BalanceHook does before the first iteration."""
    hook_balancer(model, [batch])


@pytest.mark.parametrize('model_name', list(MODELS))
@pytest.mark.parametrize('balancer', list(BALANCERS))
def test_one_step_under_cpu_bf16_autocast(model_name, balancer, monkeypatch):
    encoders, neck, size = MODELS[model_name]
    if balancer in LINEAR_FUSION_ONLY and neck['type'] == 'AttentionFusion':
        pytest.skip(f'{balancer} refuses attention fusion (tested)')
    if balancer in SHARED_HEAD and neck['type'] == 'ConcatFusion':
        neck = dict(type='SumFusion', embed_dims=64)
    torch.manual_seed(0)
    balancer_cfg, aux = BALANCERS[balancer]
    extra = dict(aux_heads=dict(type='LinearClsHead', num_classes=4)) \
        if aux else {}
    model = tiny_classifier(
        encoders=encoders, neck=neck, balancer=balancer_cfg, **extra)
    wrapper = amp_wrapper(model, monkeypatch)
    batch = _batch(size)
    _hooked(model, batch)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    seen = []
    first_conv = next(m for m in model.encoders['visual'].modules()
                      if isinstance(m, torch.nn.Conv2d))
    handle = first_conv.register_forward_hook(
        lambda module, args, output: seen.append(output.dtype))
    if balancer == 'reconboost':  # its correction steps every encoder
        set_runtime_info(epoch=1)
    if model.balancer is not None and model.balancer.steps_in_phases:
        log_vars = {}
        for phase in model.balancer.iteration_phases():  # BalancedTrainLoop
            with model.balancer.in_phase(phase):
                log_vars.update(model.train_step(batch, wrapper))
    else:
        log_vars = model.train_step(batch, wrapper)
    handle.remove()
    assert torch.bfloat16 in seen  # the forward ran in bf16 autocast
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    changed = [
        k for k, v in model.named_parameters()
        if not torch.equal(v.detach(), before[k])
    ]
    assert any(k.startswith('encoders.audio') for k in changed)
    assert any(k.startswith('encoders.visual') for k in changed)
    if model.balancer is not None:
        scalars = model.balancer.epoch_scalars()
        assert all(v == v for v in scalars.values()), scalars  # no NaN


@pytest.mark.parametrize(
    'capability, dtype, scaled',
    [
        ((7, 0), 'float16', True),  # V100: bf16 emulated
        ((7, 5), 'float16', True),  # T4
        ((8, 0), 'bfloat16', False),  # A100
        ((9, 0), 'bfloat16', False),  # H100
    ])
def test_amp_follows_the_hardware(capability, dtype, scaled, monkeypatch):
    """tools/train.py --amp: bf16 only where it is native, fp16 with a
    dynamic scale elsewhere, and no active GradScaler with bf16."""
    import sys

    from mmengine.config import Config
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(
        torch.cuda, 'get_device_capability', lambda device=None: capability)
    sys.path.insert(0, 'tools')
    try:
        from train import merge_train_args, parse_args
    finally:
        sys.path.remove('tools')
    for wrapper in ('OptimWrapper', 'BalancedOptimWrapper'):
        cfg = Config(dict(optim_wrapper=dict(type=wrapper)))
        cfg = merge_train_args(cfg, parse_args(['config.py', '--amp']))
        assert cfg.optim_wrapper.dtype == dtype
        assert cfg.optim_wrapper.type.endswith('AmpOptimWrapper')
        assert (cfg.optim_wrapper.loss_scale == 'dynamic') == scaled
        if not scaled:
            assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
    # a dtype the config names is kept
    cfg = Config(
        dict(optim_wrapper=dict(type='OptimWrapper', dtype='float16')))
    cfg = merge_train_args(cfg, parse_args(['config.py', '--amp']))
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_a_bf16_wrapper_has_no_active_scaler(monkeypatch):
    from rollingq_mm.engine.optim_wrappers import amp_settings
    model = torch.nn.Linear(2, 2)
    wrapper = amp_wrapper(
        model, monkeypatch,
        **{'loss_scale': amp_settings('bfloat16')['loss_scale']})
    assert not wrapper.loss_scaler.is_enabled()
