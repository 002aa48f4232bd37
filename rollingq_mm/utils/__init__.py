from .checkpoint import load_trusted_local_checkpoint

__all__ = ['load_trusted_local_checkpoint']
