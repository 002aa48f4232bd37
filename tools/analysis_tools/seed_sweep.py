"""Train and test several configs over several seeds; print mean ± std.

The results tables in configs/*/README.md come from this tool::

    C=configs/av_digits
    python tools/analysis_tools/seed_sweep.py --seeds 0 1 2 --jobs 2 \\
        --work-dir work_dirs/sweeps/av_digits \\
        --run attention $C/attention_vit-tiny_1xb64_av-digits.py \\
        --run rollingq $C/rollingq_vit-tiny_1xb64_av-digits.py \\
        --run rq-sigma1 $C/rollingq_vit-tiny_1xb64_av-digits.py \\
              custom_hooks.0.sigma=1.0

Each ``--run NAME CONFIG [KEY=VALUE ...]`` is trained with
``tools/train.py`` once per seed (``randomness.seed=S``, work dir
``WORK_DIR/NAME/seedS``), then its last checkpoint is evaluated with
``tools/test.py`` on the test split. ``--cfg-options`` apply to every run
(e.g. the imbalanced AV-Digits: ``train_dataloader.dataset.data_root=...``).
Finished cells are kept (their ``test_metrics.json`` exists), so an
interrupted sweep resumes; ``--table-only`` just prints the table.
Results go to ``WORK_DIR/results.json`` (every seed's metrics and train
time) and ``WORK_DIR/table.md``.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DEFAULT_METRICS = [
    'accuracy/top1', 'accuracy/clean', 'accuracy/audio_corrupted',
    'accuracy/visual_corrupted', 'attention_share/audio/clean',
    'attention_share/audio/audio_corrupted',
    'attention_share/audio/visual_corrupted', 'air', 'modality_accuracy/audio',
    'modality_accuracy/visual', 'train_time_s'
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='configs x seeds: train, test, mean ± std table')
    parser.add_argument(
        '--run',
        nargs='+',
        action='append',
        required=True,
        metavar='NAME CONFIG [KEY=VALUE]',
        help='a named run: config and its own overrides')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='overrides applied to every run')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs in parallel; each gets cpu_count / jobs '
        'threads (default: 1)')
    parser.add_argument('--metrics', nargs='+', default=DEFAULT_METRICS)
    parser.add_argument(
        '--table-only',
        action='store_true',
        help='do not train; print the table of what exists')
    args = parser.parse_args(argv)
    for run in args.run:
        if len(run) < 2:
            parser.error(f'--run {run}: give NAME CONFIG [KEY=VALUE ...]')
        if not osp.isfile(run[1]):
            parser.error(f'--run {run[0]}: config {run[1]!r} does not exist')
    names = [run[0] for run in args.run]
    if len(set(names)) != len(names):
        parser.error(f'run names must be unique, got {names}')
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    return args


def _call(command, env, log_path):
    with open(log_path, 'a') as log:
        log.write(' '.join(command) + '\n')
        log.flush()
        result = subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode:
        raise RuntimeError(f'{" ".join(command[:3])} failed with exit code '
                           f'{result.returncode}; see {log_path}')


def run_cell(run, seed, args, threads) -> dict:
    """Train and test one (run, seed); returns its metrics."""
    name, config, options = run[0], run[1], run[2:]
    work_dir = osp.abspath(osp.join(args.work_dir, name, f'seed{seed}'))
    out = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(out):
        with open(out) as f:
            return json.load(f)
    if args.table_only:
        return {}
    os.makedirs(work_dir, exist_ok=True)
    log_path = osp.join(work_dir, 'sweep.log')
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    overrides = [*args.cfg_options, *options, f'randomness.seed={seed}']
    start = time.time()
    _call([
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        '--cfg-options', *overrides
    ], env, log_path)
    train_time = time.time() - start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    partial_out = osp.join(work_dir, 'test_metrics.partial.json')
    _call([
        sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
        work_dir, '--out', partial_out, '--cfg-options', *overrides
    ], env, log_path)
    with open(partial_out) as f:
        metrics = json.load(f)
    metrics['train_time_s'] = train_time
    with open(out, 'w') as f:
        json.dump(metrics, f, indent=1)
    os.remove(partial_out)
    print(
        f'{name} seed {seed}: top-1 {metrics.get("accuracy/top1", "?")} '
        f'({train_time:.0f} s)',
        flush=True)
    return metrics


def summarise(values):
    """'mean ± std' (sample std) of the present values, or '–'."""
    values = [v for v in values if v is not None]
    if not values:
        return '–'
    mean, std = np.mean(values), np.std(values, ddof=1) if len(values) > 1 \
        else 0.
    digits = 3 if abs(mean) < 2 else 1
    return f'{mean:.{digits}f} ± {std:.{digits}f}' + (f' (n={len(values)})' if
                                                      len(values) != 3 else '')


def table(results: dict, metrics) -> str:
    lines = [
        '| run | ' + ' | '.join(metrics) + ' |',
        '|---|' + '---|' * len(metrics)
    ]
    for name, seeds in results.items():
        cells = [
            summarise([s.get(m) for s in seeds.values() if s]) for m in metrics
        ]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    cells = [(run, seed) for run in args.run for seed in args.seeds]
    results = {run[0]: {} for run in args.run}
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(run_cell, run, seed, args, threads): (run[0], seed)
            for run, seed in cells
        }
        failed = []
        for future, (name, seed) in futures.items():
            try:
                results[name][seed] = future.result()
            except RuntimeError as error:
                failed.append(str(error))
                results[name][seed] = {}
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                runs=args.run,
                seeds=args.seeds,
                cfg_options=args.cfg_options,
                results=results),
            f,
            indent=1)
    text = table(results, args.metrics)
    with open(osp.join(args.work_dir, 'table.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    for error in failed:
        print('FAILED:', error)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
