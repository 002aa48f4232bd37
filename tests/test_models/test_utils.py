import pytest
from torch import nn

from rollingq_mm.models.utils import (eval_mode, preprocessed_batches,
                                      resolve_pools)


def test_eval_mode_restores_the_mode_also_after_an_error():
    model = nn.Sequential(nn.Dropout(0.5)).train()
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not model.training and not model[0].training
            raise RuntimeError('inside the pass')
    assert model.training and model[0].training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training  # an eval model stays in eval


class _Recorder(nn.Module):

    def __init__(self):
        super().__init__()
        self.calls = []

    def data_preprocessor(self, data, training):
        self.calls.append(training)
        return dict(inputs=data * 10)


def test_preprocessed_batches_stop_at_max_batches_and_do_not_augment():
    model = _Recorder()
    batches = list(preprocessed_batches(model, range(5), max_batches=2))
    assert batches == [dict(inputs=0), dict(inputs=10)]
    assert model.calls == [False, False]
    assert len(list(preprocessed_batches(model, range(5)))) == 5


def test_resolve_pools_follows_cls_tokens_and_refuses_cls_without_one():
    cls_tokens = dict(audio=True, visual=False)
    assert resolve_pools(None, cls_tokens, {}, 'pool') == dict(
        audio='cls', visual='mean')
    assert resolve_pools('mean', cls_tokens, {}, 'pool') == dict(
        audio='mean', visual='mean')
    with pytest.raises(
            ValueError,
            match=r"probe_pool='cls'.*'visual' "
            r'\(encoder TimmEncoder\).*no CLS'):
        resolve_pools('cls', cls_tokens, dict(visual='TimmEncoder'),
                      'probe_pool')
    with pytest.raises(ValueError, match='unknown pool'):
        resolve_pools('max', cls_tokens, {}, 'pool')
