"""Safe, strict checkpoint loading for a Runner."""
import re

from mmengine.runner.checkpoint import _load_checkpoint_to_model

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.utils.checkpoint import check_fits, load_checkpoint_file


class SafeCheckpointLoadingMixin:
    """``load_from``, ``--resume`` and ``tools/test.py`` load local
    checkpoints through
    :func:`~rollingq_mm.utils.checkpoint.load_checkpoint_file`: the zip
    records' CRCs are checked, unpickling is restricted to the types an
    mmengine checkpoint holds, NaN/inf weights are refused and a release 1/2
    RollingQ history is converted. Then the state dict must fit the model
    exactly (no missing, unexpected or mis-shaped key) unless the config
    says ``load_strict = False``. ``trust_checkpoint = True`` unpickles
    trusted files in full. Anything that is not a local path (a URL,
    ``open-mmlab://``) is left to mmengine.
    """

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load ``filename`` into the model; see the class doc.

        ``strict`` (mmengine's argument, False when mmengine calls it) is
        ignored in favour of the config's ``load_strict`` (default True).
        """
        if re.match(r'^[a-z0-9+-]+://', str(filename)):
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)
        model = unwrap_model(self.model)
        checkpoint = load_checkpoint_file(
            filename,
            map_location,
            trust=bool(self.cfg.get('trust_checkpoint', False)),
            modalities=getattr(model, 'modalities', None))
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if self.cfg.get('load_strict', True):
            check_fits(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
