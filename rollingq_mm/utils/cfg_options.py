"""Catch ``--cfg-options`` keys that do not exist (typos) before a run.

mmengine's ``Config.merge_from_dict`` adds any key it is given, so
``randomnes.seed=3`` silently trains with the default seed. A key is
accepted when its path exists in the config, or when the first missing part
is an argument of the class the enclosing dict builds (its ``type``, or the
runner / loop that a type-less top-level dict configures), or a top-level
argument of the Runner. Everything else is an error that names the closest
existing keys.
"""
import difflib
import inspect
from typing import Iterable, List, Optional

from mmengine.config import Config

from .errors import ReadableKeyError

__all__ = ['check_cfg_options']

# Top-level keys that configure the runner, beside Runner.__init__'s own
# arguments (read from the signature).
RUNNER_CONFIG_KEYS = ('runner_type', 'default_scope', 'custom_imports',
                      'launcher', 'model_wrapper_cfg',
                      'find_unused_parameters', 'load_strict',
                      'trust_checkpoint', 'work_dir', 'compile')


def _implied_classes() -> dict:
    """Classes that type-less top-level dicts configure."""
    from mmengine.optim import OptimWrapper
    from mmengine.runner import (EpochBasedTrainLoop, LogProcessor, Runner,
                                 TestLoop, ValLoop)
    return dict(
        train_cfg=[EpochBasedTrainLoop, ('by_epoch', 'type')],
        val_cfg=[ValLoop, ('type', )],
        test_cfg=[TestLoop, ('type', )],
        optim_wrapper=[
            OptimWrapper, ('type', 'optimizer', 'constructor', 'paramwise_cfg')
        ],
        log_processor=[LogProcessor, ('type', )],
        randomness=[Runner.set_randomness, ()],
        auto_scale_lr=[None, ('base_batch_size', 'enable')])


def _resolve(type_name) -> Optional[object]:
    """The class a ``type`` names (registry.find_component), or None."""
    if not isinstance(type_name, str):
        return type_name
    from rollingq_mm.registry import find_component
    return find_component(type_name, ancestors=True)


def _arguments(target) -> Optional[set]:
    """Keyword names ``target`` accepts; None if it takes ``**kwargs``."""
    if target is None:
        return set()
    try:
        signature = inspect.signature(
            target.__init__ if inspect.isclass(target) else target)
    except (TypeError, ValueError):
        return None
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params} - {'self'}


def _problem(cfg: Config, key: str) -> Optional[str]:
    """Why ``key`` is not an existing or accepted path (None if it is)."""
    from mmengine.runner import Runner
    node, path = cfg._cfg_dict, []
    implied = _implied_classes()
    for index, part in enumerate(key.split('.')):
        where = '.'.join(path) or 'the config'
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return (f'{where} is a list of {len(node)}; {part!r} is not '
                        'an index in it')
            node = node[int(part)]
        elif isinstance(node, dict):
            if part in node:
                node = node[part]
            else:
                return _missing(node, part, path, index, implied, Runner)
        else:
            return (f'{where} is a value ({node!r}), not a dict; '
                    f'{key!r} cannot set {part!r} inside it')
        path.append(part)
    return None


def _missing(node: dict, part: str, path: List[str], index: int, implied: dict,
             runner_cls) -> Optional[str]:
    where = '.'.join(path) or 'the config'
    extra: Iterable[str] = ()
    if index == 0:
        accepted = _arguments(runner_cls) | set(RUNNER_CONFIG_KEYS)
    elif 'type' in node:
        accepted = _arguments(_resolve(node['type']))
        if accepted is None:  # takes **kwargs, or unknown: cannot tell
            return None
    elif index == 1 and path[0] in implied:
        target, extra = implied[path[0]]
        accepted = _arguments(target)
        if accepted is None:
            return None
        accepted |= set(extra)
    else:
        accepted = set()
    if part in accepted:
        return None
    candidates = sorted(set(node) | accepted)
    close = difflib.get_close_matches(part, candidates, n=3, cutoff=0.6)
    hint = f'; did you mean {" / ".join(close)}?' if close else ''
    return f'{where} has no key {part!r}{hint}'


def check_cfg_options(cfg: Config,
                      options: dict,
                      allow_new_keys: bool = False) -> None:
    """Refuse ``--cfg-options`` keys that neither exist nor are accepted.

    Args:
        cfg (Config): The config before the options are merged.
        options (dict): ``{dotted.key: value}`` as DictAction parses them.
        allow_new_keys (bool): Accept anything (``--allow-new-keys``).

    Raises:
        KeyError: naming each unknown key and the closest existing ones.
    """
    if allow_new_keys or not options:
        return
    problems = [
        f'  {key}: {problem}' for key in options
        if (problem := _problem(cfg, key)) is not None
    ]
    if problems:
        raise ReadableKeyError(
            '--cfg-options names key(s) the config does not have:\n' +
            '\n'.join(problems) + '\nFix the spelling, or pass '
            '--allow-new-keys if you really mean to add them')
