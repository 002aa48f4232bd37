"""AV-Digits: real spoken digits paired with real handwritten digits.

The AV-MNIST recipe on two small public sets, written as
``MultimodalArrayDataset`` files (``train.npz``, ``val.npz``, ``test.npz``)::

    git clone https://github.com/Jakobovski/free-spoken-digit-dataset data/fsdd
    python tools/dataset_converters/prepare_av_digits.py \
        --fsdd-dir data/fsdd/recordings --out-dir data/av_digits

* ``audio`` [1, 32, 64]: the Free Spoken Digit Dataset (FSDD, 3,000 8 kHz
  recordings, 6 speakers, CC BY-SA 4.0), as a Kaldi-style log-mel filterbank
  (32 bins, 25 ms frames every 10 ms; ``rollingq_mm``'s ``kaldi_fbank``),
  cropped or padded with the clip's own floor to 64 frames (0.65 s).
* ``visual`` [1, 8, 8]: scikit-learn's bundled handwritten digits (1,797
  real 8×8 scans, read with ``sklearn.datasets.load_digits``; no download).
* Recordings and images are each split disjointly (stratified by digit,
  ``--splits``, deterministic in ``--seed``); inside a split every recording
  is paired with an image of the same digit (images cycle, so each is used
  about equally often). One sample per recording.
* ``corrupted`` [N] ('', 'audio' or 'visual'): in a ``--noise-fractions``
  share of each split one modality (half audio, half visual) is replaced by
  Gaussian noise with the clean data's statistics.
* ``--weaken visual=1.5`` makes one modality much weaker than the other in
  every split (additive noise of 1.5× its std): the situation of CREMA-D,
  where fusion leans on the strong modality.
* Features are standardised with the clean training samples' statistics
  (audio per mel bin, visual over all pixels), so noise is N(0, 1).
* ``recording`` [N] (the FSDD file name), ``speaker`` [N] and
  ``image_index`` [N] (the scan's index in ``load_digits``) say where each
  sample came from; ``info`` (0-d) holds
  the converter's arguments as JSON. Both are ignored by the dataset unless
  named in its ``meta_keys``.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import index_files

from rollingq_mm.datasets.transforms.audio import read_wav
from rollingq_mm.datasets.transforms.fbank import kaldi_fbank

SPLITS = ('train', 'val', 'test')
MODALITIES = ('audio', 'visual')
SAMPLE_RATE = 8000  # FSDD
FSDD_NAME = re.compile(r'^(\d)_([A-Za-z]+)_(\d+)$')  # <digit>_<speaker>_<n>


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write AV-Digits (FSDD speech + sklearn handwriting) as '
        'MultimodalArrayDataset .npz files')
    parser.add_argument(
        '--fsdd-dir',
        required=True,
        help='the recordings/ folder of a clone of '
        'Jakobovski/free-spoken-digit-dataset')
    parser.add_argument('--out-dir', default='data/av_digits')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='splits, pairing, noise (default: 0)')
    parser.add_argument(
        '--splits',
        type=float,
        nargs=3,
        default=(.7, .1, .2),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='fractions of recordings and of images per '
        'split (default: 0.7 0.1 0.2)')
    parser.add_argument(
        '--noise-fractions',
        type=float,
        nargs=3,
        default=(.2, 1 / 3, 1 / 3),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='share of samples with one modality replaced by '
        'noise, per split (default: 0.2 1/3 1/3)')
    parser.add_argument(
        '--weaken',
        default=None,
        metavar='MODALITY=LEVEL',
        help='add noise of LEVEL x std to every sample of '
        'MODALITY (e.g. visual=1.5): the imbalanced variant')
    parser.add_argument('--num-mel-bins', type=int, default=32)
    parser.add_argument('--num-frames', type=int, default=64)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing output files')
    args = parser.parse_args(argv)
    args.weaken = parse_weaken(args.weaken)
    for name, values in (('splits', args.splits), ('noise-fractions',
                                                   args.noise_fractions)):
        if any(v < 0 or v > 1 for v in values):
            parser.error(f'--{name} values must be in [0, 1], got {values}')
    if abs(sum(args.splits) - 1) > 1e-6 or min(args.splits) <= 0:
        parser.error(f'--splits must be positive and sum to 1, got '
                     f'{args.splits}')
    return args


def parse_weaken(text) -> Tuple[str, float]:
    """``'visual=1.5'`` -> ('visual', 1.5); None -> None."""
    if text is None:
        return None
    name, _, level = text.partition('=')
    try:
        value = float(level)
    except ValueError:
        value = -1.
    if name not in MODALITIES or value <= 0:
        raise SystemExit(f'--weaken {text!r}: expected MODALITY=LEVEL with '
                         f'MODALITY in {MODALITIES} and LEVEL > 0')
    return name, value


# ---------------------------------------------------------------- sources
def load_recordings(fsdd_dir: str) -> Tuple[List[str], np.ndarray, List[str]]:
    """FSDD wav paths, their digits and speakers, sorted by file name."""
    files = index_files(fsdd_dir, ('.wav', ))
    matched = {stem: FSDD_NAME.match(stem) for stem in files}
    named = sorted(stem for stem, m in matched.items() if m)
    if not named:
        raise FileNotFoundError(
            f'no FSDD recording (<digit>_<speaker>_<n>.wav) under '
            f'{fsdd_dir!r}; pass the recordings/ folder of a clone of '
            'https://github.com/Jakobovski/free-spoken-digit-dataset')
    digits = np.array([int(matched[s].group(1)) for s in named])
    speakers = [matched[s].group(2) for s in named]
    return [files[s] for s in named], digits, speakers


def audio_features(path: str, num_mel_bins: int,
                   num_frames: int) -> np.ndarray:
    """Log-mel [1, num_mel_bins, num_frames] of one recording.

    Short clips are padded with their own per-bin floor (the quietest
    frame), not with log(eps), so the padding looks like silence.
    """
    wave = read_wav(path, SAMPLE_RATE).astype(np.float64)
    fbank = kaldi_fbank(wave - wave.mean(), SAMPLE_RATE, num_mel_bins)
    if fbank.shape[0] == 0:
        raise ValueError(f'{path!r} is shorter than one 25 ms frame')
    if fbank.shape[0] < num_frames:
        floor = np.repeat(
            fbank.min(axis=0, keepdims=True),
            num_frames - fbank.shape[0],
            axis=0)
        fbank = np.concatenate([fbank, floor])
    return fbank[:num_frames].T[None].astype(np.float32)


def load_images() -> Tuple[np.ndarray, np.ndarray]:
    """sklearn's handwritten digits: [1797, 1, 8, 8] in [0, 1], labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise SystemExit('AV-Digits needs scikit-learn for its bundled '
                         'handwritten digits: pip install scikit-learn') \
            from err
    digits = load_digits()
    images = digits.images[:, None].astype(np.float32) / 16.0
    return images, digits.target.astype(np.int64)


