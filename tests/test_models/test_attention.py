import pytest
import torch

from rollingq_mm.models import RollingQAttention
from rollingq_mm.ops import rotation_between

SLICES = {'audio': slice(1, 6), 'visual': slice(6, 13)}


def _pair(num_heads, **kwargs):
    """Two attentions with the same weights: CLS-only SDPA and the full
    explicit-softmax reference."""
    torch.manual_seed(0)
    ours = RollingQAttention(32, num_heads, cls_only=True, **kwargs).eval()
    ref = RollingQAttention(
        32, num_heads, cls_only=False, fused=False, **kwargs).eval()
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize('num_heads', [1, 4])
def test_cls_only_equals_row_zero_of_full_attention(num_heads):
    ours, ref = _pair(num_heads, attn_drop=0.2, proj_drop=0.2)
    x = torch.randn(3, 13, 32)
    out, _ = ours(x, SLICES)
    full, _ = ref(x, SLICES)
    assert out.shape == (3, 1, 32) and full.shape == (3, 13, 32)
    assert _rel(out[:, 0], full[:, 0]) <= 1e-5


def test_identity_rotation_changes_nothing():
    attn = RollingQAttention(16, 2).eval()
    x = torch.randn(2, 13, 16)
    before, _ = attn(x, SLICES)
    attn.rolling_query.rotate(torch.eye(16))
    after, _ = attn(x, SLICES)
    assert torch.allclose(before, after, atol=1e-6)


def test_rotation_changes_only_the_cls_query():
    torch.manual_seed(1)
    attn = RollingQAttention(16, 2, cls_only=False).eval()
    x = torch.randn(2, 13, 16)
    before, _ = attn(x, SLICES)
    rotation = rotation_between(torch.randn(16), torch.randn(16))
    attn.rolling_query.rotate(rotation)
    after, _ = attn(x, SLICES)
    # rows of the other tokens are untouched, the CLS row moves
    assert torch.equal(before[:, 1:], after[:, 1:])
    assert not torch.allclose(before[:, 0], after[:, 0], atol=1e-4)
    # and it moves exactly as attention with the query R q would
    q_rot = attn.q(x[:, 0]) @ rotation.t()
    keys, values = attn.kv(x).chunk(2, dim=-1)
    heads = lambda t: t.view(2, -1, 2, 8).transpose(1, 2)  # noqa: E731
    weights = (heads(q_rot[:, None]) @ heads(keys).transpose(-2, -1) /
               8**0.5).softmax(-1)
    expected = attn.proj((weights @ heads(values)).transpose(1,
                                                             2).reshape(2, 16))
    assert torch.allclose(after[:, 0], expected, atol=1e-5)


def test_record_holds_the_rotated_query_and_the_keys():
    torch.manual_seed(2)
    attn = RollingQAttention(16, 2).eval()
    rotation = rotation_between(torch.randn(16), torch.randn(16))
    attn.rolling_query.rotate(rotation)
    x = torch.randn(2, 13, 16)
    _, record = attn(x, SLICES)
    assert torch.allclose(
        record.q_cls, attn.q(x[:, 0]) @ rotation.t(), atol=1e-6)
    assert torch.equal(record.keys, attn.kv(x).chunk(2, dim=-1)[0])
    assert record.token_slices == SLICES and record.num_heads == 2


def test_bad_head_count():
    with pytest.raises(ValueError, match='divide'):
        RollingQAttention(10, 3)
