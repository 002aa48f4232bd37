"""Data preprocessor for dict-of-modality inputs."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from rollingq_mm.registry import MODELS


@MODELS.register_module()
class MultimodalDataPreprocessor(BaseDataPreprocessor):
    """Move ``{modality: Tensor[B, ...]}`` to the device and normalise each.

    Normalisation is ``(x - mean) / std`` with per-channel statistics on
    axis 1 (images [B, C, H, W], video [B, C, T, H, W], spectrograms
    [B, 1, F, T]); a modality without an entry is only cast to float.

    Args:
        normalize (dict[str, dict], optional): Per modality
            ``dict(mean=[...], std=[...])``, e.g. ImageNet statistics for
            ``visual``. Defaults to None (no normalisation).
        non_blocking (bool): Non-blocking host-to-device copies.
            Defaults to False.
    """

    def __init__(self,
                 normalize: Optional[Dict[str, dict]] = None,
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        self.normalized = []
        for name, stats in (normalize or {}).items():
            if set(stats) != {'mean', 'std'}:
                raise ValueError(f'normalize[{name!r}] must have exactly the '
                                 f'keys mean and std, got {sorted(stats)}')
            std = torch.as_tensor(stats['std'], dtype=torch.float32)
            if (std <= 0).any():
                raise ValueError(f'normalize[{name!r}].std must be > 0')
            self.register_buffer(
                f'{name}_mean',
                torch.as_tensor(stats['mean'], dtype=torch.float32), False)
            self.register_buffer(f'{name}_std', std, False)
            self.normalized.append(name)

    @staticmethod
    def _stack(inputs) -> Dict[str, torch.Tensor]:
        """Accept a collated dict or a list of per-sample dicts."""
        if isinstance(inputs, dict):
            return {
                name:
                torch.stack(list(value))
                if isinstance(value, Sequence) else value
                for name, value in inputs.items()
            }
        if isinstance(inputs, Sequence) and inputs and isinstance(
                inputs[0], dict):
            return {
                name: torch.stack([sample[name] for sample in inputs])
                for name in inputs[0]
            }
        raise TypeError(
            'inputs must be a dict {modality: Tensor} or a list of '
            f'such dicts, got {type(inputs).__name__}; end the '
            'pipeline with PackMultimodalInputs')

    def _normalize(self, name: str, x: torch.Tensor) -> torch.Tensor:
        mean, std = getattr(self, f'{name}_mean'), getattr(self, f'{name}_std')
        if x.dim() < 2 or x.shape[1] != mean.numel():
            raise ValueError(
                f'modality {name!r}: normalize has {mean.numel()} '
                f'channel(s) but the input has shape '
                f'{tuple(x.shape)} (channels on axis 1)')
        shape = (1, -1) + (1, ) * (x.dim() - 2)
        return (x - mean.view(shape)) / std.view(shape)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, move, cast and normalise.

        Args:
            data (dict): ``inputs`` (see above) and ``data_samples``.
            training (bool): Unused; kept for the mmengine contract.

        Returns:
            dict: ``inputs`` {modality: float Tensor[B, ...]} and
            ``data_samples``.
        """
        samples = data.get('data_samples')
        if self.device.type == 'cpu':
            # mmengine's cast copies every DataSample even when nothing moves
            # (a few % of a small model's step); on the CPU nothing moves.
            data = dict(inputs=self.cast_data(data['inputs']))
        else:
            data = self.cast_data(data)
            samples = data.get('data_samples')
        inputs = {
            name: x.float()
            for name, x in self._stack(data['inputs']).items()
        }
        for name in self.normalized:
            if name in inputs:
                inputs[name] = self._normalize(name, inputs[name])
        return dict(inputs=inputs, data_samples=samples)
