from .checkpoint_loading import SafeCheckpointLoadingMixin
from .cpu_distributed import (CpuDistributedMixin, check_no_gpu_is_hidden,
                              release_process_group)
from .data_loaders import OneDrawPerEpochLoader, SteadyLoaderMixin
from .encoder_compile import EncoderCompileMixin, compile_submodules
from .partial_graphs import PartialGraphsMixin
from .robust_runner import RobustRunner

# the name before release 4
RollingQRunner = RobustRunner

__all__ = [
    'RobustRunner', 'RollingQRunner', 'SafeCheckpointLoadingMixin',
    'CpuDistributedMixin', 'SteadyLoaderMixin', 'EncoderCompileMixin',
    'OneDrawPerEpochLoader', 'PartialGraphsMixin', 'compile_submodules',
    'release_process_group', 'check_no_gpu_is_hidden'
]
