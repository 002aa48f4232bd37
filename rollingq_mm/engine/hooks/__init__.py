from .rollingq_hook import RollingQHook

__all__ = ['RollingQHook']
