"""Smoke-test the GPU paths in a few minutes, on any CUDA machine.

    python tools/analysis_tools/gpu_smoke.py [--out-dir work_dirs/gpu_smoke]
    python tools/analysis_tools/gpu_smoke.py --quick   # one balancer

Runs, each as a subprocess with its own work dir, on the embedded default
(small: 256 training samples, 1-2 epochs):

* every balance config (aux, OGM-GE, PMR, MMPareto; concat and attention)
  and RollingQ, one epoch with ``--amp`` and one with ``--compile``;
* ``dist_train.sh`` with 2 processes (NCCL on GPUs, gloo without) for 2
  epochs, then ``--resume`` of its epoch 2 on 1 process (another device
  count: the random states start from the seed, with a warning);
* the throughput benchmark of the paper's CREMA-D model (random inputs);
* part 2's extension points under ``--amp`` for 2 epochs — MLA and ReconBoost
  (BalancedTrainLoop), Re-learning (epoch-end passes), sample-level
  valuation (WeightedResampler), LFM and AMCo — and MLA under
  ``dist_train.sh`` with 2 processes (NCCL with find_unused_parameters).

It prints a table (step, status, seconds, the last line of a failure) and
exits non-zero if any step failed. Without CUDA, the steps that need a GPU
(``--amp``, the CREMA-D benchmark) are reported as skipped and the rest
runs on the CPU (CI runs ``--quick`` so).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = [
    'train_dataloader.dataset.num_samples=256',
    'val_dataloader.dataset.num_samples=128',
    'test_dataloader.dataset.num_samples=128'
]
MAIN = 'configs/rollingq/rollingq_synthetic.py'
BALANCE = [
    f'configs/balance/{method}-{fusion}_synthetic.py'
    for method in ('aux', 'ogm-ge', 'pmr', 'mmpareto')
    for fusion in ('concat', 'attention')
]
PAPER = 'configs/rollingq/rollingq_vit-b16-4l_1xb64_cremad.py'
# part 2's methods: config and what makes their work happen in 2 epochs
PART2 = [
    ('configs/balance/mla-sum_synthetic.py',
     ['model.balancer.projection=True']),
    ('configs/balance/reconboost-attention_synthetic.py', []),
    ('configs/balance/relearning-concat_synthetic.py',
     ['model.balancer.interval=1']),
    ('configs/balance/sample-valuation-concat_synthetic.py',
     ['model.balancer.warmup_epochs=1']),
    ('configs/balance/lfm-concat_synthetic.py', []),
    ('configs/balance/amco-concat_synthetic.py', []),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--out-dir',
        default='work_dirs/gpu_smoke',
        help='work dirs of the runs')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='MMPareto-concat and RollingQ only (the CI lane on CPU)')
    parser.add_argument(
        '--timeout', type=int, default=900, help='seconds per step')
    return parser.parse_args(argv)


def _train(config, work_dir, epochs, *extra, processes=1):
    tool = ['bash', 'tools/dist_train.sh', config, str(processes)] \
        if processes > 1 else [sys.executable, 'tools/train.py', config]
    return tool + [
        '--work-dir', work_dir, *extra, '--cfg-options',
        f'train_cfg.max_epochs={epochs}', *SMALL
    ]


def plan(out_dir, quick, cuda):
    """The steps: (name, command or None, why skipped)."""
    configs = [BALANCE[6], MAIN] if quick else BALANCE + [MAIN]
    steps = []
    for config in configs:
        name = osp.basename(config)[:-len('_synthetic.py')]
        steps.append((f'{name} --amp',
                      _train(config, f'{out_dir}/{name}_amp', 1, '--amp')
                      if cuda else None, 'needs CUDA'))
        steps.append((f'{name} --compile',
                      _train(config, f'{out_dir}/{name}_compile', 1,
                             '--compile'), None))
    dist = f'{out_dir}/dist'
    steps.append(('2 processes, 2 epochs', _train(MAIN, dist, 2,
                                                  processes=2), None))
    steps.append(('resume on 1 process',
                  _train(MAIN, f'{dist}_resumed', 3, '--resume',
                         f'{dist}/epoch_2.pth'), None))
    if not quick:
        for config, options in PART2:
            name = osp.basename(config)[:-len('_synthetic.py')]
            command = _train(config, f'{out_dir}/{name}_amp', 2, '--amp')
            steps.append((f'{name} --amp, 2 epochs',
                          command + options if cuda else None, 'needs CUDA'))
        steps.append(('mla-sum: 2 processes, 2 epochs',
                      _train(PART2[0][0], f'{out_dir}/mla_dist', 2,
                             processes=2), None))
    steps.append(('benchmark CREMA-D model --amp', [
        sys.executable, 'tools/analysis_tools/benchmark.py', PAPER, '--device',
        'cuda', '--amp', '--iters', '10', '--out', f'{out_dir}/benchmark.json'
    ] if cuda else None, 'needs CUDA'))
    return steps


def run(steps, timeout):
    """Run the steps; returns rows (name, status, seconds, note)."""
    rows = []
    env = dict(os.environ, PORT=os.environ.get('PORT', '29511'))
    for name, command, skipped in steps:
        if command is None:
            rows.append((name, 'skipped', 0.0, skipped))
            continue
        start = time.perf_counter()
        try:
            result = subprocess.run(
                command,
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout)
            ok, output = result.returncode == 0, result.stdout + result.stderr
        except subprocess.TimeoutExpired:
            ok, output = False, f'timed out after {timeout} s'
        lines = [line for line in output.splitlines() if line.strip()]
        note = '' if ok else (lines[-1] if lines else 'no output')[:160]
        rows.append((name, 'ok' if ok else 'FAILED',
                     time.perf_counter() - start, note))
        print(f'{name}: {rows[-1][1]} ({rows[-1][2]:.0f} s)', flush=True)
    return rows


def main(argv=None):
    args = parse_args(argv)
    import torch
    cuda = torch.cuda.is_available()
    rows = run(plan(args.out_dir, args.quick, cuda), args.timeout)
    print('\n| step | status | s | note |\n|---|---|---|---|')
    for name, status, seconds, note in rows:
        print(f'| {name} | {status} | {seconds:.0f} | {note} |')
    failed = [row[0] for row in rows if row[1] == 'FAILED']
    if failed:
        print(f'\n{len(failed)} step(s) failed: {", ".join(failed)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
