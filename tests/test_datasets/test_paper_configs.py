"""Every paper config builds and trains one iteration on fixture data.

The models are shrunk (width 32, one layer, no pretrained weights) through
config overrides; the data pipelines are the configs' own, at full size.
"""
import copy
import os.path as osp

import pytest
import torch
from dataset_fixtures import make_cremad, make_kinetics_sounds, make_mosei
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper

from rollingq_mm.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = 32
CONFIGS = {
    'rollingq/rollingq_vit-b16-4l_1xb64_cremad.py': 'cremad',
    'baselines/attention_vit-b16-4l_1xb64_cremad.py': 'cremad',
    'baselines/concat_vit-b16-4l_1xb64_cremad.py': 'cremad',
    'rollingq/rollingq_vit-b16-4l_1xb64_kinetics-sounds.py': 'ks',
    'baselines/attention_vit-b16-4l_1xb64_kinetics-sounds.py': 'ks',
    'baselines/concat_vit-b16-4l_1xb64_kinetics-sounds.py': 'ks',
    'rollingq/rollingq_transformer-4l_1xb64_mosei.py': 'mosei',
    'baselines/attention_transformer-4l_1xb64_mosei.py': 'mosei',
    'baselines/concat_transformer-4l_1xb64_mosei.py': 'mosei',
}
AUDIO_SIZE = {'cremad': (257, 188), 'ks': (1024, 128)}


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    """One fixture folder per dataset, in its config's layout."""
    roots = {
        name: str(tmp_path_factory.mktemp(name))
        for name in ('cremad', 'ks', 'mosei')
    }
    make_cremad(roots['cremad'], spec=True)
    for split in ('train', 'test'):
        make_kinetics_sounds(roots['ks'], split=split)
    make_mosei(
        osp.join(roots['mosei'], 'mosei_senti_data_noalign.pkl'),
        lengths=dict(text=5, audio=12, vision=9))
    return roots


def load(config: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', config))


def check_paper_settings(cfg: Config, dataset: str) -> None:
    """The numbers the paper states, before the test shrinks the model."""
    neck = cfg.model.neck
    if neck.type == 'AttentionFusion':
        assert (neck.embed_dims, neck.num_layers, neck.num_heads,
                neck.attn_drop) == (768, 1, 1, 0.2)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 1e-3, 0.9, 1e-4)
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.param_scheduler[0].end == cfg.param_scheduler[1].begin == 2.5
    assert cfg.train_dataloader.batch_size == 64
    for hook_cfg in cfg.get('custom_hooks', []):
        from rollingq_mm.registry import HOOKS
        hook = HOOKS.build(hook_cfg)  # the config's values and the defaults
        assert (hook.beta, hook.sigma) == (0., 0.)
        assert hook.max_rotations == (3 if dataset == 'ks' else 1)
        assert (hook.stats, hook.air_from,
                hook.method) == ('pass', 'last_batch', 'svd')
    if dataset == 'mosei':
        assert all(e.num_layers == 4 for e in cfg.model.encoders.values())
        assert cfg.val_dataloader.dataset.split == 'valid'
        return
    audio, visual = cfg.model.encoders.audio, cfg.model.encoders.visual
    assert audio.depth == visual.depth == 4 and audio.in_chans == 1
    assert tuple(audio.img_size) == AUDIO_SIZE[dataset]
    assert visual.num_frames == 3


def shrink(cfg: Config) -> dict:
    """A small, randomly initialised copy of ``cfg.model``."""
    model = copy.deepcopy(cfg.model)
    for encoder in model.encoders.values():
        if encoder.type == 'TimmEncoder':
            encoder.update(
                pretrained=False,
                checkpoint_path=None,
                embed_dim=SMALL,
                num_heads=2,
                depth=1)
        else:
            encoder.update(embed_dims=SMALL, num_heads=2, num_layers=1)
    if model.neck.type == 'AttentionFusion':
        model.neck.embed_dims = SMALL
        model.head.in_channels = SMALL
    else:
        model.head.in_channels = SMALL * len(model.encoders)
    if cfg.get('data_preprocessor'):
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return model


