"""The converters: raw layouts -> the datasets' layouts, resume, overwrite."""
import os
import os.path as osp

import numpy as np
import pytest
from dataset_fixtures import load_converter, write_video, write_wav

from rollingq_mm.datasets.transforms.audio import wav_to_spectrogram
from rollingq_mm.registry import DATASETS

LABELS = ('NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG')


def make_raw_cremad(raw: str) -> list:
    """AudioWAV + VideoFlash (MJPG .avi, 2.5 s at 10 fps), 2 clips / label."""
    clips = [f'10{i:02d}_DFA_{label}_XX' for i in range(2) for label in LABELS]
    for index, clip in enumerate(clips):
        write_wav(
            osp.join(raw, 'AudioWAV', clip + '.wav'),
            1.3,
            freq=200. + 40 * index)
        write_video(osp.join(raw, 'VideoFlash', clip + '.avi'))
    return clips


def test_prepare_cremad_end_to_end_and_resume(tmp_path, capsys):
    tool = load_converter('prepare_cremad')
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
    grays = [
        cv2.imread(osp.join(out, 'Image-01-FPS', first, name)).mean()
        for name in frames
    ]
    np.testing.assert_allclose(grays, [0, 70, 140], atol=4)
    spec_path = osp.join(out, 'spec', first + '.npy')
    np.testing.assert_array_equal(
        np.load(spec_path),
        wav_to_spectrogram(osp.join(raw, 'AudioWAV', first + '.wav')))
    dataset = DATASETS.build(
        dict(
            type='CremaD',
            data_root=out,
            ann_file='train.csv',
            spec_prefix='spec',
            pipeline=[
                dict(type='LoadAudioSpectrogram'),
                dict(type='LoadFrames', num_frames=3, test_mode=True),
                dict(
                    type='PackMultimodalInputs',
                    modalities=['audio', 'visual'])
            ]))
    assert len(dataset) == 6 and dataset[0]['inputs']['audio'].shape[1] == 257

    # resume: nothing is redone, a changed output is kept ...
    np.save(spec_path, np.zeros((257, 188), np.float32))
    capsys.readouterr()
    assert tool.main([raw, '--out-dir', out, '--test-ratio', '0.5']) == 0
    assert '0 to do, 12 already done (kept' in capsys.readouterr().out
    assert not np.load(spec_path).any()
    # ... until --overwrite
    assert tool.main([
        raw, '--out-dir', out, '--test-ratio', '0.5', '--steps', 'spec',
        '--overwrite'
    ]) == 0
    assert np.load(spec_path).any()
    # a different split is not written over silently
    with pytest.raises(FileExistsError, match='train.csv.*--overwrite'):
        tool.main([
            raw, '--out-dir', out, '--seed', '1', '--test-ratio', '0.5',
            '--steps', 'csv'
        ])


def test_prepare_cremad_reports_bad_clips(tmp_path, capsys):
    tool = load_converter('prepare_cremad')
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
    tool = load_converter('prepare_kinetics_sounds')
    videos, audio, out = (
        str(tmp_path / name) for name in ('videos', 'audio', 'ks'))
    clips = {
        'clipA_000010_000020': 4,
        'clipB_000000_000010': 30,
        'clipC_000005_000015': 0
    }
    for index, clip in enumerate(clips):
        write_video(
            osp.join(videos, f'class{index}', clip + '.avi'), seconds=3.2)
        write_wav(osp.join(audio, clip + '.wav'), 2.0, rate=22050)
    list_file = tmp_path / 'list.txt'
    list_file.write_text(''.join(f'{c},{lab}\n' for c, lab in clips.items()))
    args = [
        str(list_file), '--split', 'test', '--video-dir', videos,
        '--audio-dir', audio, '--out-dir', out
    ]
    assert tool.main(args) == 0
    fbank = np.load(osp.join(out, 'test_spec', 'clipA_000010_000020.npy'))
    assert fbank.shape == (1024, 128) and fbank.dtype == np.float32
    assert len(
        os.listdir(osp.join(
            out, 'test_frames',
            'clipB_000000_000010'))) == 4  # t = 0, 1, 2, 3 s of a 3.2 s clip
    dataset = DATASETS.build(
        dict(
            type='KineticsSounds',
            data_root=out,
            ann_file='ks_test.txt',
            spec_prefix='test_spec',
            frame_prefix='test_frames'))
    assert [dataset.get_data_info(i)['gt_label']
            for i in range(3)] == [4, 30, 0]
    os.remove(osp.join(videos, 'class1', 'clipB_000000_000010.avi'))
    assert tool.main(args) == 1
    printed = capsys.readouterr().out
    assert 'clipB_000000_000010: no video under' in printed
    assert 'spec: 0 to do, 2 already done' in printed


