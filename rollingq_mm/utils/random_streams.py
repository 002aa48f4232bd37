"""Random streams as functions of counters, and snapshots of a process's
generators.

Two tools make a run reproducible anywhere:

* :func:`seed_global_generators` points Python's ``random``, NumPy's global
  generator and torch's CPU generator at a stream fixed by a tuple of
  counters, e.g. (run seed, epoch, sample index, transform position). A
  transform that draws from the global generators (the authors' loaders,
  torchvision, mmcv) then draws the same numbers in any worker, with any
  number of workers, before and after a resume (fairseq's datasets do the
  same with ``numpy_seed(seed, epoch, index)``).
* :func:`capture_random_state` / :func:`restore_random_state` snapshot and
  restore every generator of this process, as plain containers and tensors
  that a checkpoint holds (``torch.load(weights_only=True)`` reads them).
  :func:`preserved_random_state` restores them after a block, so that the
  block's draws never reach the streams outside it.
"""
import random
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import numpy as np
import torch

__all__ = [
    'seed_global_generators', 'capture_random_state', 'restore_random_state',
    'global_generator_states', 'set_global_generator_states',
    'preserved_random_state'
]

_UINT64 = (1 << 64) - 1


def seed_global_generators(counters: Sequence[int]) -> None:
    """Seed Python's, NumPy's global and torch's CPU generator from counters.

    The three seeds come from ``np.random.SeedSequence(counters)``, so
    streams of nearby counters (epoch 3 and 4, sample 10 and 11) are
    independent. CUDA generators are left alone (data transforms run on the
    CPU; ``torch.manual_seed`` would also reseed every GPU's).

    Args:
        counters (Sequence[int]): E.g. ``(seed, epoch, index, position)``;
            negative values are taken modulo 2**64.
    """
    words = np.random.SeedSequence([int(c) & _UINT64 for c in counters
                                    ]).generate_state(4, np.uint32)
    np.random.seed(words)
    random.seed(int.from_bytes(words.tobytes(), 'little'))
    torch.default_generator.manual_seed(int(words[2]) | (int(words[3]) << 32))


def capture_random_state() -> dict:
    """This process's random generators as plain containers and tensors.

    Returns:
        dict: ``python`` (``random.getstate()``), ``numpy`` (the global
        MT19937 state, its key as a list), ``torch`` (CPU generator state)
        and ``cuda`` (the current GPU's generator state; None without an
        initialised CUDA). Only the current GPU's: a process drives one GPU,
        and a run resumed on another GPU layout (one GPU per slurm task, or
        8 visible GPUs instead of 4) restores it on whichever GPU it drives.
    """
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state()
    return dict(
        python=random.getstate(),
        numpy=(kind, keys.tolist(), int(position), int(has_gauss),
               float(gauss)),
        torch=torch.get_rng_state(),
        cuda=cuda)


def restore_random_state(state: dict) -> None:
    """Set this process's generators to a :func:`capture_random_state`.

    A CUDA state is restored on the current GPU when CUDA is available
    (a list, as release 3 saved one per visible GPU, restores its first).
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state['numpy']
    np.random.set_state(
        (kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state['torch'].cpu())
    cuda = _current_device_state(state.get('cuda'))
    if cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda.cpu())


def _current_device_state(cuda) -> Optional[torch.Tensor]:
    if isinstance(cuda, (list, tuple)):  # release 3: one per visible GPU
        return cuda[0] if cuda else None
    return cuda


def global_generator_states() -> tuple:
    """Python's, NumPy's global and torch's CPU generator states, as the
    generators' own objects (no conversion to plain containers, which a
    checkpoint needs and an in-process restore does not)."""
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_global_generator_states(states: tuple) -> None:
    """Set the generators to a :func:`global_generator_states`."""
    python, numpy, cpu = states
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(cpu)


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Restore Python's, NumPy's global and torch's CPU generator after the
    block (the generators :func:`seed_global_generators` sets).

    Yields:
        None
    """
    states = global_generator_states()
    try:
        yield
    finally:
        set_global_generator_states(states)
