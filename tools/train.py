"""Train a model: ``python tools/train.py CONFIG [--work-dir DIR] ...``."""
import argparse
import os.path as osp

from _launch import add_common_args, build_runner, check_launcher, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a rollingq_mm model')
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or (no value) from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision via AmpOptimWrapper: bf16 on GPUs with native '
        'bf16 (compute capability >= 8.0), else fp16 with a dynamic loss scale'
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the encoders (mmengine\'s compile key; see '
        'docs/performance.md for when it pays off)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by total batch size / auto_scale_lr.base_batch_size'
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not validate during training')
    return parser.parse_args(argv)


def merge_train_args(cfg, args):
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a GPU: mmengine\'s AmpOptimWrapper '
                             'does not run on CPU; drop --amp here')
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        amp_types = dict(
            OptimWrapper='AmpOptimWrapper',
            AmpOptimWrapper='AmpOptimWrapper',
            BalancedOptimWrapper='BalancedAmpOptimWrapper',
            BalancedAmpOptimWrapper='BalancedAmpOptimWrapper')
        if wrapper not in amp_types:
            raise ValueError(f'--amp cannot wrap optim_wrapper type {wrapper}')
        cfg.optim_wrapper.type = amp_types[wrapper]
        from rollingq_mm.engine.optim_wrappers import amp_settings
        for key, value in amp_settings(cfg.optim_wrapper.get('dtype')).items():
            cfg.optim_wrapper.setdefault(key, value)
    if args.compile and not cfg.get('compile'):
        cfg.compile = True
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume {args.resume!r} does not exist')
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_train_args(load_config(args), args)
    check_launcher(cfg)
    runner = build_runner(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
