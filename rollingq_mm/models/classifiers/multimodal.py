"""MultimodalClassifier: per-modality encoders -> fusion neck -> head."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import ModuleDict
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample
from torch import nn

from rollingq_mm.registry import MODELS
from ..balancers import BalanceContext, BaseBalancer
from ..balancers.base import (combine_keep_masks, hand_over_step_context,
                              samples_kept)
from ..encoders import build_encoder
from ..necks.base import BaseFusion
from ..utils import build_module, pool_tokens, resolve_pools
from .head_builder import (build_modality_heads, describe, embed_dims,
                           with_head_defaults)


@MODELS.register_module()
class MultimodalClassifier(BaseClassifier):
    """Encoders per modality, a fusion neck and an mmpretrain ClsHead.

    Data flow: ``inputs[m]`` → ``encoders[m]`` → tokens [B, N_m, D_m] →
    ``neck`` → fused [B, D] → ``head``. Optional probe heads classify each
    modality's pooled tokens *detached* from the encoder graph, so they report
    unimodal accuracy without changing the training of the fusion model (the
    paper's linear probes). Optional auxiliary heads classify the same pooled
    tokens *with* gradient: their cross-entropy (``loss_aux_<m>``, weighted)
    trains each encoder on its own as well — the common building block of the
    modality-imbalance methods. A ``balancer`` (OGM-GE, PMR, MMPareto; see
    ``models/balancers``) acts on the losses or the gradients.

    Every encoder declares ``embed_dims`` (its token width) and
    ``has_cls_token``; an mmpretrain backbone (``dict(type='ResNet',
    depth=18)``, ``VisionTransformer``, ``SwinTransformer``, ...) is wrapped
    in a :class:`BackboneEncoder`, which declares them for it. The neck is
    bound to them when the model is built, so
    pooling follows the encoders (CLS where there is one, else the mean) and
    the head's ``in_channels`` can be left out (it is the neck's width).

    The neck, the head and the probe heads start from the authors'
    initialisation (xavier-normal weights, zero biases of Linear layers)
    unless their config has its own ``init_cfg``; an ``init_cfg`` given to an
    encoder or a probe head is honoured.

    Args:
        encoders (dict[str, dict]): Encoder config per modality; the keys are
            the modality names and their order is the fusion order. Any
            mmpretrain backbone config works too (see
            :class:`BackboneEncoder`).
        neck (dict): Fusion neck config (a :class:`BaseFusion`:
            AttentionFusion, ConcatFusion, ...).
        head (dict): mmpretrain head config, e.g. ``LinearClsHead``.
        probe_heads (dict, optional): One head config shared by all
            modalities (``in_channels`` is filled in from each encoder's
            ``embed_dims``), or a dict of head configs per modality.
        probe_pool (str, optional): Pooling of tokens for the probes, aux
            heads and balancers, ``'cls'``, ``'mean'`` or None (CLS where the
            encoder has one, else mean). Defaults to None.
        aux_heads (dict, optional): Unimodal heads trained with gradient,
            one config shared by all modalities (``in_channels`` filled in)
            or one per modality. Defaults to None.
        aux_loss_weight (float | dict[str, float]): Weight of each aux loss.
            Defaults to 1.0.
        balancer (dict, optional): A balance method (``OGMGE``, ``PMR``,
            ``MMPareto``, ...; see ``models/balancers``); needs
            ``BalanceHook`` and, for gradient methods,
            ``optim_wrapper.type='BalancedOptimWrapper'``. Defaults to None.
        detach_fusion_inputs (bool): Fuse detached encoder tokens, so that
            the fused loss trains only neck and head and the encoders learn
            from the unimodal (aux) losses alone (DGL). Needs ``aux_heads``.
            Defaults to False.
        fusion_stats (bool): In predict mode, store the neck's CLS attention
            share and query-key cosines in each DataSample (cheap; only at
            evaluation). Defaults to True.
        data_preprocessor (dict, optional): Defaults to
            ``MultimodalDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 encoders: Dict[str, dict],
                 neck: dict,
                 head: dict,
                 probe_heads: Optional[dict] = None,
                 probe_pool: Optional[str] = None,
                 aux_heads: Optional[dict] = None,
                 aux_loss_weight: Union[float, Dict[str, float]] = 1.0,
                 balancer: Optional[dict] = None,
                 detach_fusion_inputs: bool = False,
                 fusion_stats: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultimodalDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from our registry, so plain names work in any scope.
            data_preprocessor = build_module(data_preprocessor)
        super().__init__(
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        if not encoders:
            raise ValueError('encoders must name at least one modality')
        self.modalities: List[str] = list(encoders)
        self.encoders = ModuleDict({
            name: build_encoder(cfg)
            for name, cfg in encoders.items()
        })
        self.token_dims = {
            m: embed_dims(m, e)
            for m, e in self.encoders.items()
        }
        self.cls_tokens = {
            m: bool(getattr(e, 'has_cls_token', False))
            for m, e in self.encoders.items()
        }
        self.neck = build_module(neck)
        if not isinstance(self.neck, BaseFusion):
            raise TypeError(f'the neck must be a BaseFusion (rollingq_mm.'
                            f'models.necks.BaseFusion), got '
                            f'{type(self.neck).__name__}; derive your neck '
                            'from it')
        sources = {m: describe(cfg) for m, cfg in encoders.items()}
        self.neck.bind(self.token_dims, self.cls_tokens, sources)
        self.head = build_module(
            with_head_defaults(head, self.neck.out_channels, 'head'))
        self.probe_pools = resolve_pools(probe_pool, self.cls_tokens, sources,
                                         'probe_pool')
        self.fusion_stats = fusion_stats
        self.probe_heads = ModuleDict(
            build_modality_heads(probe_heads, self.modalities, self.token_dims,
                                 'probe_heads'))
        self.aux_heads = ModuleDict(
            build_modality_heads(aux_heads, self.modalities, self.token_dims,
                                 'aux_heads'))
        self.aux_loss_weights = _per_modality(aux_loss_weight, self.modalities)
        self.detach_fusion_inputs = detach_fusion_inputs
        if detach_fusion_inputs and not len(self.aux_heads):
            raise ValueError(
                'detach_fusion_inputs=True trains the encoders through the '
                'unimodal losses only: set model.aux_heads=dict(type='
                "'LinearClsHead', num_classes=...)")
        # A plain attribute, not a submodule: its state (PMR's prototypes,
        # running scores) travels in checkpoints through BalanceHook.
        self.balancer: Optional[BaseBalancer] = None
        # parameters a balancer adds to the model it trains (ReconBoost's
        # boost rate): in the optimiser, DDP and checkpoints; empty else,
        self.balancer_parameters = nn.ParameterDict()
        # and modules (UMT's frozen teachers, which hold no state here)
        self.balancer_modules = ModuleDict()
        if balancer is not None:
            self.balancer = MODELS.build(balancer) if isinstance(
                balancer, dict) else balancer
            self.balancer.bind(self)

    # --------------------------------------------------------- features
    def encode(self, inputs: Dict[str,
                                  torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Run each modality's encoder, in the config's modality order.

        Args:
            inputs (dict[str, Tensor]): Batched input per modality.

        Returns:
            dict[str, Tensor]: Tokens [B, N_m, D_m] per modality.
        """
        if not isinstance(inputs, dict):
            raise TypeError(
                'MultimodalClassifier expects inputs as a dict '
                f'{{modality: Tensor}}, got {type(inputs).__name__}')
        missing = [m for m in self.modalities if m not in inputs]
        extra = [m for m in inputs if m not in self.modalities]
        if missing or extra:
            raise KeyError(
                f'the model has modalities {self.modalities} but the inputs '
                f'have {list(inputs)}: missing {missing}, unexpected {extra}. '
                'Pack exactly the model\'s modalities with '
                'PackMultimodalInputs(modalities=[...])')
        return {m: self.encoders[m](inputs[m]) for m in self.modalities}

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Fused feature [B, D]."""
        fused, _ = self.neck(self.encode(inputs))
        return fused

    def pool_modalities(
            self, tokens: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Each modality's pooled tokens [B, D_m] (``probe_pool`` rule), for
        the modalities in ``tokens``."""
        return {
            name: pool_tokens(tokens[name], self.probe_pools[name])
            for name in self.modalities if name in tokens
        }

    def head_linear(self) -> Optional[nn.Linear]:
        """The head's one Linear layer on the fused feature, or None.

        mmpretrain's ``LinearClsHead`` (and subclasses that keep its
        ``pre_logits``) is ``fc(fused)``; other heads (hidden layers) are
        not linear in the fused feature.
        """
        head, fc = self.head, getattr(self.head, 'fc', None)
        if isinstance(head, LinearClsHead) and isinstance(fc, nn.Linear) and \
                type(head).pre_logits is LinearClsHead.pre_logits:
            return fc
        return None

    @property
    def splits_logits(self) -> bool:
        """Whether :meth:`modality_logits` can split the fused logits."""
        return self.neck.splits_logits and self.head_linear() is not None

    def modality_logits(
            self,
            tokens: Dict[str,
                         torch.Tensor]) -> Optional[Dict[str, torch.Tensor]]:
        """Each modality's part of the fused logits, where the neck and the
        head are linear in it (concat / sum fusion and a ``LinearClsHead``:
        the parts sum to the head's logits); else None.

        Args:
            tokens (dict[str, Tensor]): The encoders' tokens [B, N_m, D_m].

        Returns:
            dict[str, Tensor] | None: Logits [B, K] per modality, float32.
        """
        linear = self.head_linear()
        if linear is None:
            return None
        # In the head's dtype (float32 under AMP) and outside autocast: a
        # balancer asks between backward and step, where autocast no longer
        # holds but the tokens are still in the forward's bf16 / fp16.
        device = next(iter(tokens.values())).device.type
        with torch.autocast(device_type=device, enabled=False):
            return self.neck.modality_logits(
                {
                    m: x.to(linear.weight.dtype)
                    for m, x in tokens.items()
                }, linear)

    # ----------------------------------------------------------- modes
    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """mmengine's contract: ``tensor`` (logits), ``loss``, ``predict``."""
        if mode == 'tensor':
            return self.fused_logits(self.encode(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: List[DataSample]) -> dict:
        """Fusion loss, aux and detached probe losses, balancer terms.

        A sample whose ``drop_modalities`` (metainfo, from
        :class:`WeightedResampler`) names a modality is fused without it.
        Inside a phase of a phased balancer (MLA, ReconBoost; see
        :class:`BalancedTrainLoop`) the loss is the balancer's
        ``phase_loss``. Otherwise, with a balancer: its ``modulate_tokens``
        may change or remove a
        modality's tokens per sample before the fusion (a sample that keeps
        no modality is left out of the fused loss), and its ``loss_terms``
        make the returned dict; a gradient balancer's context is handed to
        the optimiser wrapper around this forward.

        Returns:
            dict[str, Tensor]: ``loss``, ``loss_aux_<m>`` (aux heads),
            ``loss_probe_<m>`` (probes) and the balancer's ``loss_*``.
        """
        balancer = self.balancer
        if balancer is not None and balancer.phase is not None:
            balancer.check_hooked()
            return balancer.phase_loss(self, inputs, data_samples)
        tokens = self.encode(inputs)
        labels = torch.cat([s.gt_label for s in data_samples])
        fusion_tokens = tokens
        keep = self._sample_keep_masks(data_samples, labels.device)
        if balancer is not None:
            balancer.check_hooked()
            fusion_tokens, method_keep = balancer.modulate_tokens(
                self, tokens, labels)
            keep = combine_keep_masks(keep, method_keep)
        if self.detach_fusion_inputs:
            fusion_tokens = {m: x.detach() for m, x in fusion_tokens.items()}
        logits = self.fused_logits(fusion_tokens, keep)
        losses = self._head_loss(self.head, logits, data_samples,
                                 samples_kept(keep, self.modalities))
        pooled = self.pool_modalities(tokens)
        aux_logits, probe_logits = {}, {}
        for name, head in self.aux_heads.items():
            aux_logits[name] = head((pooled[name], ))
            losses[f'loss_aux_{name}'] = self.aux_loss_weights[name] * \
                head._get_loss(aux_logits[name], data_samples)['loss']
        for name, head in self.probe_heads.items():
            probe_logits[name] = head((pooled[name].detach(), ))
            losses[f'loss_probe_{name}'] = head._get_loss(
                probe_logits[name], data_samples)['loss']
        if balancer is None:
            return losses
        context = BalanceContext(
            labels=labels,
            tokens=tokens,
            pooled=pooled,
            fused_logits=logits,
            aux_logits=aux_logits,
            probe_logits={m: x.detach()
                          for m, x in probe_logits.items()},
            losses=losses,
            keep=keep,
            inputs=inputs)
        losses = balancer.loss_terms(self, context)
        if balancer.modifies_gradients:
            # the optimiser wrapper owns it until its step; nothing on the
            # model holds the step's tensors
            hand_over_step_context(context)
        return losses

    def _sample_keep_masks(self, data_samples: List[DataSample],
                           device) -> Optional[Dict[str, torch.Tensor]]:
        """Keep masks {m: [B]} from the samples' ``drop_modalities``, or
        None where no sample drops one."""
        drops = [s.metainfo.get('drop_modalities') or () for s in data_samples]
        if not any(drops):
            return None
        unknown = sorted({m for d in drops for m in d} - set(self.modalities))
        if unknown:
            raise KeyError(f'a sample drops modalities {unknown}, which the '
                           f'model does not have ({self.modalities})')
        return {
            m: torch.tensor([0. if m in d else 1. for d in drops],
                            device=device)
            for m in self.modalities
        }

    def fused_logits(
            self,
            tokens: Dict[str, torch.Tensor],
            keep: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """The head's logits [B, K] on ``tokens``, with modalities removed
        per sample where ``keep`` [B] is 0 (``BaseFusion.fuse``): a re-run
        of neck and head only, for methods that compare predictions without
        a modality (AGM, CML, OPM). A balancer that replaces the logits
        (MMCosine) gives them, in training and inference."""
        if self.balancer is not None and self.balancer.replaces_logits:
            return self.balancer.fused_logits(self, tokens, keep)
        fused, _ = self.neck.fuse(tokens, keep)
        return self.head((fused, ))

    @staticmethod
    def _head_loss(head, logits: torch.Tensor, data_samples: List[DataSample],
                   kept: Optional[torch.Tensor]) -> dict:
        """``head``'s loss dict; the mean over the kept samples only where
        ``kept`` [B] (float) is given."""
        if kept is None:
            return head._get_loss(logits, data_samples)
        losses = head._get_loss(logits, data_samples, weight=kept)
        # the head averages over B; the official methods drop the samples
        losses['loss'] = losses['loss'] * kept.numel() / kept.sum().clamp_min(
            1)
        return losses

    def predict(
            self,
            inputs: Dict[str, torch.Tensor],
            data_samples: Optional[List[DataSample]] = None
    ) -> List[DataSample]:
        """Predictions, with per-modality probe scores and fusion stats.

        Each DataSample gets ``pred_score``/``pred_label`` (the head),
        ``probe_scores`` {modality: [K]} when probes exist, and, for an
        attention neck with ``fusion_stats``, the record's per-sample fields
        (``attention_share`` [M], ``query_key_cos`` [M]; see
        ``AttentionRecord.sample_fields``); ``modalities`` is in the
        metainfo.
        """
        tokens = self.encode(inputs)
        if self.balancer is not None and self.balancer.replaces_logits:
            # the balancer's logits stand for the neck's and head's
            record = None
            samples = self.head._get_predictions(
                self.balancer.fused_logits(self, tokens), data_samples)
        else:
            fused, record = self.neck(tokens)
            samples = self.head.predict((fused, ), data_samples)
        fields = record.sample_fields() if (record is not None
                                            and self.fusion_stats) else {}
        pooled = self.pool_modalities(tokens)
        probe_scores = {
            name: F.softmax(head((pooled[name], )).float(), dim=-1)
            for name, head in self.probe_heads.items()
        }
        for index, sample in enumerate(samples):
            sample.set_metainfo(dict(modalities=self.modalities))
            if probe_scores:
                sample.set_field({
                    m: s[index]
                    for m, s in probe_scores.items()
                }, 'probe_scores')
            for key, value in fields.items():
                sample.set_field(value[index], key)
        return samples


def _per_modality(value: Union[float, Dict[str, float]],
                  modalities: List[str]) -> Dict[str, float]:
    """A weight per modality from one number or a dict."""
    if isinstance(value, dict):
        missing = [m for m in modalities if m not in value]
        if missing:
            raise KeyError(f'aux_loss_weight has no weight for {missing}')
        return {m: float(value[m]) for m in modalities}
    return {m: float(value) for m in modalities}
