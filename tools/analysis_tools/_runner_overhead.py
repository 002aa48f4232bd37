"""Runner route vs a bare PyTorch loop on the same model, data and optimiser.

Used by ``benchmark.py --bare-loop``. Both routes build the config's model
(same seed), its training dataloader and its optimizer, and train the same
number of epochs; each measures the wall time of the epochs after the first
(the first is warm-up: allocator, caches). The Runner route is
``tools/train.py``'s (all default hooks, logging, checkpoints at epoch ends,
the config's custom hooks) without validation; the bare loop is the
authors'-style loop: ``for batch in loader: preprocess, forward, loss,
backward, step``, with no hooks, no logging, no scheduler.
The two alternate ``repeats`` times so that a drift of the machine hits both.
"""
import copy
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _launch import build_runner  # noqa: E402


def _train_config(cfg, epochs: int, work_dir: str):
    cfg = copy.deepcopy(cfg)
    cfg.train_cfg.max_epochs = epochs
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    cfg.default_hooks.logger.interval = 10
    cfg.launcher = 'none'
    return cfg


class EpochTimer:
    """Records the wall time at each epoch boundary of the Runner."""

    def __init__(self):
        self.stamps = []

    def hook(self):
        from mmengine.device import get_device
        from mmengine.hooks import Hook
        timer = self

        class Stamp(Hook):
            priority = 'LOWEST'

            def before_train_epoch(self, runner):
                _synchronize(get_device())
                timer.stamps.append(time.perf_counter())

            def after_train(self, runner):
                _synchronize(get_device())
                timer.stamps.append(time.perf_counter())

        return Stamp()


def runner_route(cfg, epochs: int) -> float:
    """Samples/s of epochs 2..E trained by the Runner."""
    with tempfile.TemporaryDirectory() as work_dir:
        runner = build_runner(_train_config(cfg, epochs, work_dir))
        timer = EpochTimer()
        runner.register_hook(timer.hook())
        runner.train()
        samples = len(runner.train_dataloader.dataset) * (epochs - 1)
        return samples / (timer.stamps[-1] - timer.stamps[1])


def bare_loop(cfg, epochs: int) -> float:
    """Samples/s of epochs 2..E trained by a plain loop."""
    from mmengine.device import get_device
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from rollingq_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        torch.manual_seed(cfg.randomness.get('seed', 0))
        model = MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
        # where the Runner puts it (its data preprocessor follows)
        device = get_device()
        model.to(device)
        loader = Runner.build_dataloader(
            copy.deepcopy(cfg.train_dataloader),
            seed=cfg.randomness.get('seed', 0))
        optimizer = build_optim_wrapper(model, copy.deepcopy(
            cfg.optim_wrapper)).optimizer
    model.train()
    start = None
    for epoch in range(epochs):
        if epoch == 1:
            _synchronize(device)
            start = time.perf_counter()
        for data in loader:
            data = model.data_preprocessor(data, True)
            losses = model(**data, mode='loss')
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    _synchronize(device)
    samples = len(loader.dataset) * (epochs - 1)
    return samples / (time.perf_counter() - start)


def _synchronize(device: str) -> None:
    """Wait for the GPU's queued work, so a time stamp covers it."""
    if device == 'cuda':
        torch.cuda.synchronize()


def measure_overhead(cfg, epochs: int = 3, repeats: int = 3) -> dict:
    """Alternate the two routes ``repeats`` times; medians and spread."""
    if epochs < 2:
        raise ValueError('--epochs must be >= 2 (the first is warm-up)')
    runner_speed, bare_speed = [], []
    for _ in range(repeats):
        runner_speed.append(runner_route(cfg, epochs))
        bare_speed.append(bare_loop(cfg, epochs))
    overheads = [b / r - 1 for r, b in zip(runner_speed, bare_speed)]
    return dict(
        epochs=epochs,
        repeats=repeats,
        threads=torch.get_num_threads(),
        runner_samples_per_s=statistics.median(runner_speed),
        bare_samples_per_s=statistics.median(bare_speed),
        runner_samples_per_s_all=runner_speed,
        bare_samples_per_s_all=bare_speed,
        overhead=statistics.median(overheads),
        overhead_min=min(overheads),
        overhead_max=max(overheads))