def make_fsdd(folder: str, speakers=('ann', 'bob'), takes: int = 4) -> list:
    """A stand-in for FSDD's recordings/: <digit>_<speaker>_<take>.wav."""
    names = []
    for digit in range(10):
        for s_index, speaker in enumerate(speakers):
            for take in range(takes):
                name = f'{digit}_{speaker}_{take}'
                write_wav(
                    osp.join(folder, name + '.wav'),
                    0.2 + 0.05 * take,
                    rate=8000,
                    freq=300. + 90 * digit + 20 * s_index)
                names.append(name)
    return names


def _load_split(out, split):
    with np.load(osp.join(out, f'{split}.npz'), allow_pickle=False) as f:
        return {key: f[key] for key in f.files}


def test_prepare_av_digits_pairs_splits_and_flags(tmp_path):
    from sklearn.datasets import load_digits
    tool = load_converter('prepare_av_digits')
    fsdd = str(tmp_path / 'recordings')
    names = make_fsdd(fsdd)
    out = str(tmp_path / 'av')
    argv = [
        '--fsdd-dir', fsdd, '--out-dir', out, '--splits', '0.5', '0.25',
        '0.25', '--noise-fractions', '0.5', '0.5', '1', '--num-frames', '16'
    ]
    assert tool.main(argv) == 0
    splits = {s: _load_split(out, s) for s in ('train', 'val', 'test')}
    image_labels = load_digits().target
    seen_recordings, seen_images = set(), set()
    for split, data in splits.items():
        num = len(data['label'])
        assert data['audio'].shape == (num, 1, 32, 16)
        assert data['visual'].shape == (num, 1, 8, 8)
        # every recording is paired with a scan of the same digit
        digits = [int(name.split('_')[0]) for name in data['recording']]
        assert digits == data['label'].tolist()
        assert (image_labels[data['image_index']] == data['label']).all()
        # recordings and scans are split disjointly
        assert not seen_recordings & set(data['recording'])
        assert not seen_images & set(data['image_index'].tolist())
        seen_recordings |= set(data['recording'])
        seen_images |= set(data['image_index'].tolist())
        assert np.isfinite(data['audio']).all()
    assert seen_recordings == set(names)  # one sample per recording
    assert len(splits['train']['label']) == 40
    # flags: half of train, all of test; half audio, half visual
    test_groups = splits['test']['corrupted']
    assert set(test_groups) == {'audio', 'visual'}
    assert abs((test_groups == 'audio').sum() -
               (test_groups == 'visual').sum()) <= 1
    assert (splits['train']['corrupted'] != '').sum() == 20
    # a 0-d info string is there and MultimodalArrayDataset ignores it
    assert splits['train']['info'].ndim == 0
    dataset = DATASETS.build(
        dict(
            type='MultimodalArrayDataset',
            ann_file=osp.join(out, 'test.npz'),
            modalities=['audio', 'visual'],
            meta_keys=['corrupted'],
            metainfo=dict(classes=[str(d) for d in range(10)]),
            pipeline=[
                dict(
                    type='PackMultimodalInputs',
                    modalities=['audio', 'visual'])
            ]))
    assert dataset[0]['data_samples'].corrupted in ('audio', 'visual')


@pytest.mark.slow
def test_prepare_av_digits_is_deterministic_and_weakens(tmp_path):
    tool = load_converter('prepare_av_digits')
    fsdd = str(tmp_path / 'recordings')
    make_fsdd(fsdd, takes=3)
    common = [
        '--fsdd-dir', fsdd, '--num-frames', '8', '--splits', '0.6', '0.2',
        '0.2'
    ]
    runs = {}
    for name, extra in (('a', []), ('b', []), ('seed1', ['--seed', '1']),
                        ('weak', ['--weaken', 'visual=1.0'])):
        out = str(tmp_path / name)
        assert tool.main(common + ['--out-dir', out] + extra) == 0
        runs[name] = _load_split(out, 'train')
    assert all(
        np.array_equal(runs['a'][k], runs['b'][k]) for k in runs['a']
        if k != 'info')  # info holds --out-dir
    assert not np.array_equal(runs['a']['recording'],
                              runs['seed1']['recording'])
    assert np.array_equal(runs['a']['recording'], runs['weak']['recording'])
    assert np.array_equal(runs['a']['audio'], runs['weak']['audio'])
    clean = runs['a']['corrupted'] == ''
    assert not np.allclose(runs['a']['visual'][clean],
                           runs['weak']['visual'][clean])
    with pytest.raises(SystemExit, match='exist; pass --overwrite'):
        tool.main(common + ['--out-dir', str(tmp_path / 'a')])
    with pytest.raises(SystemExit, match='MODALITY=LEVEL'):
        tool.main(common +
                  ['--out-dir',
                   str(tmp_path / 'c'), '--weaken', 'smell=2'])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='free-spoken-digit'):
        tool.main([
            '--fsdd-dir',
            str(tmp_path / 'empty'), '--out-dir',
            str(tmp_path / 'd')
        ])
