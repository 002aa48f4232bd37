"""FrozenTeacher: loaded from its checkpoint, outside the student's
parameters, state dict and optimiser, always in eval mode, no gradient,
moved with the student."""
import pytest
import torch
from torch import nn

from rollingq_mm.models import FrozenTeacher
from rollingq_mm.utils.checkpoint import CheckpointError
from tests.helpers import TINY_VIT

AUDIO_ONLY = dict(
    type='MultimodalClassifier',
    encoders=dict(audio=dict(TINY_VIT, in_chans=1, drop_rate=0.5)),
    neck=dict(type='ConcatFusion'),
    head=dict(type='LinearClsHead', num_classes=4))


def _saved_teacher(tmp_path):
    from rollingq_mm.registry import MODELS
    torch.manual_seed(0)
    trained = MODELS.build(AUDIO_ONLY)
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=trained.state_dict(), meta={}), path)
    return trained, str(path)


class Student(nn.Module):

    def __init__(self, teacher):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.teacher = teacher


def test_the_teacher_is_loaded_frozen_and_outside_the_student(tmp_path):
    trained, path = _saved_teacher(tmp_path)
    student = Student(FrozenTeacher(AUDIO_ONLY, path))
    teacher = student.teacher.teacher
    for ours, theirs in zip(teacher.state_dict().values(),
                            trained.state_dict().values()):
        assert torch.equal(ours, theirs)
    # not the student's: parameters (optimiser, DDP) and state dict
    assert [n for n, _ in student.named_parameters()] == [
        'layer.weight', 'layer.bias'
    ]
    assert set(student.state_dict()) == {'layer.weight', 'layer.bias'}
    assert not any(p.requires_grad for p in teacher.parameters())
    student.train()
    assert student.training and not teacher.training  # dropout off
    audio = torch.randn(3, 1, 16, 16, requires_grad=True)
    first = student.teacher.teacher.encode(dict(audio=audio))['audio']
    out = student.teacher(dict(audio=audio))
    assert not out.requires_grad
    assert torch.equal(
        first, student.teacher.teacher.encode(dict(audio=audio))['audio'])
    student.double()  # moves with the student
    assert next(teacher.parameters()).dtype == torch.float64


def test_a_teacher_that_does_not_fit_is_refused(tmp_path):
    _, path = _saved_teacher(tmp_path)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        FrozenTeacher(AUDIO_ONLY, str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        FrozenTeacher(str(tmp_path / 'no_such_config.py'), path)
    wider = dict(AUDIO_ONLY, head=dict(type='LinearClsHead', num_classes=5))
    with pytest.raises(CheckpointError, match='does not fit'):
        FrozenTeacher(wider, path)
