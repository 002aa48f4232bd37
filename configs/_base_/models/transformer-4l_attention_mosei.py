# The paper's CMU-MOSEI model (RollingQ, ICML 2025): a 4-layer
# Transformer encoder per modality on the MulT / MultiBench features, and the
# same single attention fusion layer as the audio-visual model.
embed_dims = 768  # the fusion layer's d in the paper; the encoder width is
# not stated there, so the encoders use the same d (no projection)
num_classes = 2  # binary sentiment (label_rule in the dataset config)
seq = dict(
    type='SequenceEncoder',
    embed_dims=embed_dims,
    num_layers=4,  # the paper: 4-layer Transformer encoders
    num_heads=8,
    max_len=512,  # unaligned pickle: audio / vision 500 steps, text 50
    dropout=0.1)

model = dict(
    type='MultimodalClassifier',
    # keys = modality names, in fusion order; they must match the dataset's
    # `modalities` (drop one here and there for a two-modality run)
    encoders=dict(
        text=dict(seq, in_channels=300),  # GloVe word vectors
        audio=dict(seq, in_channels=74),  # COVAREP
        visual=dict(seq, in_channels=35)),  # Facet
    neck=dict(
        type='AttentionFusion',
        embed_dims=embed_dims,
        num_layers=1,  # the paper: a single attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2),
    head=dict(
        type='LinearClsHead', num_classes=num_classes, in_channels=embed_dims),
    probe_heads=dict(type='LinearClsHead', num_classes=num_classes))
