# RollingQ on Kinetics-Sounds (paper: 67.0% vanilla -> 69.3%).
_base_ = ['../baselines/attention_vit-b16-4l_1xb64_kinetics-sounds.py']

# The paper's trigger settings for this dataset: beta = sigma = 0,
# at most 3 rotations. Statistics, AIR and rotation use the hook's defaults
# (stats='epoch', air_from='epoch', method='planar'); the authors' exact
# procedure is stats='pass', air_from='last_batch', method='svd'.
custom_hooks = [
    dict(type='RollingQHook', beta=0.0, sigma=0.0, max_rotations=3)
]
