"""UMT (Du et al., ICML 2023): uni-modal teachers."""
from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.model import ModuleDict

from rollingq_mm.registry import MODELS
from ..teachers import FrozenTeacher
from .base import BalanceContext, BaseBalancer


@MODELS.register_module()
class UMT(BaseBalancer):
    """Distil each encoder's pooled feature from a unimodal teacher.

    A two-stage recipe: the unimodal configs (``unimodal-audio_*``,
    ``unimodal-visual_*``) train each modality alone; the multimodal model
    then adds ``weight · MSE(φ_m^teacher, φ_m)`` per modality to its loss,
    φ_m the pooled encoder feature (the classifier's pooling, CLS or mean)
    and φ_m^teacher the teacher's on the same inputs. The teachers are
    :class:`FrozenTeacher`: loaded from their checkpoints, in eval mode,
    without gradient, outside the optimiser and the student's checkpoints
    (held in ``model.balancer_modules``).

    No official code is released; follows BalanceBenchmark 3f27575
    ``UMT_trainer.py`` (lines 32-49 teachers, 137-147 loss: the fused CE +
    alpha · Σ_m MSE of the pooled 512-d encoder features, mean over the
    elements). Differences: the teachers run in eval mode (BalanceBenchmark
    never calls ``.eval()`` on them, so their BatchNorm normalises with the
    batch and moves its statistics); each teacher is named by its config
    and checkpoint, not found as the newest run folder; BalanceBenchmark's
    HEAD multiplies by ``scaling`` 10 instead of ``alpha`` 1.

    Args:
        teachers (dict[str, dict]): Per modality, ``dict(config=...,
            checkpoint=...)`` (:class:`FrozenTeacher`'s arguments). Every
            modality of the model needs one.
        weight (float): The distillation weight. Defaults to 1.0
            (BalanceBenchmark 3f27575's ``alpha``).
    """

    def __init__(self, teachers: Dict[str, dict], weight: float = 1.0):
        super().__init__()
        if weight < 0:
            raise ValueError(f'UMT: weight must be >= 0, got {weight}')
        self.teacher_cfgs = dict(teachers)
        self.weight = weight

    def bind(self, model) -> None:
        super().bind(model)
        missing = [m for m in self.modalities if m not in self.teacher_cfgs]
        unknown = [m for m in self.teacher_cfgs if m not in self.modalities]
        if missing or unknown:
            raise ValueError(
                f'UMT needs one teacher per modality {self.modalities}: '
                f'missing {missing}, unknown {unknown}')
        teachers = {}
        for name in self.modalities:
            cfg = self.teacher_cfgs[name]
            if not isinstance(cfg, dict) or set(cfg) != {
                    'config', 'checkpoint'
            }:
                raise ValueError(
                    f'UMT: teachers[{name!r}] must be dict(config=..., '
                    f'checkpoint=...), got {cfg!r}')
            teacher = FrozenTeacher(**cfg)
            found = getattr(teacher.teacher, 'token_dims', {}).get(name)
            if found != model.token_dims[name]:
                raise ValueError(
                    f'UMT: the {name} teacher ({cfg["config"]}) has no '
                    f'{name} encoder of width {model.token_dims[name]} '
                    f'(found {found}); distil from a model of the same '
                    'encoder')
            teachers[name] = teacher
        model.balancer_modules['teachers'] = ModuleDict(teachers)

    def extra_losses(self, model, context: BalanceContext) -> dict:
        losses = {}
        for name in self.modalities:
            teacher = model.balancer_modules['teachers'][name].teacher
            with torch.no_grad():
                target = teacher.pool_modalities(
                    teacher.encode({name: context.inputs[name]}))[name]
            student = context.pooled[name]
            distance = F.mse_loss(student, target.to(student.dtype))
            losses[f'loss_umt_{name}'] = self.weight * distance
            self.track(**{f'mse_{name}': distance.detach()})
        return losses
