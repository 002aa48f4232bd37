# RollingQ with the project's defaults on AV-Digits (attention + the hook).
_base_ = ['./attention_vit-tiny_1xb64_av-digits.py']

custom_hooks = [dict(type='RollingQHook')]  # defaults: docs/av_digits.md
