# RollingQ (defaults) + OGM-GE, the balance method that did best on attention
# fusion (docs/balance_methods.md): both hooks, one model.
_base_ = ['./ogm-ge-attention_synthetic.py']

custom_hooks = [dict(type='BalanceHook'), dict(type='RollingQHook')]
