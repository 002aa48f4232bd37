# The literature's two ResNet-18 (resnet18-x2_concat.py) with RollingQ's
# attention fusion layer in place of the concatenation: a CLS token attends
# over every position of both ResNets' last feature maps. No RollingQ here:
# the rollingq_* configs add RollingQHook.
_base_ = ['./resnet18-x2_concat.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='AttentionFusion',
        embed_dims=512,  # ResNet-18's width: no projection
        num_layers=1,  # RollingQ's fusion layer: one attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2))
