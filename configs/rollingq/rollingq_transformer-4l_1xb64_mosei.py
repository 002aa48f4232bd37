# RollingQ on CMU-MOSEI (paper: 62.7% vanilla -> 63.2%).
_base_ = ['../baselines/attention_transformer-4l_1xb64_mosei.py']

# The hook's defaults are the authors' procedure (beta = sigma = 0, one
# rotation, an extra statistics pass, AIR from the epoch's last batch, SVD),
# measured within noise of plain attention on AV-Digits and the synthetic
# set (docs/av_digits.md); the paper uses at most 1 rotation here.
custom_hooks = [dict(type='RollingQHook', max_rotations=1)]
