# The literature's two-ResNet-18 setup with attention fusion + RollingQ (the
# hook's defaults: the authors' procedure, one rotation) on AV-Digits' arrays.
_base_ = ['./attention_resnet18_1xb64_av-digits.py']

custom_hooks = [dict(type='RollingQHook')]
