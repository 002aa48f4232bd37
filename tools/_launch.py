"""Shared by tools/train.py and tools/test.py: config loading and launching."""
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction

# Let `python tools/train.py` import rollingq_mm from a source checkout too.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def add_common_args(parser):
    """Arguments that train.py and test.py share (mmpretrain's names)."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs such as '
        'train_cfg.max_epochs=2 model.neck.num_heads=2; keys that do not '
        'exist are refused (typos) unless --allow-new-keys')
    parser.add_argument(
        '--allow-new-keys',
        action='store_true',
        help='let --cfg-options add keys the config does not have')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load checkpoints whose keys do not fit the model (only what '
        'fits is loaded); by default that is an error')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='unpickle checkpoints in full, for files you made yourself; by '
        'default only the types mmengine checkpoints hold are allowed')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(args) -> Config:
    """Read the config, apply --cfg-options, set launcher and work_dir."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        from rollingq_mm.utils.cfg_options import check_cfg_options
        check_cfg_options(cfg, args.cfg_options,
                          getattr(args, 'allow_new_keys', False))
        cfg.merge_from_dict(args.cfg_options)
    if getattr(args, 'non_strict', False):
        cfg.load_strict = False
    if getattr(args, 'trust_checkpoint', False):
        cfg.trust_checkpoint = True
    check_schedule(cfg)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def check_schedule(cfg: Config) -> None:
    """``max_epochs`` >= 1 (0 would train nothing, silently).

    A run shorter than a warm-up trains: CosineAnnealingToEndLR warns that
    its cosine phase never starts.
    """
    train_cfg = cfg.get('train_cfg') or {}
    epochs = train_cfg.get('max_epochs')
    if epochs is not None and epochs < 1:
        raise ValueError(f'train_cfg.max_epochs is {epochs}: nothing would be '
                         'trained; set it to 1 or more')


def build_runner(cfg: Config):
    """The config's runner (``runner_type``, ours by default) or mmengine's."""
    from mmengine.runner import Runner
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from rollingq_mm.registry import \
        RUNNERS  # ours, falling back to mmengine's
    return RUNNERS.build(cfg)


def check_launcher(cfg: Config) -> None:
    """Say early what a launcher needs on a machine without GPUs.

    DDP on CPU itself is RobustRunner's (it joins a gloo group and wraps
    the model without ``device_ids``), so that mmpretrain's tools get it too.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f'--launcher {cfg.launcher} needs GPUs; on a CPU '
                           'machine use tools/dist_train.sh (torchrun)')
    if 'LOCAL_RANK' not in os.environ:
        raise RuntimeError('--launcher pytorch needs torchrun (LOCAL_RANK is '
                           'unset); use tools/dist_train.sh')