def batch_of(loader_cfg: dict, root: str, size: int = 2) -> dict:
    dataset_cfg = copy.deepcopy(loader_cfg.dataset)
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    return default_collate([dataset[i] for i in range(size)])


# The fast lane (-m "not slow") trains one config per data layout (the three
# Kinetics-Sounds ones read the same fixture layout as CREMA-D's frames).
FAST = ('rollingq/rollingq_vit-b16-4l_1xb64_cremad.py',
        'rollingq/rollingq_transformer-4l_1xb64_mosei.py')


@pytest.mark.parametrize('config', [
    pytest.param(name, marks=[] if name in FAST else [pytest.mark.slow])
    for name in sorted(CONFIGS)
])
def test_config_trains_one_iteration(config, data_roots):
    dataset = CONFIGS[config]
    cfg = load(config)
    check_paper_settings(cfg, dataset)
    model = MODELS.build(shrink(cfg))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = batch_of(cfg.train_dataloader, data_roots[dataset])
    if dataset != 'mosei':
        assert tuple(batch['inputs']['audio'].shape[2:]) == AUDIO_SIZE[dataset]
        assert tuple(batch['inputs']['visual'].shape[1:]) == (3, 3, 224, 224)
    model.train()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    model.eval()
    val_batch = batch_of(cfg.val_dataloader, data_roots[dataset])
    with torch.no_grad():
        predictions = model.val_step(val_batch)
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.process(predictions, val_batch)
    metrics = evaluator.evaluate(len(predictions))
    assert {'accuracy/top1', 'single-label/f1-score'} <= set(metrics)


@pytest.mark.slow
def test_rollingq_config_runs_an_epoch_with_the_runner(data_roots, tmp_path):
    """Schedules (2.5-epoch warm-up), the hook, checkpoints, validation."""
    from rollingq_mm.registry import RUNNERS
    cfg = load('rollingq/rollingq_vit-b16-4l_1xb64_cremad.py')
    cfg.model = shrink(cfg)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[name].dataset.data_root = data_roots['cremad']
    cfg.train_cfg.max_epochs = 3  # the cosine starts after 2.5 epochs
    cfg.work_dir = str(tmp_path)
    cfg.default_hooks.logger.interval = 1
    runner = RUNNERS.build(cfg)
    runner.train()
    query = runner.model.neck.layers[0].rolling_query
    assert int(query.num_rotations) == 1
    assert osp.isfile(osp.join(str(tmp_path), 'epoch_3.pth'))
    # the cosine ran to eta_min = 0 at the end of the 3 epochs
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(
        0., abs=1e-12)


def test_vit_config_loads_a_local_in21k_style_checkpoint(tmp_path):
    """The docs' route: a timm checkpoint file -> 1-channel audio ViT."""
    import timm
    audio = load(
        'baselines/attention_vit-b16-4l_1xb64_cremad.py').model.encoders.audio
    source = timm.create_model(
        audio.model_name, embed_dim=SMALL, depth=2,
        num_heads=2)  # with the 21k-class head
    path = str(tmp_path / 'vit_in21k.pth')
    torch.save(source.state_dict(), path)
    encoder = MODELS.build(
        dict(
            audio, checkpoint_path=path, embed_dim=SMALL, depth=1,
            num_heads=2))
    proj = encoder.model.patch_embed.proj.weight
    torch.testing.assert_close(
        proj, source.patch_embed.proj.weight.sum(dim=1, keepdim=True))
    assert encoder.model.pos_embed.shape[1] == 1 + (257 // 16) * (188 // 16)
    torch.testing.assert_close(encoder.model.blocks[0].attn.qkv.weight,
                               source.blocks[0].attn.qkv.weight)
    tokens = encoder(torch.zeros(1, 1, 257, 188))
    assert tuple(tokens.shape) == (1, 1 + 16 * 11, SMALL)
