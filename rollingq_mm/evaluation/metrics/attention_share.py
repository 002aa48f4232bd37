"""AttentionShare: where the fusion's CLS query looks, and the AIR."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from rollingq_mm.models.records import AttentionRecord
from rollingq_mm.ops import imbalance_rate
from rollingq_mm.registry import METRICS
from ._groups import missing_group_error, sample_group

SHARE, COS = AttentionRecord.SHARE_FIELD, AttentionRecord.COS_FIELD


@METRICS.register_module()
class AttentionShare(BaseMetric):
    """Mean CLS attention share per modality, query-key cosines and AIR.

    Reads the per-sample fields of the fusion's :class:`AttentionRecord`
    that :class:`MultimodalClassifier` stores in each prediction of an
    attention neck (``attention_share`` [M], ``query_key_cos`` [M]).
    Reports ``attention_share/<m>``, ``query_key_cos/<m>`` and ``air``
    (``c_0 - c_1`` of the mean cosines; see ``ops.imbalance_rate``) and,
    with ``group_key``, the share per group:
    ``attention_share/<m>/<group>`` (e.g. ``.../clean``,
    ``.../audio_corrupted``) — whether attention follows sample quality.

    Args:
        group_key (str, optional): Per-sample metainfo field to group the
            shares by, e.g. 'corrupted'; the run checks before its first
            iteration that the dataset gives it. Defaults to None (no
            groups).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to none.
    """

    # names carry their namespace; '' (not None): no mmengine warning
    default_prefix = ''

    def __init__(self, group_key: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.group_key = group_key

    @property
    def required_meta_keys(self) -> tuple:
        """Per-sample metainfo this metric needs (checked before a run)."""
        return () if self.group_key is None else (self.group_key, )

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        groups = []
        for sample in data_samples:
            if SHARE not in sample:
                raise KeyError(
                    'AttentionShare: the predictions have no attention_share; '
                    "the model's neck has no attention (e.g. ConcatFusion) or "
                    'fusion_stats=False. Drop AttentionShare from the '
                    'evaluator of this config')
            group = None
            if self.group_key is not None:
                group = sample_group(sample, self.group_key)
                if group is None:
                    raise missing_group_error('AttentionShare', self.group_key)
            groups.append(group)
        # shares and cosines [2, S, M], moved to the host at once
        fields = torch.stack([
            torch.stack([s[field].float() for s in data_samples])
            for field in (SHARE, COS)
        ]).cpu()
        for index, (sample, group) in enumerate(zip(data_samples, groups)):
            self.results.append(
                dict(
                    share=fields[0, index],
                    cos=fields[1, index],
                    modalities=list(sample['modalities']),
                    group=group))

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
