"""BalancedTrainLoop: several optimiser steps per iteration, in phases."""
from typing import Dict, Sequence

import torch
from mmengine.runner import EpochBasedTrainLoop

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import LOOPS


@LOOPS.register_module()
class BalancedTrainLoop(EpochBasedTrainLoop):
    """mmengine's epoch loop whose iteration is the balancer's phases.

    A balance method that trains in phases (MLA: one optimiser step per
    modality; ReconBoost: the stage's modality, then a correction of all)
    names them per iteration (``balancer.iteration_phases()``). For each
    phase the loop runs the model's own ``train_step`` — mmengine's, or its
    DDP wrapper's, so gradients are all-reduced as in any step — with the
    balancer in that phase, whose ``phase_loss`` is then the forward's loss.
    Hooks see one iteration (``before_train_iter`` / ``after_train_iter``
    once, the iteration counter +1), with the phases' log variables merged
    (``loss`` summed). Without a phased balancer it is
    ``EpochBasedTrainLoop``.

    .. code-block:: python

        train_cfg = dict(type='BalancedTrainLoop', max_epochs=30)

    Args:
        **kwargs: As for mmengine's ``EpochBasedTrainLoop``.
    """

    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        balancer = getattr(unwrap_model(self.runner.model), 'balancer', None)
        if balancer is None or not balancer.steps_in_phases:
            return super().run_iter(idx, data_batch)
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs: Dict[str, torch.Tensor] = {}
        for phase in balancer.iteration_phases():
            with balancer.in_phase(phase):
                log_vars = self.runner.model.train_step(
                    data_batch, optim_wrapper=self.runner.optim_wrapper)
            for key, value in log_vars.items():
                outputs[key] = outputs[key] + value if key == 'loss' and \
                    key in outputs else value
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1
