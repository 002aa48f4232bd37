"""Training / evaluation throughput of a config's model on random inputs.

    python tools/analysis_tools/benchmark.py CONFIG [--batch-size 64] \
        [--iters 20] [--warmup 5] [--device cuda] [--amp] \
        [--fusion-reference] [--out result.json]
    python tools/analysis_tools/benchmark.py CONFIG --bare-loop \
        [--epochs 3] [--repeats 3] [--threads N] [--out result.json]
    python tools/analysis_tools/benchmark.py CONFIG --balancer-cost \
        [--batch-size 64] [--iters 20] [--device cuda]

``--balancer-cost`` times the config's training step against the same
model and weights without its balancer (interleaved) and, on a GPU, the
peak memory of each: what a balance method costs (``_balancer_cost.py``).

``--bare-loop`` trains the config's real data through the Runner and
through a bare PyTorch loop of the same model, data, optimiser and batch
size, alternating them ``--repeats`` times, and reports the median
samples/s of each and the Runner's overhead with its spread
(``_runner_overhead.py``).

Input shapes come from the encoder configs (TimmEncoder: in_chans, img_size,
num_frames; SequenceEncoder: in_channels and --seq-len). Weights are never
loaded. Reports the median train-step and eval samples/s, peak memory, and
what RollingQ costs: the per-step statistics collection (on vs off in the
same run), the extra pass of ``stats='pass'`` as a fraction of an epoch, and
the hook's end-of-epoch compute.
"""
import argparse
import copy
import json
import os.path as osp
import resource
import statistics
import sys
import time
from contextlib import nullcontext

