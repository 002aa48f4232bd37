# RollingQ on Kinetics-Sounds (paper: 67.0% vanilla -> 69.3%).
_base_ = ['../baselines/attention_vit-b16-4l_1xb64_kinetics-sounds.py']

custom_hooks = [
    dict(
        type='RollingQHook',
        beta=0.0,  # rotate whenever |AIR| > beta (paper: 0)
        sigma=0.0,  # anchor weights softmax(-2*sigma*c); 0 = equal (paper)
        max_rotations=3,  # paper: 1 for CREMA-D / MOSEI, 3 for KS
        interval=1,  # check every epoch
        stats='epoch',  # E[q], E[k] from the training epoch (paper: 'pass')
        air_from='epoch',  # AIR over the epoch (paper: 'last_batch')
        method='planar')  # minimal rotation (authors: 'svd')
]
