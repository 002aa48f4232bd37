"""StatisticsCollector: records summed per query, only while open."""
import pytest
import torch

from rollingq_mm.engine.hooks import StatisticsCollector
from rollingq_mm.models import RollingQAttention, RollingQuery
from rollingq_mm.models.rollingq import find_rolling_queries

SLICES = {'audio': slice(1, 3), 'visual': slice(3, 6)}


def _attention():
    torch.manual_seed(0)
    return RollingQAttention(4, cls_only=False).eval()


def _direct(attn, x):
    """q and the per-modality key means, recomputed from the weights."""
    q = attn.q(x[:, 0])
    keys = attn.kv(x).chunk(2, dim=-1)[0]
    means = torch.stack([keys[:, s].mean(1) for s in SLICES.values()], 1)
    return q, means


@torch.no_grad()
def test_sums_the_batches_seen_while_open_and_keeps_the_last():
    attn = _attention()
    x1, x2, x3 = torch.randn(2, 6, 4), torch.randn(5, 6,
                                                   4), torch.randn(3, 6, 4)
    collector = StatisticsCollector(find_rolling_queries(attn))
    assert collector.unseen == ['rolling_query']
    attn(x1, SLICES)  # not open: not counted
    with collector:
        attn(x2, SLICES)
        attn(x3, SLICES)
    attn(x1, SLICES)  # closed again
    stats = collector.statistics['rolling_query']
    assert collector.unseen == [] and stats.modalities == ['audio', 'visual']
    assert stats.count == 8 and stats.last_count == 3
    q2, k2 = _direct(attn, x2)
    q3, k3 = _direct(attn, x3)
    assert torch.allclose(stats.query_sum, q2.sum(0) + q3.sum(0), atol=1e-6)
    assert torch.allclose(stats.key_sum, k2.sum(0) + k3.sum(0), atol=1e-6)
    cos3 = torch.nn.functional.cosine_similarity(q3[:, None], k3, dim=-1)
    assert torch.allclose(stats.cosines('last_batch'), cos3.mean(0), atol=1e-6)
    assert stats.air('last_batch') == pytest.approx(
        (cos3[:, 0] - cos3[:, 1]).mean().item(), abs=1e-6)
    assert not attn._forward_hooks  # nothing left on the model


@torch.no_grad()
def test_two_collectors_keep_separate_sums():
    attn = _attention()
    queries = find_rolling_queries(attn)
    epoch, extra = StatisticsCollector(queries), StatisticsCollector(queries)
    with epoch:
        attn(torch.randn(4, 6, 4), SLICES)
    with extra:
        attn(torch.randn(2, 6, 4), SLICES)
    assert epoch.statistics['rolling_query'].count == 4
    assert extra.statistics['rolling_query'].count == 2


@torch.no_grad()
def test_a_changed_modality_order_one_modality_and_no_record_are_errors():
    attn = _attention()
    x = torch.randn(2, 6, 4)
    with pytest.raises(ValueError, match='modality order'):
        with StatisticsCollector(find_rolling_queries(attn)):
            attn(x, SLICES)
            attn(x, dict(visual=SLICES['visual'], audio=SLICES['audio']))
    with pytest.raises(ValueError, match='single modality'):
        with StatisticsCollector(find_rolling_queries(attn)):
            attn(x, dict(audio=slice(1, 6)))

    class Silent(torch.nn.Module):  # holds a query, returns no record

        def __init__(self):
            super().__init__()
            self.rolling_query = RollingQuery(4)

        def forward(self, q):
            return self.rolling_query(q)

    silent = Silent()
    with pytest.raises(TypeError, match='returned no AttentionRecord'):
        with StatisticsCollector(find_rolling_queries(silent)):
            silent(torch.randn(2, 4))
    assert not silent._forward_hooks and not attn._forward_hooks
