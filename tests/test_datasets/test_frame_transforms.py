"""LoadFrames (segment sampling) and FrameTransforms (one draw per clip)."""
import numpy as np
import pytest
from dataset_fixtures import write_frames, write_jpg

from rollingq_mm.datasets.transforms import (FrameTransforms, LoadFrames,
                                             PackMultimodalInputs)
from rollingq_mm.datasets.transforms.frames import sample_indices


def test_sample_indices_train_and_test():
    np.random.seed(0)
    for _ in range(20):
        inds = sample_indices(10, 3, random=True)
        assert inds[0] in range(0, 4) and inds[1] in range(3, 7)
        assert inds[2] in range(6, 10)
    np.testing.assert_array_equal(sample_indices(10, 3, False), [1, 5, 8])
    np.testing.assert_array_equal(sample_indices(3, 3, False), [0, 1, 2])
    # fewer frames than wanted: frames repeat, in order
    np.testing.assert_array_equal(sample_indices(2, 3, False), [0, 1, 1])
    np.testing.assert_array_equal(sample_indices(1, 3, True), [0, 0, 0])


def test_load_frames_from_paths_and_dir(tmp_path):
    paths = write_frames(str(tmp_path / 'clip'), 5, (20, 30))
    out = LoadFrames(num_frames=3, test_mode=True)(dict(frame_paths=paths))
    assert len(out['visual']) == 3 and out['visual'][0].shape == (20, 30, 3)
    assert out['visual'][0].dtype == np.uint8
    np.testing.assert_array_equal(out['frame_inds'], [0, 2, 4])
    out = LoadFrames(
        num_frames=2, test_mode=True, stack=True)(
            dict(frame_dir=str(tmp_path / 'clip')))
    assert out['visual'].shape == (2, 20, 30, 3)


def test_bad_frames_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='no .jpg frames in .*empty'):
        LoadFrames()(dict(frame_dir=str(tmp_path / 'empty')))
    bad = tmp_path / 'clip' / 'frame_00001.jpg'
    bad.parent.mkdir()
    bad.write_bytes(b'\xff\xd8 not really a jpeg')
    with pytest.raises(ValueError, match='frame_00001.jpg.*re-extract'):
        LoadFrames(test_mode=True)(dict(frame_paths=[str(bad)]))


def test_frame_transforms_use_one_draw_per_clip(tmp_path):
    """Identical frames must stay identical under random crop + flip."""
    write_jpg(str(tmp_path / 'f.jpg'), (60, 80), seed=3)
    frames = LoadFrames(
        num_frames=1, test_mode=True)(
            dict(frame_paths=[str(tmp_path / 'f.jpg')]))['visual'] * 4
    transform = FrameTransforms(transforms=[
        dict(type='RandomResizedCrop', scale=32),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    ])
    np.random.seed(1)
    outputs = [transform(dict(visual=frames))['visual'] for _ in range(6)]
    for clip in outputs:
        assert clip.shape == (3, 4, 32, 32) and clip.dtype == np.uint8
        for t in range(1, 4):
            np.testing.assert_array_equal(clip[:, t], clip[:, 0])
    # ... while different clips get different draws
    assert any(not np.array_equal(outputs[0], other) for other in outputs)


def test_frame_transforms_refuse_mixed_sizes():
    frames = [np.zeros((20, 30, 3), np.uint8), np.zeros((24, 30, 3), np.uint8)]
    transform = FrameTransforms(transforms=[dict(type='RandomFlip', prob=0.)])
    with pytest.raises(ValueError, match='fixed-size op'):
        transform(dict(visual=frames))


def test_frames_pack_to_video_tensor(tmp_path):
    paths = write_frames(str(tmp_path / 'clip'), 4, (30, 40))
    pipeline = [
        LoadFrames(num_frames=3, test_mode=True),
        FrameTransforms(transforms=[dict(type='Resize', scale=(16, 16))]),
        PackMultimodalInputs(modalities=['visual']),
    ]
    results = dict(frame_paths=paths, gt_label=2, clip_id='c')
    for transform in pipeline:
        results = transform(results)
    video = results['inputs']['visual']
    assert tuple(video.shape) == (3, 3, 16, 16)
    assert results['data_samples'].gt_label.item() == 2
