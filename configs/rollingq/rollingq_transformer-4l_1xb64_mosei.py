# RollingQ on CMU-MOSEI (paper: 62.7% vanilla -> 63.2%).
_base_ = ['../baselines/attention_transformer-4l_1xb64_mosei.py']

custom_hooks = [
    dict(
        type='RollingQHook',
        beta=0.0,  # rotate whenever |AIR| > beta (paper: 0)
        sigma=0.0,  # anchor weights softmax(-2*sigma*c); 0 = equal (paper)
        max_rotations=1,  # paper: 1 for CREMA-D / MOSEI, 3 for KS
        interval=1,  # check every epoch
        stats='epoch',  # E[q], E[k] from the training epoch (paper: 'pass')
        air_from='epoch',  # AIR over the epoch (paper: 'last_batch')
        method='planar')  # minimal rotation (authors: 'svd')
]
