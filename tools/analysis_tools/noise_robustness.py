"""Accuracy and attention share as one modality gets noisier (paper Table 3).

    python tools/analysis_tools/noise_robustness.py CONFIG CHECKPOINT \
        --modality audio --levels 0 0.25 0.5 1.0 [--mode add|replace]

Writes ``noise_robustness_<modality>.{csv,json,png}`` to --out-dir.
"""
import argparse
import csv
import os
import os.path as osp

from _analysis_common import load_model, predict, test_loader, write_json
from mmengine.config import DictAction

from rollingq_mm.utils.progress import progress_bar


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--modality',
        required=True,
        help='the modality to corrupt, e.g. audio')
    parser.add_argument(
        '--levels',
        type=float,
        nargs='+',
        default=[0, 0.25, 0.5, 1.0],
        help='noise std relative to the data std')
    parser.add_argument('--mode', choices=['add', 'replace'], default='add')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='.')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def measure(args) -> list:
    """One row per level: accuracy and mean attention share per modality."""
    cfg, model = load_model(args)
    if args.modality not in model.modalities:
        raise ValueError(f'--modality {args.modality!r} is not one of the '
                         f'model\'s modalities {model.modalities}')
    rows = []
    levels = args.levels if args.mode == 'add' else [1.0]
    loaders = [
        test_loader(cfg, [
            dict(
                type='CorruptModality',
                modality=args.modality,
                level=level,
                mode=args.mode,
                seed=args.seed)
        ]) for level in levels
    ]
    print(f'{len(levels)} evaluation(s), {args.mode} noise on '
          f'{args.modality}: {levels}')
    with progress_bar(sum(len(loader.dataset)
                          for loader in loaders)) as progress:
        for level, loader in zip(levels, loaders):
            out = predict(model, loader, progress=progress)
            row = dict(
                level=level,
                accuracy=100 * float((out['pred'] == out['label']).mean()))
            if out['share'] is not None:
                for index, name in enumerate(out['modalities']):
                    row[f'share_{name}'] = float(out['share'][:, index].mean())
            rows.append(row)
    return rows


def plot(rows: list, modality: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    levels = [r['level'] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.plot(levels, [r['accuracy'] for r in rows], 'o-')
    left.set(xlabel=f'noise level on {modality}', ylabel='top-1 accuracy (%)')
    for key in (k for k in rows[0] if k.startswith('share_')):
        right.plot(levels, [r[key] for r in rows], 'o-', label=key[6:])
    right.set(
        xlabel=f'noise level on {modality}', ylabel='CLS attention share')
    if any(k.startswith('share_') for k in rows[0]):
        right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> list:
    args = parse_args(argv)
    rows = measure(args)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.join(args.out_dir, f'noise_robustness_{args.modality}')
    with open(stem + '.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_json(
        stem + '.json',
        dict(
            config=args.config,
            checkpoint=args.checkpoint,
            modality=args.modality,
            mode=args.mode,
            rows=rows))
    plot(rows, args.modality, stem + '.png')
    print('  '.join(f'{k:>12s}' for k in rows[0]))
    for row in rows:
        print('  '.join(f'{v:12.4f}' for v in row.values()))
    print(f'wrote {stem}.csv/.json/.png')
    return rows


if __name__ == '__main__':
    main()
