"""RobustRunner: mmengine's Runner with the five jobs a run anywhere needs."""
from mmengine.config import Config
from mmengine.runner import Runner

from rollingq_mm.registry import RUNNERS
from .checkpoint_loading import SafeCheckpointLoadingMixin
from .cpu_distributed import CpuDistributedMixin
from .data_loaders import SteadyLoaderMixin
from .encoder_compile import EncoderCompileMixin
from .partial_graphs import PartialGraphsMixin

# The default hooks mmengine registers itself; None removes one of them.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')


@RUNNERS.register_module()
class RobustRunner(SafeCheckpointLoadingMixin, PartialGraphsMixin,
                   CpuDistributedMixin, SteadyLoaderMixin, EncoderCompileMixin,
                   Runner):
    """mmengine's Runner, each extra job in a mixin of its own file:

    * ``checkpoint_loading.py`` — ``load_from``, ``--resume`` and
      ``tools/test.py`` load safely (CRC, restricted unpickling, finite
      weights) and strictly (``load_strict``, ``trust_checkpoint``);
    * ``cpu_distributed.py`` — DDP on CPU under any torchrun launcher
      (gloo, no ``device_ids``) and the release of the group it made;
    * ``data_loaders.py`` — loaders whose draws from the main process's
      generator do not depend on their workers;
    * ``encoder_compile.py`` — mmengine's ``compile`` compiles the encoders;
    * ``partial_graphs.py`` — DDP's ``find_unused_parameters`` for a balance
      method whose steps leave parameters unused (MLA, ReconBoost);
    * here — the config text without yapf (mmengine's
      ``format_python_code=False``; its cost per checkpoint is in
      docs/performance.md), and any default hook set to None is left out
      (mmengine allows that only for its own six).

    Set by ``runner_type = 'rollingq_mm.RobustRunner'`` (our
    ``default_runtime``; scoped, so that mmpretrain's ``tools/train.py``,
    which builds the runner from mmengine's root registry, finds it too).
    ``tools/train.py`` and ``tools/test.py`` add ``--non-strict`` and
    ``--trust-checkpoint``. ``RollingQRunner``, its name before release 4,
    is the same class.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The same config, formatted without yapf from here on.
        self.cfg = Config(
            self.cfg.to_dict(),
            cfg_text=self.cfg.text,
            filename=self.cfg.filename,
            env_variables=self.cfg.env_variables,
            format_python_code=False)

    def register_default_hooks(self, hooks=None) -> None:
        """mmengine's, where any default hook set to None is left out."""
        if hooks is not None:
            hooks = {
                name: hook
                for name, hook in hooks.items()
                if hook is not None or name in MMENGINE_DEFAULT_HOOKS
            }
        super().register_default_hooks(hooks)


# Configs and checkpoints of releases 1-3 name the runner RollingQRunner.
RUNNERS.register_module(name='RollingQRunner', module=RobustRunner)
