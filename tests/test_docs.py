"""The docs stay honest: every config, tool, flag and link they name exists.

Read: README.md, docs/*.md and configs/*/README.md. Config paths are taken
from the text and from the commands of the code blocks, with brace patterns
(``{a,b}``), globs and the blocks' own shell variables (``C=configs/x``,
``for c in a b; do``) expanded; each exists and loads with mmengine's
``Config.fromfile``. Each ``--flag`` written after a tool in a command is in
that tool's ``--help``.
"""
import glob
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from mmengine.config import Config

from tests.helpers import expand_braces

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = [osp.join(ROOT, 'README.md')] + sorted(
    glob.glob(osp.join(ROOT, 'docs', '*.md')) +
    glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
CONFIG_PATH = re.compile(r'(?<![\w/.$-])configs/[\w{},.+*/-]+?\.py(?![\w])')
TOOL_PATH = re.compile(r'(?<![\w/.$-])tools/[\w/]+\.(?:py|sh)(?![\w])')
FENCE = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
INLINE = re.compile(r'`((?:python|bash) tools/[^`]+)`')
# The shell wrappers pass their extra arguments to these.
WRAPS = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/slurm_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
    'tools/slurm_test.sh': 'tools/test.py',
}
ASSIGN = re.compile(r'^([A-Za-z_]\w*)=(.*)$')
FOR = re.compile(r'^for (\w+) in ([^;]+); do$')


def _name(path):
    return osp.relpath(path, ROOT)


def _read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def _substitute(text, variables):
    def value(match):
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r'\$\{(\w+)\}|\$(\w+)', value, text)


def _statements(block):
    """The shell statements of a code block: continuations joined, comments
    dropped, the block's variables and for-loops expanded."""
    lines = []
    for line in block.replace('\\\n', ' ').splitlines():
        line = re.sub(r'(^|\s)#.*$', '', line)
        if lines and line.startswith((' ', '\t')) and \
                line.strip().startswith(('[', '--')):
            lines[-1] += ' ' + line.strip()  # a wrapped synopsis
        elif line.strip():
            lines.append(line.strip())
    variables, loop, statements = {}, None, []
    for line in lines:
        for part in re.split(r';\s*(?!do$)|&&|\|\|?', line):
            part = part.strip()
            match = FOR.match(line)
            if match:
                loop = (match.group(1), match.group(2).split())
                break
            if part == 'done':
                loop = None
                continue
            assign = ASSIGN.match(part)
            if assign and ' ' not in assign.group(2).strip('"\''):
                variables[assign.group(1)] = _substitute(
                    assign.group(2).strip('"\''), variables)
                continue
            if assign and assign.group(2)[:1] in '"\'':
                variables[assign.group(1)] = _substitute(
                    assign.group(2)[1:-1], variables)
                continue
            if not part:
                continue
            values = loop[1] if loop else [None]
            for value in values:
                scope = dict(variables)
                if loop:
                    scope[loop[0]] = value
                statements.append(_substitute(part, scope))
    return statements


def _commands(text):
    """Shell statements of every fenced block and inline tool command."""
    statements = []
    for block in FENCE.findall(text):
        statements += _statements(block)
    for inline in INLINE.findall(text):
        statements += _statements(inline)
    return statements


def _config_paths(text):
    candidates = set(CONFIG_PATH.findall(text))
    for statement in _commands(text):
        candidates |= set(CONFIG_PATH.findall(statement))
    paths = set()
    for pattern in candidates:
        for path in expand_braces(pattern):
            paths.add(path)
    return paths


def _doc_configs():
    found = {}
    for doc in DOCS:
        for path in _config_paths(_read(doc)):
            found.setdefault(path, []).append(_name(doc))
    return found


DOC_CONFIGS = _doc_configs()


def _files(path):
    if '*' in path:
        return sorted(glob.glob(osp.join(ROOT, path)))
    return [osp.join(ROOT, path)] if osp.isfile(osp.join(ROOT, path)) else []


def test_the_docs_are_found_and_name_configs():
    assert len(DOCS) >= 10
    assert 'configs/rollingq/rollingq_synthetic.py' in DOC_CONFIGS
    # the blocks' variables are expanded (configs/av_digits/README.md)
    assert 'configs/av_digits/rollingq-paper_vit-tiny_1xb64_av-digits.py' \
        in DOC_CONFIGS


def test_every_config_named_in_the_docs_exists():
    missing = {
        path: docs
        for path, docs in DOC_CONFIGS.items() if not _files(path)
    }
    assert not missing


@pytest.mark.parametrize(
    'path',
    sorted({f
            for p in DOC_CONFIGS for f in _files(p)}),
    ids=lambda p: osp.relpath(p, ROOT))
def test_every_config_named_in_the_docs_loads(path):
    cfg = Config.fromfile(path)
    assert len(cfg)


