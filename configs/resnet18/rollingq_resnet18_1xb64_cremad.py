# CREMA-D, two ResNet-18 + attention fusion + RollingQ (the hook's
# defaults: the authors' procedure).
_base_ = ['./attention_resnet18_1xb64_cremad.py']

# RollingQ's paper allows 1 rotation on CREMA-D
custom_hooks = [dict(type='RollingQHook', max_rotations=1)]
