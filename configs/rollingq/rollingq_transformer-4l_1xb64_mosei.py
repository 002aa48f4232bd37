# RollingQ on CMU-MOSEI (paper: 62.7% vanilla -> 63.2%).
_base_ = ['../baselines/attention_transformer-4l_1xb64_mosei.py']

# The paper's trigger settings for this dataset: beta = sigma = 0,
# at most 1 rotation. Statistics, AIR and rotation use the hook's defaults
# (stats='epoch', air_from='epoch', method='planar'); the authors' exact
# procedure is stats='pass', air_from='last_batch', method='svd'.
custom_hooks = [
    dict(type='RollingQHook', beta=0.0, sigma=0.0, max_rotations=1)
]
