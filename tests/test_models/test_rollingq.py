import pytest
import torch

from rollingq_mm.models import RollingQuery
from rollingq_mm.models.records import AttentionRecord, RotationCheck
from rollingq_mm.models.rollingq import find_rolling_queries

SLICES = {'audio': slice(1, 3), 'visual': slice(3, 6)}


def _check(epoch, air, rotated, cos, weights, shares=(0.6, 0.3)):
    names = ('audio', 'visual')
    return RotationCheck(epoch, air, rotated, dict(zip(names, cos)),
                         dict(zip(names, weights)), dict(zip(names, shares)))


def test_unrotated_query_is_returned_as_is():
    query = RollingQuery(4)
    q = torch.randn(3, 4)
    assert query(q) is q


def test_rotate_composes_and_counts():
    query = RollingQuery(3)
    quarter = torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]])
    query.rotate(quarter)
    query.rotate(quarter)
    assert int(query.num_rotations) == 2
    assert torch.allclose(query.rotation, quarter @ quarter)
    assert torch.allclose(
        query(torch.tensor([[1., 0., 0.]])),
        torch.tensor([[-1., 0., 0.]]),
        atol=1e-6)
    with pytest.raises(ValueError, match='shape'):
        query.rotate(torch.eye(4))


def test_observe_sums_records_and_keeps_the_last_batch():
    query = RollingQuery(4)
    q, keys = torch.randn(2, 4), torch.randn(2, 6, 4)
    q2, keys2 = torch.randn(5, 4), torch.randn(5, 6, 4)
    query.observe(AttentionRecord(q, keys, SLICES))
    query.observe(AttentionRecord(q2, keys2, SLICES))
    stats = query.statistics
    assert stats.count == 7 and stats.last_count == 5
    assert torch.allclose(stats.query_sum, q.sum(0) + q2.sum(0))
    assert torch.allclose(
        stats.key_sum[1],
        keys[:, 3:6].mean(1).sum(0) + keys2[:, 3:6].mean(1).sum(0))
    cos2 = torch.nn.functional.cosine_similarity(
        q2[:, None],
        torch.stack([keys2[:, 1:3].mean(1), keys2[:, 3:6].mean(1)], 1),
        dim=-1)
    assert torch.allclose(stats.cosines('last_batch'), cos2.mean(0), atol=1e-6)
    assert stats.air('last_batch') == pytest.approx(
        (cos2[:, 0] - cos2[:, 1]).mean().item(), abs=1e-6)
    query.reset_statistics()
    assert query.statistics is None
    query.observe(AttentionRecord(q, keys, SLICES))
    with pytest.raises(ValueError, match='modality order'):
        query.observe(
            AttentionRecord(
                q, keys, dict(visual=SLICES['visual'], audio=SLICES['audio'])))


def test_state_dict_round_trip_keeps_rotation_count_and_history():
    query = RollingQuery(3)
    query.rotate(torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]]))
    query.modalities = ['audio', 'visual']
    query.append_history(_check(1, 0.3, True, (0.5, 0.2), (0.4, 0.6)))
    query.append_history(_check(2, 0.1, False, (0.3, 0.2), (0.45, 0.55)))
    record = query.history[1]
    assert (record.epoch, record.rotated) == (2, False)
    assert record.air == pytest.approx(0.1)
    assert record.cosines == pytest.approx(dict(audio=0.3, visual=0.2))
    assert record.weights == pytest.approx(dict(audio=0.45, visual=0.55))
    assert record.shares == pytest.approx(dict(audio=0.6, visual=0.3))
    state = query.state_dict()
    assert set(state) == {'rotation', 'num_rotations', 'air_history'}
    fresh = RollingQuery(3)
    fresh.load_state_dict(state)
    fresh.modalities = ['audio', 'visual']
    assert torch.equal(fresh.rotation, query.rotation)
    assert int(fresh.num_rotations) == 1 and fresh._rotated
    assert fresh.history == query.history


def test_history_of_the_first_release_layout_still_decodes():
    # [epoch, air, rotated, c_a, c_v, α_a, α_v]: no modality count, no shares
    old = [[1., 0.0716, 1., -0.0126, -0.0842, 0.5, 0.5]]
    query = RollingQuery(3)
    query.load_state_dict(
        dict(
            rotation=torch.eye(3),
            num_rotations=torch.tensor(1),
            air_history=torch.tensor(old)))
    query.modalities = ['audio', 'visual']
    check = query.history[0]
    assert check.epoch == 1 and check.rotated
    assert check.cosines == pytest.approx(dict(audio=-0.0126, visual=-0.0842))
    assert check.weights == pytest.approx(dict(audio=0.5, visual=0.5))
    assert all(v != v for v in check.shares.values())  # NaN: not recorded
    # three modalities: the current layout is told apart by its count column
    three = RotationCheck(4, 0.2, False, dict(a=.1, b=.2, c=.3),
                          dict(a=.3, b=.3, c=.4), dict(a=.2, b=.3, c=.4))
    decoded = RotationCheck.from_row(three.to_row().tolist(), ['a', 'b', 'c'])
    assert (decoded.epoch, decoded.rotated) == (4, False)
    assert decoded.air == pytest.approx(0.2)
    for part in ('cosines', 'weights', 'shares'):
        assert getattr(decoded, part) == pytest.approx(getattr(three, part))


def test_find_rolling_queries_unwraps_and_names_the_owner():
    from rollingq_mm.models import RollingQAttention
    model = torch.nn.Sequential(RollingQAttention(8), RollingQAttention(8))
    found = find_rolling_queries(model)
    assert [name
            for name, _, _ in found] == ['0.rolling_query', '1.rolling_query']
    assert found[1][2] is model[1] and found[1][1] is model[1].rolling_query
