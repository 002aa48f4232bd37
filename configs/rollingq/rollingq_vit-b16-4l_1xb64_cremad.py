# RollingQ on CREMA-D (paper: 48.8% vanilla -> 51.9%).
_base_ = ['../baselines/attention_vit-b16-4l_1xb64_cremad.py']

# The hook's defaults are the authors' procedure (beta = sigma = 0, one
# rotation, an extra statistics pass, AIR from the epoch's last batch, SVD),
# measured within noise of plain attention on AV-Digits and the synthetic
# set (docs/av_digits.md); the paper uses at most 1 rotation here.
custom_hooks = [dict(type='RollingQHook', max_rotations=1)]
