"""The converters: raw layouts -> the datasets' layouts, resume, overwrite."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from dataset_fixtures import write_video, write_wav

from rollingq_mm.datasets.transforms.audio import wav_to_spectrogram
from rollingq_mm.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LABELS = ('NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG')


def load_tool(name: str):
    path = osp.join(ROOT, 'tools', 'dataset_converters', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_raw_cremad(raw: str) -> list:
    """AudioWAV + VideoFlash (MJPG .avi, 2.5 s at 10 fps), 2 clips / label."""
    clips = [f'10{i:02d}_DFA_{label}_XX' for i in range(2) for label in LABELS]
    for index, clip in enumerate(clips):
        write_wav(osp.join(raw, 'AudioWAV', clip + '.wav'), 1.3,
                  freq=200. + 40 * index)
        write_video(osp.join(raw, 'VideoFlash', clip + '.avi'))
    return clips


def test_prepare_cremad_end_to_end_and_resume(tmp_path, capsys):
    tool = load_tool('prepare_cremad')
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'cremad')
    clips = make_raw_cremad(raw)
    assert tool.main([raw, '--out-dir', out, '--test-ratio', '0.5']) == 0
    with open(osp.join(out, 'test.csv')) as f:
        test_rows = [line.strip().split(',') for line in f]
    assert sorted(label for _, label in test_rows) == sorted(LABELS)
    first = clips[0]
    frames = sorted(os.listdir(osp.join(out, 'Image-01-FPS', first)))
    assert frames == ['frame_00001.jpg', 'frame_00002.jpg', 'frame_00003.jpg']
    # the frames at t = 0, 1, 2 s are video frames 0, 10, 20 (gray 7 * i)
    import cv2
    grays = [cv2.imread(osp.join(out, 'Image-01-FPS', first, name)).mean()
             for name in frames]
    np.testing.assert_allclose(grays, [0, 70, 140], atol=4)
    spec_path = osp.join(out, 'spec', first + '.npy')
    np.testing.assert_array_equal(
        np.load(spec_path),
        wav_to_spectrogram(osp.join(raw, 'AudioWAV', first + '.wav')))
    dataset = DATASETS.build(
        dict(type='CremaD', data_root=out, ann_file='train.csv',
             spec_prefix='spec', pipeline=[
                 dict(type='LoadAudioSpectrogram'),
                 dict(type='LoadFrames', num_frames=3, test_mode=True),
                 dict(type='PackMultimodalInputs',
                      modalities=['audio', 'visual'])]))
    assert len(dataset) == 6 and dataset[0]['inputs']['audio'].shape[1] == 257

    # resume: nothing is redone, a changed output is kept ...
    np.save(spec_path, np.zeros((257, 188), np.float32))
    capsys.readouterr()
    assert tool.main([raw, '--out-dir', out, '--test-ratio', '0.5']) == 0
    assert '0 to do, 12 already done (kept' in capsys.readouterr().out
    assert not np.load(spec_path).any()
    # ... until --overwrite
    assert tool.main([raw, '--out-dir', out, '--test-ratio', '0.5',
                      '--steps', 'spec', '--overwrite']) == 0
    assert np.load(spec_path).any()
    # a different split is not written over silently
    with pytest.raises(FileExistsError, match='train.csv.*--overwrite'):
        tool.main([raw, '--out-dir', out, '--seed', '1', '--test-ratio',
                   '0.5', '--steps', 'csv'])


def test_prepare_cremad_reports_bad_clips(tmp_path, capsys):
    tool = load_tool('prepare_cremad')
    raw = str(tmp_path / 'raw')
    clips = make_raw_cremad(raw)
    with open(osp.join(raw, 'VideoFlash', clips[1] + '.avi'), 'wb') as f:
        f.write(b'broken')
    os.remove(osp.join(raw, 'VideoFlash', clips[2] + '.avi'))
    assert tool.main([raw, '--steps', 'frames']) == 1
    printed = capsys.readouterr().out
    assert f'{clips[2]}: no video' in printed
    assert f'{clips[1]}: ValueError: OpenCV cannot read video' in printed
    assert not osp.exists(osp.join(raw, 'Image-01-FPS', clips[1]))


def test_prepare_kinetics_sounds(tmp_path, capsys):
    tool = load_tool('prepare_kinetics_sounds')
    videos, audio, out = (str(tmp_path / name)
                          for name in ('videos', 'audio', 'ks'))
    clips = {'clipA_000010_000020': 4, 'clipB_000000_000010': 30,
             'clipC_000005_000015': 0}
    for index, clip in enumerate(clips):
        write_video(osp.join(videos, f'class{index}', clip + '.avi'),
                    seconds=3.2)
        write_wav(osp.join(audio, clip + '.wav'), 2.0, rate=22050)
    list_file = tmp_path / 'list.txt'
    list_file.write_text(''.join(f'{c},{lab}\n' for c, lab in clips.items()))
    args = [str(list_file), '--split', 'test', '--video-dir', videos,
            '--audio-dir', audio, '--out-dir', out]
    assert tool.main(args) == 0
    fbank = np.load(osp.join(out, 'test_spec', 'clipA_000010_000020.npy'))
    assert fbank.shape == (1024, 128) and fbank.dtype == np.float32
    assert len(os.listdir(osp.join(out, 'test_frames', 'clipB_000000_000010'))
               ) == 4  # t = 0, 1, 2, 3 s of a 3.2 s clip
    dataset = DATASETS.build(
        dict(type='KineticsSounds', data_root=out, ann_file='ks_test.txt',
             spec_prefix='test_spec', frame_prefix='test_frames'))
    assert [dataset.get_data_info(i)['gt_label'] for i in range(3)] == [
        4, 30, 0]
    os.remove(osp.join(videos, 'class1', 'clipB_000000_000010.avi'))
    assert tool.main(args) == 1
    printed = capsys.readouterr().out
    assert 'clipB_000000_000010: no video under' in printed
    assert 'spec: 0 to do, 2 already done' in printed
