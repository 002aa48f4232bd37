"""OGM-GE (Peng et al., CVPR 2022): on-the-fly gradient modulation."""
from typing import Dict, Optional

import torch

from rollingq_mm.registry import MODELS
from .base import (BalanceContext, BaseBalancer, sum_over_ranks,
                   true_class_confidence)
from .unimodal_logits import UnimodalLogits


@MODELS.register_module()
class OGMGE(BaseBalancer):
    """Slow down the encoder of the modality that is ahead.

    Per iteration, each modality's confidence on the true class is
    ``s_m = Σ_i softmax(o_m)_i[y_i]`` over the batch (all-reduced under DDP),
    its ratio to the weakest other modality ``ρ_m = s_m / min_{n≠m} s_n``
    (two modalities: ``s_a / s_v``), and for ``ρ_m > 1``
    ``k_m = 1 - tanh(α·ρ_m)`` (else 1). Between backward and step, inside
    the epoch window, every weight gradient ``g`` of encoder m becomes
    ``k_m·g`` plus, with generalisation enhancement, ``N(0, std(g)²)``
    (std of the unmodulated ``g``, noise on every modality at every step,
    as the authors' code does).

    Where the logits ``o_m`` come from (``confidence``):

    * ``'fusion'``: each modality's share of the fused logits, for linear
      fusion, as the neck splits them (``BaseFusion.modality_logits``:
      ``ConcatFusion`` — the head's columns of modality m, plus bias / M;
      ``SumFusion`` — the head on modality m's projected feature, plus
      bias / M);
    * ``'aux'``: the non-detached unimodal heads (``aux_heads``);
    * ``'probe'``: the detached linear probes (``probe_heads``), which give a
      confidence without changing any gradient — the choice for attention
      fusion, where the fused logits do not split by modality;
    * ``'auto'`` (default): ``'fusion'`` for concat / sum fusion with a
      linear head, else ``'aux'`` if the model has aux heads, else
      ``'probe'``.

    Deliberate differences from the authors' code (which is two-modality,
    ResNet-only): the coefficient is used as written there (``tanh(α·ρ)``,
    not ``tanh(α·(ρ-1))``); "weights" are all gradients of dimension > 1 of
    the encoder (conv *and* linear weights, as BalanceBenchmark; the
    authors' ResNets have only 4-D conv weights); ratios for M > 2 are
    against the weakest other modality; the noise comes from a generator
    seeded by ``seed`` and the step, so DDP ranks add the same noise.

    The TPAMI 2024 variants (GeWu-Lab/BML_TPAMI2024, ``code/main.py``,
    commit 4b3aa4f, lines 116-169) are options: OGM without noise is
    ``generalization=False``; their warm-up (no modulation in epochs 0-5)
    is ``start_epoch=6``; OGM+ is ``boost=4.0``: the weaker modality's
    gradients are multiplied by ``boost`` and the dominant one's kept
    (k_m = boost where ρ_m < 1, else 1; with equal confidences both are
    boosted, the authors' code boosts audio only), with the noise as
    ``generalization`` says.

    Args:
        alpha (float): α. Defaults to 0.3 (BalanceBenchmark's default; the
            authors recommend 0.8 for CREMA-D, 0.1 for VGGSound).
        generalization (bool): Add the Gaussian noise (GE). Defaults to True.
        confidence (str): See above. Defaults to 'auto'.
        seed (int): Seed of the GE noise. Defaults to 0.
        boost (float, optional): OGM+ (see above); None = OGM-GE's
            slow-down. Defaults to None.
        start_epoch (int): Defaults to 0.
        end_epoch (int, optional): Inclusive. Defaults to None (the run).
    """

    modifies_gradients = True

    def __init__(self,
                 alpha: float = 0.3,
                 generalization: bool = True,
                 confidence: str = 'auto',
                 seed: int = 0,
                 boost: Optional[float] = None,
                 start_epoch: int = 0,
                 end_epoch: Optional[int] = None):
        super().__init__(start_epoch, end_epoch)
        if alpha < 0:
            raise ValueError(f'OGMGE: alpha must be >= 0, got {alpha}')
        self.alpha = alpha
        self.generalization = generalization
        self.confidence = confidence
        self.unimodal = UnimodalLogits(confidence, 'OGMGE')
        self.seed = seed
        if boost is not None and boost < 1:
            raise ValueError(f'OGMGE: boost must be >= 1, got {boost}')
        self.boost = boost
        self._weights: Dict[str, list] = {}

    def bind(self, model) -> None:
        super().bind(model)
        self.unimodal.bind(model)
        self._weights = {
            m: [
                p for p in model.encoders[m].parameters()
                if p.requires_grad and p.dim() > 1
            ]
            for m in self.modalities
        }

    @property
    def source(self) -> str:
        """Where the confidence's logits come from (resolved)."""
        return self.unimodal.source

    # ------------------------------------------------------- confidence
    def modality_logits(self, model,
                        context: BalanceContext) -> Dict[str, torch.Tensor]:
        """o_m for every modality, from :attr:`source`."""
        return self.unimodal(model, context)

    @torch.no_grad()
    def coefficients(self, model,
                     context: BalanceContext) -> Dict[str, torch.Tensor]:
        """k_m per modality (0-d tensors on the device)."""
        logits = self.modality_logits(model, context)
        scores = torch.stack([
            true_class_confidence(logits[m], context.labels)
            for m in self.modalities
        ])
        scores = sum_over_ranks(scores)
        coefficients = {}
        for index, name in enumerate(self.modalities):
            others = torch.cat([scores[:index], scores[index + 1:]])
            ratio = scores[index] / others.min().clamp_min(1e-8)
            if self.boost is None:
                coefficients[name] = torch.where(
                    ratio > 1, 1 - torch.tanh(self.alpha * ratio),
                    torch.ones_like(ratio))
            else:  # OGM+: the weaker modality is sped up instead
                coefficients[name] = torch.where(
                    ratio > 1, torch.ones_like(ratio),
                    torch.full_like(ratio, self.boost))
            self.track(**{
                f'ratio_{name}': ratio,
                f'coefficient_{name}': coefficients[name]
            })
        return coefficients

    # --------------------------------------------------------- gradients
    @torch.no_grad()
    def modify_gradients(self, wrapper, context: BalanceContext) -> None:
        model = wrapper.balance_model
        coefficients = self.coefficients(model, context)
        if not self.active:
            return
        generator = None
        for name in self.modalities:
            for param in self._weights[name]:
                grad = param.grad
                if grad is None:
                    continue
                noise = None
                if self.generalization:
                    if generator is None or generator.device != grad.device:
                        generator = torch.Generator(grad.device)
                        generator.manual_seed(self.seed * 1_000_003 +
                                              self.iteration)
                    noise = torch.randn(
                        grad.shape,
                        generator=generator,
                        device=grad.device,
                        dtype=grad.dtype)
                    noise.mul_(grad.std() + 1e-8)
                grad.mul_(coefficients[name].to(grad.dtype))
                if noise is not None:
                    grad.add_(noise)
