# RollingQ exactly as the authors run it, on the embedded default: one
# rotation at the first epoch end with |AIR| > 0, AIR from the epoch's last
# batch, anchor statistics from an extra no-grad eval pass, SVD rotation.
_base_ = ['../baselines/attention_synthetic.py']

custom_hooks = [
    dict(
        type='RollingQHook',
        beta=0.0,
        sigma=0.0,
        max_rotations=1,
        stats='pass',
        air_from='last_batch',
        method='svd')
]
