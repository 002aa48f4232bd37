"""The package's module-level imports form no cycle."""
import ast
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(ROOT, 'rollingq_mm')


def _modules() -> dict:
    """``{dotted name: path}`` of every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                dotted = osp.relpath(path[:-3], ROOT).replace(os.sep, '.')
                if dotted.endswith('.__init__'):
                    dotted = dotted[:-len('.__init__')]
                found[dotted] = path
    return found


def _imports(module: str, path: str, modules: dict) -> set:
    """The package modules that ``module`` imports at module level."""
    package = module if path.endswith('__init__.py') else module.rsplit(
        '.', 1)[0]
    targets = set()
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')[:len(package.split('.')) -
                                           node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            names = [base] + [f'{base}.{a.name}' for a in node.names]
        else:
            continue
        targets |= {name for name in names if name in modules}
    return targets - {module}


def _cycle(graph: dict):
    """One cycle of ``graph`` as a list of nodes, or None (depth-first)."""
    state, path = {}, []

    def visit(node):
        state[node] = 'open'
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'open':
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 'done'
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_imports_are_acyclic():
    modules = _modules()
    assert 'rollingq_mm.engine.hooks.rollingq_hook' in modules
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    assert graph['rollingq_mm.engine.hooks.rollingq_hook'] >= {
        'rollingq_mm.engine.hooks.statistics_collector'
    }
    assert _cycle(graph) is None, ' -> '.join(_cycle(graph))


def test_a_cycle_is_found():
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert _cycle({'a': {'b'}, 'b': set()}) is None
