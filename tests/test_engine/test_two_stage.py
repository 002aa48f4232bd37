"""Two-stage initialisation the mmengine way: train a unimodal config, then
initialise that encoder of a multimodal config from its checkpoint with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``, which
mmengine's own loader (``torch.load`` with its defaults) reads."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rollingq_mm.registry import MODELS
from tests.test_tools.test_train_test import MAIN, ROOT, SMALL

pytestmark = pytest.mark.slow
UNIMODAL = 'configs/baselines/unimodal-audio_synthetic.py'
PREFIX = 'encoders.audio.'


def _train(config, work_dir, *options):
    result = subprocess.run([
        sys.executable, 'tools/train.py', config, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1', *SMALL,
        *options
    ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def first_stage(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('audio_first')
    _train(UNIMODAL, work_dir)
    return work_dir / 'epoch_1.pth'


def test_our_checkpoints_load_with_torchs_safe_defaults(first_stage):
    checkpoint = torch.load(
        first_stage, map_location='cpu', weights_only=True)  # no allow-list
    assert any(k.startswith(PREFIX) for k in checkpoint['state_dict'])
    history = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, dict)  # a HistoryBuffer, as plain data


def test_a_multimodal_encoder_starts_from_the_unimodal_checkpoint(
        first_stage, tmp_path):
    cfg = Config.fromfile(MAIN)
    cfg.model.encoders.audio.init_cfg = dict(
        type='Pretrained', checkpoint=str(first_stage), prefix=PREFIX)
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()  # mmengine's PretrainedInit and loader
    saved = torch.load(first_stage, weights_only=True)['state_dict']
    audio = model.encoders.audio.state_dict()
    assert audio and all(
        torch.equal(value, saved[PREFIX + key])
        for key, value in audio.items())
    # the whole recipe through tools/train.py
    log = _train(MAIN, tmp_path,
                 'model.encoders.audio.init_cfg.type=Pretrained',
                 f'model.encoders.audio.init_cfg.checkpoint={first_stage}',
                 f'model.encoders.audio.init_cfg.prefix={PREFIX}')
    assert (tmp_path / 'epoch_1.pth').exists()
    assert 'Pretrained' in log or 'load checkpoint' in log.lower()
