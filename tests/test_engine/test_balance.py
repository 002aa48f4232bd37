"""Balance methods through the engine: hook, optim wrapper, tools, DDP."""
import os
import os.path as osp
import subprocess
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import OptimWrapper

from rollingq_mm.engine import BalancedOptimWrapper, BalanceHook
from tests.helpers import free_port, tiny_classifier

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = [
    'train_dataloader.dataset.num_samples=256',
    'val_dataloader.dataset.num_samples=64',
    'test_dataloader.dataset.num_samples=64', 'train_cfg.max_epochs=2'
]


# per method: what makes its work happen within the test's 2 epochs
OPTIONS = dict(
    opm=['model.balancer.start_epoch=0'],
    relearning=['model.balancer.interval=1'],  # re-initialise after epoch 1
    sample=['model.balancer.warmup_epochs=1'])  # epoch 2 re-samples


def _teachers(config, tmp_path):
    """UMT's teachers: random weights of its unimodal configs."""
    from mmengine.config import Config

    from tests.helpers import stand_in_teachers
    if not config.startswith('umt'):
        return []
    cfg = stand_in_teachers(
        Config.fromfile(osp.join(ROOT, 'configs/balance', config)), tmp_path)
    return [
        f'model.balancer.teachers.{m}.checkpoint={t["checkpoint"]}'
        for m, t in cfg.model.balancer.teachers.items()
    ]


def _model(balancer):
    return tiny_classifier(balancer=balancer)


def test_the_hook_checks_the_model_and_the_optim_wrapper():
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.1)  # noqa: E731
    model = _model(dict(type='OGMGE'))
    runner = SimpleNamespace(
        model=model, optim_wrapper=OptimWrapper(sgd(model)))
    with pytest.raises(
            RuntimeError, match="optim_wrapper.type='BalancedOptimWrapper'"):
        BalanceHook().before_train(runner)
    runner.optim_wrapper = BalancedOptimWrapper(sgd(model))
    BalanceHook().before_train(runner)
    assert model.balancer.hooked
    runner.model = _model(None)
    with pytest.raises(RuntimeError, match='no balancer'):
        BalanceHook().before_train(runner)


def test_gradient_methods_refuse_gradient_accumulation():
    model = _model(dict(type='OGMGE'))
    wrapper = BalancedOptimWrapper(
        torch.optim.SGD(model.parameters(), 0.1), accumulative_counts=2)
    with wrapper.optim_context(model):
        pass
    with pytest.raises(ValueError, match='accumulative_counts=1'):
        wrapper.update_params(torch.zeros((), requires_grad=True))


def test_the_wrapper_scales_what_the_balancer_differentiates():
    wrapper = BalancedOptimWrapper(torch.optim.SGD([torch.zeros(1)], 0.1))
    wrapper.loss_scaler = SimpleNamespace(scale=lambda loss: 8 * loss)
    assert wrapper.scaled(torch.tensor(2.)).item() == 16.


def _pass_runner(balancer, val_file='test.txt'):
    """What BalanceHook.before_train reads of a runner, with dataset
    configs that name their split by file."""
    from mmengine.config import Config
    model = _model(balancer)

    def split(name, **extra):
        return dict(dataset=dict(type='X', ann_file=name, **extra))

    return SimpleNamespace(
        model=model,
        optim_wrapper=OptimWrapper(torch.optim.SGD(model.parameters(), 0.1)),
        distributed=False,
        seed=0,
        cfg=Config(
            dict(
                train_dataloader=dict(
                    split('train.txt'),
                    sampler=dict(type='SeededSampler', shuffle=True),
                    persistent_workers=True),
                val_dataloader=split(val_file, test_mode=True),
                test_dataloader=split(
                    'test.txt', test_mode=True, pipeline=[]))),
        build_dataloader=lambda cfg, seed: cfg)


def test_a_held_out_pass_is_never_the_test_split():
    runner = _pass_runner(dict(type='ReLearning'))
    with pytest.raises(RuntimeError, match='is the test split'):
        BalanceHook().before_train(runner)
    hook = BalanceHook(held_out=dict(dataset=dict(type='X', ann_file='v')))
    hook.before_train(runner)
    assert hook._pass_loaders['held_out']['dataset']['ann_file'] == 'v'
    # the training split once, in order, with the training pipeline
    train = hook._pass_loaders['train']
    assert train['dataset']['ann_file'] == 'train.txt'
    assert train['sampler'] == dict(type='SeededSampler', shuffle=False)
    assert not train['persistent_workers']
    # a val split that is not the test split is the default
    hook = BalanceHook()
    hook.before_train(_pass_runner(dict(type='ReLearning'), 'val.txt'))
    assert hook._pass_loaders['held_out']['dataset']['ann_file'] == 'val.txt'


def test_a_resampling_method_needs_the_weighted_resampler():
    from rollingq_mm.datasets import (SeededSampler, SyntheticMultimodal,
                                      WeightedResampler)
    runner = _pass_runner(dict(type='SampleValuation'), 'val.txt')
    dataset = SyntheticMultimodal(num_samples=8)
    runner.train_dataloader = SimpleNamespace(
        dataset=dataset, sampler=SeededSampler(dataset, seed=0))
    with pytest.raises(RuntimeError, match="'WeightedResampler'"):
        BalanceHook().before_train(runner)
    runner.train_dataloader.sampler = WeightedResampler(dataset, seed=0)
    BalanceHook().before_train(runner)
    runner.train_dataloader.dataset = list(range(8))  # drops would be lost
    with pytest.raises(RuntimeError, match='SeededSamplesMixin'):
        BalanceHook().before_train(runner)


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'ogm-ge-concat_synthetic.py', 'pmr-attention_synthetic.py',
    'mmpareto-concat_synthetic.py', 'aux-attention_synthetic.py',
    'agm-concat_synthetic.py', 'inforeg-concat_synthetic.py',
    'opm-concat_synthetic.py', 'cml-concat_synthetic.py',
    'dgl-concat_synthetic.py', 'mla-sum_synthetic.py',
    'reconboost-attention_synthetic.py', 'relearning-concat_synthetic.py',
    'sample-valuation-concat_synthetic.py', 'umt-concat_synthetic.py'
])
def test_two_cpu_ranks_stay_identical(tmp_path, config):
    """dist_train.sh, 2 processes (gloo): the replicas never diverge."""
    path = tmp_path / 'ddp.py'
    hooks = [f"dict(type='DumpParametersHook', out_dir='{tmp_path}')"]
    if 'aux' not in config:
        hooks.insert(0, "dict(type='BalanceHook')")
    path.write_text(f"_base_ = ['{ROOT}/configs/balance/{config}']\n"
                    "custom_imports = dict(imports=['rollingq_mm', "
                    "'tests.test_tools.rank_dump_hook'])\n"
                    f"custom_hooks = [{', '.join(hooks)}]\n")
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    result = subprocess.run([
        'bash', 'tools/dist_train.sh',
        str(path), '2', '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *SMALL,
        *OPTIONS.get(config.split('-')[0], []), *_teachers(config, tmp_path)
    ],
                            cwd=ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f'params{r}.pt') for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    if 'aux' not in config:
        assert 'Balance epoch 2:' in result.stdout + result.stderr
