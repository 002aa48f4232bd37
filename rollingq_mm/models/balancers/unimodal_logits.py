"""One resolver for each modality's logits, shared by the balancers."""
from typing import Dict

import torch

#: Where unimodal logits can come from; ``'auto'`` picks the first that the
#: model has, in the order fusion → aux → probe.
UNIMODAL_SOURCES = ('auto', 'fusion', 'aux', 'probe')

_NEEDS = dict(
    fusion='ConcatFusion / SumFusion with a linear head (LinearClsHead)',
    aux="aux_heads in the model (model.aux_heads=dict(type='LinearClsHead', "
    'num_classes=...))',
    probe="probe_heads in the model (model.probe_heads=dict(type="
    "'LinearClsHead', num_classes=...))")


class UnimodalLogits:
    """Each modality's logits o_m [B, K] for a balancer's confidence.

    * ``'fusion'``: each modality's share of the fused logits, for a fusion
      linear in each modality with a linear head (the neck splits them,
      ``BaseFusion.modality_logits``; they carry the gradient of the head
      and the encoder);
    * ``'aux'``: the non-detached unimodal heads (``aux_heads``);
    * ``'probe'``: the detached linear probes (``probe_heads``) — a
      confidence without any gradient, the choice for attention fusion,
      whose logits do not split by modality;
    * ``'auto'``: the first of fusion → aux → probe that the model has.

    Args:
        source (str): One of :data:`UNIMODAL_SOURCES`. Defaults to 'auto'.
        owner (str): The balancer's name, for messages.
        argument (str): The balancer's argument that sets ``source``, for
            messages. Defaults to 'confidence'.
    """

    def __init__(self,
                 source: str = 'auto',
                 owner: str = 'balancer',
                 argument: str = 'confidence'):
        if source not in UNIMODAL_SOURCES:
            raise ValueError(f'{owner}: {argument}={source!r} (where the '
                             'unimodal logits come from) is not one of '
                             f'{UNIMODAL_SOURCES}')
        self.requested = source
        self.source = None if source == 'auto' else source
        self.owner = owner
        self.argument = argument

    def bind(self, model, allowed=('fusion', 'aux', 'probe')) -> str:
        """Resolve ``'auto'`` for ``model`` and check the source exists.

        Args:
            model (MultimodalClassifier): The model.
            allowed (tuple[str]): The sources the method can use (e.g. a
                method that needs gradient excludes ``'probe'``).

        Returns:
            str: The resolved source.

        Raises:
            ValueError: the model lacks the source.
        """
        has = dict(
            fusion=model.splits_logits,
            aux=len(model.aux_heads) > 0
            and all(m in model.aux_heads for m in model.modalities),
            probe=len(model.probe_heads) > 0
            and all(m in model.probe_heads for m in model.modalities))
        source = self.requested
        if source == 'auto':
            found = [s for s in allowed if has[s]]
            if not found:
                raise ValueError(
                    f'{self.owner} needs unimodal logits, from one of: ' +
                    '; '.join(_NEEDS[s] for s in allowed))
            source = found[0]
        elif source not in allowed:
            raise ValueError(f'{self.owner} cannot use unimodal logits from '
                             f'{self.argument}={source!r}; use one of '
                             f'{list(allowed)}')
        elif not has[source]:
            raise ValueError(f'{self.owner}: {self.argument}={source!r} '
                             f'needs {_NEEDS[source]}')
        self.source = source
        return source

    def __call__(self, model, context) -> Dict[str, torch.Tensor]:
        """o_m for every modality [B, K], from :attr:`source`."""
        if self.source == 'aux':
            return context.aux_logits
        if self.source == 'probe':
            return context.probe_logits
        return model.modality_logits(context.tokens)

    def logits_from_tokens(self, model, tokens: Dict[str, torch.Tensor]
                           ) -> Dict[str, torch.Tensor]:
        """o_m from the encoders' tokens, before the classifier's forward
        has made them (for a method that acts before the fusion, OPM)."""
        if self.source == 'fusion':
            return model.modality_logits(tokens)
        pooled = model.pool_modalities(tokens)
        heads = model.aux_heads if self.source == 'aux' else \
            model.probe_heads
        return {m: heads[m]((pooled[m].detach(), )) for m in pooled}