import torch
from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--amp', action='store_true', help='bf16 autocast around the steps')
    parser.add_argument(
        '--fusion-reference',
        action='store_true',
        help='the authors\' fusion: full NxN attention with an '
        'explicit softmax (cls_only=False, fused=False)')
    parser.add_argument(
        '--seq-len',
        type=int,
        default=50,
        help='length of SequenceEncoder inputs')
    parser.add_argument(
        '--bare-loop',
        action='store_true',
        help='Runner route vs a bare loop on the config\'s real data')
    parser.add_argument(
        '--epochs',
        type=int,
        default=3,
        help='--bare-loop: epochs per route (first: warm-up)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='--bare-loop: alternations of the two routes')
    parser.add_argument(
        '--balancer-cost',
        action='store_true',
        help='step time (and GPU memory) with vs without the balancer')
    parser.add_argument(
        '--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--out', help='write the JSON result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def model_config(cfg: Config, fusion_reference: bool) -> dict:
    """The model config with weights off (and the reference fusion)."""
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model:
        model.data_preprocessor = cfg.data_preprocessor
    for encoder in model.encoders.values():
        if encoder.get('type', '').endswith('TimmEncoder'):
            encoder.update(pretrained=False, checkpoint_path=None)
    if fusion_reference:
        if not model.neck.get('type', '').endswith('AttentionFusion'):
            raise ValueError(
                '--fusion-reference needs an AttentionFusion neck')
        model.neck.update(cls_only=False, fused=False)
    return model


def input_shapes(model_cfg: dict, batch: int, seq_len: int) -> dict:
    """{modality: input shape} from the encoder configs."""
    shapes = {}
    for name, encoder in model_cfg['encoders'].items():
        kind = encoder.get('type', '')
        if kind.endswith('TimmEncoder'):
            size = encoder.get('img_size', 224)
            height, width = (size, size) if isinstance(size, int) else size
            channels = encoder.get('in_chans', 3)
            frames = encoder.get('num_frames')
            shapes[name] = ((batch, channels, frames, height,
                             width) if frames else
                            (batch, channels, height, width))
        elif kind.endswith('SequenceEncoder'):
            shapes[name] = (batch, seq_len, encoder['in_channels'])
        else:
            raise ValueError(f'cannot infer the input shape of encoder '
                             f'{name!r} of type {kind!r}')
    return shapes


def build(cfg: Config, args):
    """Model (train mode), random batch and optimizer wrapper."""
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample

    import rollingq_mm  # noqa: F401
    from rollingq_mm.registry import MODELS
    model_cfg = model_config(cfg, args.fusion_reference)
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(model_cfg).to(args.device)
    shapes = input_shapes(model_cfg, args.batch_size, args.seq_len)
    classes = model.head.num_classes
    data = dict(
        inputs={
            m: torch.randn(s)
            for m, s in shapes.items()
        },
        data_samples=[
            DataSample().set_gt_label(int(y))
            for y in torch.randint(0, classes, (args.batch_size, ))
        ])
    from _balancer_cost import wrapper_for
    return model, data, wrapper_for(model), shapes


def timed(fns, args) -> list:
    """Median seconds of each function over ``iters`` runs after ``warmup``.

    The functions run interleaved (a, b, a, b, ...), so that a drift of the
    machine's speed hits them alike and their ratio stays meaningful.
    """
    sync = torch.cuda.synchronize if args.device == 'cuda' else (lambda: None)
    autocast = (
        torch.autocast(args.device, dtype=torch.bfloat16)
        if args.amp else nullcontext())
    times = [[] for _ in fns]
    with autocast:
        for step in range(args.warmup + args.iters):
            for fn, record in zip(fns, times):
                sync()
                start = time.perf_counter()
                fn()
                sync()
                if step >= args.warmup:
                    record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def hook_compute_ms(dim: int) -> float:
    """The hook's end-of-epoch math for a d-dimensional query (ms)."""
    from rollingq_mm.ops import (anchor_query, imbalance_rate,
                                 modality_weights, rotation_between)
    start = time.perf_counter()
    cosines = torch.tensor([0.4, 0.1])
    imbalance_rate(cosines)
    anchor = anchor_query(
        torch.randn(dim), torch.randn(2, dim), modality_weights(cosines, 1.0))
    rotation_between(torch.randn(dim), anchor.float())
    return 1000 * (time.perf_counter() - start)


def measure(args) -> dict:
    from rollingq_mm.engine.hooks import StatisticsCollector
    from rollingq_mm.models.rollingq import find_rolling_queries
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, data, wrapper, shapes = build(cfg, args)
    if args.balancer_cost:
        from _balancer_cost import balancer_cost
        return dict(
            config=args.config,
            device=args.device,
            batch_size=args.batch_size,
            iters=args.iters,
            **balancer_cost(model, data, args, timed))
    from _balancer_cost import prepare_balancer
    prepare_balancer(model, data)
    queries = find_rolling_queries(model)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()

    def step(collecting, fn):

        def run():
            if not collecting:
                return fn()
            with StatisticsCollector(queries):  # sums every batch it sees
                return fn()

        return run

    def train():
        model.train()
        model.train_step(data, wrapper)

    def extra_pass():  # one batch of stats='pass': no-grad, eval mode
        model.eval()
        with torch.no_grad():
            model(
                model.data_preprocessor(data, False)['inputs'], mode='tensor')

    def evaluate():
        model.eval()
        model.val_step(data)

    train_on, train_off, pass_time, eval_time = timed([
        step(True, train),
        step(False, train),
        step(True, extra_pass),
        step(False, evaluate)
    ], args)
    batch_size = args.batch_size
    result = dict(
        config=args.config,
        device=args.device,
        dtype='bfloat16' if args.amp else 'float32',
        batch_size=batch_size,
        iters=args.iters,
        fusion_reference=args.fusion_reference,
        input_shapes={
            m: list(s)
            for m, s in shapes.items()
        },
        num_rolling_queries=len(queries),
        train_samples_per_s=batch_size / train_on,
        train_samples_per_s_no_rollingq=batch_size / train_off,
        eval_samples_per_s=batch_size / eval_time,
        # per-step cost of accumulating the statistics (stats='epoch')
        stats_overhead_epoch=train_on / train_off - 1,
        # one no-grad pass over the data per rotation (stats='pass'), as a
        # fraction of a training epoch
        stats_pass_fraction=pass_time / train_on,
        hook_compute_ms=hook_compute_ms(model.neck.embed_dims) if hasattr(
            model.neck, 'embed_dims') else None)
    if args.device == 'cuda':
        result['peak_memory_gib'] = torch.cuda.max_memory_allocated() / 2**30
    else:
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result['peak_rss_mib'] = rss_kib / 1024
    return result


def bare_loop_comparison(args) -> dict:
    from _runner_overhead import measure_overhead
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = measure_overhead(cfg, args.epochs, args.repeats)
    result['config'] = args.config
    return result


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = bare_loop_comparison(args) if args.bare_loop else measure(args)
    for key, value in result.items():
        if isinstance(value, float):
            print(f'{key:>34s}: {value:.4g}')
    print(json.dumps(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
