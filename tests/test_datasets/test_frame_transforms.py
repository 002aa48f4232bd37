"""LoadFrames (frame rules, decoders) and FrameTransforms (random draws)."""
import numpy as np
import pytest
from dataset_fixtures import write_frames, write_jpg

from rollingq_mm.datasets.transforms import (FrameTransforms, LoadFrames,
                                             PackMultimodalInputs)
from rollingq_mm.datasets.transforms.frame_sampling import (
    kinetics_sounds_indices, segment_indices)
from rollingq_mm.datasets.transforms.frames import list_frames, read_rgb


def test_segment_indices_train_and_test():
    np.random.seed(0)
    for _ in range(20):
        inds = segment_indices(10, 3, random=True)
        assert inds[0] in range(0, 4) and inds[1] in range(3, 7)
        assert inds[2] in range(6, 10)
    np.testing.assert_array_equal(segment_indices(10, 3, False), [1, 5, 8])
    np.testing.assert_array_equal(segment_indices(3, 3, False), [0, 1, 2])
    # fewer frames than wanted: frames repeat, in order
    np.testing.assert_array_equal(segment_indices(2, 3, False), [0, 1, 1])
    np.testing.assert_array_equal(segment_indices(1, 3, True), [0, 0, 0])


def test_kinetics_sounds_indices_by_hand():
    """t (1-based) = i * seg + max(seg // 2, 1) at test, seg = n // 3."""
    cases = {10: [1, 4, 7], 11: [1, 4, 7], 12: [2, 6, 10], 7: [1, 3, 5],
             6: [1, 1, 1], 4: [1, 1, 1], 1: [1, 1, 1]}
    for num, names in cases.items():
        np.testing.assert_array_equal(
            kinetics_sounds_indices(num, 3, random=False),
            np.array(names) - 1)
    import random
    random.seed(0)
    seen = set()
    for _ in range(300):  # training: t in [i*seg + 1, (i+1)*seg], t <= 9
        inds = kinetics_sounds_indices(15, 3, random=True) + 1
        assert 1 <= inds[0] <= 5 and 6 <= inds[1] <= 9 and inds[2] == 9
        seen.update(inds[1:2].tolist())
    assert seen == {6, 7, 8, 9}
    np.testing.assert_array_equal(
        kinetics_sounds_indices(5, 3, random=True), [0, 0, 0])


def test_frames_come_in_natural_name_order(tmp_path):
    folder = tmp_path / 'clip'
    folder.mkdir()
    names = ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00009.jpg',
             'frame_000010.jpg', 'frame_000011.jpg']  # 'frame_0000' + str(t)
    for name in names + ['notes.txt']:
        (folder / name).write_bytes(b'')
    assert [p.split('/')[-1] for p in list_frames(str(folder))] == names


def test_load_frames_from_paths_and_dir(tmp_path):
    paths = write_frames(str(tmp_path / 'clip'), 5, (20, 30))
    out = LoadFrames(
        num_frames=3, test_mode=True,
        sampler='segment')(dict(frame_paths=paths))
    assert len(out['visual']) == 3 and out['visual'][0].shape == (20, 30, 3)
    assert out['visual'][0].dtype == np.uint8
    np.testing.assert_array_equal(out['frame_inds'], [0, 2, 4])
    out = LoadFrames(
        num_frames=2, test_mode=True, stack=True)(
            dict(frame_dir=str(tmp_path / 'clip'), sample_idx=4))
    assert out['visual'].shape == (2, 20, 30, 3)


def test_random_test_draws_need_the_sample_index(tmp_path):
    paths = write_frames(str(tmp_path / 'clip'), 5, (20, 30))
    load = LoadFrames(num_frames=3, test_mode=True)
    with pytest.raises(KeyError, match='sample_idx.*sampler="segment"'):
        load(dict(frame_paths=paths))
    draws = [
        load(dict(frame_paths=paths, sample_idx=i))['frame_inds'].tolist()
        for i in range(8)
    ]
    assert draws == [
        load(dict(frame_paths=paths, sample_idx=i))['frame_inds'].tolist()
        for i in range(8)
    ]
    assert len({tuple(d) for d in draws}) > 1
    other = LoadFrames(num_frames=3, test_mode=True, seed=1)
    assert draws != [
        other(dict(frame_paths=paths, sample_idx=i))['frame_inds'].tolist()
        for i in range(8)
    ]


def test_decoders_agree_on_a_lossless_image(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 17, 3), dtype=np.uint8)
    Image.fromarray(image).save(str(tmp_path / 'f.png'))
    for backend in ('pillow', 'cv2'):
        np.testing.assert_array_equal(
            read_rgb(str(tmp_path / 'f.png'), backend), image)
    with pytest.raises(ValueError, match="backend='gif'"):
        LoadFrames(backend='gif')
    with pytest.raises(ValueError, match="sampler='tsn'"):
        LoadFrames(sampler='tsn')


def test_bad_frames_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='no .jpg frames in .*empty'):
        LoadFrames()(dict(frame_dir=str(tmp_path / 'empty')))
    bad = tmp_path / 'clip' / 'frame_00001.jpg'
    bad.parent.mkdir()
    bad.write_bytes(b'\xff\xd8 not really a jpeg')
    for backend in ('pillow', 'cv2'):
        with pytest.raises(ValueError, match='frame_00001.jpg.*re-extract'):
            LoadFrames(backend=backend)(dict(frame_paths=[str(bad)]))


def test_frame_transforms_share_params_draws_once_per_clip(tmp_path):
    """With the option, identical frames stay identical under crop + flip."""
    write_jpg(str(tmp_path / 'f.jpg'), (60, 80), seed=3)
    frames = [read_rgb(str(tmp_path / 'f.jpg'))] * 4
    transform = FrameTransforms(
        share_params=True,
        transforms=[
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
    # by default (the authors') every frame gets its own draw
    transform.share_params = False
    clip = transform(dict(visual=frames))['visual']
    assert any(not np.array_equal(clip[:, 0], clip[:, t]) for t in (1, 2, 3))


def test_frame_transforms_need_numpy_frames_back(tmp_path):
    frames = [np.zeros((20, 30, 3), np.uint8)]
    transform = FrameTransforms(transforms=[dict(type='NumpyToPIL')])
    with pytest.raises(TypeError, match='PILToNumpy'):
        transform(dict(visual=frames))


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
    results = dict(frame_paths=paths, gt_label=2, clip_id='c', sample_idx=0)
    for transform in pipeline:
        results = transform(results)
    video = results['inputs']['visual']
    assert tuple(video.shape) == (3, 3, 16, 16)
    assert results['data_samples'].gt_label.item() == 2
