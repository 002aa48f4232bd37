"""Plot AIR, cosines, attention share and accuracy per epoch of a run.

    python tools/analysis_tools/plot_dynamics.py WORK_DIR [--out dynamics.png]

Reads the latest ``WORK_DIR/<timestamp>/vis_data/scalars.json``; rotation
epochs are marked with vertical lines.
"""
import argparse
import glob
import json
import os.path as osp


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument(
        '--out', help='PNG path (default WORK_DIR/dynamics.png)')
    return parser.parse_args(argv)


def read_epochs(work_dir: str) -> dict:
    """Per-epoch scalars (train-iteration records are left out)."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir!r}; point at the '
            'work dir of a tools/train.py run')
    epochs = {}
    with open(files[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'iter' in record:  # a training-iteration log line
                continue
            epochs.setdefault(record['step'], {}).update(record)
    return dict(sorted(epochs.items()))


def _series(epochs: dict, key: str):
    points = [(e, r[key]) for e, r in epochs.items() if key in r]
    return [p[0] for p in points], [p[1] for p in points]


def plot(epochs: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = set().union(*epochs.values()) if epochs else set()
    panels = [
        # rollingq/*: training statistics of the hook; air and
        # query_key_cos/*: the validation set (AttentionShare)
        ('AIR and cos(q, k̄_m)',
         sorted(
             k for k in keys
             if k in ('rollingq/air',
                      'air') or '/cos_' in k or k.startswith('query_key_cos/'))
         ),
        ('CLS attention share',
         sorted(
             k for k in keys
             if k.startswith('attention_share/') and k.count('/') == 1)),
        ('accuracy (%)',
         sorted(
             k for k in keys
             if k == 'accuracy/top1' or k.startswith('modality_accuracy/'))),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    rotations = [e for e, r in epochs.items() if r.get('rollingq/rotated')]
    for axis, (title, names) in zip(axes, panels):
        for name in names:
            axis.plot(*_series(epochs, name), 'o-', label=name, markersize=3)
        for epoch in rotations:
            axis.axvline(epoch, color='grey', linestyle=':', linewidth=1)
        axis.set(title=title, xlabel='epoch')
        if names:
            axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> str:
    args = parse_args(argv)
    epochs = read_epochs(args.work_dir)
    out = args.out or osp.join(args.work_dir, 'dynamics.png')
    plot(epochs, out)
    print(f'wrote {out} ({len(epochs)} epochs)')
    return out


if __name__ == '__main__':
    main()
