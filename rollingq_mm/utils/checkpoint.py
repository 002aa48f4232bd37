"""Let mmengine load its own checkpoints on torch >= 2.6.

mmengine checkpoints hold HistoryBuffer and numpy objects (the message hub),
which ``torch.load``'s ``weights_only=True`` default (torch >= 2.6) refuses,
so ``--resume`` and ``load_from`` fail. We re-register mmengine's loader for
local paths with ``weights_only=False``. This runs pickle: load only
checkpoints you trust (your own runs), as with any mmengine checkpoint.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_trusted_local_checkpoint(filename: str, map_location=None):
    """Load a local mmengine checkpoint (pickle allowed; trusted files only).

    Args:
        filename (str): Local path.
        map_location: As for ``torch.load``.

    Returns:
        dict: The checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist; '
                                'check the path (--resume / load_from)')
    return torch.load(filename, map_location=map_location, weights_only=False)
