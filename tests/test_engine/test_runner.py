"""RobustRunner's process group: released, worker threads joined, before
the interpreter finalizes."""
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers import free_port
from tests.test_tools.test_train_test import ROOT

# A one-process gloo group with a DDP-wrapped model held in a reference
# cycle (as a finished runner holds it) and a collective on Python tensors.
SCRIPT = '''
import os, sys
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from rollingq_mm.engine.runner import release_process_group

def threads():
    return len(os.listdir('/proc/self/task'))

before = threads()
dist.init_process_group(
    'gloo', init_method='tcp://127.0.0.1:' + sys.argv[1], rank=0,
    world_size=1)
holder = dict(model=MMDistributedDataParallel(
    torch.nn.Linear(2, 2), device_ids=None))
holder['self'] = holder
gathered = [torch.empty(1)]
dist.all_gather(gathered, torch.ones(1))
del gathered
during = threads()
del holder
release_process_group()
print(before, during, threads(), dist.is_initialized())
'''


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.isdir('/proc/self/task'), reason='counts threads in /proc')
def test_the_released_group_joins_its_worker_threads():
    result = subprocess.run([sys.executable, '-c', SCRIPT,
                             str(free_port())],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'),
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    before, during, after, initialized = result.stdout.split()[-4:]
    assert int(during) > int(before)  # gloo's worker and transport threads
    assert int(after) == int(before)
    assert initialized == 'False'


def _draws_per_epoch(loader_class, num_workers, persistent, epochs=3):
    """How far torch's global generator moves while ``epochs`` epochs of a
    loader are iterated, as the position of its next draw."""
    from torch.utils.data import DataLoader
    loader = DataLoader(
        list(range(4)),
        batch_size=2,
        num_workers=num_workers,
        persistent_workers=persistent)
    if loader_class is not DataLoader:
        loader.__class__ = loader_class
    torch.manual_seed(0)
    for _ in range(epochs):
        list(loader)
    return torch.rand(1)


def test_persistent_workers_draw_as_many_numbers_as_none():
    from torch.utils.data import DataLoader

    from rollingq_mm.engine.runner import OneDrawPerEpochLoader
    no_workers = _draws_per_epoch(DataLoader, 0, False)
    assert torch.equal(
        _draws_per_epoch(OneDrawPerEpochLoader, 2, True), no_workers)
    assert torch.equal(
        _draws_per_epoch(OneDrawPerEpochLoader, 0, False), no_workers)
    # negative control: torch's loader draws once for persistent workers
    assert not torch.equal(_draws_per_epoch(DataLoader, 2, True), no_workers)


def test_the_runner_builds_loaders_that_draw_once_per_epoch():
    from mmengine.registry import DefaultScope

    from rollingq_mm.engine.runner import OneDrawPerEpochLoader, RobustRunner
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        loader = RobustRunner.build_dataloader(
            dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='SeededSampler', shuffle=True),
                dataset=dict(
                    type='SyntheticMultimodal',
                    num_samples=8,
                    modalities=['audio', 'visual'],
                    pipeline=[])),
            seed=0)
    assert type(loader) is OneDrawPerEpochLoader


def test_a_gpu_machine_whose_cuda_fails_is_not_trained_on_cpu(monkeypatch):
    import os.path

    from rollingq_mm.engine.runner import check_no_gpu_is_hidden
    real_exists = os.path.exists
    monkeypatch.setattr(
        os.path, 'exists',
        lambda path: path == '/dev/nvidiactl' or real_exists(path))
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    with pytest.raises(
            RuntimeError,
            match=r"NVIDIA devices \(/dev/nvidiactl"
            r"\) but torch cannot use CUDA.*CUDA_VISIBLE_DEVICES"):
        check_no_gpu_is_hidden()
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')  # the CPU on purpose
    check_no_gpu_is_hidden()


def test_a_machine_without_gpus_trains_on_cpu():
    import os.path

    from rollingq_mm.engine.runner import check_no_gpu_is_hidden
    if os.path.exists('/dev/nvidiactl'):
        pytest.skip('this machine has NVIDIA devices')
    check_no_gpu_is_hidden()
