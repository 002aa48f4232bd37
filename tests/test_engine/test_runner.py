"""RollingQRunner's process group: released, worker threads joined, before
the interpreter finalizes."""
import os
import subprocess
import sys

import pytest

from tests.helpers import free_port
from tests.test_tools.test_train_test import ROOT

# A one-process gloo group with a DDP-wrapped model held in a reference
# cycle (as a finished runner holds it) and a collective on Python tensors.
SCRIPT = '''
import os, sys
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from rollingq_mm.engine.runner import _release_process_group

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
_release_process_group()
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
