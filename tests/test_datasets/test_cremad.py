"""CremaD: split CSVs, files, pipelines and errors."""
import os

import numpy as np
import pytest
from dataset_fixtures import CREMAD_CLIPS, make_cremad

from rollingq_mm.registry import DATASETS

LABELS = {'NEU': 0, 'HAP': 1, 'SAD': 2, 'FEA': 3, 'DIS': 4, 'ANG': 5}


def _pipeline(test_mode: bool, modalities=('audio', 'visual')):
    steps = []
    if 'audio' in modalities:
        steps.append(dict(type='LoadAudioSpectrogram'))
    if 'visual' in modalities:
        steps += [
            dict(type='LoadFrames', num_frames=3, test_mode=test_mode),
            dict(
                type='FrameTransforms',
                transforms=[dict(type='Resize', scale=(32, 32))]),
        ]
    return steps + [
        dict(type='PackMultimodalInputs', modalities=list(modalities))
    ]


def _build(root, **kwargs):
    cfg = dict(
        type='CremaD',
        data_root=root,
        ann_file='train.csv',
        pipeline=_pipeline(kwargs.pop('test_mode', False)))
    cfg.update(kwargs)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('bom', [False, True])
def test_labels_paths_and_samples(tmp_path, bom):
    root = make_cremad(str(tmp_path), bom=bom)['root']
    dataset = _build(root)
    assert len(dataset) == len(CREMAD_CLIPS)
    assert dataset.metainfo['classes'] == tuple(LABELS)
    for index, (clip, label) in enumerate(CREMAD_CLIPS):
        info = dataset.get_data_info(index)
        assert info['clip_id'] == clip and info['gt_label'] == LABELS[label]
        assert info['audio_path'].endswith(f'AudioWAV/{clip}.wav')
        assert [os.path.basename(p) for p in info['frame_paths']
                ] == ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg']
    sample = dataset[0]
    assert tuple(sample['inputs']['audio'].shape) == (1, 257, 188)
    assert tuple(sample['inputs']['visual'].shape) == (3, 3, 32, 32)
    assert sample['data_samples'].gt_label.item() == LABELS['ANG']
    assert sample['data_samples'].clip_id == CREMAD_CLIPS[0][0]


def test_spec_prefix_reads_precomputed_spectrograms(tmp_path):
    root = make_cremad(str(tmp_path), spec=True)['root']
    wav = _build(root, test_mode=True)
    npy = _build(root, test_mode=True, spec_prefix='spec')
    path = npy.get_data_info(1)['audio_path']
    assert path.endswith(f'spec/{CREMAD_CLIPS[1][0]}.npy')
    np.testing.assert_array_equal(npy[1]['inputs']['audio'].numpy(),
                                  wav[1]['inputs']['audio'].numpy())
    # test mode is deterministic
    np.testing.assert_array_equal(npy[1]['inputs']['visual'].numpy(),
                                  npy[1]['inputs']['visual'].numpy())


def test_one_modality_needs_only_its_files(tmp_path):
    root = make_cremad(str(tmp_path))['root']
    for clip, _ in CREMAD_CLIPS:
        os.remove(os.path.join(root, 'AudioWAV', clip + '.wav'))
    dataset = _build(
        root, modalities=['visual'], pipeline=_pipeline(False, ['visual']))
    assert set(dataset[0]['inputs']) == {'visual'}


def test_unknown_label_names_row_and_allowed(tmp_path):
    root = make_cremad(str(tmp_path))['root']
    with open(os.path.join(root, 'train.csv'), 'a') as f:
        f.write('1091_XX_CAL_XX,CAL\n')
    with pytest.raises(
            ValueError,
            match=r"row 7: unknown label 'CAL'.*"
            r"1091_XX_CAL_XX.*NEU, HAP, SAD, FEA, DIS, ANG"):
        _build(root)


def test_missing_files_name_file_and_converter(tmp_path):
    root = make_cremad(str(tmp_path))['root']
    clip = CREMAD_CLIPS[2][0]
    os.remove(os.path.join(root, 'AudioWAV', clip + '.wav'))
    with pytest.raises(
            FileNotFoundError, match=rf'{clip}.wav[\s\S]*prepare_cremad.py'):
        _build(root)
    with pytest.raises(
            FileNotFoundError,
            match=r'spectrogram file .*spec/[\s\S]*prepare_cremad'):
        _build(root, spec_prefix='spec')
    dataset = _build(root, skip_missing=True)
    assert len(dataset) == len(CREMAD_CLIPS) - 1
    with pytest.raises(FileNotFoundError, match='nope.csv.*prepare_cremad'):
        _build(root, ann_file='nope.csv')


def test_unreadable_files_at_load_time(tmp_path):
    root = make_cremad(str(tmp_path))['root']
    clip = CREMAD_CLIPS[0][0]
    with open(os.path.join(root, 'AudioWAV', clip + '.wav'), 'wb') as f:
        f.write(b'not a wav')
    dataset = _build(root)
    with pytest.raises(ValueError, match=f'{clip}.wav'):
        dataset[0]
    frame = dataset.get_data_info(1)['frame_paths'][0]
    with open(frame, 'wb') as f:
        f.write(b'')
    with pytest.raises(ValueError, match='frame_00001.jpg.*re-extract'):
        _build(
            root,
            test_mode=True,
            modalities=['visual'],
            pipeline=_pipeline(True, ['visual']))[1]


def test_bad_modality_is_refused(tmp_path):
    root = make_cremad(str(tmp_path))['root']
    with pytest.raises(ValueError, match='subset of'):
        _build(root, modalities=['text'])
