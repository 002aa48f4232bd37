import pytest
import torch

from rollingq_mm.models import AttentionFusion, ConcatFusion, SumFusion
from rollingq_mm.models.rollingq import RollingQuery


def _tokens(batch=3, dims=(16, 16)):
    return {'audio': torch.randn(batch, 5, dims[0]),
            'visual': torch.randn(batch, 7, dims[1])}


def test_paper_layout_is_one_cls_only_attention():
    neck = AttentionFusion(16).eval()
    fused, stats = neck(_tokens(), return_stats=True)
    assert fused.shape == (3, 16)
    assert stats['attention_share'].shape == (3, 2)
    assert len(neck.layers) == 1 and isinstance(neck.norm, torch.nn.Identity)
    # the fused feature is the attention's CLS output (no residual / FFN)
    tokens = _tokens()
    x = torch.cat([neck.cls_token.expand(3, -1, -1), tokens['audio'],
                   tokens['visual']], dim=1)
    out, _ = neck.layers[0](x)
    assert torch.allclose(neck(tokens)[0], out[:, 0], atol=1e-6)


def test_multi_layer_has_one_rolling_query_per_layer_and_cls_only_last():
    neck = AttentionFusion(16, num_layers=3, num_heads=2).eval()
    queries = [m for m in neck.modules() if isinstance(m, RollingQuery)]
    assert len(queries) == 3
    assert [layer.cls_only for layer in neck.layers] == [False, False, True]
    fused, stats = neck(_tokens(), return_stats=True)
    assert fused.shape == (3, 16) and stats['query_key_cos'].shape == (3, 2)
    # same numbers when the last layer computes all rows
    full = AttentionFusion(16, num_layers=3, num_heads=2, cls_only=False).eval()
    full.load_state_dict(neck.state_dict())
    tokens = _tokens()
    assert torch.allclose(neck(tokens)[0], full(tokens)[0], atol=1e-5)


def test_projection_of_other_dims_and_clear_error():
    neck = AttentionFusion(16, in_dims=dict(visual=24))
    fused, _ = neck(_tokens(dims=(16, 24)))
    assert fused.shape == (3, 16)
    with pytest.raises(ValueError, match="in_dims"):
        AttentionFusion(16)(_tokens(dims=(16, 24)))


def test_concat_and_sum():
    tokens = _tokens()
    fused, stats = ConcatFusion(pool='cls')(tokens)
    assert stats is None
    assert torch.equal(fused, torch.cat([tokens['audio'][:, 0],
                                         tokens['visual'][:, 0]], dim=-1))
    fused, _ = ConcatFusion(pool='mean')(tokens)
    assert torch.allclose(fused[:, :16], tokens['audio'].mean(1))
    fused, _ = SumFusion(16, pool='cls')(tokens)
    assert torch.allclose(fused, tokens['audio'][:, 0] + tokens['visual'][:, 0])
    with pytest.raises(ValueError, match='unknown pool'):
        ConcatFusion(pool='max')
