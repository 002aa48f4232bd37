# RollingQ exactly as the authors run it, on AV-Digits: one rotation at the
# first epoch end with |AIR| > 0, AIR from the epoch's last batch, anchor
# statistics from an extra no-grad eval pass, SVD rotation, equal weights.
_base_ = ['./attention_vit-tiny_1xb64_av-digits.py']

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
