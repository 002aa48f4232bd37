"""Prepare CREMA-D for rollingq_mm's ``CremaD`` dataset.

Input: the raw release (https://github.com/CheyneyComputerScience/CREMA-D,
fetched with git-lfs): ``AudioWAV/<clip>.wav`` and ``VideoFlash/<clip>.flv``.
Output, in ``--out-dir`` (default: the release folder itself)::

    train.csv, test.csv        rows ``clip_id,LABEL``
    Image-01-FPS/<clip>/frame_00001.jpg ...   1-fps frames
    spec/<clip>.npy            the paper's spectrogram [257, 188], float32
    AudioWAV -> the release's AudioWAV (a link when --out-dir differs)

Splits: ``--train-csv/--test-csv`` copy given files (e.g. the split the
community uses, 6,698 / 744 clips); without them a split stratified by
emotion is drawn with ``--seed`` and ``--test-ratio``.

Finished outputs are kept, so an interrupted run resumes; ``--overwrite``
redoes them. Example::

    python tools/dataset_converters/prepare_cremad.py data/CREMA-D \\
        --out-dir data/cremad --train-csv train.csv --test-csv test.csv \\
        --nproc 8
"""
import argparse
import csv
import io
import os
import os.path as osp
import sys
from functools import partial

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (VIDEO_SUFFIXES, add_run_args, copy_text, extract_frames,
                     index_files, report, run_jobs, save_npy)

LABELS = ('NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG')
STEPS = ('csv', 'frames', 'spec')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CREMA-D release -> frames, spectrograms, split CSVs')
    parser.add_argument('raw_dir', help='folder with AudioWAV/, VideoFlash/')
    parser.add_argument(
        '--out-dir',
        help='output folder (the data_root of '
        'the config); default: raw_dir')
    parser.add_argument(
        '--steps',
        nargs='+',
        choices=STEPS,
        default=STEPS,
        help='what to prepare (default: all)')
    parser.add_argument('--train-csv', help='copy this split file')
    parser.add_argument('--test-csv', help='copy this split file')
    parser.add_argument(
        '--test-ratio',
        type=float,
        default=0.1,
        help='test share of a drawn split (default 0.1, '
        'about the common 744 / 7,442)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of a drawn split')
    parser.add_argument(
        '--fps',
        type=float,
        default=1.0,
        help='frames per second to extract (default 1, '
        'the folder name Image-01-FPS)')
    add_run_args(parser)
    args = parser.parse_args(argv)
    if bool(args.train_csv) != bool(args.test_csv):
        parser.error('give both --train-csv and --test-csv, or neither')
    return args


def clip_label(clip: str) -> str:
    """The emotion field of a CREMA-D name, e.g. 1001_DFA_ANG_XX -> ANG."""
    parts = clip.split('_')
    if len(parts) < 3 or parts[2] not in LABELS:
        raise ValueError(f'clip name {clip!r} has no emotion field from '
                         f'{LABELS} (expected e.g. 1001_DFA_ANG_XX)')
    return parts[2]


def draw_split(clips, test_ratio: float, seed: int) -> dict:
    """Stratified by emotion: ``{'train': rows, 'test': rows}``."""
    rng = np.random.default_rng(seed)
    split = {'train': [], 'test': []}
    for label in LABELS:
        group = sorted(c for c in clips if clip_label(c) == label)
        rng.shuffle(group)
        count = int(round(len(group) * test_ratio))
        split['test'] += [(c, label) for c in group[:count]]
        split['train'] += [(c, label) for c in group[count:]]
    return {name: sorted(rows) for name, rows in split.items()}


def write_csv(path: str, rows, overwrite: bool) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator='\n').writerows(rows)
    if osp.isfile(path) and not overwrite:
        with open(path, encoding='utf-8-sig') as f:
            if f.read() == buffer.getvalue():
                return f'{path} is up to date'
        raise FileExistsError(f'{path} exists and differs from the drawn '
                              'split; pass --overwrite to replace it')
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write(buffer.getvalue())
    return f'wrote {path} ({len(rows)} clips)'


def prepare_csv(args, clips, out_dir: str) -> None:
    if args.train_csv:
        for name, src in (('train.csv', args.train_csv), ('test.csv',
                                                          args.test_csv)):
            print(copy_text(src, osp.join(out_dir, name), args.overwrite))
        return
    split = draw_split(clips, args.test_ratio, args.seed)
    for name, rows in split.items():
        if not rows:
            print(f'warning: the drawn {name} split is empty; check '
                  '--test-ratio')
        print(
            write_csv(osp.join(out_dir, f'{name}.csv'), rows, args.overwrite))


def spectrogram_job(out_dir: str, clip: str, wav: str) -> None:
    from rollingq_mm.datasets.transforms.audio import wav_to_spectrogram
    save_npy(osp.join(out_dir, clip + '.npy'), wav_to_spectrogram(wav))


def frames_job(out_dir: str, fps: float, clip: str, video: str) -> None:
    extract_frames(video, osp.join(out_dir, clip), fps)


def link_audio(raw_dir: str, out_dir: str) -> None:
    """Make ``out_dir/AudioWAV`` reach the release's wav files."""
    target = osp.join(out_dir, 'AudioWAV')
    if osp.abspath(raw_dir) != osp.abspath(out_dir) and not osp.exists(target):
        os.symlink(osp.abspath(osp.join(raw_dir, 'AudioWAV')), target)
        print(f'linked {target} -> {osp.join(raw_dir, "AudioWAV")}')


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir = args.out_dir or args.raw_dir
    os.makedirs(out_dir, exist_ok=True)
    wavs = index_files(osp.join(args.raw_dir, 'AudioWAV'), ('.wav', ))
    print(f'{len(wavs)} clips in {osp.join(args.raw_dir, "AudioWAV")}')
    link_audio(args.raw_dir, out_dir)
    failures = []
    if 'csv' in args.steps:
        prepare_csv(args, wavs, out_dir)
    if 'frames' in args.steps:
        videos = index_files(
            osp.join(args.raw_dir, 'VideoFlash'), VIDEO_SUFFIXES)
        failures += [
            f'{c}: no video in VideoFlash/' for c in wavs if c not in videos
        ]
        frame_dir = osp.join(out_dir, f'Image-{int(args.fps):02d}-FPS')
        failures += run_jobs('frames', sorted(videos.items()),
                             lambda clip: osp.join(frame_dir, clip),
                             partial(frames_job, frame_dir,
                                     args.fps), args.overwrite, args.nproc)
    if 'spec' in args.steps:
        # imported before the workers fork, so that they share it
        import rollingq_mm.datasets.transforms.audio  # noqa: F401
        spec_dir = osp.join(out_dir, 'spec')
        failures += run_jobs('spectrograms', sorted(wavs.items()),
                             lambda clip: osp.join(spec_dir, clip + '.npy'),
                             partial(spectrogram_job,
                                     spec_dir), args.overwrite, args.nproc)
    return report(failures, 'prepare_cremad')


if __name__ == '__main__':
    sys.exit(main())
