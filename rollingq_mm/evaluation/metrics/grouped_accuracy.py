"""GroupedAccuracy: fused accuracy on clean and on corrupted samples."""
from collections import defaultdict
from typing import Dict, List, Sequence

from mmengine.evaluator import BaseMetric

from rollingq_mm.registry import METRICS
from ._groups import corruption_group


@METRICS.register_module()
class GroupedAccuracy(BaseMetric):
    """Top-1 accuracy (%) per corruption group of the samples.

    Groups come from the ``corrupted`` metainfo (SyntheticMultimodal, or the
    ``CorruptModality`` transform): ``accuracy/clean`` and
    ``accuracy/<m>_corrupted``. It shows whether the fusion turns to the
    clean modality when the favoured one is noise.

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to None.
    """

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            group = corruption_group(sample)
            if group is None:
                raise KeyError(
                    'GroupedAccuracy: the samples have no "corrupted" '
                    'metainfo; use a dataset that records it (or the '
                    'CorruptModality transform) or drop GroupedAccuracy')
            hit = int(sample['pred_label'].reshape(-1)[0]) == int(
                sample['gt_label'].reshape(-1)[0])
            self.results.append((group, float(hit)))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        hits = defaultdict(list)
        for group, hit in results:
            hits[group].append(hit)
        return {
            f'accuracy/{group}': 100 * sum(values) / len(values)
            for group, values in sorted(hits.items())
        }
