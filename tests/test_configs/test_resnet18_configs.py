"""The imbalance literature's two-ResNet-18 setup (configs/resnet18): every
config trains one iteration on AV-Digits-sized stand-ins (the AV-Digits
configs in test_configs.py), and the model and schedule are the authors'
(checked against torchvision and torch)."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rollingq_mm.registry import MODELS, PARAM_SCHEDULERS
from tests.helpers import expand_braces
from tests.test_configs.test_configs import _one_iteration

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'resnet18', '*.py')))
CREMAD_CONCAT = osp.join(ROOT, 'configs', 'resnet18',
                         'concat_resnet18_1xb64_cremad.py')
DOC = osp.join(ROOT, 'docs', 'balance_methods.md')


def _name(path):
    return osp.basename(path)


@pytest.fixture(scope='module')
def stand_ins(tmp_path_factory):
    """Arrays in AV-Digits' sizes: log-mel [1, 32, 64] and 8 x 8 images, as
    3 RGB frames for the CREMA-D / Kinetics-Sounds models."""
    root = tmp_path_factory.mktemp('stand_ins')
    rng = np.random.default_rng(0)
    np.savez(
        root / 'frames.npz',
        audio=rng.standard_normal((8, 1, 32, 64)).astype('f4'),
        visual=rng.standard_normal((8, 3, 3, 8, 8)).astype('f4'),
        label=np.arange(8) % 4)
    return root


def test_every_dataset_and_method_is_there():
    names = {_name(path) for path in CONFIGS}
    for dataset in ('cremad', 'kinetics-sounds'):
        for method in ('concat', 'attention', 'rollingq',
                       'rollingq+ogm-ge-attention', 'ogm-ge-concat',
                       'ogm-ge-attention', 'pmr-concat', 'pmr-attention',
                       'mmpareto-concat', 'mmpareto-attention', 'aux-concat',
                       'aux-attention'):
            assert f'{method}_resnet18_1xb64_{dataset}.py' in names


# CREMA-D and Kinetics-Sounds (the AV-Digits ones train in test_configs.py);
# two ResNet-18 make each run a second or more: the fast lane (-m "not slow")
# trains one config per dataset, the full suite all of them.
FAST = ('rollingq_resnet18_1xb64_cremad.py',
        'ogm-ge-concat_resnet18_1xb64_kinetics-sounds.py')
PAPER_CONFIGS = [
    pytest.param(
        path, marks=[] if osp.basename(path) in FAST else [pytest.mark.slow])
    for path in CONFIGS if '_av-digits' not in path
]


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=_name)
def test_config_trains_one_iteration_on_a_stand_in(path, stand_ins):
    cfg = Config.fromfile(path)
    loader = cfg.train_dataloader
    modalities = loader.dataset.pipeline[-1]['modalities']
    loader.dataset = dict(
        type='MultimodalArrayDataset',
        ann_file=str(stand_ins / 'frames.npz'),
        modalities=modalities,
        pipeline=[dict(type='PackMultimodalInputs', modalities=modalities)])
    loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    _one_iteration(cfg)


def test_docs_list_exactly_the_configs():
    listed = {
        name
        for pattern in re.findall(r'^configs/resnet18/(\S+\.py)',
                                  open(DOC).read(), re.M)
        for name in expand_braces(pattern)
    }
    assert listed == {_name(path) for path in CONFIGS}


def test_encoders_are_the_authors_resnet18():
    import torchvision
    cfg = Config.fromfile(CREMAD_CONCAT)
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(cfg.model)
    reference = torchvision.models.resnet18()  # the authors' layers
    reference_sizes = sorted(p.numel()
                             for n, p in reference.named_parameters()
                             if not n.startswith('fc.'))
    visual = model.encoders['visual'].backbone
    assert sorted(p.numel() for p in visual.parameters()) == reference_sizes
    audio = model.encoders['audio'].backbone
    assert audio.conv1.weight.shape == (64, 1, 7, 7)  # 1-channel spectrogram
    # the authors' fc_out: one Linear on the 1024-d concatenation
    assert model.head.fc.in_features == 1024
    tokens = model.encode(
        dict(
            audio=torch.randn(2, 1, 257, 188),  # CREMA-D's spectrogram
            visual=torch.randn(2, 3, 3, 224, 224)))  # 3 frames
    assert tokens['audio'].shape == (2, 9 * 6, 512)
    assert tokens['visual'].shape == (2, 3 * 7 * 7, 512)


def test_schedule_is_the_authors_step_lr():
    cfg = Config.fromfile(CREMAD_CONCAT)
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.train_dataloader.batch_size == 64
    options = cfg.optim_wrapper.optimizer
    assert (options.type, options.lr, options.momentum,
            options.weight_decay) == ('SGD', 1e-3, 0.9, 1e-4)

    def optimizer():
        return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)

    ours, theirs = optimizer(), optimizer()
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=ours))
        for s in cfg.param_scheduler
    ]
    reference = torch.optim.lr_scheduler.StepLR(theirs, 70, 0.1)
    for _ in range(100):  # per epoch, as both step
        assert ours.param_groups[0]['lr'] == pytest.approx(
            theirs.param_groups[0]['lr'])
        ours.step(), theirs.step()  # an epoch of (gradient-free) steps
        for scheduler in schedulers:
            scheduler.step()
        reference.step()
