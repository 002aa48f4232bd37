from .backbone_encoder import BackboneEncoder, build_encoder
from .frame_encoder import FrameTokenEncoder
from .sequence_encoder import SequenceEncoder
from .timm_encoder import TimmEncoder

__all__ = [
    'BackboneEncoder', 'FrameTokenEncoder', 'SequenceEncoder', 'TimmEncoder',
    'build_encoder'
]