def test_every_tool_named_in_the_docs_exists():
    missing = {}
    for doc in DOCS:
        text = _read(doc)
        named = set(TOOL_PATH.findall(text))
        for statement in _commands(text):
            named |= set(TOOL_PATH.findall(statement))
        for tool in named:
            if not osp.isfile(osp.join(ROOT, tool)):
                missing.setdefault(tool, []).append(_name(doc))
    assert not missing


def _flags_by_tool():
    """{tool: {flag: [docs]}} of every command in the docs."""
    found = {}
    for doc in DOCS:
        for statement in _commands(_read(doc)):
            try:
                tokens = shlex.split(statement)
            except ValueError:
                tokens = statement.split()
            tool = None
            for token in tokens:
                match = TOOL_PATH.search(token)
                if match and token.endswith(match.group(0)):
                    tool = WRAPS.get(match.group(0), match.group(0))
                    continue
                if tool is None:
                    continue
                for flag in re.findall(r'(?<![\w-])--[A-Za-z][\w-]*', token):
                    found.setdefault(tool, {}).setdefault(flag,
                                                          []).append(
                                                              _name(doc))
    return found


FLAGS = _flags_by_tool()


def test_commands_with_flags_are_found():
    assert '--cfg-options' in FLAGS['tools/train.py']
    assert '--work-dir' in FLAGS['tools/analysis_tools/seed_sweep.py']
    assert '--run' in FLAGS['tools/analysis_tools/seed_sweep.py']


@pytest.mark.slow
@pytest.mark.parametrize('tool', sorted(FLAGS))
def test_every_flag_in_the_docs_is_accepted_by_its_tool(tool):
    result = subprocess.run([sys.executable, tool, '--help'],
                            cwd=ROOT,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    unknown = {
        flag: docs
        for flag, docs in FLAGS[tool].items()
        if not re.search(rf'(?<![\w-]){re.escape(flag)}(?![\w-])',
                         result.stdout)
    }
    assert not unknown, unknown


# ---------------------------------------------------------------- links
def _slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def _anchors(path):
    text = FENCE.sub('', _read(path))
    seen, anchors = {}, set()
    for heading in re.findall(r'^#{1,6} (.+)$', text, re.M):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f'{slug}-{count}')
    return anchors


@pytest.mark.parametrize('doc', DOCS, ids=_name)
def test_relative_links_and_anchors_resolve(doc):
    text = FENCE.sub('', _read(doc))
    broken = []
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'[a-z]+:', target):
            continue  # a web link
        path, _, anchor = target.partition('#')
        full = osp.normpath(osp.join(osp.dirname(doc), path)) if path \
            else doc
        if not osp.exists(full):
            broken.append(target)
        elif anchor and full.endswith('.md') and \
                anchor not in _anchors(full):
            broken.append(target)
    assert not broken


# --------------------------------------------------------------- README
README = osp.join(ROOT, 'README.md')
INSTALL = 'pip install -e ".[lite,tests]"'
TESTS = 'flake8 && isort --check-only --diff . && python -m pytest tests -q'


def test_readme_is_short_and_ci_runs_its_install_and_test_commands():
    text = _read(README)
    assert len(text.splitlines()) <= 150
    blocks = '\n'.join(FENCE.findall(text))
    assert INSTALL in blocks and TESTS in blocks
    ci = _read(osp.join(ROOT, '.ci', 'run'))
    assert ci.index(INSTALL) < ci.index(TESTS)


def test_readme_numbers_are_in_the_results_tables():
    """The README's summary repeats cells of configs/*/README.md only."""
    tables = ''.join(
        _read(path)
        for path in glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
    cells = re.findall(r'\d+\.\d ± \d+\.\d', _read(README))
    assert cells
    assert [cell for cell in cells if cell not in tables] == []


# ------------------------------------------------------- your own data
def _python_block(text, first_line):
    for block in re.findall(r'^```python\n(.*?)^```', text, re.S | re.M):
        if block.startswith(first_line):
            return block
    raise AssertionError(f'no python block starting with {first_line!r}')


@pytest.mark.slow
def test_your_own_data_example_trains(tmp_path):
    """docs/your_own_data.md: its script writes the arrays and its config
    trains on them (2 of its 10 epochs here) and tests."""
    text = _read(osp.join(ROOT, 'docs', 'your_own_data.md'))
    (tmp_path / 'make_my_arrays.py').write_text(
        _python_block(text, '# make_my_arrays.py'))
    (tmp_path / 'my_arrays.py').write_text(
        _python_block(text, '# my_arrays.py'))
    run = dict(cwd=tmp_path, capture_output=True, text=True)
    made = subprocess.run([sys.executable, 'make_my_arrays.py'], **run)
    assert made.returncode == 0, made.stderr[-2000:]
    trained = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), 'my_arrays.py', '--work-dir',
        'work', '--cfg-options', 'train_cfg.max_epochs=2'
    ], **run)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert 'rotation(s) at epoch(s) [1]' in trained.stdout + trained.stderr
    tested = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'test.py'), 'my_arrays.py', 'work/epoch_2.pth',
        '--out', 'metrics.json'
    ], **run)
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert (tmp_path / 'metrics.json').stat().st_size
