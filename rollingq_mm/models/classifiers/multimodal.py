"""MultimodalClassifier: per-modality encoders -> fusion neck -> head."""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.structures import DataSample
from torch import nn

from rollingq_mm.registry import MODELS
from ..utils import build_module, check_pool, pool_tokens


@MODELS.register_module()
class MultimodalClassifier(BaseClassifier):
    """Encoders per modality, a fusion neck and an mmpretrain ClsHead.

    Data flow: ``inputs[m]`` → ``encoders[m]`` → tokens [B, N_m, D_m] →
    ``neck`` → fused [B, D] → ``head``. Optional probe heads classify each
    modality's pooled tokens *detached* from the encoder graph, so they report
    unimodal accuracy without changing the training of the fusion model (the
    paper's linear probes).

    Args:
        encoders (dict[str, dict]): Encoder config per modality; the keys are
            the modality names and their order is the fusion order.
        neck (dict): Fusion neck config (AttentionFusion, ConcatFusion, ...).
        head (dict): mmpretrain head config, e.g. ``LinearClsHead``.
        probe_heads (dict, optional): One head config shared by all
            modalities (``in_channels`` is filled in from each encoder's
            ``embed_dims``), or a dict of head configs per modality.
        probe_pool (str): Pooling of tokens for the probes, ``'cls'`` or
            ``'mean'``. Defaults to 'cls'.
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
                 probe_pool: str = 'cls',
                 fusion_stats: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultimodalDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from our registry, so plain names work in any scope.
            data_preprocessor = build_module(data_preprocessor)
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        if not encoders:
            raise ValueError('encoders must name at least one modality')
        self.modalities: List[str] = list(encoders)
        self.encoders = nn.ModuleDict(
            {name: build_module(cfg) for name, cfg in encoders.items()})
        self.neck = build_module(neck)
        self.head = build_module(head)
        self.probe_pool = check_pool(probe_pool)
        self.fusion_stats = fusion_stats
        self.probe_heads = nn.ModuleDict(self._build_probes(probe_heads))

    def _build_probes(self, probe_heads: Optional[dict]) -> dict:
        if not probe_heads:
            return {}
        if 'type' not in probe_heads:  # one config per modality
            unknown = set(probe_heads) - set(self.modalities)
            if unknown:
                raise KeyError(f'probe_heads names unknown modalities '
                               f'{sorted(unknown)}; known: {self.modalities}')
            return {m: build_module(cfg) for m, cfg in probe_heads.items()}
        probes = {}
        for name, encoder in self.encoders.items():
            if not hasattr(encoder, 'embed_dims'):
                raise ValueError(f'encoder {name!r} has no embed_dims; give '
                                 'probe_heads one config per modality with '
                                 'its in_channels')
            cfg = copy.deepcopy(probe_heads)
            cfg['in_channels'] = encoder.embed_dims
            probes[name] = build_module(cfg)
        return probes

    # --------------------------------------------------------- features
    def encode(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Run each modality's encoder, in the config's modality order.

        Args:
            inputs (dict[str, Tensor]): Batched input per modality.

        Returns:
            dict[str, Tensor]: Tokens [B, N_m, D_m] per modality.
        """
        if not isinstance(inputs, dict):
            raise TypeError('MultimodalClassifier expects inputs as a dict '
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
            name: pool_tokens(tokens[name].detach(), self.probe_pool)
            for name in self.probe_heads
        }

    # ----------------------------------------------------------- modes
    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """The mmengine contract: ``tensor`` (logits), ``loss``, ``predict``."""
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

    def predict(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Predictions, with per-modality probe scores and fusion stats.

        Each DataSample gets ``pred_score``/``pred_label`` (the head),
        ``probe_scores`` {modality: [K]} when probes exist, and, for an
        attention neck with ``fusion_stats``, ``attention_share`` [M] and
        ``query_key_cos`` [M]; ``modalities`` is in the metainfo.
        """
        tokens = self.encode(inputs)
        fused, stats = self.neck(tokens, return_stats=self.fusion_stats)
        samples = self.head.predict((fused, ), data_samples)
        probe_scores = {
            name: F.softmax(self.probe_heads[name]((pooled, )).float(), dim=-1)
            for name, pooled in self._probe_features(tokens).items()
        }
        for index, sample in enumerate(samples):
            sample.set_metainfo(dict(modalities=self.modalities))
            if probe_scores:
                sample.set_field(
                    {m: s[index] for m, s in probe_scores.items()},
                    'probe_scores')
            for key, value in (stats or {}).items():
                sample.set_field(value[index], key)
        return samples
