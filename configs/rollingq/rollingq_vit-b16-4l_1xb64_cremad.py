# RollingQ on CREMA-D (paper: 48.8% vanilla -> 51.9%).
_base_ = ['../baselines/attention_vit-b16-4l_1xb64_cremad.py']

# The paper's trigger settings for this dataset: beta = sigma = 0,
# at most 1 rotation. Statistics, AIR and rotation use the hook's defaults
# (stats='epoch', air_from='epoch', method='planar'); the authors' exact
# procedure is stats='pass', air_from='last_batch', method='svd'.
custom_hooks = [
    dict(type='RollingQHook', beta=0.0, sigma=0.0, max_rotations=1)
]
