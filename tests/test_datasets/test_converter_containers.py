"""The converters on real containers: CREMA-D's flv, Kinetics' mp4.

Videos with an audio track are written with PyAV (flv1 + mp3 as CREMA-D's
VideoFlash, H.264 + AAC in mp4 as Kinetics); second s of each video shows a
different real photograph, so the extracted 1-fps frames can be told apart.
"""
import copy
import os
import os.path as osp
import sys

import authors_recipe as authors
import numpy as np
import pytest
from dataset_fixtures import load_converter
from mmengine.config import Config
from real_media import photo_frame, speech_like, write_av_video

from rollingq_mm.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def nearest_photo(path: str, candidates: int) -> int:
    """Which second's photo an extracted frame shows (least abs error)."""
    from PIL import Image
    image = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32)
    errors = [
        np.abs(image - photo_frame(second, image.shape[:2])).mean()
        for second in range(candidates)
    ]
    return int(np.argmin(errors))


def paper_dataset(config: str, loader: str, **overrides):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    dataset_cfg = copy.deepcopy(cfg[loader].dataset)
    dataset_cfg.update(overrides)
    return DATASETS.build(dataset_cfg)


@pytest.mark.slow
def test_prepare_cremad_on_flv_videos(tmp_path):
    import soundfile
    tool = load_converter('prepare_cremad')
    raw, out = tmp_path / 'raw', str(tmp_path / 'cremad')
    clips = ['1001_DFA_ANG_XX', '1002_IEO_HAP_HI']
    for index, clip in enumerate(clips):
        # the release: flv (with an mp3 track) and the 16 kHz wav
        write_av_video(
            str(raw / 'VideoFlash' / f'{clip}.flv'),
            2.5, (360, 480),
            speech_like(22050, 2.5, index)[None],
            22050,
            fps=30,
            codecs=('flv', 'libmp3lame'))
        os.makedirs(raw / 'AudioWAV', exist_ok=True)
        soundfile.write(
            str(raw / 'AudioWAV' / f'{clip}.wav'),
            speech_like(16000, 2.5, index),
            16000,
            subtype='PCM_16')
    split = tmp_path / 'split.csv'
    split.write_text(''.join(f'{c},{c.split("_")[2]}\n' for c in clips))
    assert tool.main([
        str(raw), '--out-dir', out, '--train-csv',
        str(split), '--test-csv',
        str(split)
    ]) == 0
    for clip in clips:
        frame_dir = osp.join(out, 'Image-01-FPS', clip)
        names = sorted(os.listdir(frame_dir))
        assert names == [f'frame_{i:05d}.jpg' for i in (1, 2, 3)]  # 0,1,2 s
        assert [nearest_photo(osp.join(frame_dir, n), 3)
                for n in names] == [0, 1, 2]
        spec = np.load(osp.join(out, 'spec', clip + '.npy'))
        theirs = authors.cremad_spectrogram(
            str(raw / 'AudioWAV' / f'{clip}.wav'))
        assert np.abs(spec - theirs).max() <= 0.01
    dataset = paper_dataset(
        'rollingq/rollingq_vit-b16-4l_1xb64_cremad.py',
        'test_dataloader',
        data_root=out)
    sample = dataset[1]
    assert tuple(sample['inputs']['audio'].shape) == (1, 257, 188)
    assert tuple(sample['inputs']['visual'].shape) == (3, 3, 224, 224)


def _dominant_hz(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return float(np.argmax(spectrum) * rate / wave.size)


@pytest.mark.slow
def test_prepare_kinetics_sounds_on_mp4_videos(tmp_path, capsys):
    tool = load_converter('prepare_kinetics_sounds')
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    from _common import decode_audio
    videos, out = tmp_path / 'videos', str(tmp_path / 'ks')
    rate = 44100
    t = np.arange(int(4.2 * rate)) / rate
    tones = np.where(t < 2.1, np.sin(2 * np.pi * 440 * t),
                     np.sin(2 * np.pi * 1000 * t))
    stereo = (0.3 * np.stack([tones, tones])).astype(np.float32)
    clips = {'clipA_000010_000020': 4, 'clipB_000000_000010': 30}
    for index, clip in enumerate(clips):
        write_av_video(
            str(videos / f'class{index}' / f'{clip}.mp4'), 4.2, (240, 320),
            stereo, rate)
    list_file = tmp_path / 'list.txt'
    list_file.write_text(''.join(f'{c} {lab}\n' for c, lab in clips.items()))
    args = [
        str(list_file), '--split', 'test', '--video-dir',
        str(videos), '--out-dir', out
    ]
    assert tool.main(args) == 0
    # the audio track: mono at 16 kHz, as long as the video, tones in place
    wave = decode_audio(str(videos / 'class0' / 'clipA_000010_000020.mp4'),
                        16000)
    assert abs(wave.size - 4.2 * 16000) < 0.05 * 16000
    assert abs(_dominant_hz(wave[3200:28800], 16000) - 440) < 5
    assert abs(_dominant_hz(wave[36800:64000], 16000) - 1000) < 5
    for clip in clips:
        frame_dir = osp.join(out, 'test_frames', clip)
        names = sorted(os.listdir(frame_dir))
        assert len(names) == 5  # t = 0, 1, 2, 3, 4 s of a 4.2 s video
        assert [nearest_photo(osp.join(frame_dir, n), 5)
                for n in names] == [0, 1, 2, 3, 4]
        fbank = np.load(osp.join(out, 'test_spec', clip + '.npy'))
        # frames of 25 ms every 10 ms over the track, then zero padding
        frames = 1 + (wave.size - 400) // 160
        assert fbank.shape == (1024, 128) and fbank.dtype == np.float32
        assert fbank[:frames].any(axis=1).all() and not fbank[frames:].any()
        peak = fbank[:frames].argmax(axis=1)
        assert peak[300] > peak[100]  # 1 kHz after 2.1 s, 440 Hz before
    dataset = paper_dataset(
        'rollingq/rollingq_vit-b16-4l_1xb64_kinetics-sounds.py',
        'test_dataloader',
        data_root=out)
    assert len(dataset) == 2  # 5 frames each: > 3, kept
    sample = dataset[0]
    assert tuple(sample['inputs']['audio'].shape) == (1, 1024, 128)
    assert tuple(sample['inputs']['visual'].shape) == (3, 3, 224, 224)


def test_audio_decoding_errors(tmp_path, monkeypatch):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    from _common import decode_audio
    silent = str(tmp_path / 'silent.mp4')
    write_av_video(silent, 1.0, (64, 64))
    with pytest.raises(ValueError, match='silent.mp4.*no audio track'):
        decode_audio(silent, 16000)
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='broken.mp4'):
        decode_audio(str(broken), 16000)
    monkeypatch.setitem(sys.modules, 'av', None)
    with pytest.raises(ImportError, match=r'pip install av.*\[video\]'):
        decode_audio(silent, 16000)
    tool = load_converter('prepare_kinetics_sounds')
    list_file = tmp_path / 'list.txt'
    list_file.write_text('clipA 3\n')
    with pytest.raises(SystemExit, match='needs PyAV.*--audio-dir'):
        tool.main([
            str(list_file), '--split', 'test', '--video-dir',
            str(tmp_path), '--out-dir',
            str(tmp_path / 'out')
        ])
