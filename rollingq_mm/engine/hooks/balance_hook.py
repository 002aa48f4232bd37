"""BalanceHook: drive a model's balance method through the epochs."""
from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import HOOKS
from .checkpointed_hook import CheckpointedHook


@HOOKS.register_module()
class BalanceHook(CheckpointedHook):
    """Run the model's balancer's epoch-level work (PMR's prototypes) over
    the training loader, log its per-epoch means (``balance/<name>``) and
    keep its state in checkpoints (``checkpoint['meta']['balance_hook']``,
    restored on ``--resume``). The balancer reads the epoch and iteration
    from mmengine's MessageHub itself.

    Before the first iteration it checks that the model has a balancer and,
    for a method that changes gradients (OGM-GE, MMPareto), that the optim
    wrapper is a ``BalancedOptimWrapper`` (``BalancedAmpOptimWrapper``) —
    otherwise the method would silently do nothing.
    """

    priority = 'NORMAL'
    META_KEY = 'balance_hook'

    def before_train(self, runner) -> None:
        from rollingq_mm.engine.optim_wrappers import BalancedUpdateMixin
        balancer = self._balancer(runner)
        if balancer.modifies_gradients and not isinstance(
                runner.optim_wrapper, BalancedUpdateMixin):
            raise RuntimeError(
                f'{type(balancer).__name__} changes gradients between '
                'backward and step: set optim_wrapper.type='
                "'BalancedOptimWrapper' (found "
                f'{type(runner.optim_wrapper).__name__})')
        balancer.hooked = True

    def state_dict(self, runner) -> dict:
        return self._balancer(runner).state_dict()

    def load_state_dict(self, runner, state: dict) -> None:
        self._balancer(runner).load_state_dict(state)

    def before_train_epoch(self, runner) -> None:
        self._balancer(runner).before_train_epoch(runner.train_dataloader,
                                                  unwrap_model(runner.model))

    def after_train_epoch(self, runner) -> None:
        # priority NORMAL: before CheckpointHook (VERY_LOW) writes the epoch
        balancer = self._balancer(runner)
        balancer.after_train_epoch(unwrap_model(runner.model))
        scalars = {
            f'balance/{key}': value
            for key, value in balancer.epoch_scalars().items()
        }
        if not scalars:
            return
        runner.visualizer.add_scalars(scalars, step=runner.epoch + 1)
        runner.logger.info(f'Balance epoch {runner.epoch + 1}: ' +
                           ', '.join(f'{k.split("/")[-1]}: {v:.4f}'
                                     for k, v in scalars.items()))

    @staticmethod
    def _balancer(runner):
        balancer = getattr(unwrap_model(runner.model), 'balancer', None)
        if balancer is None:
            raise RuntimeError(
                'BalanceHook: the model has no balancer; set model.balancer='
                "dict(type='OGMGE' | 'AGM' | ...; docs/balance_methods.md) "
                'or remove the hook')
        return balancer
