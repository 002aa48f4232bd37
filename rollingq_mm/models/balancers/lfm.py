"""LFM (Yang et al., NeurIPS 2024): learning the modality gap dynamically."""
import itertools
import math
from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch.nn.attention import SDPBackend, sdpa_kernel

from rollingq_mm.registry import MODELS
from .base import BalanceContext, BaseBalancer, at_least_float32

SCHEDULES = ('heuristic', 'fitted', 'learned')
# The authors' degree-5 fit of the CE weight over epochs (Crema_epoch.py
# 47-53, ad44fa0), the schedule their README runs.
FITTED_CE = (2.04623704e-01, 3.35472727e-03, 1.22989557e-04, -2.92947416e-06,
             2.23835486e-08, -5.39717505e-11)


def alignment(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """The authors' "JS" of two logit sets: ½[KL(m‖p) + KL(m‖q)], m the
    mean of the two softmaxes (``F.kl_div(p.log(), m)`` is KL(m‖p)), mean
    over the batch."""
    p = at_least_float32(p_logits).softmax(-1)
    q = at_least_float32(q_logits).softmax(-1)
    m = 0.5 * p + 0.5 * q
    return 0.5 * (
        F.kl_div(p.log(), m, reduction='batchmean') +
        F.kl_div(q.log(), m, reduction='batchmean'))


@MODELS.register_module()
class LFM(BaseBalancer):
    """Weigh the classification and the modality-alignment terms over
    training.

    With o_m each modality's part of the fused logits (concat / sum fusion
    with a linear head: Σ_m o_m is the head's logits), the loss is
    ``2 · (w_ce · CE(½ Σ_m o_m, y) + w_align · JS(o_a, o_v))`` (pairs
    averaged for M > 2), ``JS`` the authors' divergence of the two
    softmaxes (:func:`alignment`); inference is the head's logits (the
    authors' ``½ (o_a + o_v)`` has the same argmax). The weights
    (``w_ce + w_align = 1``) follow ``schedule``:

    * ``'heuristic'`` — the paper's simple integration, w_align(e) =
      clip(exp(−0.3·e), 0.05, 0.95) at epoch e (the authors' first release,
      ``Crema_ours.py`` ``getAlpha_heritic``);
    * ``'fitted'`` — the degree-5 polynomial in the epoch the authors fit
      to a learned trajectory (``Crema_epoch.py``, what their README runs;
      fitted over 200 epochs);
    * ``'learned'`` — the bilevel update: after every epoch,
      w_align −= lr · mean(H·∇CE) over the first parameter tensor (the
      Hessian of the total loss times the CE gradient, on the first
      ``held_out_samples`` of a held-out batch — never the test split),
      clipped to [0.05, 0.95], lr halved every 20 epochs; from w_align
      0.95 (``Crema_epoch_learnable.py``).

    Follows njustkmg/NeurIPS24-LFM (ad44fa0) ``Crema_epoch.py`` 38-71.
    Differences (also in docs/balance_methods.md): the heuristic's first
    release aligned softmaxed pooled features with no factor 2, here the
    released loss form (logits, factor 2) carries every schedule; the
    learned update comes at the end of the epoch before (the authors'
    before the epoch's first step; epoch 0 starts from the initial
    weights). BalanceBenchmark implements only the learned schedule,
    starts it from w_ce 0.95 (swapped) and takes CE on Σ o_m.

    Args:
        schedule (str): One of ``'heuristic'``, ``'fitted'``, ``'learned'``.
            Defaults to 'heuristic'.
        decay (float): The heuristic's rate. Defaults to 0.3.
        lr_alpha (float): The learned schedule's step. Defaults to 1e-4.
        held_out_samples (int): Samples of the held-out batch for the
            learned schedule. Defaults to 8 (half the authors' 16).
        align_weight (float): The learned schedule's start. Defaults to
            0.95 (the authors'; BalanceBenchmark starts at 0.05).
    """

    def __init__(self,
                 schedule: str = 'heuristic',
                 decay: float = 0.3,
                 lr_alpha: float = 1e-4,
                 held_out_samples: int = 8,
                 align_weight: float = 0.95):
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f'LFM: schedule={schedule!r} is not one of '
                             f'{SCHEDULES}')
        if decay < 0 or lr_alpha < 0 or held_out_samples < 1 or \
                not 0.05 <= align_weight <= 0.95:
            raise ValueError('LFM: need decay >= 0, lr_alpha >= 0, '
                             'held_out_samples >= 1 and 0.05 <= align_weight '
                             '<= 0.95')
        self.schedule = schedule
        self.decay = decay
        self.lr_alpha = lr_alpha
        self.held_out_samples = held_out_samples
        self.align_weight = align_weight  # the learned schedule's state
        if schedule == 'learned':
            self.epoch_passes = ('held_out', )

    def bind(self, model) -> None:
        super().bind(model)
        if not model.splits_logits:
            raise ValueError(
                'LFM weighs CE on the sum of the modalities\' logits against '
                'their alignment: it needs ConcatFusion or SumFusion with a '
                f'LinearClsHead (got {type(model.neck).__name__}); attention '
                'fusion\'s logits are not a sum of unimodal logits')

    def weights(self) -> Dict[str, float]:
        """This epoch's ``ce`` and ``align`` weights."""
        epoch = self.epoch
        if self.schedule == 'heuristic':
            align = min(max(math.exp(-self.decay * epoch), 0.05), 0.95)
        elif self.schedule == 'fitted':
            align = 1 - sum(c * epoch**i for i, c in enumerate(FITTED_CE))
        else:
            align = self.align_weight
        return dict(ce=1 - align, align=align)

    def terms(self, model, tokens: Dict[str, torch.Tensor],
              labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The unweighted ``ce`` and ``align`` terms."""
        logits = model.modality_logits(tokens)
        half = 0.5 * sum(logits.values())
        pairs = list(itertools.combinations(self.modalities, 2))
        align = sum(alignment(logits[a], logits[b])
                    for a, b in pairs) / len(pairs)
        return dict(ce=F.cross_entropy(half, labels), align=align)

    def loss_terms(self, model, context: BalanceContext) -> dict:
        weights = self.weights()
        terms = self.terms(model, context.tokens, context.labels)
        losses = {k: v for k, v in context.losses.items() if k != 'loss'}
        losses['loss'] = 2 * weights['ce'] * terms['ce']
        losses['loss_lfm_align'] = 2 * weights['align'] * terms['align']
        self.track(align_weight=torch.tensor(weights['align']))
        return losses

    def evaluate_splits(self, loaders: dict, model) -> None:
        """The learned schedule's step, on a held-out batch."""
        data = model.data_preprocessor(next(iter(loaders['held_out'])), False)
        keep = self.held_out_samples
        inputs = {m: x[:keep] for m, x in data['inputs'].items()}
        labels = torch.cat([s.gt_label for s in data['data_samples'][:keep]])
        params = [p for p in model.parameters() if p.requires_grad]
        # second derivatives: the math attention kernel has them (the
        # fused ones do not)
        with torch.enable_grad(), sdpa_kernel([SDPBackend.MATH]):
            terms = self.terms(model, model.encode(inputs), labels)
            total = (1 - self.align_weight) * terms['ce'] + \
                self.align_weight * terms['align']
            total_grads = torch.autograd.grad(
                total, params, create_graph=True, allow_unused=True)
            ce_grads = torch.autograd.grad(
                terms['ce'], params, create_graph=True, allow_unused=True)
            used = [
                i for i, (g, c) in enumerate(zip(total_grads, ce_grads))
                if g is not None and c is not None
            ]
            hvp = torch.autograd.grad([total_grads[i] for i in used],
                                      [params[i] for i in used],
                                      grad_outputs=[ce_grads[i] for i in used])
        step = float(hvp[0].mean())
        upcoming = self.epoch + 1  # the authors step before this epoch
        if upcoming % 20 == 0:
            self.lr_alpha /= 2
        self.align_weight = min(
            max(self.align_weight - self.lr_alpha * step, 0.05), 0.95)
        MMLogger.get_current_instance().info(
            f'LFM (epoch {upcoming}): alignment weight '
            f'{self.align_weight:.6f} for the next epoch')

    def state_dict(self) -> dict:
        return dict(align_weight=self.align_weight, lr_alpha=self.lr_alpha)

    def load_state_dict(self, state: dict) -> None:
        self.align_weight = float(
            state.get('align_weight', self.align_weight))
        self.lr_alpha = float(state.get('lr_alpha', self.lr_alpha))
