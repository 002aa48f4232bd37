"""ModalityAccuracy: the top-1 accuracy of each per-modality probe head."""
from collections import defaultdict
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from rollingq_mm.registry import METRICS
from ._groups import first_values


@METRICS.register_module()
class ModalityAccuracy(BaseMetric):
    """Top-1 accuracy (%) of each detached probe: ``modality_accuracy/<m>``.

    Reads ``probe_scores`` {modality: [K]} that :class:`MultimodalClassifier`
    stores when it has ``probe_heads`` — the paper's unimodal accuracy.

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to none.
    """

    # names carry their namespace; '' (not None): no mmengine warning
    default_prefix = ''

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if any('probe_scores' not in sample for sample in data_samples):
            raise KeyError(
                'ModalityAccuracy: the predictions have no probe_scores; '
                'give the model probe_heads or drop ModalityAccuracy from '
                'the evaluator')
        names = list(data_samples[0]['probe_scores'])
        labels = first_values(data_samples, 'gt_label')
        predictions = torch.stack([
            torch.stack([s['probe_scores'][name].argmax() for name in names])
            for s in data_samples
        ])  # [S, M]
        # moved to the host at once (one transfer per batch)
        hits = (predictions == labels[:, None]).float().cpu().tolist()
        self.results.extend(dict(zip(names, row)) for row in hits)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        correct = defaultdict(list)
        for result in results:
            for name, hit in result.items():
                correct[name].append(hit)
        return {
            f'modality_accuracy/{name}': 100 * sum(hits) / len(hits)
            for name, hits in correct.items()
        }
