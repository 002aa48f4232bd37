from .cosine import CosineAnnealingToEndLR

__all__ = ['CosineAnnealingToEndLR']
