"""DivergenceHook: stop at the first non-finite loss."""
import math

from mmengine.hooks import Hook

from rollingq_mm.registry import HOOKS


@HOOKS.register_module()
class DivergenceHook(Hook):
    """Stop training at the first NaN / inf loss, saying where and what to do.

    Without it a diverged run goes on to its last epoch and saves NaN
    weights. It reads the losses that mmengine's RuntimeInfoHook (priority
    VERY_HIGH) has already copied to the host for the log, so the check adds
    no device synchronisation of its own. Our ``default_runtime`` turns it
    on.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not outputs or 'loss' not in outputs:
            return
        scalars = runner.message_hub.log_scalars

        def host_value(key):
            buffer = scalars.get(f'train/{key}')
            return buffer.current() if buffer is not None else float(
                outputs[key].detach())

        value = host_value('loss')
        if math.isfinite(value):
            return
        bad = [
            key for key in outputs
            if 'loss' in key and not math.isfinite(host_value(key))
        ]
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'the last good checkpoint is {last}'
                  if last else 'no checkpoint was saved yet')
        raise FloatingPointError(
            f'training diverged: the loss is {value} ({", ".join(bad)}) at '
            f'epoch {runner.epoch + 1}, iteration {batch_idx + 1} '
            f'(iteration {runner.iter + 1} of the run); {resume}. Lower '
            'optim_wrapper.optimizer.lr or add optim_wrapper.clip_grad='
            'dict(max_norm=...), then train again' +
            (f' (or --resume {last})' if last else ''))
