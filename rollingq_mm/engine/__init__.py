from .hooks import RollingQHook

__all__ = ['RollingQHook']
