"""Independent re-derivations of each method's official training step.

Written from the official code's semantics (docs/balance_methods.md names
each file), on the plain tensors of a two-modality concat model —
``h_m`` = modality m's CLS feature, ``fc`` = the head's Linear — the way
the authors' scripts compute them: separate backward passes, backward hooks,
per-sample loops, gradient wiping by name. Each function leaves the official
pre-step gradients in ``.grad``; :func:`sgd_step` then applies them.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

MODALITIES = ('audio', 'visual')


def features(model, inputs):
    """h_a, h_v: each encoder's CLS token [B, D]."""
    return [model.encoders[m](inputs[m])[:, 0] for m in MODALITIES]


def head(model):
    return model.head.fc.weight, model.head.fc.bias


def fused(model, h_a, h_v):
    return model.head.fc(torch.cat([h_a, h_v], dim=1))


def slices(model, h_a, h_v):
    """The OGM-style unimodal logits: W_m h_m + b / 2."""
    weight, bias = head(model)
    width = h_a.shape[1]
    return (h_a @ weight[:, :width].t() + bias / 2,
            h_v @ weight[:, width:].t() + bias / 2)


def zero_grad(model):
    for param in model.parameters():
        param.grad = None


@torch.no_grad()
def sgd_step(model, lr=1.):
    for param in model.parameters():
        if param.grad is not None:
            param -= lr * param.grad
    zero_grad(model)


def true_prob_sum(logits, labels):
    return sum(
        F.softmax(logits[i], dim=0)[labels[i]] for i in range(len(labels)))


# ------------------------------------------------------------- OGM family
def ogm(model, inputs, labels, alpha, boost=None):
    """OGM-GE_CVPR2022 main.py / BML_TPAMI2024 main.py (no noise)."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    F.cross_entropy(fused(model, h_a, h_v), labels).backward()
    with torch.no_grad():
        out_a, out_v = slices(model, h_a, h_v)
        score_a = true_prob_sum(out_a, labels)
        score_v = true_prob_sum(out_v, labels)
    ratio_a, ratio_v = score_a / score_v, score_v / score_a
    coeff = dict(audio=1., visual=1.)
    if boost is None:
        if ratio_a > 1:
            coeff['audio'] = 1 - math.tanh(alpha * max(ratio_a, 0))
        else:
            coeff['visual'] = 1 - math.tanh(alpha * max(ratio_v, 0))
    elif ratio_a > 1:
        coeff['visual'] = boost
    else:
        coeff['audio'] = boost
    for name in MODALITIES:
        for param in model.encoders[name].parameters():
            # ours: every weight of dim > 1 (their ResNets: 4-D kernels)
            if param.grad is not None and param.dim() > 1:
                param.grad *= coeff[name]


# ------------------------------------------------------------------- PMR
def pmr(model, inputs, labels, alpha, prototypes):
    """PMR_CVPR2023 main.py: the prototype CE of the slower modality."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    sim_a = -torch.cdist(h_a, prototypes['audio'])
    sim_v = -torch.cdist(h_v, prototypes['visual'])
    ratio = true_prob_sum(sim_a.detach(), labels) / true_prob_sum(
        sim_v.detach(), labels)
    beta, lam = (0., alpha) if ratio > 1 else (alpha, 0.)
    loss = F.cross_entropy(fused(model, h_a, h_v), labels) + \
        beta * F.cross_entropy(sim_a, labels) + \
        lam * F.cross_entropy(sim_v, labels)
    loss.backward()


# ------------------------------------------------------------------- AGM
class _ScaleGrad(nn.Module):
    """The authors' GradMod: an identity whose backward hook scales the
    gradient by ``self.scale``."""

    def __init__(self):
        super().__init__()
        self.scale = 1.
        self.register_full_backward_hook(
            lambda module, grad_in, grad_out:
            (grad_in[0] * module.scale, ))

    def forward(self, x):
        return x


