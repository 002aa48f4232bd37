"""Corruption groups of evaluation samples (metainfo ``corrupted``)."""
from typing import Optional


def corruption_group(data_sample: dict) -> Optional[str]:
    """``'clean'``, ``'<modality>_corrupted'``, or None without the metainfo."""
    if 'corrupted' not in data_sample:
        return None
    corrupted = data_sample['corrupted']
    return f'{corrupted}_corrupted' if corrupted else 'clean'
