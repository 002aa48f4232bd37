"""PreflightHook: check before the first iteration what would fail later."""
from typing import Optional

import numpy as np
from mmengine.hooks import Hook

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import HOOKS
from rollingq_mm.utils.errors import ReadableKeyError


@HOOKS.register_module()
class PreflightHook(Hook):
    """Fail before any work is done, not after an epoch.

    Before training (and before testing) it takes one sample of each
    dataloader through its pipeline and checks:

    * ``train_cfg.max_epochs`` >= 1 (0 would train nothing, silently);
    * the sample's modalities are the model's (names and set);
    * the dataset's number of classes is the head's ``num_classes``, and
      every label is inside every head's ``[0, num_classes)`` (a label equal
      to ``num_classes`` would otherwise crash the loss mid-epoch);
    * every metric's ``required_meta_keys`` (e.g. ``GroupedAccuracy``'s
      ``group_key``) are in the sample's metainfo.

    Our ``default_runtime`` turns it on; it costs one sample per loader.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if max_epochs is not None and max_epochs < 1:
            raise ValueError(f'train_cfg.max_epochs is {max_epochs}: nothing '
                             'would be trained; set it to 1 or more')
        self._check_loader(runner, runner.train_dataloader, 'train')
        val_loop = getattr(runner, '_val_loop', None)
        if val_loop is not None and not isinstance(val_loop, dict):
            self._check_loader(runner, val_loop.dataloader, 'val',
                               val_loop.evaluator)

    def before_test(self, runner) -> None:
        loop = runner.test_loop
        self._check_loader(runner, loop.dataloader, 'test', loop.evaluator)

    @staticmethod
    def _check_loader(runner,
                      loader,
                      split: str,
                      evaluator: Optional[object] = None) -> None:
        dataset = loader.dataset
        if len(dataset) == 0:
            raise ValueError(f'the {split} dataset is empty; check its '
                             'ann_file / data_root')
        sample = dataset[0]
        where = f'the {split} dataset ({type(dataset).__name__})'
        model = unwrap_model(runner.model)
        _check_modalities(model, sample, where)
        _check_classes(model, dataset, where)
        _check_labels(model, dataset, where)
        if evaluator is None:
            return
        meta = sample.get('data_samples')
        keys = set(meta.metainfo_keys()) if meta is not None else set()
        for metric in evaluator.metrics:
            needed = getattr(metric, 'required_meta_keys', ())
            missing = [key for key in needed if key not in keys]
            if missing:
                raise ReadableKeyError(
                    f'{type(metric).__name__} in the {split} evaluator needs '
                    f'the per-sample field(s) {missing}, which {where} does '
                    f'not give (its samples have {sorted(keys)}). Give the '
                    'dataset that field (MultimodalArrayDataset: meta_keys='
                    f'{missing}), set the metric\'s group_key to a field it '
                    'has, or drop the metric')


def _check_modalities(model, sample: dict, where: str) -> None:
    modalities = getattr(model, 'modalities', None)
    inputs = sample.get('inputs')
    if modalities is None or not isinstance(inputs, dict):
        return
    if set(inputs) != set(modalities):
        raise ReadableKeyError(
            f'{where} gives the modalities {sorted(inputs)} but the model '
            f'has {list(modalities)}; make the dataset\'s modalities, '
            'PackMultimodalInputs(modalities=...) and the model\'s encoders '
            'name the same ones')


def _check_classes(model, dataset, where: str) -> None:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    if classes is None or num_classes is None:
        return
    if len(classes) != num_classes:
        raise ValueError(
            f'{where} has {len(classes)} classes but the head has '
            f'num_classes={num_classes}; set model.head.num_classes (and '
            'probe_heads) to the number of classes')


def _heads(model) -> dict:
    """Every classification head of the model, by config path."""
    heads = {}
    if getattr(model, 'head', None) is not None:
        heads['model.head'] = model.head
    for group in ('probe_heads', 'aux_heads'):
        for name, head in (getattr(model, group, None) or {}).items():
            heads[f'model.{group}[{name!r}]'] = head
    return {
        key: head
        for key, head in heads.items()
        if isinstance(getattr(head, 'num_classes', None), int)
    }


def _labels(dataset):
    """``(sample index, label)`` of every sample with an integer label.

    Reads the data infos only (no pipeline): the data list where the dataset
    keeps it, else ``get_data_info`` per sample.
    """
    infos = getattr(dataset, 'data_list', None)
    if not infos:
        infos = (dataset.get_data_info(i) for i in range(len(dataset)))
    for index, info in enumerate(infos):
        label = info.get('gt_label') if isinstance(info, dict) else None
        if isinstance(label, (int, np.integer)):
            yield index, int(label)


def _check_labels(model, dataset, where: str) -> None:
    heads = _heads(model)
    if not heads:
        return
    smallest = min(head.num_classes for head in heads.values())
    bad = [(i, y) for i, y in _labels(dataset) if not 0 <= y < smallest]
    if not bad:
        return
    key, head = min(heads.items(), key=lambda item: item[1].num_classes)
    source = getattr(dataset, 'ann_file', None) or getattr(
        dataset, 'source', None)
    shown = ', '.join(f'label {y} at sample {i}' for i, y in bad[:5])
    raise ValueError(
        f'{where}{f" ({source})" if source else ""} has {len(bad)} '
        f'sample(s) whose label is outside [0, {head.num_classes}) of '
        f'{key}.num_classes={head.num_classes}: {shown}. Set num_classes of '
        'the heads to the number of classes, or fix the labels')
