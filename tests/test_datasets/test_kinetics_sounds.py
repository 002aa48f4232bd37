"""KineticsSounds: list formats, class names, files and errors."""
import os

import numpy as np
import pytest
from dataset_fixtures import KS_CLIPS, make_kinetics_sounds

from rollingq_mm.registry import DATASETS


def _build(root, ann_file, **kwargs):
    pipeline = [
        dict(type='LoadSpectrogramNpy', expected_shape=(1024, 128)),
        dict(type='LoadFrames', num_frames=3, test_mode=True),
        dict(
            type='FrameTransforms',
            transforms=[dict(type='Resize', scale=(32, 32))]),
        dict(type='PackMultimodalInputs', modalities=['audio', 'visual']),
    ]
    cfg = dict(
        type='KineticsSounds',
        data_root=root,
        ann_file=ann_file,
        pipeline=pipeline)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('sep', [' ', ','])
def test_list_formats_labels_and_shapes(tmp_path, sep):
    ann_file = make_kinetics_sounds(str(tmp_path), sep=sep)
    dataset = _build(str(tmp_path), ann_file)
    assert len(dataset) == len(KS_CLIPS)
    assert len(dataset.metainfo['classes']) == 31
    for index, (clip, label) in enumerate(KS_CLIPS):
        info = dataset.get_data_info(index)
        assert (info['clip_id'], info['gt_label']) == (clip, label)
        assert info['audio_path'].endswith(f'train_spec/{clip}.npy')
        assert len(info['frame_paths']) == 10
    sample = dataset[0]
    assert tuple(sample['inputs']['audio'].shape) == (1, 1024, 128)
    assert tuple(sample['inputs']['visual'].shape) == (3, 3, 32, 32)
    assert sample['data_samples'].gt_label.item() == KS_CLIPS[0][1]


def test_classes_file_and_test_split_prefixes(tmp_path):
    ann_file = make_kinetics_sounds(str(tmp_path), split='test')
    names = [f'action {i}' for i in range(31)]
    (tmp_path / 'classes.txt').write_text('\n'.join(names) + '\n')
    dataset = _build(
        str(tmp_path),
        ann_file,
        spec_prefix='test_spec',
        frame_prefix='test_frames',
        classes_file='classes.txt',
        test_mode=True)
    assert dataset.metainfo['classes'] == tuple(names)
    (tmp_path / 'short.txt').write_text('a\nb\n')
    with pytest.raises(ValueError, match='2 class names but num_classes=31'):
        _build(
            str(tmp_path),
            ann_file,
            spec_prefix='test_spec',
            frame_prefix='test_frames',
            classes_file='short.txt')


def test_bad_lines_name_file_and_line(tmp_path):
    ann_file = make_kinetics_sounds(str(tmp_path))
    path = tmp_path / ann_file
    path.write_text(path.read_text() + '# a comment\n\nclipX 31\n')
    with pytest.raises(ValueError, match=r'line 7: label 31 .*clipX'):
        _build(str(tmp_path), ann_file)
    path.write_text('clipY label\n')
    with pytest.raises(ValueError, match=r'line 1: .*not an integer label'):
        _build(str(tmp_path), ann_file)


def test_missing_and_wrong_files(tmp_path):
    ann_file = make_kinetics_sounds(str(tmp_path))
    clip = KS_CLIPS[1][0]
    frame_dir = tmp_path / 'train_frames' / clip
    for name in os.listdir(frame_dir):
        os.remove(frame_dir / name)
    with pytest.raises(
            FileNotFoundError,
            match=rf'0 .jpg frame\(s\) in .*{clip}[\s\S]*'
            'prepare_kinetics_sounds.py'):
        _build(str(tmp_path), ann_file)
    dataset = _build(str(tmp_path), ann_file, skip_missing=True)
    assert len(dataset) == len(KS_CLIPS) - 1
    np.save(tmp_path / 'train_spec' / f'{KS_CLIPS[0][0]}.npy',
            np.zeros((998, 128), np.float32))
    with pytest.raises(
            ValueError, match=r'\(998, 128\), expected '
            r'\(1024, 128\)'):
        dataset[0]


def test_drop_short_clips_is_the_authors_filter(tmp_path):
    """Folders with <= N entries (any files) are dropped; missing ones are
    still missing files."""
    ann_file = make_kinetics_sounds(str(tmp_path), num_frames=4)
    frames = tmp_path / 'train_frames'
    os.remove(frames / KS_CLIPS[0][0] / 'frame_00004.jpg')  # 3 entries
    os.remove(frames / KS_CLIPS[1][0] / 'frame_00004.jpg')
    (frames / KS_CLIPS[1][0] / 'notes.txt').write_text('')  # 4 entries
    kept = _build(str(tmp_path), ann_file, drop_short_clips=3)
    assert [kept.get_data_info(i)['clip_id']
            for i in range(len(kept))] == [c for c, _ in KS_CLIPS[1:]]
    assert len(_build(str(tmp_path), ann_file)) == len(KS_CLIPS)
    for name in os.listdir(frames / KS_CLIPS[2][0]):
        os.remove(frames / KS_CLIPS[2][0] / name)
    os.rmdir(frames / KS_CLIPS[2][0])
    with pytest.raises(FileNotFoundError, match=KS_CLIPS[2][0]):
        _build(str(tmp_path), ann_file, drop_short_clips=3)
