"""Mixed-precision settings that follow the hardware."""
from typing import Optional

import torch

# bf16 is native (tensor cores, no emulation) from Ampere on
NATIVE_BF16_CAPABILITY = (8, 0)


def native_amp_dtype(device: Optional[int] = None) -> str:
    """``'bfloat16'`` on a GPU with native bf16 (compute capability 8.0 or
    more: A100, H100, RTX 30xx on), else ``'float16'`` (V100, T4: bf16 is
    emulated there, slower than fp32).

    Args:
        device (int, optional): The CUDA device. Defaults to the current.

    Returns:
        str: A dtype name for mmengine's ``AmpOptimWrapper``.
    """
    capability = torch.cuda.get_device_capability(device)
    return 'bfloat16' if capability >= NATIVE_BF16_CAPABILITY else 'float16'


def amp_settings(dtype: Optional[str] = None) -> dict:
    """``dtype`` and ``loss_scale`` of an AMP optim wrapper.

    bf16 has fp32's exponent range and needs no loss scaling: its
    GradScaler is disabled, so no step waits on the host for ``found_inf``.
    fp16 gets mmengine's dynamic loss scale.

    Args:
        dtype (str, optional): ``'bfloat16'`` or ``'float16'``; None picks
            :func:`native_amp_dtype`.

    Returns:
        dict: ``dtype`` and ``loss_scale`` for the wrapper's config.
    """
    dtype = dtype or native_amp_dtype()
    if dtype not in ('bfloat16', 'float16'):
        raise ValueError(f'AMP dtype must be bfloat16 or float16, got '
                         f'{dtype!r}')
    return dict(
        dtype=dtype,
        loss_scale='dynamic' if dtype == 'float16' else dict(enabled=False))
