import pytest
import torch

from rollingq_mm.models import RollingQuery
from rollingq_mm.models.records import RotationCheck
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


def test_state_dict_round_trip_keeps_rotation_and_count():
    query = RollingQuery(3)
    query.rotate(torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]]))
    state = query.state_dict()
    assert set(state) == {'rotation', 'num_rotations'}
    fresh = RollingQuery(3)
    q = torch.randn(2, 3)
    assert fresh(q) is q
    fresh.load_state_dict(state)
    assert torch.equal(fresh.rotation, query.rotation)
    assert int(fresh.num_rotations) == 1 and fresh._rotated
    assert torch.equal(fresh(q), query(q))
    fresh.load_state_dict(RollingQuery(3).state_dict())
    assert not fresh._rotated and fresh(q) is q


def test_history_rows_of_the_first_two_releases_still_decode():
    # release 1: [epoch, air, rotated, c_a, c_v, α_a, α_v]
    old = [1., 0.0716, 1., -0.0126, -0.0842, 0.5, 0.5]
    check = RotationCheck.from_legacy_row(old, ['audio', 'visual'])
    assert check.epoch == 1 and check.rotated
    assert check.cosines == pytest.approx(dict(audio=-0.0126, visual=-0.0842))
    assert check.weights == pytest.approx(dict(audio=0.5, visual=0.5))
    assert all(v != v for v in check.shares.values())  # NaN: not recorded
    # release 2: [epoch, air, rotated, M, c(M), α(M), share(M)], three
    # modalities told apart from release 1 by the count column
    row = [4., 0.2, 0., 3., .1, .2, .3, .3, .3, .4, .2, .3, .4]
    decoded = RotationCheck.from_legacy_row(row, ['a', 'b', 'c'])
    assert (decoded.epoch, decoded.rotated) == (4, False)
    assert decoded.air == pytest.approx(0.2)
    assert decoded.cosines == pytest.approx(dict(a=.1, b=.2, c=.3))
    assert decoded.weights == pytest.approx(dict(a=.3, b=.3, c=.4))
    assert decoded.shares == pytest.approx(dict(a=.2, b=.3, c=.4))
    # without names (or with the wrong number), the modalities are numbered
    assert list(RotationCheck.from_legacy_row(row).cosines) == ['0', '1', '2']


def test_a_check_round_trips_through_plain_containers():
    check = _check(2, 0.1, False, (0.3, 0.2), (0.45, 0.55))
    check.reason = 'cap reached'
    values = check.to_dict()
    assert all(
        isinstance(v, (int, float, bool, str, dict)) for v in values.values())
    assert RotationCheck.from_dict(values) == check


def test_find_rolling_queries_unwraps_and_names_the_owner():
    from rollingq_mm.models import RollingQAttention
    model = torch.nn.Sequential(RollingQAttention(8), RollingQAttention(8))
    found = find_rolling_queries(model)
    assert [name
            for name, _, _ in found] == ['0.rolling_query', '1.rolling_query']
    assert found[1][2] is model[1] and found[1][1] is model[1].rolling_query
