"""Small models shared by the tests (random init, CPU, milliseconds), a free
port for the tests that launch torchrun, and shell brace expansion for the
tests that read config patterns in the docs."""
import re
import socket

from rollingq_mm.registry import MODELS

# A one-block ViT on 16x16 inputs with 8x8 patches: 4 tokens + CLS, width 16.
TINY_VIT = dict(
    type='TimmEncoder',
    model_name='vit_tiny_patch16_224',
    img_size=(16, 16),
    patch_size=8,
    embed_dim=16,
    depth=1,
    num_heads=2)

# mmpretrain backbones, random init, a few ms on 32x32 (16x16 for the ViT):
# ResNet-18's layout with 8-64 channels (last map 1x1, width 64),
TINY_RESNET = dict(
    type='ResNet',
    depth=18,
    stem_channels=8,
    base_channels=8,
    zero_init_residual=False)
# a one-layer ViT, 8x8 patches: 4 tokens + CLS, width 16 (out_type: CLS),
TINY_VIT_MMPRETRAIN = dict(
    type='VisionTransformer',
    arch=dict(
        embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32),
    img_size=16,
    patch_size=8)
# ConvNeXt's four stages with one block each (last map 1x1, width 16),
TINY_CONVNEXT = dict(
    type='ConvNeXt',
    arch=dict(depths=[1, 1, 1, 1], channels=[4, 8, 8, 16]),
    gap_before_final_norm=False)
# and a two-stage Swin with 2x2 windows (last map 4x4, width 16).
TINY_SWIN = dict(
    type='SwinTransformer',
    arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1, 2]),
    img_size=32,
    window_size=2,
    out_indices=(1, ))


def tiny_classifier(neck=None, **kwargs):
    """An audio [1, 16, 16] + visual [3, 16, 16] MultimodalClassifier, 4
    classes, with probes; ``kwargs`` override or add arguments."""
    cfg = dict(
        type='MultimodalClassifier',
        encoders=dict(
            audio=dict(TINY_VIT, in_chans=1),
            visual=dict(TINY_VIT, in_chans=3)),
        neck=neck or dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4),
        probe_heads=dict(type='LinearClsHead', num_classes=4))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for torchrun)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def expand_braces(pattern: str) -> list:
    """Shell brace expansion: ``a_{b,c}.py`` -> ``['a_b.py', 'a_c.py']``."""
    match = re.search(r'\{([^{}]*)\}', pattern)
    if match is None:
        return [pattern]
    return [
        name for option in match.group(1).split(',')
        for name in expand_braces(pattern[:match.start()] + option +
                                  pattern[match.end():])
    ]


def set_runtime_info(epoch=0, iteration=0):
    """What mmengine's RuntimeInfoHook publishes, which balancers read."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', epoch)
    hub.update_info('iter', iteration)


def hook_balancer(model, loader, epoch=0, iteration=0):
    """What BalanceHook and the runtime-info hook do before an epoch:
    register the hook, publish epoch / iteration, run the epoch pass."""
    set_runtime_info(epoch, iteration)
    if model.balancer is None:
        return
    model.balancer.hooked = True
    model.balancer.before_train_epoch(loader, model)


def stand_in_gblending_weights(cfg):
    """G-Blending configs read the estimate that gblending_weights.py
    writes (tested on its own); equal weights stand in for it."""
    balancer = cfg.model.get('balancer') or {}
    if isinstance(balancer.get('weights'), str):
        heads = ['fused', *cfg.model.encoders]
        balancer['weights'] = {head: 1 / len(heads) for head in heads}
    return cfg


def unimodal_teacher(tmp_path, modality, seed=0):
    """``dict(config=..., checkpoint=...)`` of a random-init unimodal tiny
    classifier of ``modality`` (as ``tiny_classifier``'s encoder), saved
    under ``tmp_path``, for UMT's teachers."""
    import torch
    channels = dict(audio=1, visual=3)[modality]
    config = dict(
        type='MultimodalClassifier',
        encoders={modality: dict(TINY_VIT, in_chans=channels)},
        neck=dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4))
    torch.manual_seed(seed)
    path = str(tmp_path / f'teacher_{modality}.pth')
    torch.save(dict(state_dict=MODELS.build(config).state_dict()), path)
    return dict(config=config, checkpoint=path)


def stand_in_teachers(cfg, tmp_path):
    """UMT configs name teachers that the unimodal configs train (tested on
    their own); random weights of the same configs stand in for them."""
    import torch
    from mmengine.config import Config
    balancer = cfg.model.get('balancer') or {}
    for name, teacher in (balancer.get('teachers') or {}).items():
        model_cfg = Config.fromfile(teacher['config']).model
        with MODELS.switch_scope_and_registry('rollingq_mm') as registry:
            model = registry.build(model_cfg)
        path = str(tmp_path / f'teacher_{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), path)
        teacher['checkpoint'] = path
    return cfg