def agm(model, inputs, labels, state, iteration, alpha=1., cap=10., clip=1.):
    """AGM run/CREMAD_main.py + model/CREMAD_net.py (GradMod)."""
    zero_grad(model)
    hooks = state.setdefault('hooks', (_ScaleGrad(), _ScaleGrad()))
    total = fused(model, *features(model, inputs))
    model.eval()
    only_audio = fused(model, *features(
        model, dict(inputs, visual=torch.zeros_like(inputs['visual']))))
    only_visual = fused(model, *features(
        model, dict(inputs, audio=torch.zeros_like(inputs['audio']))))
    model.train()
    out_a = 0.5 * (total - only_visual + only_audio)
    out_v = 0.5 * (total - only_audio + only_visual)

    def nll(out):
        prob = F.softmax(out.detach(), dim=1)[torch.arange(len(labels)),
                                              labels]
        return float(-torch.log(prob.clamp_min(1e-8)).mean())

    s_a, s_v = nll(out_a), nll(out_v)
    run_a, run_v = state.get('running', (0., 0.))
    ratio_a, ratio_v = math.exp(s_v - s_a), math.exp(s_a - s_v)
    target_a, target_v = math.exp(run_v - run_a), math.exp(run_a - run_v)
    c_a = math.exp(alpha * min(target_a - ratio_a, cap))
    c_v = math.exp(alpha * min(target_v - ratio_v, cap))
    it = iteration + 1
    state['running'] = (run_a * (it - 1) / it + s_a / it,
                        run_v * (it - 1) / it + s_v / it)
    hooks[0].scale, hooks[1].scale = c_a, c_v
    out = hooks[0](out_a) + hooks[1](out_v)
    F.cross_entropy(out, labels).backward()
    if (model.head.fc.weight.grad.abs() > clip).any():
        nn.utils.clip_grad_norm_(
            [p for p in model.parameters() if p.grad is not None], clip)
    state['coefficients'] = (c_a, c_v)


# --------------------------------------------------------------- InfoReg
def inforeg(model, inputs, labels, anchor, fisher, k, threshold=0.05):
    """InfoReg_CVPR2025 main.py train_epoch (one step)."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    out = fused(model, h_a, h_v)
    out_a, out_v = slices(model, h_a, h_v)
    # the authors' three backward passes: L_v, L_a, L
    F.cross_entropy(out_v, labels).backward(retain_graph=True)
    F.cross_entropy(out_a, labels).backward(retain_graph=True)
    F.cross_entropy(out, labels).backward()
    score_a = float(true_prob_sum(out_a.detach(), labels))
    score_v = float(true_prob_sum(out_v.detach(), labels))
    beta_a = beta_v = 0.
    if score_a > score_v and k > threshold:
        beta_a = 0.95 * math.exp(math.tanh(score_a - score_v))
    elif score_a < score_v and k > threshold:
        beta_v = 0.1 * math.exp(math.tanh(score_v - score_a))
    with torch.no_grad():
        for name, beta in (('audio', beta_a), ('visual', beta_v)):
            for param_name, param in model.encoders[name].named_parameters():
                if param.grad is not None:
                    param.grad += beta * (param - anchor[name][param_name])
    for name in MODALITIES:
        for module_name, module in model.encoders[name].named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                square = module.weight.grad.detach()**2
                key = (name, module_name)
                fisher[key] = fisher.get(key, 0) + square


def inforeg_trace(fisher, name):
    """Σ_layers mean(Σ_steps g²) of one encoder."""
    return sum(float(f.mean()) for (m, _), f in fisher.items() if m == name)


# ------------------------------------------------------------------- OPM
def opm(model, inputs, labels, uniform, q_base=0.5, lam=0.5):
    """BML_TPAMI2024 Classifier.py (calcu_q, Modality_drop) + main.py;
    ``uniform`` [2, B] stands for their Bernoulli draws (gate: on)."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    with torch.no_grad():
        t_a, t_v = slices(model, h_a, h_v)
        s_a = float(true_prob_sum(t_a, labels))
        s_v = float(true_prob_sum(t_v, labels))
    q = []
    for ratio in (s_a / s_v, s_v / s_a):
        r = math.tanh(max(ratio - 1, 0.))
        q.append(min(max(q_base * (1 + lam * r) if r > 0 else 0., 0.), 1.))
    keep = (uniform < (1 - torch.tensor(q, dtype=uniform.dtype))[:, None])
    keep = keep.to(h_a.dtype)
    theta = (h_a.shape[1] * q[0] + h_v.shape[1] * q[1]) / (
        h_a.shape[1] + h_v.shape[1])
    h_a = h_a * keep[0][:, None] / (1 - theta)
    h_v = h_v * keep[1][:, None] / (1 - theta)
    flag = keep.sum(0) > 0
    out = fused(model, h_a, h_v)
    F.cross_entropy(out[flag], labels[flag]).backward()
    return q


