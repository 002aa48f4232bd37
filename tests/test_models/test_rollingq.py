import pytest
import torch

from rollingq_mm.models import RollingQuery

SLICES = {'audio': slice(1, 3), 'visual': slice(3, 6)}


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
    assert torch.allclose(query(torch.tensor([[1., 0., 0.]])),
                          torch.tensor([[-1., 0., 0.]]), atol=1e-6)
    with pytest.raises(ValueError, match='shape'):
        query.rotate(torch.eye(4))


def test_accumulates_only_while_collecting():
    query = RollingQuery(4)
    q, keys = torch.randn(2, 4), torch.randn(2, 6, 4)
    query.accumulate(q, keys, SLICES)
    assert query.statistics() is None
    query.collecting = True
    query.accumulate(q, keys, SLICES)
    q2, keys2 = torch.randn(5, 4), torch.randn(5, 6, 4)
    query.accumulate(q2, keys2, SLICES)
    stats = query.statistics()
    assert stats['count'].item() == 7
    assert torch.allclose(stats['query_sum'], q.sum(0) + q2.sum(0))
    assert torch.allclose(stats['key_sum'][1],
                          keys[:, 3:6].mean(1).sum(0) + keys2[:, 3:6].mean(1).sum(0))
    assert stats['last_count'].item() == 5
    query.reset_statistics(keep_last_batch=True)
    kept = query.statistics()
    assert kept['count'].item() == 0 and kept['last_count'].item() == 5
    with pytest.raises(ValueError, match='modality order'):
        query.accumulate(q, keys, dict(visual=SLICES['visual'],
                                       audio=SLICES['audio']))


def test_state_dict_round_trip_keeps_rotation_count_and_history():
    query = RollingQuery(3)
    query.rotate(torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]]))
    query.modalities = ['audio', 'visual']
    query.append_history(1, 0.3, True, torch.tensor([0.5, 0.2]),
                         torch.tensor([0.4, 0.6]))
    query.append_history(2, 0.1, False, torch.tensor([0.3, 0.2]),
                         torch.tensor([0.45, 0.55]))
    record = query.history[1]
    assert (record['epoch'], record['rotated']) == (2, False)
    assert record['air'] == pytest.approx(0.1)
    assert record['cos'] == pytest.approx(dict(audio=0.3, visual=0.2))
    assert record['weights'] == pytest.approx(dict(audio=0.45, visual=0.55))
    state = query.state_dict()
    assert set(state) == {'rotation', 'num_rotations', 'air_history'}
    fresh = RollingQuery(3)
    fresh.load_state_dict(state)
    fresh.modalities = ['audio', 'visual']
    assert torch.equal(fresh.rotation, query.rotation)
    assert int(fresh.num_rotations) == 1 and fresh._rotated
    assert fresh.history == query.history
