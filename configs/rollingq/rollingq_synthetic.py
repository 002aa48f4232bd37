# The main job: RollingQ on the embedded default (attention baseline + hook).
# The paper's settings are one line away: max_rotations=1, stats='pass',
# air_from='last_batch', method='svd' (README, "Results", compares them).
_base_ = ['../baselines/attention_synthetic.py']

custom_hooks = [
    dict(
        type='RollingQHook',
        beta=0.0,  # rotate whenever |AIR| > beta (paper: 0)
        sigma=0.0,  # anchor weights softmax(-2*sigma*c); 0 = equal (paper)
        max_rotations=None,  # re-anchor at every check (paper: 1, KS: 3)
        interval=1,  # check every epoch
        stats='epoch',  # E[q], E[k] from the training epoch (paper: 'pass')
        air_from='epoch',  # AIR over the epoch (paper: 'last_batch')
        method='planar')  # minimal rotation (authors: 'svd')
]
