"""Data-loading throughput of the CREMA-D pipeline, as one loader worker.

Runs the train (or test) pipeline of ``configs/_base_/datasets/cremad.py``
in this process, with torch and OpenCV limited to one thread as inside a
DataLoader worker, twice: audio from the wav files (resample + STFT every
time) and from precomputed spectrograms (``spec_prefix='spec'``). Prints
samples/s and the time per transform. Without ``--data-root`` it writes
CREMA-D-like clips to a temporary folder: 16 kHz wav, smooth JPEG frames.

Example::

    python tools/analysis_tools/data_throughput.py --num-clips 64
    python tools/analysis_tools/data_throughput.py --frame-size 360 480
    python tools/analysis_tools/data_throughput.py --data-root data/cremad
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs/_base_/datasets/'
                         'cremad.py'))
    parser.add_argument(
        '--data-root',
        help='a prepared CREMA-D folder; '
        'default: write fake clips to a temporary folder')
    parser.add_argument('--split', choices=['train', 'val'], default='train')
    parser.add_argument('--num-clips', type=int, default=64)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument(
        '--frames', type=int, default=3, help='frames per fake clip')
    parser.add_argument(
        '--frame-size',
        type=int,
        nargs=2,
        default=[224, 224],
        metavar=('H', 'W'))
    parser.add_argument(
        '--repeat',
        type=int,
        default=2,
        help='passes over the clips per setting')
    return parser.parse_args()


def write_fake_cremad(root: str, args) -> None:
    """CREMA-D-like clips: wav, frames, spectrograms and train/test.csv."""
    import cv2
    import soundfile

    from rollingq_mm.datasets.transforms.audio import wav_to_spectrogram
    rng = np.random.default_rng(0)
    labels = ('NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG')
    rows = []
    for index in range(args.num_clips):
        clip = f'{1001 + index}_DFA_{labels[index % 6]}_XX'
        rows.append(f'{clip},{labels[index % 6]}\n')
        wav = osp.join(root, 'AudioWAV', clip + '.wav')
        os.makedirs(osp.dirname(wav), exist_ok=True)
        samples = 0.1 * rng.standard_normal(int(16000 * args.seconds))
        soundfile.write(wav, samples.astype(np.float32), 16000)
        frame_dir = osp.join(root, 'Image-01-FPS', clip)
        os.makedirs(frame_dir, exist_ok=True)
        height, width = args.frame_size
        for t in range(args.frames):
            coarse = rng.integers(0, 256, (12, 16, 3)).astype(np.uint8)
            image = cv2.resize(
                coarse, (width, height), interpolation=cv2.INTER_CUBIC)
            noise = rng.normal(0, 4, image.shape)
            image = np.clip(image + noise, 0, 255).astype(np.uint8)
            cv2.imwrite(osp.join(frame_dir, f'frame_{t + 1:05d}.jpg'), image)
        os.makedirs(osp.join(root, 'spec'), exist_ok=True)
        np.save(osp.join(root, 'spec', clip + '.npy'), wav_to_spectrogram(wav))
    for name in ('train.csv', 'test.csv'):
        with open(osp.join(root, name), 'w') as f:
            f.writelines(rows)


class _Timed:
    """A transform that adds its wall time to ``totals[name]``."""

    def __init__(self, transform, totals: dict):
        self.transform, self.totals = transform, totals
        self.name = type(transform).__name__

    def __call__(self, results):
        tick = time.perf_counter()
        results = self.transform(results)
        self.totals[self.name] += time.perf_counter() - tick
        return results


def measure(dataset, repeat: int) -> tuple:
    """Load every sample as the loader does (a training sample by its
    SeededSampler key, so the per-sample reseeding is counted).

    Returns:
        tuple: samples/s (wall clock), CPU seconds per sample (this
        process: what a worker costs on a core of its own, less sensitive to
        other load on a shared machine) and wall seconds per step, with
        ``other`` for the rest (the data info, the per-transform reseeding).
    """
    from rollingq_mm.datasets import SampleKey
    per_step = defaultdict(float)
    for index in range(min(2, len(dataset))):  # warm-up (imports, caches)
        dataset[index]
    dataset.pipeline.transforms = [
        _Timed(step, per_step) for step in dataset.pipeline.transforms
    ]
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    for epoch in range(repeat):
        for index in range(len(dataset)):
            dataset[index if dataset.test_mode else SampleKey(
                index, seed=0, epoch=epoch)]
            count += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    per_step['other'] = elapsed - sum(per_step.values())
    return count / elapsed, cpu / count, {
        k: v / count
        for k, v in per_step.items()
    }


def main():
    args = parse_args()
    import cv2
    import torch
    torch.set_num_threads(1)  # as in a DataLoader worker
    cv2.setNumThreads(0)  # env_cfg.mp_cfg.opencv_num_threads=0
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import rollingq_mm  # noqa: F401
    from rollingq_mm.registry import DATASETS
    init_default_scope('rollingq_mm')
    cfg = Config.fromfile(args.config)
    loader = cfg.train_dataloader if args.split == 'train' else \
        cfg.val_dataloader
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root or tmp
        if not args.data_root:
            write_fake_cremad(tmp, args)
        print(f'{args.split} pipeline of {args.config} on {root}, '
              f'frames {args.frame_size[0]}x{args.frame_size[1]} (fake data)'
              if not args.data_root else f'on {root}')
        settings = (('wav -> STFT', None), ('spec .npy', 'spec'))
        for label, spec_prefix in settings:
            dataset_cfg = dict(
                loader.dataset, data_root=root, spec_prefix=spec_prefix)
            rate, cpu, per_step = measure(
                DATASETS.build(dataset_cfg), args.repeat)
            steps = ', '.join(f'{name} {1e3 * sec:.2f} ms'
                              for name, sec in per_step.items())
            print(f'{label:12s}: {rate:7.1f} samples/s, CPU {1e3 * cpu:.2f} '
                  f'ms/sample  ({steps})')


if __name__ == '__main__':
    main()
