"""RollingQ math in pure torch (no OpenMMLab import).

Notation follows the paper (Ni et al., ICML 2025, arXiv 2506.11465, §3):

* ``q``: the CLS query after W_Q (and the rotation already in force), [d].
* ``k̄_m``: the mean over modality m's tokens of the keys, per sample, [d].
* ``c_m = E[cos(q, k̄_m)]``: the per-modality cosine; AIR = c_a - c_v for two
  modalities, and the imbalance of m is ``c_m - mean(c)`` for any number.
* ``α = softmax(-2σ·c)``: anchor weights (½(1 + tanh(-σ·AIR)) for two).
* ``q_b = Σ_m α_m · E[k̄_m] / ‖E[k̄_m]‖``, rescaled to ‖E[q]‖: the anchor.
* ``R_b``: a rotation with ``R_b · E[q]/‖E[q]‖ = q_b/‖q_b‖``.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F

__all__ = [
    'ROTATION_METHODS', 'rotation_between', 'modality_key_means',
    'query_key_cosines', 'imbalance_rate', 'imbalance', 'exceeds_threshold',
    'modality_weights', 'anchor_query'
]

ROTATION_METHODS = ('planar', 'svd')

# Cosine between the unit vectors beyond which they count as (anti-)parallel.
_PARALLEL_EPS = 1e-12


def _unit(vector: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``vector / ‖vector‖`` in float64, refusing degenerate input."""
    if vector.dim() != 1:
        raise ValueError(f'{name} must be a vector [d], got shape '
                         f'{tuple(vector.shape)}')
    if vector.numel() < 2:
        raise ValueError(f'{name} has dimension {vector.numel()}; a rotation '
                         'needs d >= 2')
    vector = vector.detach().to(torch.float64)
    if not torch.isfinite(vector).all():
        raise ValueError(f'{name} has non-finite entries (NaN or inf); the '
                         'statistics it came from are broken')
    norm = vector.norm()
    if norm == 0:
        raise ValueError(f'{name} has zero norm; its direction is undefined')
    return vector / norm


