"""OPM (Wei, Hu et al., TPAMI 2024): on-the-fly prediction modulation."""
from typing import Dict, Optional, Tuple

import torch

from rollingq_mm.registry import MODELS
from .base import (BaseBalancer, KeepMasks, sum_over_ranks,
                   true_class_confidence)
from .unimodal_logits import UnimodalLogits


@MODELS.register_module()
class OPM(BaseBalancer):
    """Drop the dominant modality's features for some samples.

    Per iteration, with the confidences ``s_m = Σ_i softmax(o_m)_i[y_i]``
    (detached, all-reduced under DDP) and ``ρ_m = s_m / max_{n≠m} s_n``,
    the dominant modality gets the drop probability
    ``q_m = clip(q_base·(1 + λ·tanh(relu(ρ_m - 1))), 0, 1)`` (the others
    0). With probability ``p_exe`` (one draw per iteration) OPM acts: each
    sample keeps modality m with probability ``1 - q_m`` (a removed
    modality: ``BaseFusion.fuse``), and every modality's tokens are divided
    by ``1 - θ``, ``θ = Σ_m D_m q_m / Σ_m D_m`` (D_m its token width);
    samples that keep no modality leave the fused loss. Follows
    GeWu-Lab/BML_TPAMI2024, ``code/models/Classifier.py`` (commit 4b3aa4f,
    ``calcu_q``, ``Modality_drop``, lines 24-72, 93-153) and
    ``code/main.py`` (warm-up: no OPM in epochs 0-5).

    Deliberate differences from the authors' code: the scores and θ carry
    no gradient (their custom backward returns θ itself as θ's gradient,
    which leaks a term into the encoders; BalanceBenchmark back-propagates
    through θ); the draws use torch's generator on the device (theirs: NumPy
    for the gate, torch on the CPU for the masks); any number of
    modalities. BalanceBenchmark (commit 3f27575) divides the score tensor
    in place while it is aliased, so its second modality's ratio is about
    ``s_v² / s_a`` and both modalities get dropped; its q_base is 0.4.

    Args:
        q_base (float): Defaults to 0.5 (the authors' script).
        lam (float): λ. Defaults to 0.5.
        p_exe (float): Probability that OPM acts in an iteration. Defaults
            to 0.7.
        confidence (str): Unimodal logits source (see ``UnimodalLogits``).
            Defaults to 'auto'.
        start_epoch (int): Defaults to 6 (the authors' warm-up, epochs
            0-5).
        end_epoch (int, optional): Inclusive. Defaults to None (the run).
    """

    def __init__(self,
                 q_base: float = 0.5,
                 lam: float = 0.5,
                 p_exe: float = 0.7,
                 confidence: str = 'auto',
                 start_epoch: int = 6,
                 end_epoch: Optional[int] = None):
        super().__init__(start_epoch, end_epoch)
        if not (0 <= q_base <= 1 and lam >= 0 and 0 <= p_exe <= 1):
            raise ValueError('OPM: need 0 <= q_base <= 1, lam >= 0 and '
                             f'0 <= p_exe <= 1, got {q_base}, {lam}, {p_exe}')
        self.q_base, self.lam, self.p_exe = q_base, lam, p_exe
        self.unimodal = UnimodalLogits(confidence, 'OPM')

    def bind(self, model) -> None:
        super().bind(model)
        self.unimodal.bind(model)
        self.dims = torch.tensor(
            [float(model.token_dims[m]) for m in self.modalities])

    def drop_probabilities(self, scores: torch.Tensor) -> torch.Tensor:
        """q_m [M] from the confidences s [M]."""
        others = torch.stack([
            torch.cat([scores[:i], scores[i + 1:]]).max()
            for i in range(len(scores))
        ])
        ratio = torch.tanh(torch.relu(scores / others.clamp_min(1e-8) - 1))
        q = torch.where(ratio > 0, self.q_base * (1 + self.lam * ratio),
                        torch.zeros_like(ratio))
        return q.clamp(0, 1)

    def draw(self, q: torch.Tensor, batch: int) -> Tuple[torch.Tensor, ...]:
        """The gate (0-d bool) and the keep masks [M, B] (torch's generator
        on q's device)."""
        gate = torch.rand((), device=q.device) >= 1 - self.p_exe
        keep = (torch.rand(len(q), batch, device=q.device) <
                (1 - q)[:, None]).float()
        return gate, keep

    def modulate_tokens(
            self, model, tokens: Dict[str, torch.Tensor],
            labels: torch.Tensor
    ) -> Tuple[Dict[str, torch.Tensor], Optional[KeepMasks]]:
        if not self.active:
            return tokens, None
        with torch.no_grad():
            logits = self.unimodal.logits_from_tokens(model, tokens)
            scores = sum_over_ranks(
                torch.stack([
                    true_class_confidence(logits[m], labels)
                    for m in self.modalities
                ]))
            q = self.drop_probabilities(scores)
            gate, keep = self.draw(q, labels.numel())
            dims = self.dims.to(q.device)
            theta = (dims * q).sum() / dims.sum()
            keep = torch.where(gate, keep, torch.ones_like(keep))
            scale = torch.where(gate, 1 / (1 - theta).clamp_min(1e-6),
                                torch.ones_like(theta))
        self.track(**{f'q_{m}': q[i] for i, m in enumerate(self.modalities)})
        self.track(applied=gate.float())
        tokens = {m: x * scale.to(x.dtype) for m, x in tokens.items()}
        return tokens, {m: keep[i] for i, m in enumerate(self.modalities)}
