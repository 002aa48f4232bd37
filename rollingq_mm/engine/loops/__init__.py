from .balanced_train_loop import BalancedTrainLoop

__all__ = ['BalancedTrainLoop']
