from .audio import LoadAudioSpectrogram
from .corruption import CorruptModality, sample_noise_level
from .formatting import PackMultimodalInputs
from .frame_transforms import FrameTransforms
from .frames import LoadFrames
from .spectrogram_npy import LoadSpectrogramNpy

__all__ = [
    'LoadAudioSpectrogram', 'CorruptModality', 'sample_noise_level',
    'PackMultimodalInputs', 'FrameTransforms', 'LoadFrames',
    'LoadSpectrogramNpy'
]
