"""DDP for balance methods whose steps leave parameters unused."""
import torch


class PartialGraphsMixin:
    """Sets DDP's ``find_unused_parameters`` for a balance method that asks
    for it (``balancer.partial_graphs``: MLA and ReconBoost step one encoder
    at a time, so the other encoders get no gradient in that step and DDP
    would otherwise wait for their reduction forever). The method sets it,
    not the user; a wrapper config that says ``find_unused_parameters=False``
    is refused with the reason.
    """

    def wrap_model(self, model_wrapper_cfg, model):
        """mmengine's, with ``find_unused_parameters`` where the method
        needs it."""
        balancer = getattr(model, 'balancer', None)
        if not self.distributed or balancer is None or \
                not balancer.partial_graphs:
            return super().wrap_model(model_wrapper_cfg, model)
        method = type(balancer).__name__
        if model_wrapper_cfg is None:
            # mmengine's default wrapper, as its own default path builds it
            model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', broadcast_buffers=False)
            if not torch.cuda.is_available():
                model_wrapper_cfg['device_ids'] = None  # DDP on CPU
        else:
            model_wrapper_cfg = dict(model_wrapper_cfg)
            if model_wrapper_cfg.get('find_unused_parameters') is False:
                raise ValueError(
                    f'{method} steps some parameters without the others, so '
                    'DDP needs find_unused_parameters=True; remove '
                    'model_wrapper_cfg.find_unused_parameters=False')
        model_wrapper_cfg['find_unused_parameters'] = True
        self.logger.info(f'{method}: DDP with find_unused_parameters=True '
                         '(its steps leave parameters unused)')
        return super().wrap_model(model_wrapper_cfg, model)
