"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``."""
import argparse
import os.path as osp

from _launch import add_common_args, build_runner, check_launcher, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a rollingq_mm model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json/.yaml/.pkl)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    check_launcher(cfg)
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
