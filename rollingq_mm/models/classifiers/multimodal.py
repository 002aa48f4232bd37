"""MultimodalClassifier: per-modality encoders -> fusion neck -> head."""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import ModuleDict
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.structures import DataSample

from rollingq_mm.registry import MODELS
from ..necks.base import XAVIER_INIT, BaseFusion
from ..utils import build_module, check_pool, pool_tokens


@MODELS.register_module()
class MultimodalClassifier(BaseClassifier):
    """Encoders per modality, a fusion neck and an mmpretrain ClsHead.

    Data flow: ``inputs[m]`` → ``encoders[m]`` → tokens [B, N_m, D_m] →
    ``neck`` → fused [B, D] → ``head``. Optional probe heads classify each
    modality's pooled tokens *detached* from the encoder graph, so they report
    unimodal accuracy without changing the training of the fusion model (the
    paper's linear probes).

    Every encoder declares ``embed_dims`` (its token width) and
    ``has_cls_token``; the neck is bound to them when the model is built, so
    pooling follows the encoders (CLS where there is one, else the mean) and
    the head's ``in_channels`` can be left out (it is the neck's width).

    The neck, the head and the probe heads start from the authors'
    initialisation (xavier-normal weights, zero biases of Linear layers)
    unless their config has its own ``init_cfg``; an ``init_cfg`` given to an
    encoder or a probe head is honoured.

    Args:
        encoders (dict[str, dict]): Encoder config per modality; the keys are
            the modality names and their order is the fusion order.
        neck (dict): Fusion neck config (a :class:`BaseFusion`:
            AttentionFusion, ConcatFusion, ...).
        head (dict): mmpretrain head config, e.g. ``LinearClsHead``.
        probe_heads (dict, optional): One head config shared by all
            modalities (``in_channels`` is filled in from each encoder's
            ``embed_dims``), or a dict of head configs per modality.
        probe_pool (str, optional): Pooling of tokens for the probes,
            ``'cls'``, ``'mean'`` or None (CLS where the encoder has one,
            else mean). Defaults to None.
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
            name: build_module(cfg)
            for name, cfg in encoders.items()
        })
        self.token_dims = {
            m: _embed_dims(m, e)
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
        sources = {m: _describe(cfg) for m, cfg in encoders.items()}
        self.neck.bind(self.token_dims, self.cls_tokens, sources)
        self.head = build_module(
            _with_head_defaults(head, self.neck.out_channels, 'head'))
        self.probe_pools = self._probe_pools(probe_pool, sources)
        self.fusion_stats = fusion_stats
        self.probe_heads = ModuleDict(self._build_probes(probe_heads))

    def _probe_pools(self, probe_pool: Optional[str],
                     sources: Dict[str, str]) -> Dict[str, str]:
        if probe_pool is not None:
            check_pool(probe_pool)
        pools = {}
        for name in self.modalities:
            has_cls = self.cls_tokens[name]
            if probe_pool == 'cls' and not has_cls:
                raise ValueError(
                    f'probe_pool=\'cls\': modality {name!r} (encoder '
                    f'{sources[name]}) has no CLS token; use \'mean\' or '
                    'leave probe_pool unset')
            pools[name] = probe_pool or ('cls' if has_cls else 'mean')
        return pools

    def _build_probes(self, probe_heads: Optional[dict]) -> dict:
        if not probe_heads:
            return {}
        if 'type' not in probe_heads:  # one config per modality
            unknown = set(probe_heads) - set(self.modalities)
            if unknown:
                raise KeyError(f'probe_heads names unknown modalities '
                               f'{sorted(unknown)}; known: {self.modalities}')
            configs = probe_heads
        else:
            configs = {m: probe_heads for m in self.modalities}
        return {
            name:
            build_module(
                _with_head_defaults(cfg, self.token_dims[name],
                                    f'probe_heads[{name!r}]'))
            for name, cfg in configs.items()
        }

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

    def _probe_features(self, tokens: Dict[str, torch.Tensor]) -> dict:
        """Each probed modality's pooled tokens, detached: {m: [B, D_m]}."""
        return {
            name: pool_tokens(tokens[name].detach(), self.probe_pools[name])
            for name in self.probe_heads
        }

    # ----------------------------------------------------------- modes
    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """mmengine's contract: ``tensor`` (logits), ``loss``, ``predict``."""
        if mode == 'tensor':
            return self.head((self.extract_feat(inputs), ))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: List[DataSample]) -> dict:
        """Fusion loss plus one detached probe loss per modality.

        Returns:
            dict[str, Tensor]: ``loss`` and ``loss_probe_<modality>``.
        """
        tokens = self.encode(inputs)
        fused, _ = self.neck(tokens)
        losses = self.head.loss((fused, ), data_samples)
        for name, pooled in self._probe_features(tokens).items():
            probe = self.probe_heads[name].loss((pooled, ), data_samples)
            losses[f'loss_probe_{name}'] = probe['loss']
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
        fused, record = self.neck(tokens)
        samples = self.head.predict((fused, ), data_samples)
        fields = record.sample_fields() if (record is not None
                                            and self.fusion_stats) else {}
        probe_scores = {
            name:
            F.softmax(self.probe_heads[name]((pooled, )).float(), dim=-1)
            for name, pooled in self._probe_features(tokens).items()
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


def _embed_dims(name: str, encoder) -> int:
    dims = getattr(encoder, 'embed_dims', None)
    if not isinstance(dims, int):
        raise TypeError(f'encoder {name!r} ({type(encoder).__name__}) must '
                        'have an int attribute embed_dims (its token width) '
                        'and may declare has_cls_token (default False)')
    return dims


def _describe(cfg) -> str:
    """A short name for an encoder config, for error messages."""
    if not isinstance(cfg, dict):
        return type(cfg).__name__
    name = cfg.get('model_name')
    return f'{cfg.get("type")}({name!r})' if name else str(cfg.get('type'))


def _with_head_defaults(cfg: dict, in_channels: int, where: str) -> dict:
    """Fill ``in_channels`` and the authors' init into a head config.

    Raises:
        ValueError: if the config's ``in_channels`` differs from the width
            of the features it will get.
    """
    if not isinstance(cfg, dict):
        return cfg
    cfg = copy.deepcopy(cfg)
    given = cfg.setdefault('in_channels', in_channels)
    if given != in_channels:
        raise ValueError(f'{where}.in_channels is {given} but its input '
                         f'features have width {in_channels}; drop '
                         'in_channels (it is filled in) or fix it')
    cfg.setdefault('init_cfg', XAVIER_INIT)
    return cfg
