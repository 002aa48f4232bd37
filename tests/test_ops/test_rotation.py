import math

import pytest
import torch

from rollingq_mm.ops import (anchor_query, exceeds_threshold, imbalance,
                             imbalance_rate, modality_key_means,
                             modality_weights, query_key_cosines,
                             rotation_between)


def _check_rotation(rotation, x, y, atol=1e-5):
    eye = torch.eye(rotation.shape[0], dtype=torch.float64)
    r64 = rotation.double()
    assert (r64.t() @ r64 - eye).abs().max() < atol
    assert torch.linalg.det(r64).item() == pytest.approx(1.0, abs=1e-6)
    mapped = r64 @ (x.double() / x.double().norm())
    assert torch.allclose(mapped, y.double() / y.double().norm(), atol=atol)


@pytest.mark.parametrize('method', ['planar', 'svd'])
@pytest.mark.parametrize('dim', [2, 3, 64, 768])
def test_rotation_maps_x_to_y(method, dim):
    gen = torch.Generator().manual_seed(dim)
    x = torch.randn(dim, generator=gen)
    y = torch.randn(dim, generator=gen) * 3.0
    rotation = rotation_between(x, y, method)
    assert rotation.dtype == torch.float32
    assert rotation.shape == (dim, dim)
    _check_rotation(rotation, x, y)


@pytest.mark.parametrize('dim', [3, 64])
def test_planar_is_identity_off_the_plane(dim):
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, dim, generator=gen, dtype=torch.float64)
    rotation = rotation_between(x, y, 'planar')
    # an orthonormal basis of span{x, y}; anything orthogonal must not move
    basis, _ = torch.linalg.qr(torch.stack([x, y], dim=1))
    z = torch.randn(dim, generator=gen, dtype=torch.float64)
    z_perp = z - basis @ (basis.t() @ z)
    assert torch.allclose(rotation @ z_perp, z_perp, atol=1e-10)
    # and the angle is the one between x and y: trace = d - 2 + 2 cos θ
    cos = (x @ y) / (x.norm() * y.norm())
    assert torch.trace(rotation).item() == pytest.approx(dim - 2 +
                                                         2 * cos.item())


@pytest.mark.parametrize('method', ['planar', 'svd'])
def test_rotations_of_many_random_pairs(method):
    """Properties, not a re-computation: orthogonal, det +1, x̂ -> ŷ and
    Rᵀ ŷ = x̂, for pairs where the SVD's U Vᵀ has either determinant sign
    (the authors' flip of the last singular vector is exercised)."""
    gen = torch.Generator().manual_seed(7)
    for dim in (3, 4, 16):
        for _ in range(10):
            x, y = torch.randn(2, dim, generator=gen, dtype=torch.float64)
            rotation = rotation_between(x, y, method)
            _check_rotation(rotation, x, y, atol=1e-10)
            back = rotation.t() @ (y / y.norm())
            assert torch.allclose(back, x / x.norm(), atol=1e-10)


@pytest.mark.parametrize('method', ['planar', 'svd'])
def test_aligned_vectors_give_identity(method):
    x = torch.randn(8, dtype=torch.float64)
    assert torch.equal(
        rotation_between(x, 2.5 * x, method),
        torch.eye(8, dtype=torch.float64))


@pytest.mark.parametrize('method', ['planar', 'svd'])
@pytest.mark.parametrize('dim', [2, 5])
def test_opposite_vectors_give_a_half_turn(method, dim):
    x = torch.randn(dim, dtype=torch.float64)
    rotation = rotation_between(x, -x, method)
    _check_rotation(rotation, x, -x)
    if method == 'planar':
        # a half-turn in one plane: eigenvalue -1 twice, +1 elsewhere
        assert torch.trace(rotation).item() == pytest.approx(dim - 4)


@pytest.mark.parametrize('bad, message', [
    (torch.zeros(4), 'zero norm'),
    (torch.tensor([1., float('nan'), 0., 0.]), 'non-finite'),
    (torch.tensor([1., float('inf'), 0., 0.]), 'non-finite'),
])
def test_degenerate_inputs_raise(bad, message):
    good = torch.ones(4)
    with pytest.raises(ValueError, match=message):
        rotation_between(bad, good)
    with pytest.raises(ValueError, match=message):
        rotation_between(good, bad)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='unknown rotation method'):
        rotation_between(torch.ones(3), torch.ones(3), 'euler')
    with pytest.raises(ValueError, match='same shape'):
        rotation_between(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match='d >= 2'):
        rotation_between(torch.ones(1), torch.ones(1))


@pytest.mark.parametrize('sigma', [0.0, 0.5, 1.0, 3.0])
def test_tanh_and_softmax_weights_agree(sigma):
    cosines = torch.tensor([0.4, -0.1], dtype=torch.float64)
    air = imbalance_rate(cosines)
    alpha_audio = 0.5 * (1 + math.tanh(-sigma * air.item()))
    weights = modality_weights(cosines, sigma)
    assert weights[0].item() == pytest.approx(alpha_audio, abs=1e-12)
    assert weights.sum().item() == pytest.approx(1.0)
    if sigma > 0:
        assert weights[0] < weights[1]  # the favoured modality weighs less


def test_imbalance_rate_and_trigger():
    two = torch.tensor([0.5, 0.2])
    assert imbalance_rate(two).item() == pytest.approx(0.3)
    assert exceeds_threshold(two, beta=0.29)
    assert not exceeds_threshold(two, beta=0.31)
    three = torch.tensor([0.6, 0.0, 0.0])
    assert torch.allclose(imbalance(three), torch.tensor([0.4, -0.2, -0.2]))
    assert imbalance_rate(three).item() == pytest.approx(0.8)
    assert exceeds_threshold(three, beta=0.79)
    assert not exceeds_threshold(three, beta=0.81)
    with pytest.raises(ValueError, match='two modalities'):
        imbalance_rate(torch.tensor([0.1]))


def test_cosines_and_key_means():
    keys = torch.randn(4, 7, 6)
    slices = {'audio': slice(1, 3), 'visual': slice(3, 7)}
    means = modality_key_means(keys, slices)
    assert torch.allclose(means[:, 0], keys[:, 1:3].mean(1))
    assert torch.allclose(means[:, 1], keys[:, 3:7].mean(1))
    q = torch.randn(4, 6)
    cos = query_key_cosines(q, means)
    expected = (q[:, None] * means).sum(-1) / (
        q.norm(dim=-1)[:, None] * means.norm(dim=-1))
    assert torch.allclose(cos, expected, atol=1e-6)


def test_anchor_query():
    mean_query = torch.tensor([0., 0., 2.])
    mean_keys = torch.tensor([[3., 0., 0.], [0., 0.5, 0.]])
    anchor = anchor_query(mean_query, mean_keys, torch.tensor([0.5, 0.5]))
    expected = torch.tensor([1., 1., 0.],
                            dtype=torch.float64) * 2 / math.sqrt(2)
    assert torch.allclose(anchor, expected)
    assert anchor.norm().item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="modality 'visual'"):
        anchor_query(mean_query, torch.tensor([[1., 0, 0], [0., 0, 0]]),
                     torch.tensor([0.5, 0.5]), ['audio', 'visual'])
