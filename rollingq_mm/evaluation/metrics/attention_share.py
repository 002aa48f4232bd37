"""AttentionShare: where the fusion's CLS query looks, and the AIR."""
from collections import defaultdict
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from rollingq_mm.ops import imbalance_rate
from rollingq_mm.registry import METRICS
from ._groups import corruption_group


@METRICS.register_module()
class AttentionShare(BaseMetric):
    """Mean CLS attention share per modality, query-key cosines and AIR.

    Reads ``attention_share`` [M] and ``query_key_cos`` [M] that
    :class:`MultimodalClassifier` stores in each prediction of an attention
    neck. Reports ``attention_share/<m>``, ``query_key_cos/<m>`` and ``air``
    (``c_0 - c_1`` of the mean cosines; see ``ops.imbalance_rate``), and,
    where samples carry a ``corrupted`` metainfo, the share per group:
    ``attention_share/<m>/clean`` and ``attention_share/<m>/<g>_corrupted``.

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to None.
    """

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'attention_share' not in sample:
                raise KeyError(
                    'AttentionShare: the predictions have no attention_share; '
                    'the model\'s neck has no attention (e.g. ConcatFusion) or '
                    'fusion_stats=False. Drop AttentionShare from the '
                    'evaluator of this config')
            self.results.append(
                dict(share=sample['attention_share'].float().cpu(),
                     cos=sample['query_key_cos'].float().cpu(),
                     modalities=list(sample['modalities']),
                     group=corruption_group(sample)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        modalities = results[0]['modalities']
        shares = torch.stack([r['share'] for r in results])  # [S, M]
        cosines = torch.stack([r['cos'] for r in results]).mean(0)  # [M]
        metrics = {}
        for index, name in enumerate(modalities):
            metrics[f'attention_share/{name}'] = shares[:, index].mean().item()
            metrics[f'query_key_cos/{name}'] = cosines[index].item()
        if len(modalities) >= 2:
            metrics['air'] = imbalance_rate(cosines).item()
        groups = defaultdict(list)
        for row, result in enumerate(results):
            if result['group'] is not None:
                groups[result['group']].append(row)
        for group, rows in sorted(groups.items()):
            mean = shares[rows].mean(0)
            for index, name in enumerate(modalities):
                metrics[f'attention_share/{name}/{group}'] = mean[index].item()
        return metrics
