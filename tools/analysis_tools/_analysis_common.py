"""For the analysis tools: load a model, corrupt the test set, predict."""
import copy
import os.path as osp
import sys
from contextlib import nullcontext
from typing import List, Optional

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _launch import load_config


def load_model(args):
    """Config (with --cfg-options) and the model with the checkpoint, eval.

    Args:
        args: argparse namespace with ``config``, ``checkpoint`` and
            ``cfg_options``.

    Returns:
        tuple: (Config, model).
    """
    from mmengine.registry import DefaultScope

    from rollingq_mm.registry import MODELS
    from rollingq_mm.utils import check_fits, load_checkpoint_file
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not '
                                'exist')
    args.launcher, args.work_dir = 'none', None
    cfg = load_config(args)
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        model = MODELS.build(model_cfg)
    # Safe and strict as tools/test.py: the config's trust_checkpoint /
    # load_strict (--cfg-options) relax it.
    checkpoint = load_checkpoint_file(
        args.checkpoint, trust=bool(cfg.get('trust_checkpoint', False)))
    if cfg.get('load_strict', True):
        check_fits(model, checkpoint, args.checkpoint)
    state = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in checkpoint['state_dict'].items()
    }
    model.load_state_dict(state, strict=bool(cfg.get('load_strict', True)))
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return cfg, model.to(device).eval()


def test_loader(cfg, transforms: List[dict]):
    """The config's test loader with ``transforms`` inserted before packing.

    The embedded default's own corruptions are switched off, so that the
    inserted transforms are the only noise.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    dataset = loader_cfg.dataset
    if dataset.get('type') == 'SyntheticMultimodal':
        dataset.corrupt_prob = 0.0
    pipeline = list(dataset.pipeline)
    pack = next((i for i, t in enumerate(pipeline)
                 if t['type'].endswith('PackMultimodalInputs')), None)
    if pack is None:
        raise ValueError('the test pipeline has no PackMultimodalInputs')
    pipeline[pack:pack] = transforms
    dataset.pipeline = pipeline
    with DefaultScope.overwrite_default_scope('rollingq_mm'):
        return Runner.build_dataloader(loader_cfg)


@torch.no_grad()
def predict(model, loader, title: Optional[str] = None, progress=None) -> dict:
    """Predict every test sample.

    Args:
        model: The model, in eval mode.
        loader: The test loader.
        title (str, optional): Printed first.
        progress (optional): A bar of ``rollingq_mm.utils.progress`` shared
            by several evaluations (its ETA covers them all); one of its own
            otherwise.

    Returns:
        dict: ``sample_idx`` [S], ``pred`` [S], ``label`` [S] and
        ``share`` [S, M] (None without an attention neck), numpy arrays, and
        ``modalities``.
    """
    rows = dict(sample_idx=[], pred=[], label=[], share=[])
    if title:
        print(title)
    from rollingq_mm.utils.progress import progress_bar
    bar = progress_bar(len(loader.dataset)) if progress is None else \
        nullcontext(progress)
    with bar as progress:
        for data in loader:
            samples = model.test_step(data)
            progress.update(len(samples))
            for sample in samples:
                rows['sample_idx'].append(int(sample.sample_idx))
                rows['pred'].append(int(sample.pred_label))
                rows['label'].append(int(sample.gt_label))
                if 'attention_share' in sample:
                    rows['share'].append(sample.attention_share.float().cpu())
    out = {k: np.asarray(v) for k, v in rows.items() if k != 'share'}
    out['share'] = torch.stack(
        rows['share']).numpy() if rows['share'] else None
    out['modalities'] = list(model.modalities)
    return out


def write_json(path: str, payload: dict) -> None:
    import json
    with open(path, 'w') as f:
        json.dump(payload, f, indent=2)
