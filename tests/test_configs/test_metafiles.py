"""OpenMMLab's results layout: model-index.yml imports one metafile per
config family, every config is listed once, and what the metafiles say
matches the configs and the family READMEs that hold the results tables."""
import glob
import inspect
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = sorted(
    osp.basename(osp.dirname(path))
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if '_base_' not in path)
FAMILIES = sorted(set(FAMILIES))
# Where OpenMMLab's README and docs live: links from these to a family
# README must resolve.
DOCS = [osp.join(ROOT, 'README.md')] + sorted(
    glob.glob(osp.join(ROOT, 'docs', '*.md')) +
    glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
# a markdown link to a README (relative; web links are left out)
LINK = re.compile(r'\]\((?!https?:)([^)\s#]*README\.md)(#[^)\s]*)?\)')


def _load(path):
    with open(osp.join(ROOT, path)) as f:
        return yaml.safe_load(f)


def _metafile(family):
    return _load(osp.join('configs', family, 'metafile.yml'))


def test_the_families_are_found():
    assert {'rollingq', 'baselines', 'av_digits', 'balance',
            'resnet18'} <= set(FAMILIES)


def test_model_index_imports_every_metafile_once():
    imports = _load('model-index.yml')['Import']
    assert sorted(imports) == sorted(
        f'configs/{family}/metafile.yml' for family in FAMILIES)
    for path in imports:
        assert osp.isfile(osp.join(ROOT, path)), path


@pytest.mark.parametrize('family', FAMILIES)
def test_metafile_lists_every_config_of_its_family_once(family):
    meta = _metafile(family)
    configs = [model['Config'] for model in meta['Models']]
    on_disk = sorted(
        osp.relpath(path, ROOT).replace(osp.sep, '/')
        for path in glob.glob(osp.join(ROOT, 'configs', family, '*.py')))
    assert sorted(configs) == on_disk
    assert len(set(configs)) == len(configs)


@pytest.mark.parametrize('family', FAMILIES)
def test_metafile_fields(family):
    meta = _metafile(family)
    collections = {c['Name'] for c in meta['Collections']}
    for collection in meta['Collections']:
        assert {'Name', 'Metadata', 'README'} <= set(collection)
        # OpenMMLab writes README and Config paths from the repository root
        assert collection['README'] == f'configs/{family}/README.md'
        assert osp.isfile(osp.join(ROOT, collection['README']))
    for model in meta['Models']:
        assert {'Name', 'Metadata', 'In Collection', 'Results',
                'Config'} <= set(model), model.get('Name')
        assert 'Weights' not in model  # none of these runs is published
        assert model['In Collection'] in collections
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Config']
        assert model['Name'] == osp.splitext(osp.basename(
            model['Config']))[0]
        for result in model['Results'] or []:
            assert {'Task', 'Dataset', 'Metrics'} <= set(result)


@pytest.mark.parametrize('family', FAMILIES)
def test_metafile_metrics_are_the_readme_tables(family):
    """Each listed top-1 (mean ± std over seeds, or a single run's) is in
    a row of the family's results table."""
    with open(osp.join(ROOT, 'configs', family, 'README.md')) as f:
        readme = f.read()
    for model in _metafile(family)['Models']:
        for result in model['Results'] or []:
            metrics = result['Metrics']
            top1 = metrics['Top 1 Accuracy']
            if 'Top 1 Accuracy Std' in metrics:
                cell = f'{top1:.1f} ± {metrics["Top 1 Accuracy Std"]:.1f}'
            else:
                cell = f'{top1:.1f}'
            assert f'| {cell} |' in readme, (model['Name'], cell)


def _hook_arguments(hook):
    """A RollingQHook config with its defaults filled in."""
    from rollingq_mm.engine.hooks.rollingq_hook import RollingQHook
    arguments = {
        name: parameter.default
        for name, parameter in inspect.signature(
            RollingQHook.__init__).parameters.items() if name != 'self'
    }
    arguments.update({k: v for k, v in hook.items() if k != 'type'})
    return arguments


def _same_run_pairs():
    for family in FAMILIES:
        for model in _metafile(family)['Models']:
            other = model['Metadata'].get('Same Run As')
            if other:
                yield pytest.param(
                    model['Config'], f'configs/{family}/{other}.py',
                    id=model['Name'])


@pytest.mark.parametrize('config,other', list(_same_run_pairs()))
def test_configs_that_share_a_run_build_the_same_model_and_hooks(
        config, other):
    """The READMEs report rollingq_* with the rows of rollingq-paper_*."""
    a = Config.fromfile(osp.join(ROOT, config)).to_dict()
    b = Config.fromfile(osp.join(ROOT, other)).to_dict()
    hooks_a, hooks_b = a.pop('custom_hooks'), b.pop('custom_hooks')
    assert a == b
    assert [_hook_arguments(h) for h in hooks_a
            ] == [_hook_arguments(h) for h in hooks_b]


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: osp.relpath(p, ROOT))
def test_links_to_family_readmes_resolve(doc):
    with open(doc) as f:
        text = f.read()
    for target, _ in LINK.findall(text):
        path = osp.normpath(osp.join(osp.dirname(doc), target))
        assert osp.isfile(path), f'{osp.relpath(doc, ROOT)} -> {target}'


def test_readme_and_docs_link_to_every_family_readme():
    linked = set()
    for doc in DOCS:
        with open(doc) as f:
            for target, _ in LINK.findall(f.read()):
                linked.add(
                    osp.normpath(osp.join(osp.dirname(doc), target)))
    for family in FAMILIES:
        assert osp.join(ROOT, 'configs', family, 'README.md') in linked


def test_modelindex_loads_the_model_index():
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(ROOT, 'model-index.yml'))
    assert len(index.models) == sum(
        len(_metafile(family)['Models']) for family in FAMILIES)
    # modelindex resolves README paths from the metafile's folder, OpenMMLab
    # (mim, mmpretrain) from the repository root; the latter is checked
    # above, so only that complaint is left out here.
    errors = [
        error for error in index.check(silent=True)
        if 'Path to README file' not in error
    ]
    assert errors == []
