"""``--compile`` (the encoders compiled, the fusion eager) trains every
balancer; MMPareto differentiates the compiled encoders twice per step."""
import os
import subprocess
import sys

import pytest
import torch
import torch._functorch.config as functorch_config

from rollingq_mm.engine import BalancedOptimWrapper
from rollingq_mm.engine.runner import compile_submodules
from tests.helpers import tiny_classifier
from tests.test_engine.test_amp import BALANCERS, _batch, _hooked
from tests.test_tools.test_train_test import ROOT, SMALL


def _two_compiled_steps(balancer, backend):
    balancer_cfg, aux = BALANCERS[balancer]
    extra = dict(aux_heads=dict(type='LinearClsHead', num_classes=4)) \
        if aux else {}
    torch.manual_seed(0)
    model = tiny_classifier(balancer=balancer_cfg, **extra)
    compiled = compile_submodules(model, dict(backend=backend))
    assert compiled == ['encoders.audio', 'encoders.visual']
    wrapper = BalancedOptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.01))
    batch = _batch(16)
    _hooked(model, batch)
    for _ in range(2):
        log_vars = model.train_step(_batch(16), wrapper)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())


@pytest.fixture(autouse=True)
def _fresh_compiler():
    # compile_submodules switches donated buffers off for MMPareto, for the
    # process; and dynamo's caches are cleared, or after its recompile
    # limit for the encoders' code it would run them eagerly, unnoticed
    torch._dynamo.reset()
    with functorch_config.patch(donated_buffer=True):
        yield
    torch._dynamo.reset()


def test_mmpareto_trains_compiled_encoders():
    # aot_eager: AOTAutograd (where the second backward failed) without
    # Inductor's code generation, so it takes seconds
    _two_compiled_steps('mmpareto', 'aot_eager')
    assert functorch_config.donated_buffer is False


# Inductor takes tens of seconds per model on a CPU: the methods that use
# the compiled encoders differently — masked re-runs (AGM), additive
# gradients (InfoReg), changed tokens (OPM), detached tokens (DGL) — and
# the earlier four; the rest act on the loss only, as PMR does.
COMPILED = ('none', 'aux', 'ogm-ge', 'pmr', 'mmpareto', 'agm', 'inforeg',
            'opm', 'dgl')


@pytest.mark.slow
@pytest.mark.parametrize('balancer', COMPILED)
def test_balancers_train_inductor_compiled_encoders(balancer):
    _two_compiled_steps(balancer, 'inductor')


@pytest.mark.slow
def test_compile_flag_trains_mmpareto(tmp_path):
    result = subprocess.run([
        sys.executable, 'tools/train.py',
        'configs/balance/mmpareto-concat_synthetic.py', '--compile',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1', *SMALL
    ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'),
                            timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'donated buffers off, MMPareto' in log
    assert (tmp_path / 'epoch_1.pth').exists()
