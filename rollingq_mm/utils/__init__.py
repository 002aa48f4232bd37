from .checkpoint import (CheckpointError, check_finite, check_fits,
                         load_checkpoint_file, mmengine_checkpoint_types)

__all__ = [
    'CheckpointError', 'check_finite', 'check_fits', 'load_checkpoint_file',
    'mmengine_checkpoint_types'
]
