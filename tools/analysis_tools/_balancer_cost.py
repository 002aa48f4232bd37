"""What a balance method costs: its config's training step against the same
model without the balancer (benchmark.py --balancer-cost)."""
import copy

import torch


def prepare_balancer(model, data) -> None:
    """What BalanceHook does before the first epoch, on the random batch
    (so that PMR has prototypes, InfoReg its epoch-start parameters)."""
    balancer = model.balancer
    if balancer is None:
        return
    balancer.hooked = True
    balancer.before_train_epoch([data], model)


def wrapper_for(model, lr=1e-3):
    """SGD in the wrapper a config with this model needs."""
    from mmengine.optim import OptimWrapper

    from rollingq_mm.engine import BalancedOptimWrapper
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    if model.balancer is not None and model.balancer.modifies_gradients:
        return BalancedOptimWrapper(optimizer)
    return OptimWrapper(optimizer)


def plain_copy(model):
    """The same model and weights without the balancer (and the aux heads
    the method added: the reference is the plain fusion)."""
    from mmengine.model import ModuleDict
    plain = copy.deepcopy(model)
    plain.balancer = None
    plain.detach_fusion_inputs = False
    plain.aux_heads = ModuleDict()
    return plain


def peak_cuda_memory(step, iters: int) -> float:
    """GiB allocated at most over ``iters`` calls of ``step``."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(iters):
        step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**30


def balancer_cost(model, data, args, timed) -> dict:
    """Median step time with / without the balancer (interleaved, so that
    a drift of the machine hits both alike) and, on a GPU, the peak memory
    of each (measured one after the other). A method that trains in phases
    (MLA, ReconBoost) takes all of its iteration's steps, as
    BalancedTrainLoop does; the epoch-end passes of Re-learning and the
    valuations are not in a step (their cost is one evaluation pass over
    the training split per epoch)."""
    if model.balancer is None:
        raise ValueError('--balancer-cost: the config has no model.balancer')
    plain = plain_copy(model)
    prepare_balancer(model, data)
    wrappers = {id(model): wrapper_for(model), id(plain): wrapper_for(plain)}

    def step(which):

        def run():
            which.train()
            balancer = which.balancer
            if balancer is None or not balancer.steps_in_phases:
                which.train_step(data, wrappers[id(which)])
                return
            for phase in balancer.iteration_phases():  # BalancedTrainLoop
                with balancer.in_phase(phase):
                    which.train_step(data, wrappers[id(which)])

        return run

    with_time, without_time = timed([step(model), step(plain)], args)
    result = dict(
        balancer=type(model.balancer).__name__,
        step_s_with_balancer=with_time,
        step_s_without=without_time,
        step_time_ratio=with_time / without_time)
    if args.device == 'cuda':
        without = peak_cuda_memory(step(plain), args.warmup)
        with_ = peak_cuda_memory(step(model), args.warmup)
        result.update(
            peak_memory_gib_with_balancer=with_,
            peak_memory_gib_without=without,
            peak_memory_ratio=with_ / without)
    return result
