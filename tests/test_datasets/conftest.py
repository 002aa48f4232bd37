"""Shared setup for the dataset tests: registries and the default scope."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))  # dataset_fixtures


@pytest.fixture(autouse=True, scope='module')
def rollingq_scope():
    """Import rollingq_mm; ``rollingq_mm`` is the default scope meanwhile.

    Datasets build their pipelines through mmengine's root registry, which
    reaches our transforms only through the default scope (as configs do
    with ``default_scope='rollingq_mm'``). The previous scope is restored
    afterwards, so tests elsewhere see no change.
    """
    from mmengine.registry import DefaultScope

    import rollingq_mm  # noqa: F401
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        yield
