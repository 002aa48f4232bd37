# RollingQ on Kinetics-Sounds (paper: 67.0% vanilla -> 69.3%).
_base_ = ['../baselines/attention_vit-b16-4l_1xb64_kinetics-sounds.py']

# The hook's defaults are the authors' procedure (beta = sigma = 0, an extra
# statistics pass, AIR from the epoch's last batch, SVD), measured within
# noise of plain attention on AV-Digits and the synthetic set
# (docs/av_digits.md); the paper allows up to 3 rotations on KS.
custom_hooks = [dict(type='RollingQHook', max_rotations=3)]
