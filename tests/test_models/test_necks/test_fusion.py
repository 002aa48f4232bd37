import pytest
import torch

from rollingq_mm.models import AttentionFusion, ConcatFusion, SumFusion
from rollingq_mm.models.necks import BaseFusion
from rollingq_mm.models.records import AttentionRecord
from rollingq_mm.models.rollingq import RollingQuery


def _tokens(batch=3, dims=(16, 16)):
    return {
        'audio': torch.randn(batch, 5, dims[0]),
        'visual': torch.randn(batch, 7, dims[1])
    }


def test_every_neck_is_a_base_fusion_with_a_width():
    necks = [AttentionFusion(16), ConcatFusion(), SumFusion(16)]
    for neck in necks:
        assert isinstance(neck, BaseFusion)
        neck.bind(dict(audio=16, visual=24), dict(audio=True, visual=True))
        assert neck.modalities == ['audio', 'visual']
    assert [n.out_channels for n in necks] == [16, 40, 16]


def test_paper_layout_is_one_cls_only_attention():
    neck = AttentionFusion(16).eval()
    fused, record = neck(_tokens())
    assert fused.shape == (3, 16) and isinstance(record, AttentionRecord)
    assert record.shares().shape == (3, 2)
    assert len(neck.layers) == 1 and isinstance(neck.norm, torch.nn.Identity)
    # the fused feature is the attention's CLS output (no residual / FFN)
    tokens = _tokens()
    x = torch.cat(
        [neck.cls_token.expand(3, -1, -1), tokens['audio'], tokens['visual']],
        dim=1)
    out, _ = neck.layers[0](x, {'audio': slice(1, 6), 'visual': slice(6, 13)})
    assert torch.allclose(neck(tokens)[0], out[:, 0], atol=1e-6)


def test_multi_layer_has_one_rolling_query_per_layer_and_cls_only_last():
    neck = AttentionFusion(16, num_layers=3, num_heads=2).eval()
    queries = [m for m in neck.modules() if isinstance(m, RollingQuery)]
    assert len(queries) == 3 and queries == neck.rolling_queries()
    assert [layer.cls_only for layer in neck.layers] == [False, False, True]
    fused, record = neck(_tokens())
    assert fused.shape == (3, 16) and record.cosines().shape == (3, 2)
    # same numbers when the last layer computes all rows
    full = AttentionFusion(
        16, num_layers=3, num_heads=2, cls_only=False).eval()
    full.load_state_dict(neck.state_dict())
    tokens = _tokens()
    assert torch.allclose(neck(tokens)[0], full(tokens)[0], atol=1e-5)


def test_projection_follows_the_encoders_and_refuses_a_wrong_in_dims():
    neck = AttentionFusion(16, in_dims=dict(visual=24))
    fused, _ = neck(_tokens(dims=(16, 24)))
    assert fused.shape == (3, 16)
    with pytest.raises(ValueError, match='in_dims'):
        AttentionFusion(16)(_tokens(dims=(16, 24)))
    bound = AttentionFusion(16)
    bound.bind(dict(audio=16, visual=24), dict(audio=True, visual=True))
    assert bound(_tokens(dims=(16, 24)))[0].shape == (3, 16)
    with pytest.raises(ValueError, match="in_dims says 32"):
        AttentionFusion(
            16, in_dims=dict(visual=32)).bind(dict(audio=16, visual=24), {})


def test_concat_and_sum():
    tokens = _tokens()
    fused, record = ConcatFusion(pool='cls')(tokens)
    assert record is None
    assert torch.equal(
        fused,
        torch.cat([tokens['audio'][:, 0], tokens['visual'][:, 0]], dim=-1))
    fused, _ = ConcatFusion(pool='mean')(tokens)
    assert torch.allclose(fused[:, :16], tokens['audio'].mean(1))
    fused, _ = SumFusion(16, pool='cls')(tokens)
    assert torch.allclose(fused,
                          tokens['audio'][:, 0] + tokens['visual'][:, 0])
    with pytest.raises(ValueError, match='unknown pool'):
        ConcatFusion(pool='max')


def test_default_pooling_follows_the_cls_declaration():
    tokens = _tokens()
    neck = ConcatFusion()
    neck.bind(dict(audio=16, visual=16), dict(audio=True, visual=False))
    fused, _ = neck(tokens)
    assert torch.equal(fused[:, :16], tokens['audio'][:, 0])
    assert torch.allclose(fused[:, 16:], tokens['visual'].mean(1))
    with pytest.raises(ValueError, match="'visual' .*resnet.*no CLS"):
        ConcatFusion(pool='cls').bind(
            dict(audio=16, visual=16), dict(audio=True, visual=False),
            dict(audio='vit', visual='TimmEncoder(resnet18)'))


def test_necks_start_from_the_authors_init_unless_configured():
    neck = AttentionFusion(16)
    neck.init_weights()
    attn = neck.layers[0]
    assert torch.equal(attn.q.bias, torch.zeros(16))
    std = attn.kv.weight.std().item()  # xavier-normal: sqrt(2 / (16 + 32))
    assert std == pytest.approx((2 / 48)**0.5, rel=0.15)
    custom = AttentionFusion(
        16, init_cfg=dict(type='Constant', val=0.5, layer='Linear'))
    custom.init_weights()
    assert torch.equal(custom.layers[0].q.weight, torch.full((16, 16), 0.5))
