"""Prepare one Kinetics-Sounds split for rollingq_mm's ``KineticsSounds``.

Input: a list file (one clip a line, id first, integer label last, space-
or comma-separated) and the downloaded Kinetics videos ``<id>.<ext>``
anywhere under ``--video-dir`` (e.g. sorted into class folders). Output, in
``--out-dir`` (the config's data_root)::

    ks_<split>.txt                 a copy of the list
    <split>_spec/<id>.npy          log-mel fbank [1024, 128], float32
    <split>_frames/<id>/frame_00001.jpg ...   1-fps frames

The fbank is Kaldi-style (AST / CAV-MAE settings: 16 kHz, 25 ms windows,
10 ms shift, 128 mel bins, Hann window, padded or cropped to 1,024 frames)
computed with plain torch. The audio comes from ``--audio-dir/<id>.wav``
when given (resampled with soxr, as librosa), otherwise it is decoded from
the video with PyAV (``pip install av``, or the ``video`` extra) and
converted to mono at ``--sample-rate`` by libswresample, as
``ffmpeg -ac 1 -ar 16000`` does. Frames are decoded with OpenCV. Finished
outputs are kept, so an interrupted run resumes; ``--overwrite`` redoes
them. Example::

    python tools/dataset_converters/prepare_kinetics_sounds.py \\
        lists/ks_train.txt --split train --video-dir kinetics400/train \\
        --out-dir data/kinetics_sounds --nproc 8
"""
import argparse
import os
import os.path as osp
import sys
from functools import partial
from typing import Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (VIDEO_SUFFIXES, add_run_args, copy_text, decode_audio,
                     extract_frames, index_files, report, run_jobs, save_npy)

STEPS = ('list', 'spec', 'frames')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Kinetics-Sounds videos -> fbank npy and 1-fps frames')
    parser.add_argument('list_file', help='clip list: "<id> ... <label>"')
    parser.add_argument(
        '--split',
        required=True,
        help='split name used in the output folders, '
        'e.g. train or test')
    parser.add_argument(
        '--video-dir',
        required=True,
        help='folder with the videos <id>.<ext> (recursive)')
    parser.add_argument(
        '--audio-dir',
        help='optional folder with <id>.wav; default: '
        'decode the video\'s audio with PyAV')
    parser.add_argument(
        '--out-dir',
        required=True,
        help='output folder (the data_root of the config)')
    parser.add_argument(
        '--steps',
        nargs='+',
        choices=STEPS,
        default=STEPS,
        help='what to prepare (default: all)')
    parser.add_argument('--num-classes', type=int, default=31)
    parser.add_argument(
        '--sample-rate',
        type=int,
        default=16000,
        help='fbank sample rate (default 16000, AST)')
    parser.add_argument('--fps', type=float, default=1.0)
    add_run_args(parser)
    return parser.parse_args(argv)


def fbank_job(out_dir: str, clip: str, video: str, *, sample_rate: int,
              audio_dir: Optional[str]) -> None:
    from rollingq_mm.datasets.transforms.audio import read_wav
    from rollingq_mm.datasets.transforms.fbank import wave_to_fbank
    if audio_dir:
        wave = read_wav(osp.join(audio_dir, clip + '.wav'), sample_rate)
    else:
        wave = decode_audio(video, sample_rate)
    save_npy(
        osp.join(out_dir, clip + '.npy'), wave_to_fbank(wave, sample_rate))


def frames_job(out_dir: str, clip: str, video: str, *, fps: float) -> None:
    extract_frames(video, osp.join(out_dir, clip), fps)


def check_audio_source(args) -> None:
    """Stop before any work when the videos' audio cannot be decoded."""
    if 'spec' not in args.steps or args.audio_dir:
        return
    try:
        import av  # noqa: F401
    except ImportError:
        raise SystemExit('decoding the audio of the videos needs PyAV: pip '
                         'install av (or the rollingq_mm[video] extra), or '
                         'pass --audio-dir with <id>.wav files')


def main(argv=None) -> int:
    args = parse_args(argv)
    # imported before the workers fork, so that they share it
    from rollingq_mm.datasets.kinetics_sounds import read_list_file
    check_audio_source(args)
    clips = [
        clip for clip, _ in read_list_file(args.list_file, args.num_classes)
    ]
    os.makedirs(args.out_dir, exist_ok=True)
    if 'list' in args.steps:
        print(
            copy_text(args.list_file,
                      osp.join(args.out_dir, f'ks_{args.split}.txt'),
                      args.overwrite))
    videos = index_files(args.video_dir, VIDEO_SUFFIXES)
    found = [(clip, videos[clip]) for clip in clips if clip in videos]
    failures = [
        f'{clip}: no video under {args.video_dir}' for clip in clips
        if clip not in videos
    ]
    print(f'{len(clips)} clips in {args.list_file}, {len(found)} videos')
    jobs = {
        'spec': (f'{args.split}_spec', '.npy',
                 partial(
                     fbank_job,
                     sample_rate=args.sample_rate,
                     audio_dir=args.audio_dir)),
        'frames':
        (f'{args.split}_frames', '', partial(frames_job, fps=args.fps)),
    }
    for step, (folder, suffix, job) in jobs.items():
        if step not in args.steps:
            continue
        out = osp.join(args.out_dir, folder)
        failures += run_jobs(
            step,
            found,
            lambda clip, o=out, s=suffix: osp.join(o, clip + s),
            partial(job, out),
            args.overwrite,
            args.nproc)
    return report(failures, 'prepare_kinetics_sounds')


if __name__ == '__main__':
    sys.exit(main())
