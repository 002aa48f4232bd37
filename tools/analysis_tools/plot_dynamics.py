"""Plot AIR, cosines, attention share and accuracy per epoch of a run.

    python tools/analysis_tools/plot_dynamics.py WORK_DIR [--out dynamics.png]

Reads the latest ``WORK_DIR/<timestamp>/vis_data/scalars.json``. Two kinds of
per-epoch series, drawn and labelled apart:

* ``train`` — RollingQHook's statistics of the training epoch (``rollingq/*``:
  AIR, cos(q, k̄_m), the CLS attention share; from the epoch's last batch with
  the default ``air_from='last_batch'``), logged at the end of each epoch,
  after the rotation check;
* ``val`` — the validation metrics of that epoch (``air``,
  ``query_key_cos/<m>``, ``attention_share/<m>``, ``accuracy/top1``,
  ``modality_accuracy/<m>``), computed after the hook ran.

The x axis is the epoch (integer ticks); the epochs at whose end the query
was rotated (``rollingq/rotated`` = 1) are marked with vertical lines.
"""
import argparse
import glob
import json
import os.path as osp

TRAIN_PREFIX = 'rollingq/'
# Per-record timing, not a metric.
SKIP = ('step', 'time', 'data_time')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument(
        '--out', help='PNG path (default WORK_DIR/dynamics.png)')
    return parser.parse_args(argv)


def read_epochs(work_dir: str) -> dict:
    """Per-epoch scalars ``{epoch: {key: value}}``; the training-iteration
    records (loss, lr, ...) are left out."""
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
            epochs.setdefault(int(record['step']), {}).update(
                {k: v
                 for k, v in record.items() if k not in SKIP})
    return dict(sorted(epochs.items()))


def _modality_keys(keys, prefix: str, suffix: str = '') -> list:
    """``prefix<m>suffix`` keys with one modality name in between."""
    return sorted(k for k in keys if k.startswith(prefix) and k.endswith(
        suffix) and '/' not in k[len(prefix):len(k) - len(suffix)])


def describe(key: str) -> str:
    """A legend name: ``rollingq/cos_audio`` -> ``cos(q, k̄) audio``."""
    query, _, field = key[len(TRAIN_PREFIX):].rpartition('/') \
        if key.startswith(TRAIN_PREFIX) else ('', '', key)
    names = (('air', 'AIR'), ('cos_', 'cos(q, k̄) '),
             ('query_key_cos/', 'cos(q, k̄) '), ('share_', 'share '),
             ('attention_share/', 'share '), ('accuracy/top1', 'top-1'),
             ('modality_accuracy/', 'probe '))
    for prefix, name in names:
        if field.startswith(prefix):
            field = name + field[len(prefix):]
            break
    return f'{field} ({query})' if query else field


def panels(keys) -> list:
    """(title, [(label, key, 'train' | 'val')]) for each panel."""
    train = sorted(k for k in keys if k.startswith(TRAIN_PREFIX))

    def hook(field):  # one series per RollingQuery: rollingq[/<name>]/<f>
        return [k for k in train if k.rsplit('/', 1)[-1].startswith(field)]

    def label(key, kind):
        return f'{kind}: {describe(key)}'

    series = [
        ('AIR and cos(q, k̄_m)', hook('air') + hook('cos_'),
         ['air'] + _modality_keys(keys, 'query_key_cos/')),
        ('CLS attention share', hook('share_'),
         _modality_keys(keys, 'attention_share/')),
        ('accuracy (%)', [],
         [k for k in ('accuracy/top1', ) if k in keys] +
         _modality_keys(keys, 'modality_accuracy/')),
    ]
    return [(title, [(label(k, 'train'), k, 'train') for k in train_keys] +
             [(label(k, 'val'), k, 'val') for k in val_keys if k in keys])
            for title, train_keys, val_keys in series]


def rotation_epochs(epochs: dict) -> list:
    """Epochs at whose end some RollingQuery rotated."""
    return [
        epoch for epoch, record in epochs.items()
        if any(v for k, v in record.items()
               if k.startswith(TRAIN_PREFIX) and k.endswith('rotated'))
    ]


def figure(epochs: dict):
    """The matplotlib Figure: one axis per panel."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    keys = set().union(*epochs.values()) if epochs else set()
    layout = panels(keys)
    fig, axes = plt.subplots(1, len(layout), figsize=(13, 4.4))
    rotations = rotation_epochs(epochs)
    style = dict(
        train=dict(linestyle='--', marker='x', markersize=4),
        val=dict(linestyle='-', marker='o', markersize=3))
    for axis, (title, series) in zip(axes, layout):
        # the train and val series of one quantity share a colour
        quantities = list(dict.fromkeys(describe(key) for _, key, _ in series))
        for label, key, kind in series:
            points = [(e, r[key]) for e, r in epochs.items() if key in r]
            axis.plot([p[0] for p in points], [p[1] for p in points],
                      label=label,
                      color=f'C{quantities.index(describe(key)) % 10}',
                      **style[kind])
        for i, epoch in enumerate(rotations):
            axis.axvline(
                epoch,
                color='black',
                alpha=0.6,
                linestyle=':',
                linewidth=1.5,
                label='rotation (epoch end)' if i == 0 else None)
        if len(epochs) <= 20:
            axis.set_xticks(list(epochs))
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if epochs:
            axis.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        axis.set(title=title, xlabel='epoch')
        if series or rotations:
            axis.legend(
                fontsize=7,
                loc='upper center',
                bbox_to_anchor=(0.5, -0.16),
                ncol=2,
                frameon=False)
    fig.tight_layout()
    return fig


def plot(epochs: dict, path: str) -> None:
    import matplotlib.pyplot as plt
    fig = figure(epochs)
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
