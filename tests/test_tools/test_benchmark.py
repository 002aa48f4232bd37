"""tools/analysis_tools/benchmark.py on CPU (no timing is asserted)."""
import importlib.util
import math
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PATH = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py')
spec = importlib.util.spec_from_file_location('benchmark', PATH)
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def _config(name):
    return osp.join(ROOT, 'configs', 'rollingq', name)


@pytest.mark.parametrize('reference', [False, True])
def test_runs_on_the_embedded_default(tmp_path, reference):
    out = tmp_path / 'bench.json'
    argv = [
        _config('rollingq_synthetic.py'), '--iters', '2', '--warmup', '1',
        '--batch-size', '8', '--device', 'cpu', '--out',
        str(out)
    ]
    result = benchmark.main(argv +
                            (['--fusion-reference'] if reference else []))
    assert result['fusion_reference'] is reference
    assert result['input_shapes'] == {
        'audio': [8, 1, 32, 32],
        'visual': [8, 3, 32, 32]
    }
    for key in ('train_samples_per_s', 'train_samples_per_s_no_rollingq',
                'eval_samples_per_s', 'stats_pass_fraction', 'hook_compute_ms',
                'peak_rss_mib'):
        assert result[key] > 0 and math.isfinite(result[key]), key
    assert math.isfinite(result['stats_overhead_epoch'])
    assert out.exists()


def test_paper_shapes_are_inferred_without_building_the_model():
    cremad = Config.fromfile(_config('rollingq_vit-b16-4l_1xb64_cremad.py'))
    shapes = benchmark.input_shapes(
        benchmark.model_config(cremad, False), batch=4, seq_len=50)
    assert shapes == {'audio': (4, 1, 257, 188), 'visual': (4, 3, 3, 224, 224)}
    mosei = Config.fromfile(_config('rollingq_transformer-4l_1xb64_mosei.py'))
    shapes = benchmark.input_shapes(
        benchmark.model_config(mosei, True), batch=2, seq_len=20)
    assert all(s[:2] == (2, 20) for s in shapes.values())


def test_reference_fusion_and_no_weights():
    cfg = Config.fromfile(_config('rollingq_vit-b16-4l_1xb64_cremad.py'))
    model = benchmark.model_config(cfg, fusion_reference=True)
    assert model.neck.cls_only is False and model.neck.fused is False
    assert all(e.checkpoint_path is None and e.pretrained is False
               for e in model.encoders.values())
    assert 'data_preprocessor' in model  # merged from the dataset config


@pytest.mark.slow
def test_bare_loop_compares_the_runner_with_a_plain_loop(tmp_path):
    out = tmp_path / 'overhead.json'
    result = benchmark.main([
        osp.join(ROOT, 'configs', 'baselines', 'attention_synthetic.py'),
        '--bare-loop', '--epochs', '2', '--repeats', '1', '--out',
        str(out), '--cfg-options', 'train_dataloader.dataset.num_samples=128'
    ])
    for key in ('runner_samples_per_s', 'bare_samples_per_s'):
        assert result[key] > 0 and math.isfinite(result[key]), key
    assert len(result['runner_samples_per_s_all']) == 1
    assert result['overhead_min'] <= result['overhead'] <= \
        result['overhead_max']
    assert out.exists()


@pytest.mark.parametrize('config', [
    'ogm-ge-concat_synthetic.py', 'rollingq+opm-attention_synthetic.py',
    'rollingq+inforeg-attention_synthetic.py'
])
def test_balancer_cost_compares_with_the_plain_model(config):
    """--balancer-cost: the balancer is hooked and driven as in training,
    and the reference is the same weights without balancer or aux heads."""
    path = osp.join(ROOT, 'configs', 'balance', config)
    result = benchmark.main([
        path, '--balancer-cost', '--iters', '1', '--warmup', '1',
        '--batch-size', '8', '--device', 'cpu'
    ])
    assert result['step_time_ratio'] == pytest.approx(
        result['step_s_with_balancer'] / result['step_s_without'])
    assert result['step_s_with_balancer'] > 0


def test_balancer_cost_needs_a_balancer():
    with pytest.raises(ValueError, match='no model.balancer'):
        benchmark.main([
            _config('rollingq_synthetic.py'), '--balancer-cost', '--iters',
            '1', '--warmup', '1', '--batch-size', '8', '--device', 'cpu'
        ])