# ------------------------------------------------------------------- DGL
def dgl(model, inputs, labels, alpha=4.):
    """ICCV2025-GDL main_dgl.py (concat): unimodal backward, the fusion's
    gradients wiped, then the fused loss on detached features."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    z_f = fused(model, h_a.detach(), h_v.detach())
    z_a = fused(model, h_a, torch.zeros_like(h_v))
    z_v = fused(model, torch.zeros_like(h_a), h_v)
    (alpha * (F.cross_entropy(z_a, labels) +
              F.cross_entropy(z_v, labels))).backward(retain_graph=True)
    for param in model.head.parameters():
        param.grad = None
    F.cross_entropy(z_f, labels).backward()


# ------------------------------------------------------------------- CML
def cml(model, inputs, labels, removed, beta=10, epsilon=0.):
    """CML miwae/train.py (stage 2, two views): ``removed[i]`` is the view
    that sample i's chain removes; removal = zeroed feature."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    keep_a = (removed != 0).to(h_a.dtype)[:, None]
    keep_v = (removed != 1).to(h_a.dtype)[:, None]
    logits = [fused(model, h_a, h_v), fused(model, h_a * keep_a, h_v * keep_v)]
    cls = sum(F.cross_entropy(x, labels) for x in logits) / len(logits)
    probs = [F.softmax(x, dim=1) for x in logits]
    conf = [p.max(1)[0] for p in probs]
    pred = [p.max(1)[1] for p in probs]
    mask1 = (pred[0] == labels).to(h_a.dtype)
    rank = F.relu((conf[1] - conf[0]) * mask1 - epsilon).sum()
    mask2 = ((pred[1] != labels) & (pred[0] != labels)).to(h_a.dtype)
    rank = rank + F.relu(
        (conf[1] - conf[0].detach()) * mask2 - epsilon).sum()
    (cls + beta / 100 * rank).backward()


# -------------------------------------------------------------- MMCosine
def mmcosine(model, inputs, labels, scale=10.):
    """MMCosine_ICASSP23 main_CD.py lines 109-118."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    weight, _ = head(model)
    width = h_a.shape[1]
    cos_a = F.normalize(h_a, dim=1) @ F.normalize(
        weight[:, :width].t(), dim=0)
    cos_v = F.normalize(h_v, dim=1) @ F.normalize(
        weight[:, width:].t(), dim=0)
    F.cross_entropy(scale * cos_a + scale * cos_v, labels).backward()


# ------------------------------------------------------------------ MBSD
def mbsd(model, inputs, labels):
    """BalanceBenchmark MBSD_trainer.py training_step (two modalities, its
    per-sample loop), with the KL between the class distributions (the
    documented difference)."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    out = fused(model, h_a, h_v)
    z_a, z_v = slices(model, h_a, h_v)
    p_a, p_v = F.softmax(z_a, dim=1), F.softmax(z_v, dim=1)
    size = len(labels)
    rs = ((z_a - z_v)**2).sum(1) / z_a.shape[1]
    weight = torch.zeros(size, dtype=h_a.dtype)
    kl = torch.zeros(size, dtype=h_a.dtype)
    for i in range(size):
        y = labels[i]
        a_i, v_i = p_a[i, y], p_v[i, y]
        if p_a[i].argmax() == y or p_v[i].argmax() == y:
            weight[i] = torch.max(a_i, v_i) - torch.min(a_i, v_i)
        strong, weak = (p_a[i], p_v[i]) if a_i >= v_i else (p_v[i], p_a[i])
        kl[i] = (strong * (strong.log() - weak.log())).sum()
    total = F.cross_entropy(out, labels) + F.cross_entropy(z_a, labels) + \
        F.cross_entropy(z_v, labels) + weight @ rs / size + \
        weight @ kl / size
    total.backward()


