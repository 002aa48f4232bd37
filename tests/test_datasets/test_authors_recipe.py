"""The paper configs feed the tensors of the authors' loaders.

Oracle: ``authors_recipe.py`` (their code restated with librosa, PIL and
torchvision). Data: ``real_media.py`` (real photographs, speech-like
recordings at 16 and 8 kHz) laid out as CREMA-D and as Kinetics-Sounds. Each
sample goes through the dataset, the paper config's pipeline and the data
preprocessor, and is compared with the oracle sample by sample.
"""
import copy
import os.path as osp
import random
import shutil

import authors_recipe as authors
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from real_media import (make_real_cremad, make_real_kinetics_sounds,
                        write_speech_wav)

from rollingq_mm.datasets.transforms.frame_sampling import (
    random_sorted_indices, sample_rng)
from rollingq_mm.registry import DATASETS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_CONFIGS = {
    'cremad': [
        'rollingq/rollingq_vit-b16-4l_1xb64_cremad.py',
        'baselines/attention_vit-b16-4l_1xb64_cremad.py',
        'baselines/concat_vit-b16-4l_1xb64_cremad.py',
    ],
    'ks': [
        'rollingq/rollingq_vit-b16-4l_1xb64_kinetics-sounds.py',
        'baselines/attention_vit-b16-4l_1xb64_kinetics-sounds.py',
        'baselines/concat_vit-b16-4l_1xb64_kinetics-sounds.py',
    ],
}
# The bounds: log-spectrogram max abs diff on bins where the
# authors' value is > -5, mean abs diff over all bins; frames max abs diff
# in normalised units.
SPEC_MAX, SPEC_LOUD, SPEC_MEAN, FRAME_MAX = 0.01, -5., 0.01, 1e-4


