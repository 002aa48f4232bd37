# Kinetics-Sounds, two ResNet-18 + attention fusion + RollingQ (the hook's
# defaults: the authors' procedure).
_base_ = ['./attention_resnet18_1xb64_kinetics-sounds.py']

# RollingQ's paper allows 3 rotations on Kinetics-Sounds
custom_hooks = [dict(type='RollingQHook', max_rotations=3)]
