"""BalanceHook: drive a model's balance method through the epochs."""
import copy
from typing import Optional

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
    otherwise the method would silently do nothing — and, for a method
    that steps in phases (MLA, ReconBoost), that the loop is a
    ``BalancedTrainLoop`` and DDP finds unused parameters.

    A method that evaluates splits at an epoch's end
    (``balancer.epoch_passes``) gets their loaders, built before the first
    iteration: ``'train'`` — the training set, each sample once in order,
    through the training pipeline (``train_dataloader`` with a
    ``SeededSampler(shuffle=False)``, so its random transforms draw from
    each sample's own streams); ``'held_out'`` — ``held_out``'s loader, or
    the config's ``val_dataloader``, never the test split: a held-out
    loader whose dataset is the test loader's is refused. A method that
    re-samples the data (``balancer.resamples``) needs a
    ``WeightedResampler`` and a dataset that carries its drop flags; that
    is checked too.

    Args:
        held_out (dict, optional): A dataloader config of the held-out
            split. Defaults to None (``val_dataloader``).
    """

    priority = 'NORMAL'
    META_KEY = 'balance_hook'

    def __init__(self, held_out: Optional[dict] = None):
        self.held_out = held_out
        self._pass_loaders = {}

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
        if balancer.steps_in_phases:
            from rollingq_mm.engine.loops import BalancedTrainLoop
            if not isinstance(runner.train_loop, BalancedTrainLoop):
                raise RuntimeError(
                    f'{type(balancer).__name__} takes several optimiser '
                    'steps per iteration: set train_cfg.type='
                    "'BalancedTrainLoop' (found "
                    f'{type(runner.train_loop).__name__})')
        if balancer.partial_graphs and runner.distributed and not getattr(
                runner.model, 'find_unused_parameters', True):
            raise RuntimeError(
                f'{type(balancer).__name__} steps some parameters without the '
                'others: DDP needs find_unused_parameters=True (RobustRunner '
                "sets it: runner_type='rollingq_mm.RobustRunner')")
        if balancer.resamples:
            _check_resampling(runner, type(balancer).__name__)
        builders = dict(train=self._build_train_pass,
                        held_out=self._build_held_out)
        self._pass_loaders = {
            name: builders[name](runner, balancer)
            for name in balancer.epoch_passes
        }
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
        balancer, model = self._balancer(runner), unwrap_model(runner.model)
        if balancer.epoch_passes:
            balancer.evaluate_splits(self._pass_loaders, model)
        balancer.after_train_epoch(model)
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
    def _build_train_pass(runner, balancer):
        """The training set once, in order, with the training pipeline."""
        cfg = copy.deepcopy(runner.cfg.get('train_dataloader'))
        cfg['sampler'] = dict(type='SeededSampler', shuffle=False)
        cfg.pop('batch_sampler', None)
        cfg['persistent_workers'] = False
        return runner.build_dataloader(cfg, seed=runner.seed)

    def _build_held_out(self, runner, balancer):
        """The held-out loader, refused where it is the test split."""
        method = type(balancer).__name__
        source, cfg = 'BalanceHook(held_out=...)', self.held_out
        if cfg is None:
            source, cfg = 'val_dataloader', runner.cfg.get('val_dataloader')
        if not cfg:
            raise RuntimeError(
                f'{method} reads a held-out split each epoch: set '
                'BalanceHook(held_out=dict(dataset=..., batch_size=...)) or '
                'a val_dataloader that is not the test split')
        test = runner.cfg.get('test_dataloader') or {}
        if _split_of(cfg.get('dataset')) == _split_of(test.get('dataset')):
            raise RuntimeError(
                f'{method} reads a held-out split each epoch, and {source} '
                'is the test split (its dataset is test_dataloader\'s): '
                'give BalanceHook(held_out=dict(dataset=...)) a split that '
                'is not the test split (e.g. part of the training data)')
        return runner.build_dataloader(copy.deepcopy(cfg), seed=runner.seed)

    @staticmethod
    def _balancer(runner):
        balancer = getattr(unwrap_model(runner.model), 'balancer', None)
        if balancer is None:
            raise RuntimeError(
                'BalanceHook: the model has no balancer; set model.balancer='
                "dict(type='OGMGE' | 'AGM' | ...; docs/balance_methods.md) "
                'or remove the hook')
        return balancer


def _split_of(dataset_cfg) -> Optional[dict]:
    """What names a dataset config's samples (without its pipeline and
    mode), to compare two loaders' splits."""
    if not dataset_cfg:
        return None
    return {
        key: value
        for key, value in dict(dataset_cfg).items()
        if key not in ('pipeline', 'test_mode', 'lazy_init', 'serialize_data')
    }


def _check_resampling(runner, method: str) -> None:
    """A re-sampling method needs WeightedResampler, and a dataset that
    turns its drop flags into ``drop_modalities`` (SeededSamplesMixin)."""
    from rollingq_mm.datasets import SeededSamplesMixin, WeightedResampler
    loader = runner.train_dataloader
    if not isinstance(getattr(loader, 'sampler', None), WeightedResampler):
        raise RuntimeError(
            f'{method} re-samples the training data: set train_dataloader.'
            "sampler=dict(type='WeightedResampler') (found "
            f'{type(getattr(loader, "sampler", None)).__name__})')
    if not isinstance(loader.dataset, SeededSamplesMixin):
        raise RuntimeError(
            f'{method} drops modalities per drawn sample, which needs a '
            'dataset with SeededSamplesMixin (all of rollingq_mm\'s); '
            f'{type(loader.dataset).__name__} would ignore the drop flags')
