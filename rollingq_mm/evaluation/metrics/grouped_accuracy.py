"""GroupedAccuracy: fused accuracy per group of samples (e.g. corruption)."""
from collections import defaultdict
from typing import Dict, List, Sequence

from mmengine.evaluator import BaseMetric

from rollingq_mm.registry import METRICS
from ._groups import (DEFAULT_GROUP_KEY, first_values, missing_group_error,
                      sample_group)


@METRICS.register_module()
class GroupedAccuracy(BaseMetric):
    """Top-1 accuracy (%) per group of samples: ``accuracy/<group>``.

    Groups come from the per-sample metainfo field ``group_key``. With the
    default ``corrupted`` (SyntheticMultimodal, AV-Digits, or the
    ``CorruptModality`` transform) they are ``accuracy/clean`` and
    ``accuracy/<m>_corrupted``: whether the fusion turns to the clean
    modality when the favoured one is noise. The run checks before its
    first iteration that the dataset gives the field.

    Args:
        group_key (str): The metainfo field to group by. Defaults to
            'corrupted'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to none.
    """

    # names carry their namespace; '' (not None): no mmengine warning
    default_prefix = ''

    def __init__(self, group_key: str = DEFAULT_GROUP_KEY, **kwargs):
        super().__init__(**kwargs)
        self.group_key = group_key

    @property
    def required_meta_keys(self) -> tuple:
        """Per-sample metainfo this metric needs (checked before a run)."""
        return (self.group_key, )

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        groups = []
        for sample in data_samples:
            group = sample_group(sample, self.group_key)
            if group is None:
                raise missing_group_error('GroupedAccuracy', self.group_key)
            groups.append(group)
        # one transfer to the host for the batch, not two per sample
        hits = (first_values(data_samples, 'pred_label') == first_values(
            data_samples, 'gt_label')).float().cpu().tolist()
        self.results.extend(zip(groups, hits))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        hits = defaultdict(list)
        for group, hit in results:
            hits[group].append(hit)
        return {
            f'accuracy/{group}': 100 * sum(values) / len(values)
            for group, values in sorted(hits.items())
        }