def _orthogonal_unit(unit: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to ``unit`` (deterministic, float64)."""
    # Gram-Schmidt on the basis vector least aligned with ``unit``.
    basis = torch.zeros_like(unit)
    basis[unit.abs().argmin()] = 1.0
    other = basis - (basis @ unit) * unit
    return other / other.norm()


def _planar_rotation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Minimal rotation taking unit x to unit y; identity off span{x, y}.

    With u = x and w the unit vector of y's component orthogonal to x, the
    rotation by θ in the (u, w) plane is
    ``I + sinθ (w uᵀ - u wᵀ) + (cosθ - 1)(u uᵀ + w wᵀ)``.
    """
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    cos = (x @ y).clamp(-1.0, 1.0)
    residual = y - cos * x
    sin = residual.norm()
    if sin <= _PARALLEL_EPS:
        if cos > 0:
            return eye
        # Opposite vectors: a half-turn in the plane of x and a fixed normal.
        w = _orthogonal_unit(x)
        return eye - 2.0 * (torch.outer(x, x) + torch.outer(w, w))
    w = residual / sin
    return (eye + sin * (torch.outer(w, x) - torch.outer(x, w)) + (cos - 1.0) *
            (torch.outer(x, x) + torch.outer(w, w)))


def _svd_rotation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The authors' construction: SVD of y xᵀ, R = U Vᵀ, det fixed to +1.

    It maps x to y, but is arbitrary on the complement of span{x, y}.
    """
    u, _, vt = torch.linalg.svd(torch.outer(y, x))
    rotation = u @ vt
    if torch.det(rotation) < 0:
        # The last singular vector carries a zero singular value, so flipping
        # it keeps R x = y and makes det = +1.
        u[:, -1] *= -1
        rotation = u @ vt
    return rotation


def rotation_between(x: torch.Tensor,
                     y: torch.Tensor,
                     method: str = 'planar') -> torch.Tensor:
    """A rotation R in SO(d) with ``R @ x/‖x‖ = y/‖y‖``.

    Computed in float64 and returned in ``x``'s dtype. Aligned vectors give
    the identity (for both methods); opposite vectors a half-turn.

    Args:
        x (Tensor): Source vector [d], e.g. the mean CLS query E[q].
        y (Tensor): Target vector [d], e.g. the anchor q_b.
        method (str): ``'planar'`` (minimal rotation in span{x, y}, identity
            on the complement) or ``'svd'`` (the authors' construction).
            Defaults to 'planar'.

    Returns:
        Tensor: R [d, d].

    Raises:
        ValueError: if either vector has zero norm, non-finite entries, d < 2,
            or the method is unknown.
    """
    if method not in ROTATION_METHODS:
        raise ValueError(f'unknown rotation method {method!r}; choose one of '
                         f'{ROTATION_METHODS}')
    if x.shape != y.shape:
        raise ValueError(f'x {tuple(x.shape)} and y {tuple(y.shape)} must '
                         'have the same shape')
    x_unit, y_unit = _unit(x, 'x'), _unit(y, 'y')
    if (x_unit - y_unit).norm() <= _PARALLEL_EPS:
        rotation = torch.eye(x.numel(), dtype=torch.float64, device=x.device)
    elif method == 'planar':
        rotation = _planar_rotation(x_unit, y_unit)
    else:
        rotation = _svd_rotation(x_unit, y_unit)
    return rotation.to(x.dtype)


def modality_key_means(keys: torch.Tensor,
                       token_slices: Dict[str, slice]) -> torch.Tensor:
    """k̄_m: the mean key of each modality's tokens, per sample, in float32.

    Args:
        keys (Tensor): Keys of all tokens [B, N, d].
        token_slices (dict[str, slice]): Token range of each modality.

    Returns:
        Tensor: [B, M, d], modalities in the order of ``token_slices``.
    """
    return torch.stack(
        [keys[:, span].float().mean(dim=1) for span in token_slices.values()],
        dim=1)


def query_key_cosines(q_cls: torch.Tensor,
                      key_means: torch.Tensor) -> torch.Tensor:
    """Per-sample cosine between the CLS query and each modality's mean key.

    Args:
        q_cls (Tensor): CLS queries [B, d].
        key_means (Tensor): Per-modality key means [B, M, d].

    Returns:
        Tensor: cos(q, k̄_m) [B, M].
    """
    return F.cosine_similarity(q_cls.unsqueeze(1), key_means, dim=-1)


def imbalance(cosines: torch.Tensor) -> torch.Tensor:
    """Imbalance of each modality, ``c_m - mean(c)``.

    Args:
        cosines (Tensor): Mean cosines c [M].

    Returns:
        Tensor: [M]; for two modalities ``±AIR / 2``.
    """
    return cosines - cosines.mean()


def imbalance_rate(cosines: torch.Tensor) -> torch.Tensor:
    """Attention Imbalance Rate: ``c_0 - c_1`` for two modalities.

    For M >= 3 modalities it returns the signed imbalance of largest magnitude,
    doubled, so that ``|AIR| > β`` is the trigger for any M (it reduces to
    ``c_0 - c_1`` for M = 2).

    Args:
        cosines (Tensor): Mean cosines c [M], M >= 2.

    Returns:
        Tensor: scalar AIR in [-2, 2].
    """
    if cosines.numel() < 2:
        raise ValueError('AIR needs at least two modalities, got '
                         f'{cosines.numel()}')
    if cosines.numel() == 2:
        return cosines[0] - cosines[1]
    deviation = imbalance(cosines)
    return 2 * deviation[deviation.abs().argmax()]


def exceeds_threshold(cosines: torch.Tensor, beta: float) -> bool:
    """The rotation trigger: ``max_m |c_m - mean(c)| > β / 2``.

    For two modalities this is ``|AIR| > β``.
    """
    return bool(imbalance(cosines).abs().max() > beta / 2)


def modality_weights(cosines: torch.Tensor, sigma: float) -> torch.Tensor:
    """Anchor weights ``α = softmax(-2σ·c)``.

    The favoured modality (larger c) gets the smaller weight; σ = 0 gives
    equal weights. For two modalities α_0 = ½(1 + tanh(-σ·AIR)).

    Args:
        cosines (Tensor): Mean cosines c [M].
        sigma (float): Sensitivity σ >= 0.

    Returns:
        Tensor: α [M], summing to 1.
    """
    return torch.softmax(-2.0 * sigma * cosines, dim=-1)


def anchor_query(mean_query: torch.Tensor,
                 mean_keys: torch.Tensor,
                 weights: torch.Tensor,
                 names: Optional[list] = None) -> torch.Tensor:
    """The balanced anchor ``q_b``, rescaled to the norm of E[q].

    Args:
        mean_query (Tensor): E[q] [d].
        mean_keys (Tensor): E[k̄_m] [M, d].
        weights (Tensor): α [M].
        names (list[str], optional): Modality names, for error messages.

    Returns:
        Tensor: q_b [d] with ‖q_b‖ = ‖E[q]‖, in float64.

    Raises:
        ValueError: on zero-norm or non-finite statistics.
    """
    names = names or [str(i) for i in range(mean_keys.shape[0])]
    units = torch.stack([
        _unit(key, f'mean key of modality {name!r}')
        for key, name in zip(mean_keys, names)
    ])
    _unit(mean_query, 'mean CLS query')  # validates: finite, non-zero
    query_norm = mean_query.detach().to(torch.float64).norm()
    anchor = weights.to(torch.float64) @ units
    return _unit(anchor, 'anchor q_b') * query_norm