# ------------------------------------------------------------ G-Blending
def gblending(model, inputs, labels, weights):
    """VMZ c2 loss_creator.py add_weighted_loss: fixed weights on the
    audio, visual and audio-visual heads' losses."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    loss = weights['fused'] * F.cross_entropy(fused(model, h_a, h_v), labels)
    loss = loss + weights['audio'] * F.cross_entropy(
        model.aux_heads['audio'].fc(h_a), labels)
    loss = loss + weights['visual'] * F.cross_entropy(
        model.aux_heads['visual'].fc(h_v), labels)
    loss.backward()


# -------------------------------------------------------------- MMPareto
def _min_norm_2(v11, v12, v22):
    """min_norm_solvers.py _min_norm_element_from2: the weight of the
    first vector in the min-norm point of two."""
    if v12 >= v11:
        return 0.999
    if v12 >= v22:
        return 0.001
    return -1.0 * ((v12 - v22) / (v11 + v22 - 2 * v12))


def mmpareto(model, inputs, labels, gamma=1.5):
    """MMPareto_ICML2024 code/MMPareto.py train_epoch: three backward passes
    recording each encoder's gradients, then the summed loss's backward and
    the per-tensor replacement of the encoders' gradients."""
    zero_grad(model)
    h_a, h_v = features(model, inputs)
    losses = dict(
        both=F.cross_entropy(fused(model, h_a, h_v), labels),
        audio=F.cross_entropy(model.aux_heads['audio'].fc(h_a), labels),
        visual=F.cross_entropy(model.aux_heads['visual'].fc(h_v), labels))
    params = {m: list(model.encoders[m].parameters()) for m in MODALITIES}
    grads = {}
    for task, loss in losses.items():
        loss.backward(retain_graph=True)
        grads[task] = {
            m: [
                p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                for p in params[m]
            ]
            for m in MODALITIES
        }
        zero_grad(model)
    weights = {}
    for m in MODALITIES:
        g_mm = torch.cat([g.flatten() for g in grads['both'][m]])
        g_u = torch.cat([g.flatten() for g in grads[m][m]])
        if F.cosine_similarity(g_mm, g_u, dim=0) > 0:
            weights[m] = 0.5
        else:
            weights[m] = _min_norm_2(
                float(g_mm @ g_mm), float(g_mm @ g_u), float(g_u @ g_u))
    sum(losses.values()).backward()
    with torch.no_grad():
        for m in MODALITIES:
            k = weights[m]
            for p, a, b in zip(params[m], grads['both'][m], grads[m][m]):
                if p.grad is None:
                    continue
                new = 2 * k * a + 2 * (1 - k) * b
                diff = torch.norm(p.grad) / torch.norm(new)
                p.grad = (diff * new * gamma) if diff > 1 else new * gamma
    return weights


# ------------------------------------------------- phased methods (loop)
def shared_logits(model, h):
    """The authors' shared head on one modality's feature: fc_out(h)."""
    return model.head.fc(h)


def mla(model, inputs, labels, state, batch_index, epoch_length, projection):
    """MLA main.py train_epoch (419-476) and utils.GSPlugin.before_update
    (12-41): both features from one forward, then per modality CE through
    the shared fc, backward, [projection], step. ``projection=False`` is
    the repository's behaviour (its name check never matches)."""
    h_a, h_v = features(model, inputs)
    for h in (h_a, h_v):
        loss = F.cross_entropy(shared_logits(model, h), labels)
        loss.backward()
        if projection and state['count'] != 0:
            lamda = batch_index / epoch_length + 1
            alpha = 1.0 * 0.1**lamda
            r = torch.mean(h.detach(), 0, True)
            k = torch.mm(state['P'], torch.t(r))
            state['P'] = torch.sub(
                state['P'],
                torch.mm(k, torch.t(k)) / (alpha + torch.mm(k, r)))
            state['P'] = state['P'] / torch.norm(state['P'], p='fro')
            weight = model.head.fc.weight
            weight.grad = torch.mm(weight.grad, torch.t(state['P']))
        state['count'] += 1
        sgd_step(model)


def reconboost(model, inputs, labels, phase, w1=5., w2=1.):
    """ReconBoost train.py: the stage loss (329-356; the GA term has no
    gradient) of modality ``phase``, or the global correction (369-402)."""
    boost_rate = model.balancer_parameters['boost_rate']
    h_a, h_v = features(model, inputs)
    if phase == 'correction':
        out = boost_rate * (shared_logits(model, h_a) +
                            shared_logits(model, h_v))
        F.cross_entropy(out, labels).backward()
        return
    h, other = (h_a, h_v) if phase == 'audio' else (h_v, h_a)
    with torch.no_grad():
        out_join = boost_rate * shared_logits(model, other)
    out_obj = shared_logits(model, h)
    target = torch.zeros_like(out_obj).scatter_(1, labels.view(-1, 1), 1)
    boosting_loss = - w1 * (target * out_obj.log_softmax(1)).mean(-1) \
        + w2 * (target * out_join.detach().softmax(1)
                * out_obj.log_softmax(1)).mean(-1)
    boosting_loss.mean().backward()


