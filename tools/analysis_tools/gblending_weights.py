"""Estimate G-Blending's loss weights (Wang, Tran & Feiszli, CVPR 2020).

    python tools/analysis_tools/gblending_weights.py CONFIG \
        [--epochs N] [--holdout 0.2] [--seed 0] [--out weights.json] \
        [--work-dir DIR] [--cfg-options KEY=VALUE ...]

The paper's offline estimate: a held-out part V of the *training* split
(never the test split) is set aside; from the same initialisation, each
unimodal model (the config's encoder of that modality, a linear head) and
the plain multimodal model (the config's model without balancer, auxiliary
heads or hooks) train for N epochs on the rest T'. With the mean
cross-entropies on T' and V before (0) and after (N) training, the
overfitting is ``O = L_V - L_T'``, the generalisation gain
``ΔG = L_V(0) - L_V(N)`` and ``ΔO = O(N) - O(0)``; each head's weight is
``ΔG / ΔO²`` (0 where ΔG <= 0: no gain), normalised to sum to 1. The
weights (keys ``fused`` and the modalities) go to ``--out`` or, by default,
to the JSON file the config's ``model.balancer.weights`` names, and are
printed with every measured loss.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _launch import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument(
        '--epochs', type=int, help="N (default: the config's max_epochs)")
    parser.add_argument(
        '--holdout',
        type=float,
        default=0.2,
        help='share of the training split held out as V (default: 0.2)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='where to write the weights (JSON)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', default=None)
    args = parser.parse_args(argv)
    if not 0 < args.holdout < 1:
        parser.error(f'--holdout must be in (0, 1), got {args.holdout}')
    from mmengine.config import DictAction
    if args.cfg_options:
        action = DictAction(option_strings=[], dest='cfg_options')
        namespace = argparse.Namespace()
        action(parser, namespace, args.cfg_options)
        args.cfg_options = namespace.cfg_options
    return args


def _set_modalities(dataset: dict, modalities: list) -> dict:
    """``dataset`` reading and packing only ``modalities``."""
    dataset = copy.deepcopy(dataset)
    dataset['modalities'] = list(modalities)
    for step in dataset.get('pipeline', []):
        if step.get('type') == 'PackMultimodalInputs':
            step['modalities'] = list(modalities)
    return dataset


def copy_config(cfg, head: str, modalities: list, train_indices, work_dir):
    """The config of one estimate: the plain multimodal model (``head ==
    'fused'``) or modality ``head``'s unimodal model, trained on T'."""
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    for key in ('balancer', 'aux_heads', 'probe_heads'):
        model[key] = None
    model.pop('detach_fusion_inputs', None)
    keep = modalities if head == 'fused' else [head]
    if head != 'fused':
        model['encoders'] = {head: model['encoders'][head]}
        model['neck'] = dict(type='ConcatFusion')
        model['head'].pop('in_channels', None)  # the encoder's width
    cfg.train_dataloader.dataset = _set_modalities(
        cfg.train_dataloader.dataset, keep)
    cfg.train_dataloader.dataset['indices'] = [int(i) for i in train_indices]
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg',
                'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.custom_hooks = []
    if 'Balanced' in cfg.optim_wrapper.get('type', ''):
        cfg.optim_wrapper['type'] = cfg.optim_wrapper['type'].replace(
            'Balanced', '')
    cfg.default_hooks = dict(cfg.get('default_hooks', {}), checkpoint=None)
    cfg.work_dir = osp.join(work_dir, head)
    return cfg, keep


def mean_loss(model, loader) -> float:
    """Mean cross-entropy of ``model`` over ``loader`` (eval mode)."""
    import torch
    import torch.nn.functional as F
    model.eval()
    total, count = 0., 0
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            logits = model(data['inputs'], mode='tensor')
            labels = torch.cat([s.gt_label for s in data['data_samples']])
            total += float(
                F.cross_entropy(
                    logits.float(), labels.to(logits.device), reduction='sum'))
            count += labels.numel()
    model.train()
    return total / count


def eval_loader(cfg, dataset: dict, indices):
    from mmengine.runner import Runner
    dataset = copy.deepcopy(dataset)
    dataset['indices'] = [int(i) for i in indices]
    return Runner.build_dataloader(
        dict(
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=cfg.train_dataloader.get('batch_size', 32),
            num_workers=0))


def estimate(cfg, head, modalities, split, work_dir) -> dict:
    """Train one copy; its losses on T' and V before and after."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from rollingq_mm.models.rollingq import unwrap_model
    train_idx, held_idx = split
    run_cfg, keep = copy_config(cfg, head, modalities, train_idx, work_dir)
    eval_set = _set_modalities(cfg.val_dataloader.dataset, keep)
    eval_set.update({
        k: v
        for k, v in cfg.train_dataloader.dataset.items()
        if k not in ('pipeline', 'modalities', 'type')
    })
    eval_set['type'] = cfg.train_dataloader.dataset['type']
    losses, loaders = {}, {}

    class LossProbe(Hook):

        def _measure(self, runner, when):
            if not loaders:  # once, inside the runner's scope; reused after
                loaders.update((name, eval_loader(cfg, eval_set, idx))
                               for name, idx in (('train', train_idx),
                                                 ('held_out', held_idx)))
            model = unwrap_model(runner.model)
            for name, loader in loaders.items():
                losses[f'{name}_{when}'] = mean_loss(model, loader)

        def before_train(self, runner):
            self._measure(runner, 'start')

        def after_train(self, runner):
            self._measure(runner, 'end')

    runner = Runner.from_cfg(run_cfg)
    runner.register_hook(LossProbe(), priority='LOWEST')
    runner.train()
    gain = losses['held_out_start'] - losses['held_out_end']
    overfit_start = losses['held_out_start'] - losses['train_start']
    overfit_end = losses['held_out_end'] - losses['train_end']
    delta_o = overfit_end - overfit_start
    losses.update(
        delta_g=gain,
        delta_o=delta_o,
        raw_weight=max(gain, 0.) / max(delta_o**2, 1e-12))
    return losses


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.launcher = 'none'
    cfg = load_config(args)
    if args.epochs is not None:
        cfg.train_cfg['max_epochs'] = args.epochs
    from mmengine.registry import DefaultScope

    from rollingq_mm.registry import DATASETS
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        size = len(DATASETS.build(cfg.train_dataloader.dataset))
    order = np.random.default_rng(args.seed).permutation(size)
    held = int(round(args.holdout * size))
    split = (np.sort(order[held:]), np.sort(order[:held]))
    modalities = list(cfg.model.encoders)
    work_dir = args.work_dir or osp.join(cfg.work_dir, 'gblending_estimate')
    results = {
        head: estimate(cfg, head, modalities, split, work_dir)
        for head in modalities + ['fused']
    }
    gained_nothing = [h for h, r in results.items() if r['delta_g'] <= 0]
    if gained_nothing:
        print(f'warning: the held-out loss of {gained_nothing} rose over '
              f'{cfg.train_cfg["max_epochs"]} epochs (they overfit from the '
              'start): their weight is 0; a shorter --epochs measures the '
              'phase where they still generalise')
    total = sum(r['raw_weight'] for r in results.values())
    if total <= 0:
        raise RuntimeError('no head generalised better after training (every '
                           'ΔG <= 0): train longer (--epochs)')
    weights = {h: r['raw_weight'] / total for h, r in results.items()}
    out = args.out
    if out is None:
        target = (cfg.model.get('balancer') or {}).get('weights')
        out = target if isinstance(target, str) else osp.join(
            work_dir, 'weights.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    report = dict(
        weights=weights,
        estimates=results,
        epochs=int(cfg.train_cfg['max_epochs']),
        holdout=args.holdout,
        seed=args.seed)
    with open(out, 'w') as f:
        json.dump(report, f, indent=2)
    for head, result in results.items():
        print('{:>8}: weight {:.3f}  dG {:.4f}  dO {:.4f}  '
              'L_T {:.3f} -> {:.3f}  L_V {:.3f} -> {:.3f}'.format(
                  head, weights[head], result['delta_g'], result['delta_o'],
                  result['train_start'], result['train_end'],
                  result['held_out_start'], result['held_out_end']))
    print(f'weights written to {out}: {json.dumps(weights)}')
    return report


if __name__ == '__main__':
    main()
