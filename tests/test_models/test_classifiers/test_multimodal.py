import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from rollingq_mm.registry import MODELS

VIT = dict(type='TimmEncoder', model_name='vit_tiny_patch16_224',
           img_size=(16, 16), patch_size=8, embed_dim=16, depth=1, num_heads=2)


def _model(neck=None, **kwargs):
    cfg = dict(
        type='MultimodalClassifier',
        encoders=dict(audio=dict(VIT, in_chans=1), visual=dict(VIT, in_chans=3)),
        neck=neck or dict(type='AttentionFusion', embed_dims=16),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=16),
        probe_heads=dict(type='LinearClsHead', num_classes=4),
        data_preprocessor=dict(
            type='MultimodalDataPreprocessor',
            normalize=dict(visual=dict(mean=[1., 2., 3.], std=[2., 2., 2.]))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(size=4):
    return dict(
        inputs=dict(audio=torch.randn(size, 1, 16, 16),
                    visual=torch.randn(size, 3, 16, 16)),
        data_samples=[DataSample().set_gt_label(i % 4) for i in range(size)])


def test_loss_has_fusion_and_detached_probe_losses():
    model = _model()
    data = model.data_preprocessor(_batch())
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss', 'loss_probe_audio', 'loss_probe_visual'}
    # probes are detached: their loss sends no gradient into the encoders
    losses['loss_probe_audio'].backward()
    assert model.encoders['audio'].model.patch_embed.proj.weight.grad is None
    assert model.probe_heads['audio'].fc.weight.grad is not None


def test_predict_carries_probe_scores_and_attention_stats():
    model = _model().eval()
    data = model.data_preprocessor(_batch())
    samples = model(**data, mode='predict')
    assert len(samples) == 4
    sample = samples[0]
    assert sample.pred_score.shape == (4, )
    assert set(sample.probe_scores) == {'audio', 'visual'}
    assert sample.probe_scores['audio'].sum().item() == pytest.approx(1.0)
    assert sample.attention_share.shape == (2, )
    assert sample.query_key_cos.shape == (2, )
    assert sample.modalities == ['audio', 'visual']
    logits = model(**data, mode='tensor')
    assert logits.shape == (4, 4)


def test_concat_model_and_train_step():
    model = _model(
        neck=dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=32))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_batch(), wrapper)
    assert torch.isfinite(log['loss'])
    sample = model.val_step(_batch())[0]
    assert 'attention_share' not in sample


def test_preprocessor_normalises_per_modality():
    model = _model()
    batch = _batch()
    data = model.data_preprocessor(batch)
    expected = (batch['inputs']['visual'] -
                torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)) / 2
    assert torch.allclose(data['inputs']['visual'], expected)
    assert torch.equal(data['inputs']['audio'], batch['inputs']['audio'])
    # a list of per-sample dicts (pseudo_collate) is stacked the same way
    listed = dict(inputs=[{m: x[i] for m, x in batch['inputs'].items()}
                          for i in range(4)], data_samples=batch['data_samples'])
    assert torch.allclose(model.data_preprocessor(listed)['inputs']['visual'],
                          expected)


def test_bad_inputs_are_clear_errors():
    model = _model()
    batch = _batch()
    del batch['inputs']['visual']
    with pytest.raises(KeyError, match="missing \\['visual'\\]"):
        model(**model.data_preprocessor(batch), mode='tensor')
    bad = _batch()
    bad['inputs']['visual'] = torch.randn(4, 1, 16, 16)
    with pytest.raises(ValueError, match="'visual'.*3 channel"):
        model.data_preprocessor(bad)
    with pytest.raises(KeyError, match='unknown modalities'):
        _model(probe_heads=dict(text=dict(type='LinearClsHead',
                                          num_classes=4, in_channels=16)))