# ------------------------------------------------------------ teachers
def umt(model, inputs, labels, teachers, weight=1.):
    """BalanceBenchmark UMT_trainer.py 137-147: the fused CE + weight ·
    Σ_m MSE(teacher's pooled feature, student's), teachers in eval mode
    (ours; BalanceBenchmark leaves them in train mode)."""
    h_a, h_v = features(model, inputs)
    loss = F.cross_entropy(fused(model, h_a, h_v), labels)
    for m, h in zip(MODALITIES, (h_a, h_v)):
        teacher = teachers[m].eval()
        with torch.no_grad():
            target = teacher.encoders[m](inputs[m])[:, 0]
        loss = loss + weight * F.mse_loss(target, h)
    loss.backward()


# ----------------------------------------------------------------- LFM
def lfm_alignment(p, q):
    """NeurIPS24-LFM Crema_epoch.py 38-45, verbatim."""
    p = F.softmax(p, dim=-1)
    q = F.softmax(q, dim=-1)
    m = 0.5 * p + 0.5 * q
    kl_p_m = F.kl_div(p.log(), m, reduction='batchmean')
    kl_q_m = F.kl_div(q.log(), m, reduction='batchmean')
    return 0.5 * (kl_p_m + kl_q_m)


def lfm_loss(model, inputs, labels, cls_k):
    """Crema_epoch.py 66-71: 2 (k0 CE(½ o_v + ½ o_a) + k1 JS(o_a, o_v)),
    o_m the concat head's split (BalanceBenchmark's Uni_res)."""
    o_a, o_v = slices(model, *features(model, inputs))
    loss_cls = F.cross_entropy(0.5 * o_v + 0.5 * o_a, labels)
    return 2 * (cls_k[0] * loss_cls + cls_k[1] * lfm_alignment(o_a, o_v)), \
        loss_cls, lfm_alignment(o_a, o_v)


def lfm(model, inputs, labels, cls_k):
    lfm_loss(model, inputs, labels, cls_k)[0].backward()


def lfm_learned_alpha(model, inputs, labels, alpha, lr_alpha):
    """Crema_epoch_learnable.py getAlpha (55-97): the HVP of the total loss
    with the CE gradient, its first tensor's mean."""
    _, loss_cls, loss_alignment = lfm_loss(model, inputs, labels, alpha)
    L_total = alpha[0] * loss_cls + alpha[1] * loss_alignment
    theta_grads = torch.autograd.grad(
        L_total, model.parameters(), create_graph=True)
    cls_grads = torch.autograd.grad(
        loss_cls, model.parameters(), retain_graph=True, create_graph=True)
    hessian_vector_prod = torch.autograd.grad(
        outputs=theta_grads,
        inputs=model.parameters(),
        grad_outputs=cls_grads,
        retain_graph=True)
    alpha_grad = hessian_vector_prod[0].mean().item()
    new = alpha[1] - lr_alpha * alpha_grad
    return max(0.05, min(0.95, new))


# ---------------------------------------------------------------- AMCo
def amco(model, inputs, labels, star, dependent, l_t, eps=0.3, sigma=0.5):
    """BalanceBenchmark AMCo (HEAD semantics): masked class logits of the
    dependent modalities, CE(linear_star(Σ z)) + Σ CE(z_m), then the next
    step's dependence from one softmax over [z_a ‖ z_v]. The mask draws
    ``torch.randperm`` (the caller seeds it as ours)."""
    z = list(slices(model, *features(model, inputs)))
    classes = z[0].shape[1]
    pt = math.sin(math.pi / 2 * (min(eps, l_t) / eps))
    n = int(pt * classes)
    mask = torch.ones(classes)
    mask[torch.randperm(classes)[:n]] = 0
    z = [
        zm * mask.to(zm.dtype) if dep else zm
        for zm, dep in zip(z, dependent)
    ]
    out = star(z[0] + z[1])
    loss = F.cross_entropy(out, labels)
    for zm in z:
        loss = loss + F.cross_entropy(zm, labels)
    loss.backward()
    sft_out = F.softmax(torch.cat(z, 1).detach(), 1)
    return [
        bool(torch.sum(sft_out[:, i * classes:(i + 1) * classes]) /
             len(labels) > sigma) for i in range(2)
    ]
