from .rotation import (ROTATION_METHODS, anchor_query, exceeds_threshold,
                       imbalance, imbalance_rate, modality_key_means,
                       modality_weights, query_key_cosines, rotation_between)

__all__ = [
    'ROTATION_METHODS', 'anchor_query', 'exceeds_threshold', 'imbalance',
    'imbalance_rate', 'modality_key_means', 'modality_weights',
    'query_key_cosines', 'rotation_between'
]
