"""Does attention follow input quality? (paper Table 2)

    python tools/analysis_tools/dynamic_adaptability.py CONFIG CHECKPOINT

Every test sample gets a random noise level per modality (U[0, max-level],
deterministic in seed and sample index), quality = 1 - level / max-level.
Reports the Pearson correlation between each modality's CLS attention share
and its quality, the accuracy, and the mean share on clean (level < 25% of
max) vs corrupted (level > 75% of max) samples. Writes a JSON to --out-dir.
"""
import argparse
import os
import os.path as osp

import numpy as np
from _analysis_common import load_model, predict, test_loader, write_json
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--max-level', type=float, default=1.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='.')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def analyse(out: dict, max_level: float, seed: int) -> dict:
    """Correlations and clean / corrupted shares from the predictions."""
    from rollingq_mm.datasets.transforms import sample_noise_level
    if out['share'] is None:
        raise ValueError('the model has no attention neck: there is no '
                         'attention share to correlate')
    result = dict(
        accuracy=100 * float((out['pred'] == out['label']).mean()),
        max_level=max_level,
        seed=seed,
        modalities={})
    for index, name in enumerate(out['modalities']):
        levels = np.array([
            sample_noise_level(seed, int(i), name, max_level)
            for i in out['sample_idx']
        ])
        quality = 1 - levels / max_level
        share = out['share'][:, index]
        clean, noisy = levels < 0.25 * max_level, levels > 0.75 * max_level
        result['modalities'][name] = dict(
            pearson=float(np.corrcoef(share, quality)[0, 1]),
            share_clean=float(share[clean].mean()),
            share_corrupted=float(share[noisy].mean()))
    return result


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg, model = load_model(args)
    corrupt = [
        dict(
            type='CorruptModality',
            modality=name,
            level='random',
            max_level=args.max_level,
            seed=args.seed) for name in model.modalities
    ]
    out = predict(model, test_loader(cfg, corrupt),
                  'random quality per modality')
    result = analyse(out, args.max_level, args.seed)
    result.update(config=args.config, checkpoint=args.checkpoint)
    os.makedirs(args.out_dir, exist_ok=True)
    path = osp.join(args.out_dir, 'dynamic_adaptability.json')
    write_json(path, result)
    print(f'accuracy {result["accuracy"]:.2f}%')
    print(f'{"modality":>10s} {"pearson":>8s} {"share clean":>12s} '
          f'{"share noisy":>12s}')
    for name, row in result['modalities'].items():
        print(f'{name:>10s} {row["pearson"]:8.3f} {row["share_clean"]:12.4f} '
              f'{row["share_corrupted"]:12.4f}')
    print(f'wrote {path}')
    return result


if __name__ == '__main__':
    main()
