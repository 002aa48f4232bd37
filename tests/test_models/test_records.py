"""AttentionRecord's lazy statistics against direct computations."""
import pytest
import torch

from rollingq_mm.models.records import (AttentionRecord, RollingQStatistics,
                                        find_record)

SLICES = {'audio': slice(1, 4), 'visual': slice(4, 9)}


@pytest.mark.parametrize('num_heads', [1, 2])
def test_shares_are_the_softmax_mass_per_modality(num_heads):
    torch.manual_seed(0)
    q, keys = torch.randn(3, 8), torch.randn(3, 9, 8)
    record = AttentionRecord(q, keys, SLICES, num_heads)
    head = 8 // num_heads
    weights = torch.stack([((q[:, h * head:(h + 1) * head, None].transpose(
        1, 2) @ keys[:, :, h * head:(h + 1) * head].transpose(1, 2))[:, 0] /
                            head**0.5).softmax(-1)
                           for h in range(num_heads)]).mean(0)  # [B, N]
    shares = record.shares()
    assert torch.allclose(shares[:, 0], weights[:, 1:4].sum(-1), atol=1e-6)
    assert torch.allclose(shares[:, 1], weights[:, 4:9].sum(-1), atol=1e-6)
    assert (shares.sum(-1) < 1).all()  # the CLS token's own weight is out
    assert record.sample_fields().keys() == {
        'attention_share', 'query_key_cos'
    }


def test_record_is_computed_without_grad_and_cached():
    q = torch.randn(2, 8, requires_grad=True)
    record = AttentionRecord(q, torch.randn(2, 9, 8), SLICES)
    cos = record.cosines()
    assert not cos.requires_grad and record.cosines() is cos
    assert find_record((torch.zeros(1), record)) is record
    assert find_record(torch.zeros(1)) is None


def test_statistics_add_and_means():
    torch.manual_seed(1)
    records = [
        AttentionRecord(torch.randn(n, 8), torch.randn(n, 9, 8), SLICES)
        for n in (4, 2)
    ]
    stats = RollingQStatistics.from_record(records[0]).add(
        RollingQStatistics.from_record(records[1]))
    queries = torch.cat([r.q_cls for r in records])
    assert torch.allclose(stats.mean_query, queries.mean(0), atol=1e-6)
    cos = torch.cat([r.cosines() for r in records])
    assert torch.allclose(stats.cosines(), cos.mean(0), atol=1e-6)
    assert torch.allclose(
        stats.shares,
        torch.cat([r.shares() for r in records]).mean(0),
        atol=1e-6)
    reduced = stats.all_reduced()  # no process group: the same sums
    assert reduced.count == 6 and reduced.query_sum.dtype == torch.float64
    assert torch.allclose(reduced.key_sum.float(), stats.key_sum)


def test_statistics_read_inside_fp16_autocast_stay_float32():
    """q kᵀ of large queries and keys overflows fp16 (max 65504); the
    record is read inside the forward's autocast, and must not be."""
    torch.manual_seed(2)
    q, keys = 300 * torch.randn(2, 8), 300 * torch.randn(2, 9, 8)
    expected = AttentionRecord(q, keys, SLICES).shares()
    assert torch.isfinite(expected).all()
    with torch.autocast('cpu', dtype=torch.float16):
        record = AttentionRecord(q, keys, SLICES)
        shares, cosines = record.shares(), record.cosines()
    assert shares.dtype == cosines.dtype == torch.float32
    torch.testing.assert_close(shares, expected)
    sums = RollingQStatistics.from_record(record)
    assert sums.is_finite()
    sums.share_sum[0] = float('nan')
    assert not sums.is_finite()  # the shares are checked too
