"""Our components are reachable both ways an OpenMMLab user builds them."""
import torch
from mmengine.registry import DefaultScope

import rollingq_mm  # noqa: F401  (registers everything)
from rollingq_mm import registry
from tests.helpers import TINY_VIT


def test_default_scope_rollingq_mm_builds_ours_and_mmpretrains():
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        head = registry.MODELS.build(
            dict(type='LinearClsHead', num_classes=3, in_channels=4))
        neck = registry.MODELS.build(
            dict(type='AttentionFusion', embed_dims=8))
        metric = registry.METRICS.build(dict(type='Accuracy'))
        hook = registry.HOOKS.build(dict(type='RollingQHook'))
        visualizer = registry.VISUALIZERS.get('UniversalVisualizer')
    assert type(head).__module__.startswith('mmpretrain')
    assert type(neck).__name__ == 'AttentionFusion'
    assert type(metric).__name__ == 'Accuracy'
    assert type(hook).__name__ == 'RollingQHook'
    assert visualizer is not None


def test_another_projects_config_uses_prefixed_types():
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    cfg = dict(
        type='rollingq_mm.MultimodalClassifier',
        encoders=dict(
            audio=dict(TINY_VIT, type='rollingq_mm.TimmEncoder', in_chans=1),
            visual=dict(TINY_VIT, type='rollingq_mm.TimmEncoder', in_chans=3)),
        neck=dict(type='rollingq_mm.AttentionFusion', embed_dims=16),
        head=dict(
            type='mmpretrain.LinearClsHead', num_classes=3, in_channels=16))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMPRETRAIN_MODELS.build(cfg)
    logits = model(
        dict(
            audio=torch.randn(2, 1, 16, 16), visual=torch.randn(2, 3, 16, 16)))
    assert logits.shape == (2, 3)


def test_find_component_is_the_one_search(monkeypatch):
    find = registry.find_component
    assert find('SeededSampler').__name__ == 'SeededSampler'
    assert find('LinearClsHead') is None  # mmpretrain's, not ours
    head = find('LinearClsHead', ancestors=True)
    assert head is find('mmpretrain.LinearClsHead')
    assert find('rollingq_mm.LinearClsHead') is None
    assert find(
        'IterTimerHook', ancestors=True).__module__.startswith('mmengine')
    assert find('NoSuchThing', ancestors=True) is None


def test_an_import_error_in_a_subpackage_reaches_the_user(monkeypatch):
    """A broken module behind a registry is its own error, not "not in the
    registry", through every route that searches the registries."""
    import pytest

    from rollingq_mm.utils.cfg_options import _resolve
    monkeypatch.setattr(registry.DATA_SAMPLERS, '_imported', False)
    monkeypatch.setattr(registry.DATA_SAMPLERS, '_locations',
                        ['rollingq_mm.no_such_subpackage'])
    for lookup in (lambda: registry.find_component('SeededSampler'),
                   lambda: rollingq_mm.SeededSampler,
                   lambda: _resolve('SeededSampler')):
        with pytest.raises(ModuleNotFoundError, match='no_such_subpackage'):
            lookup()


def test_the_runners_old_name_builds_the_same_runner():
    from rollingq_mm.engine import RobustRunner
    assert registry.RUNNERS.get('RobustRunner') is RobustRunner
    # configs and checkpoints of releases 1-3 say runner_type=RollingQRunner
    assert registry.RUNNERS.get('RollingQRunner') is RobustRunner
    assert rollingq_mm.RollingQRunner is RobustRunner
