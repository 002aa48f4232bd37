from .formatting import PackMultimodalInputs

__all__ = ['PackMultimodalInputs']
