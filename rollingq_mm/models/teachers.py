"""FrozenTeacher: a trained model held fixed beside the model it teaches."""
import os.path as osp
import re
from typing import Union

import torch
from mmengine.config import Config
from torch import nn

from rollingq_mm.registry import MODELS
from .utils import build_module


@MODELS.register_module()
class FrozenTeacher(nn.Module):
    """A model built from its config and loaded from its checkpoint, frozen.

    The teacher is held outside the module tree (not a submodule): its
    weights are in neither the student's ``parameters()`` — so not in the
    optimiser, DDP's reduction or weight decay — nor its ``state_dict``
    (checkpoints stay the student's; a resumed run loads the teacher from
    the same file again). It moves with the student (``.to`` / ``.cuda`` /
    ``.half``), stays in eval mode whatever ``train()`` says (dropout off,
    BatchNorm statistics fixed) and runs without gradient.

    Args:
        config (str | dict): The teacher's training config (a file, e.g. a
            unimodal config) or its ``model`` dict.
        checkpoint (str): The teacher's local checkpoint (strict load:
            every key must fit).

    Raises:
        FileNotFoundError: the config or the checkpoint does not exist.
        CheckpointError: the checkpoint does not fit or is damaged.
    """

    def __init__(self, config: Union[str, dict], checkpoint: str):
        super().__init__()
        from rollingq_mm.utils.checkpoint import (check_fits,
                                                  load_checkpoint_file)
        if isinstance(config, str):
            if not osp.isfile(config):
                raise FileNotFoundError(
                    f'FrozenTeacher: config {config!r} does not exist; give '
                    'the config the teacher was trained with')
            config = Config.fromfile(config).model
        teacher = build_module(dict(config))
        state = load_checkpoint_file(checkpoint)
        state['state_dict'] = {
            re.sub(r'^module\.', '', k): v
            for k, v in state['state_dict'].items()
        }
        check_fits(teacher, state, checkpoint)
        teacher.load_state_dict(state['state_dict'])
        teacher.requires_grad_(False)
        teacher.eval()
        self.checkpoint = checkpoint
        self._held = [teacher]  # a list: outside the module tree

    @property
    def teacher(self) -> nn.Module:
        """The frozen model."""
        return self._held[0]

    def _apply(self, fn, *args, **kwargs):
        # .to() / .cuda() / .half() reach the held teacher too
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Always eval: a teacher's statistics are fixed."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, *args, **kwargs):
        """The teacher's forward, without gradient."""
        with torch.no_grad():
            return self.teacher(*args, **kwargs)
