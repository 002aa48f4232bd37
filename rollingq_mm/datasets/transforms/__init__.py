from .formatting import PackMultimodalInputs

__all__ = ['PackMultimodalInputs']
from .audio import LoadAudioSpectrogram  # noqa: E402
from .frame_transforms import FrameTransforms  # noqa: E402
from .frames import LoadFrames  # noqa: E402
from .spectrogram_npy import LoadSpectrogramNpy  # noqa: E402

__all__ += [
    'LoadAudioSpectrogram', 'FrameTransforms', 'LoadFrames',
    'LoadSpectrogramNpy'
]