def load(name: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def build(loader_cfg: dict, **overrides):
    cfg = copy.deepcopy(loader_cfg.dataset)
    cfg.update(overrides)
    return DATASETS.build(cfg)


def run(dataset, index: int):
    """The pipeline step by step: (packed sample, frame indices)."""
    results, inds = dataset.get_data_info(index), None
    for step in dataset.pipeline.transforms:
        results = step(results)
        inds = results.get('frame_inds', inds)
    return results, inds


def preprocess(cfg: Config, samples: list) -> dict:
    """The config's data preprocessor on the collated samples."""
    preprocessor = MODELS.build(cfg.data_preprocessor)
    return preprocessor(default_collate(samples))['inputs']


def check_spectrogram(ours: np.ndarray, theirs: np.ndarray) -> tuple:
    assert ours.shape == theirs.shape
    diff = np.abs(ours - theirs)
    loud = theirs > SPEC_LOUD
    assert diff[loud].max() <= SPEC_MAX and diff.mean() <= SPEC_MEAN
    return float(diff[loud].max()), float(diff.mean()), float(diff.max())


@pytest.fixture(scope='module')
def cremad(tmp_path_factory):
    return make_real_cremad(str(tmp_path_factory.mktemp('cremad_real')))


@pytest.fixture(scope='module')
def kinetics(tmp_path_factory):
    return make_real_kinetics_sounds(str(tmp_path_factory.mktemp('ks_real')))


@pytest.mark.parametrize('dataset', sorted(PAPER_CONFIGS))
def test_paper_configs_share_one_pipeline(dataset):
    """So that the tests below, on the RollingQ config, cover them all."""
    first, *others = [load(name) for name in PAPER_CONFIGS[dataset]]
    for cfg in others:
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            assert cfg[loader].dataset == first[loader].dataset
        assert cfg.data_preprocessor == first.data_preprocessor


@pytest.mark.slow  # librosa's first call compiles with numba (~40 s)
def test_cremad_test_mode_equals_the_authors(cremad):
    cfg = load(PAPER_CONFIGS['cremad'][0])
    dataset = build(
        cfg.test_dataloader, data_root=cremad['root'], spec_prefix=None)
    assert len(dataset) == len(cremad['clips'])
    packed = [run(dataset, index) for index in range(len(dataset))]
    inputs = preprocess(cfg, [sample for sample, _ in packed])
    worst = []
    for index, (_, inds) in enumerate(packed):
        info = dataset.get_data_info(index)
        theirs = authors.cremad_spectrogram(info['audio_path'])
        worst.append(
            check_spectrogram(inputs['audio'][index, 0].numpy(), theirs))
        # the authors draw at random here too: compare given our draw
        paths = [info['frame_paths'][i] for i in inds]
        expected = authors.frames(paths, train=False)
        frame_diff = (inputs['visual'][index] - expected).abs().max().item()
        assert frame_diff <= FRAME_MAX, (info['clip_id'], frame_diff)
        worst[-1] += (frame_diff, )
    print('\nCREMA-D test mode, per clip (spec max on bins > -5, spec mean, '
          'spec max, frames max):',
          *[tuple(f'{v:.2e}' for v in row) for row in worst],
          sep='\n  ')


def test_cremad_train_mode_equals_the_authors_for_one_seed(cremad):
    """Same global seeds -> same frames, crops and flips as the authors."""
    cfg = load(PAPER_CONFIGS['cremad'][0])
    dataset = build(
        cfg.train_dataloader, data_root=cremad['root'], spec_prefix=None)
    np.random.seed(3)
    torch.manual_seed(3)
    ours = [run(dataset, index) for index in range(len(dataset))]
    np.random.seed(3)
    torch.manual_seed(3)
    for index, (sample, inds) in enumerate(ours):
        paths = dataset.get_data_info(index)['frame_paths']
        their_inds = authors.cremad_frame_indices(len(paths))
        np.testing.assert_array_equal(inds, their_inds)
        expected = authors.frames([paths[i] for i in their_inds], train=True)
        visual = preprocess(cfg, [sample])['visual'][0]
        assert (visual - expected).abs().max().item() <= FRAME_MAX


def test_cremad_train_mode_with_seeded_samples_equals_the_authors(cremad):
    """The training loader's path (SeededSampler's keys): each transform
    draws from the stream of (seed, epoch, sample, position), and the
    authors' code fed from the same streams gives the same frames."""
    from rollingq_mm.datasets import SampleKey
    from rollingq_mm.utils.random_streams import seed_global_generators
    cfg = load(PAPER_CONFIGS['cremad'][0])
    dataset = build(
        cfg.train_dataloader, data_root=cremad['root'], spec_prefix=None)
    names = [type(t).__name__ for t in dataset.pipeline.transforms]
    frames_at = names.index('LoadFrames')
    transforms_at = names.index('FrameTransforms')
    for index in range(len(dataset)):
        key = SampleKey(index, seed=11, epoch=3)
        sample = dataset[key]
        paths = dataset.get_data_info(index)['frame_paths']
        seed_global_generators((11, 3, index, frames_at))
        their_inds = authors.cremad_frame_indices(len(paths))
        seed_global_generators((11, 3, index, transforms_at))
        expected = authors.frames([paths[i] for i in their_inds], train=True)
        visual = preprocess(cfg, [sample])['visual'][0]
        assert (visual - expected).abs().max().item() <= FRAME_MAX
        again = preprocess(cfg, [dataset[key]])['visual'][0]
        assert torch.equal(visual, again)


@pytest.mark.slow  # librosa
def test_cremad_clips_shorter_than_one_second_keep_188_columns(tmp_path):
    """The project's fix: tile as often as needed (the authors: 3 times)."""
    cfg = load(PAPER_CONFIGS['cremad'][0])
    loader = TRANSFORMS.build(cfg.test_pipeline[0])
    assert type(loader).__name__ == 'LoadAudioSpectrogram'
    path = str(tmp_path / 'short.wav')
    write_speech_wav(path, 16000, 0.6, seed=5)
    ours = loader(dict(audio_path=path))['audio'][0]
    theirs = authors.cremad_spectrogram(path)
    assert ours.shape == (257, 188) and theirs.shape[1] < 188
    # columns whose window lies inside the authors' 3 tiles are the same
    inside = (3 * int(np.ceil(0.6 * 22050)) - 256) // 353
    check_spectrogram(ours[:, :inside], theirs[:, :inside])


def test_cremad_test_draws_are_seeded_sorted_and_with_replacement(cremad):
    cfg = load(PAPER_CONFIGS['cremad'][0])
    first, again = (build(
        cfg.test_dataloader,
        data_root=cremad['root'],
        modalities=['visual'],
        pipeline=cfg.test_pipeline[1:2]) for _ in range(2))
    for index in range(len(first)):  # repeatable across runs
        np.testing.assert_array_equal(first[index]['frame_inds'],
                                      again[index]['frame_inds'])
    draws = np.stack([
        random_sorted_indices(4, 3, sample_rng(0, index, 'visual'))
        for index in range(3000)
    ])
    assert (np.diff(draws, axis=1) >= 0).all()  # sorted
    assert (np.diff(draws, axis=1) == 0).any(axis=1).mean() > 0.3  # repeats
    assert len({tuple(row) for row in draws}) == 20  # all multisets of 3 of 4
    # each frame drawn with probability 1/4 per draw, as np.random.choice
    np.testing.assert_allclose(
        np.bincount(draws.ravel()) / draws.size, 0.25, atol=0.02)
    other_seed = random_sorted_indices(4, 3, sample_rng(1, 0, 'visual'))
    assert any(
        not np.array_equal(
            random_sorted_indices(4, 3, sample_rng(seed, 0, 'visual')),
            other_seed) for seed in (0, 2, 3))


def test_train_crops_are_drawn_per_frame_and_reproduced_by_a_seed(cremad):
    """Three copies of one photo: their crops must differ; a seed repeats."""
    cfg = load(PAPER_CONFIGS['cremad'][0])
    clip_dir = osp.join(cremad['root'], 'Image-01-FPS', cremad['clips'][0][0])
    paths = [osp.join(clip_dir, f'frame_{i:05d}.jpg') for i in (1, 2, 3)]
    for path in paths[1:]:
        shutil.copyfile(paths[0], path)
    frames_step, transform = (
        TRANSFORMS.build(step) for step in cfg.train_pipeline[1:3])

    def draw(seed):
        torch.manual_seed(seed)
        np.random.seed(seed)
        results = frames_step(dict(frame_paths=paths))
        return transform(results)['visual']  # [C, T, H, W]

    clip = draw(0)
    assert all(not np.array_equal(clip[:, 0], clip[:, t]) for t in (1, 2))
    np.testing.assert_array_equal(draw(0), clip)
    assert not np.array_equal(draw(1), clip)
    # the project's option: one crop and flip per clip
    transform.share_params = True
    shared = draw(0)
    assert all(np.array_equal(shared[:, 0], shared[:, t]) for t in (1, 2))


def test_kinetics_sounds_test_mode_equals_the_authors(kinetics):
    cfg = load(PAPER_CONFIGS['ks'][0])
    root = kinetics['root']
    dataset = build(cfg.test_dataloader, data_root=root)
    kept = [
        clip for clip, *_ in kinetics['clips'] if authors.ks_keeps(
            osp.join(root, 'test_spec', clip + '.npy'),
            osp.join(root, 'test_frames', clip))
    ]
    assert [dataset.get_data_info(i)['clip_id']
            for i in range(len(dataset))] == kept
    packed = [run(dataset, index) for index in range(len(dataset))]
    inputs = preprocess(cfg, [sample for sample, _ in packed])
    for index, (_, inds) in enumerate(packed):
        info = dataset.get_data_info(index)
        frame_dir = osp.join(root, 'test_frames', info['clip_id'])
        names = authors.ks_frame_names(frame_dir, train=False)
        paths = [osp.join(frame_dir, name) for name in names]
        assert [info['frame_paths'][i] for i in inds] == paths
        expected = authors.frames(paths, train=False)
        assert (inputs['visual'][index] -
                expected).abs().max().item() <= FRAME_MAX
        np.testing.assert_array_equal(inputs['audio'][index, 0].numpy(),
                                      np.load(info['audio_path']))


def test_kinetics_sounds_train_mode_equals_the_authors_for_one_seed(
        kinetics):
    cfg = load(PAPER_CONFIGS['ks'][0])
    root = kinetics['root']
    dataset = build(
        cfg.train_dataloader,
        data_root=root,
        ann_file=kinetics['ann_file'],
        spec_prefix='test_spec',
        frame_prefix='test_frames')
    random.seed(7)
    torch.manual_seed(7)
    ours = [run(dataset, index) for index in range(len(dataset))]
    random.seed(7)
    torch.manual_seed(7)
    for index, (sample, inds) in enumerate(ours):
        info = dataset.get_data_info(index)
        frame_dir = osp.join(root, 'test_frames', info['clip_id'])
        paths = [
            osp.join(frame_dir, name)
            for name in authors.ks_frame_names(frame_dir, train=True)
        ]
        assert [info['frame_paths'][i] for i in inds] == paths
        expected = authors.frames(paths, train=True)
        visual = preprocess(cfg, [sample])['visual'][0]
        assert (visual - expected).abs().max().item() <= FRAME_MAX
