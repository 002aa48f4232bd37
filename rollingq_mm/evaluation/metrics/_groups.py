"""Groups of evaluation samples by a per-sample metainfo field."""
from typing import Optional, Sequence

import torch

from rollingq_mm.utils.errors import ReadableKeyError

DEFAULT_GROUP_KEY = 'corrupted'


def sample_group(data_sample: dict, group_key: str) -> Optional[str]:
    """The group name of a sample, or None if it lacks ``group_key``.

    For the default key ``corrupted`` (the name of the modality replaced by
    noise, '' when clean) the groups are ``'clean'`` and
    ``'<modality>_corrupted'``; for any other key, the value itself.
    """
    if group_key not in data_sample:
        return None
    value = data_sample[group_key]
    if group_key == DEFAULT_GROUP_KEY:
        return f'{value}_corrupted' if value else 'clean'
    return str(value)


def missing_group_error(metric: str, group_key: str) -> KeyError:
    return ReadableKeyError(
        f'{metric}: the samples have no {group_key!r} metainfo to group by. '
        f'Give the dataset that field (MultimodalArrayDataset: meta_keys='
        f'[{group_key!r}]; SyntheticMultimodal and CorruptModality set '
        f'"corrupted"), set group_key to a field it has, or drop {metric} '
        'from the evaluator')


def first_values(data_samples: Sequence[dict], key: str) -> torch.Tensor:
    """The first value of ``sample[key]`` of every sample, stacked [S] on
    their device: moved to the host at once, a batch costs one transfer
    (one GPU sync) instead of one per sample."""
    return torch.stack([s[key].reshape(-1)[0] for s in data_samples])