# ------------------------------------------------------ splits and pairing
def stratified_split(labels: np.ndarray, fractions: Sequence[float],
                     rng: np.random.Generator) -> np.ndarray:
    """A split index (0, 1, 2) per item, stratified by label."""
    assignment = np.empty(len(labels), np.int64)
    bounds = np.cumsum(fractions)[:-1]
    for label in np.unique(labels):
        items = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(bounds * len(items)).astype(int)
        for split, part in enumerate(np.split(items, cuts)):
            assignment[part] = split
    return assignment


def pair_by_class(audio_labels: np.ndarray, image_labels: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """For each recording, an image (index) of the same digit.

    Images of a digit are shuffled and used in turn, so each is used
    ``ceil`` or ``floor`` of recordings / images times.
    """
    pairs = np.empty(len(audio_labels), np.int64)
    for label in np.unique(audio_labels):
        images = rng.permutation(np.flatnonzero(image_labels == label))
        if not len(images):
            raise ValueError(f'no image of digit {label} in this split; '
                             'use larger --splits fractions')
        recordings = rng.permutation(np.flatnonzero(audio_labels == label))
        pairs[recordings] = images[np.arange(len(recordings)) % len(images)]
    return pairs


def draw_quality(count: int, fraction: float,
                 rng: np.random.Generator) -> np.ndarray:
    """'' / 'audio' / 'visual' per sample: ``fraction`` noisy, half each."""
    corrupted = np.full(count, '', dtype='<U6')
    noisy = rng.permutation(count)[:int(round(fraction * count))]
    corrupted[noisy[0::2]] = 'audio'
    corrupted[noisy[1::2]] = 'visual'
    return corrupted


# ---------------------------------------------------------------- quality
def standardise(splits: Dict[str, dict], axes: Dict[str, tuple]) -> dict:
    """Standardise each modality with its clean training statistics.

    Returns the statistics (for ``meta.json``).
    """
    train = splits['train']
    stats = {}
    for name in MODALITIES:
        clean = train[name][train['corrupted'] != name]
        mean = clean.mean(axis=axes[name], keepdims=True)[0]
        std = clean.std(axis=axes[name], keepdims=True)[0] + 1e-6
        for data in splits.values():
            data[name] = ((data[name] - mean) / std).astype(np.float32)
        stats[name] = dict(
            mean=mean.ravel().tolist(), std=std.ravel().tolist())
    return stats


def replace_by_noise(data: dict, rng: np.random.Generator) -> None:
    """The flagged modality of each sample becomes N(0, 1) (standardised)."""
    for name in MODALITIES:
        rows = np.flatnonzero(data['corrupted'] == name)
        data[name][rows] = rng.standard_normal(
            (len(rows), ) + data[name].shape[1:], dtype=np.float32)


def build(args) -> Tuple[Dict[str, dict], dict]:
    """All three splits as dicts of arrays (see the module docstring), and
    the normalisation statistics (for ``meta.json``).

    Splits and pairing, weakening and the replacement noise draw from
    separate streams of ``args.seed``, so ``--weaken`` changes nothing but
    the weakened modality.
    """
    rng, weaken_rng, noise_rng = (
        np.random.default_rng([args.seed, stream]) for stream in range(3))
    paths, audio_labels, speakers = load_recordings(args.fsdd_dir)
    images, image_labels = load_images()
    audio_split = stratified_split(audio_labels, args.splits, rng)
    image_split = stratified_split(image_labels, args.splits, rng)
    print(f'AV-Digits: {len(paths)} recordings, {len(images)} images')
    audio = []
    for index, path in enumerate(paths):
        audio.append(audio_features(path, args.num_mel_bins, args.num_frames))
        if (index + 1) % 1000 == 0 or index + 1 == len(paths):
            print(f'  log-mel features: {index + 1}/{len(paths)}')
    audio = np.stack(audio)
    splits = {}
    for index, split in enumerate(SPLITS):
        rows = np.flatnonzero(audio_split == index)
        image_rows = np.flatnonzero(image_split == index)
        pairs = image_rows[pair_by_class(audio_labels[rows],
                                         image_labels[image_rows], rng)]
        splits[split] = dict(
            audio=audio[rows].copy(),
            visual=images[pairs].copy(),
            label=audio_labels[rows].astype(np.int64),
            corrupted=draw_quality(
                len(rows), args.noise_fractions[index], rng),
            recording=np.array(
                [osp.splitext(osp.basename(paths[r]))[0] for r in rows]),
            speaker=np.array([speakers[r] for r in rows]),
            image_index=pairs.astype(np.int64))
    if args.weaken is not None:
        name, level = args.weaken
        std = splits['train'][name].std()
        for data in splits.values():
            data[name] += level * std * weaken_rng.standard_normal(
                data[name].shape, dtype=np.float32)
    stats = standardise(splits, dict(audio=(0, 1, 3), visual=(0, 1, 2, 3)))
    for data in splits.values():
        replace_by_noise(data, noise_rng)
    return splits, stats


def main(argv=None) -> int:
    args = parse_args(argv)
    targets = [osp.join(args.out_dir, f'{split}.npz') for split in SPLITS]
    existing = [path for path in targets if osp.exists(path)]
    if existing and not args.overwrite:
        raise SystemExit(f'{existing} exist; pass --overwrite to replace '
                         'them')
    splits, stats = build(args)
    os.makedirs(args.out_dir, exist_ok=True)
    info = vars(args)
    for split, path in zip(SPLITS, targets):
        data = splits[split]
        np.savez(path, info=np.array(json.dumps(info)), **data)
        groups = {
            g or 'clean': int((data['corrupted'] == g).sum())
            for g in ('', 'audio', 'visual')
        }
        print(f'wrote {path}: {len(data["label"])} samples {groups}')
    with open(osp.join(args.out_dir, 'meta.json'), 'w') as f:
        json.dump(dict(args=info, normalisation=stats), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
