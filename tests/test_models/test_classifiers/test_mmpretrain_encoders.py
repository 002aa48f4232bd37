"""mmpretrain backbones as the encoders of MultimodalClassifier: every fusion
trains, and RollingQ rotates the query of an attention over their tokens."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from rollingq_mm.registry import MODELS
from tests.helpers import (TINY_CONVNEXT, TINY_RESNET, TINY_SWIN,
                           TINY_VIT_MMPRETRAIN)

# backbone config, image side; audio: images [1, S, S], visual: 2 frames of
# [3, S, S] through the same backbone (per frame).
BACKBONES = dict(
    resnet=(TINY_RESNET, 32),
    vit=(TINY_VIT_MMPRETRAIN, 16),
    convnext=(TINY_CONVNEXT, 32),
    swin=(TINY_SWIN, 32))
NECKS = dict(
    concat=dict(type='ConcatFusion'),
    sum=dict(type='SumFusion', embed_dims=16),
    attention=dict(type='AttentionFusion', embed_dims=16))


def _model(backbone, neck):
    audio = dict(backbone, in_channels=1)
    return MODELS.build(
        dict(
            type='MultimodalClassifier',
            encoders=dict(audio=audio, visual=backbone),
            neck=neck,
            head=dict(type='LinearClsHead', num_classes=3),
            probe_heads=dict(type='LinearClsHead', num_classes=3)))


def _batch(side, size=4):
    return dict(
        inputs=dict(
            audio=torch.randn(size, 1, side, side),
            visual=torch.randn(size, 3, 2, side, side)),
        data_samples=[DataSample().set_gt_label(i % 3) for i in range(size)])


@pytest.mark.parametrize('neck', list(NECKS))
@pytest.mark.parametrize('name', list(BACKBONES))
def test_one_training_iteration(name, neck):
    torch.manual_seed(0)
    backbone, side = BACKBONES[name]
    model = _model(backbone, NECKS[neck])
    before = {
        m: [p.detach().clone() for p in e.parameters()]
        for m, e in model.encoders.items()
    }
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_batch(side), wrapper)
    assert torch.isfinite(log['loss'])
    for modality, encoder in model.encoders.items():
        assert type(encoder).__name__ == 'BackboneEncoder'
        changed = any(not torch.equal(a, b)
                      for a, b in zip(before[modality], encoder.parameters()))
        assert changed, f'{name} {modality} encoder did not train'
    model.eval()
    with torch.no_grad():
        scores = model(
            **model.data_preprocessor(_batch(side), False), mode='predict')
    assert scores[0].pred_score.shape == (3, )


def _write_set(path, side, size=8):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        audio=rng.standard_normal((size, 1, side, side)).astype('f4'),
        visual=rng.standard_normal((size, 3, 2, side, side)).astype('f4'),
        label=np.arange(size) % 3)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['resnet', 'vit', 'convnext'])
def test_rollingq_hook_rotates_the_query_over_backbone_tokens(name, tmp_path):
    backbone, side = BACKBONES[name]
    _write_set(tmp_path / 'train.npz', side)
    runner = Runner(
        model=dict(
            type='MultimodalClassifier',
            encoders=dict(
                audio=dict(backbone, in_channels=1), visual=backbone),
            neck=NECKS['attention'],
            head=dict(type='LinearClsHead', num_classes=3)),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(
                type='MultimodalArrayDataset',
                ann_file=str(tmp_path / 'train.npz'),
                modalities=['audio', 'visual'],
                metainfo=dict(classes=['a', 'b', 'c']),
                pipeline=[
                    dict(
                        type='PackMultimodalInputs',
                        modalities=['audio', 'visual'])
                ])),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='RollingQHook', max_rotations=1)],
        default_scope='rollingq_mm',
        randomness=dict(seed=0))
    runner.train()
    query = runner.model.neck.layers[0].rolling_query
    assert int(query.num_rotations) == 1
    rotation = query.rotation
    assert not torch.allclose(rotation, torch.eye(16))
    assert torch.allclose(rotation @ rotation.T, torch.eye(16), atol=1e-5)
